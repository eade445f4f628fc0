"""Flask under memwarden.

    flask --app examples.flask_app run                      # from the repository root
    gunicorn -w 2 examples.flask_app:app
"""

from __future__ import annotations

from flask import Flask

import memwarden
import memwarden.web
from memwarden.web.flask import Memwarden

app = Flask(__name__)
app.config["MEMWARDEN"] = {"max_concurrency": 32, "max_body_bytes": "10M"}
Memwarden(app)  # starts the guardian on the first request of each worker

sessions: dict[int, bytes] = {}
memwarden.on_pressure(sessions)
memwarden.web.add_check("sessions:count", lambda: len(sessions) < 100_000, timeout=0.5)


@app.get("/")
def index() -> dict[str, str]:
    return {"hello": "world"}


@app.get("/items/<int:item_id>")
def item(item_id: int) -> dict[str, int]:
    sessions[item_id] = b"x" * 64 * 1024  # attributed to "/items/<int:item_id>"
    return {"item_id": item_id, "cached": len(sessions)}
