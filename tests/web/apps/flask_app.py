"""Flask test app under the Memwarden extension, served by werkzeug's threaded server."""

from __future__ import annotations

import sys

from flask import Flask, request
from waiting import grow, shrink, wait_for_release

from memwarden.web.flask import Memwarden

app = Flask(__name__)
Memwarden(app)


@app.get("/")
def index() -> dict[str, str]:
    return {"hello": "world"}


@app.get("/items/<int:item_id>")
def item(item_id: int) -> dict[str, int]:
    return {"item_id": item_id}


@app.get("/slow")
def slow() -> dict[str, str]:
    wait_for_release("slow")
    return {"slow": "done"}


@app.post("/grow")
def grow_route() -> dict[str, int]:
    return {"held": grow(int(request.args["mib"]))}


@app.post("/shrink")
def shrink_route() -> dict[str, str]:
    shrink()
    return {"held": "none"}


@app.post("/echo")
def echo() -> dict[str, int]:
    return {"received": len(request.get_data())}


if __name__ == "__main__":
    from werkzeug.serving import run_simple

    run_simple("127.0.0.1", int(sys.argv[1]), app, threaded=True)
