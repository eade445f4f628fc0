"""Web integrations: health, readiness, /memory, /metrics, load shedding, route attribution.

    from memwarden.web.asgi import MemwardenMiddleware        # Starlette / FastAPI
    from memwarden.web.wsgi import MemwardenWSGIMiddleware    # any WSGI app
    from memwarden.web.flask import Memwarden                 # Flask extension
    INSTALLED_APPS += ["memwarden.web.django"]                # Django

Nothing heavy loads here: prometheus_client only on the first /metrics or request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["add_check", "remove_check"]


def add_check(name: str, fn: Callable[[], Any], timeout: float = 1.0) -> None:
    """Register a readiness check (sync or async). It returns None/True (pass), False (fail),
    "pass"/"warn"/"fail" or a dict of health+json fields; raising or exceeding `timeout`
    seconds is a fail. Checks show under `checks` in /ready and count toward it only."""
    from memwarden.web.health import CHECKS

    CHECKS.add(name, fn, timeout)


def remove_check(name: str) -> None:
    from memwarden.web.health import CHECKS

    CHECKS.remove(name)
