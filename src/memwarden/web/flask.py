"""Flask extension.

    from memwarden.web.flask import Memwarden
    Memwarden(app)                      # or: mw = Memwarden(); mw.init_app(app)

Options come from keyword arguments, then app.config["MEMWARDEN"] (a dict of web keys), then
MEMWARDEN_WEB_* env and the [web] TOML table. Wraps app.wsgi_app with the WSGI middleware and
records each request's url_rule.rule as its route template.
"""

from __future__ import annotations

from typing import Any, Unpack

from memwarden.web.config import WebOptions, load_web_config
from memwarden.web.core import Warden
from memwarden.web.wsgi import ROUTE_KEY, MemwardenWSGIMiddleware


class Memwarden:
    def __init__(self, app: Any = None, **options: Unpack[WebOptions]) -> None:
        self.options = options
        self.warden: Warden | None = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Any) -> None:
        from flask import request

        options = {**dict(app.config.get("MEMWARDEN", {})), **self.options}
        self.warden = Warden(load_web_config(options))
        app.wsgi_app = MemwardenWSGIMiddleware(app.wsgi_app, warden=self.warden)
        app.extensions["memwarden"] = self

        def record_route() -> None:
            rule = request.url_rule
            request.environ[ROUTE_KEY] = rule.rule if rule is not None else None

        app.before_request(record_route)
