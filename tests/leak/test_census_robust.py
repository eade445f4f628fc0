"""The census survives objects whose attribute access raises, and leaves memwarden out."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from memwarden.leak.attribute import census_document
from memwarden.leak.census import take_census
from memwarden.leak.diff import diff_snapshots, format_growers
from tests.helpers import child_env

FLASK_CHILD = r"""
import json, sys
import flask
from memwarden.web.flask import Memwarden

app = flask.Flask("census_app")
Memwarden(app, admin_token="t0ken")

@app.get("/hello")
def hello():
    return {"user": flask.g.get("user", "anonymous")}

client = app.test_client()
assert client.get("/hello").status_code == 200
answer = client.post("/memory/snapshot", headers={"Authorization": "Bearer t0ken"})
print(json.dumps({"status": answer.status_code, "body": answer.get_json()}))
"""


def test_snapshot_route_in_a_flask_app(tmp_path: Any) -> None:
    # A real Flask app: module globals `request`, `g`, `session`, `current_app` are
    # werkzeug LocalProxy objects that raise RuntimeError outside a request.
    done = subprocess.run([sys.executable, "-c", FLASK_CHILD], capture_output=True, text=True,
                          env=child_env(MEMWARDEN_SNAPSHOT_DIR=str(tmp_path)), timeout=60)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["status"] == 200, answer
    written = json.loads(Path(answer["body"]["path"]).read_text())
    assert written["types"] and written["containers"]
    owners = {row["owner"] for row in written["containers"]}
    assert any(owner.startswith("flask") for owner in owners)


class Hostile:
    """Raises on every attribute access (like a context-local proxy), __class__ included."""

    def __getattribute__(self, name: str) -> Any:
        raise RuntimeError(f"working outside of context ({name})")

    def __sizeof__(self) -> int:
        raise RuntimeError("no size outside of context")

    def __len__(self) -> int:
        raise RuntimeError("no length outside of context")


class HostileDict(dict[str, Any]):
    def __len__(self) -> int:
        raise RuntimeError("no length outside of context")


@pytest.fixture
def hostile_app() -> Iterator[types.ModuleType]:
    module = types.ModuleType("hostileapp")
    module.proxy = Hostile()  # type: ignore[attr-defined]
    module.proxies = [Hostile() for _ in range(3)]  # type: ignore[attr-defined]
    module.registry = {"a": Hostile(), Hostile(): [1], "b": []}  # type: ignore[attr-defined]
    module.odd = HostileDict(x=1)  # type: ignore[attr-defined]
    module.growing = []  # type: ignore[attr-defined]
    sys.modules["hostileapp"] = module
    yield module
    del sys.modules["hostileapp"]


def test_hostile_objects_are_skipped_not_fatal(hostile_app: types.ModuleType) -> None:
    before = census_document()
    hostile_app.growing.extend(str(n) * 40 for n in range(20_000))
    after = census_document()
    owners = [g.name for g in diff_snapshots(before, after) if g.kind == "owner"]
    assert owners[0] == "hostileapp:growing"
    census = take_census()
    assert any(t.type.endswith("Hostile") and t.count >= 5 for t in census.types)


def test_memwarden_and_lazy_imports_never_grow() -> None:
    before = census_document()
    import memwarden.leak.simulate  # noqa: F401  (a lazy import of our own)

    if "pickletools" in sys.modules:  # a stdlib module first imported between the two
        del sys.modules["pickletools"]
    import pickletools  # noqa: F401

    keep = [census_document() for _ in range(3)]  # our own history grows meanwhile
    after = census_document()
    growers = diff_snapshots(before, after)
    text = format_growers(growers)
    assert "memwarden" not in text, text
    assert "pickletools:" not in text, text
    assert len(keep) == 3


def test_one_line_from_two_call_paths_adds_up() -> None:
    a = {"time": 0.0, "tracemalloc": []}
    b = {"time": 60.0, "tracemalloc": [
        {"site": "app/store.py:10", "size_bytes": 3000, "count": 30,
         "traceback": ["app/api.py:5", "app/store.py:10"]},
        {"site": "app/store.py:10", "size_bytes": 1000, "count": 10,
         "traceback": ["app/cron.py:9", "app/store.py:10"]},
    ]}
    [site] = diff_snapshots(a, b)
    assert (site.delta_bytes, site.delta_items, site.paths) == (4000, 40, 2)
    assert site.traceback == ("app/api.py:5", "app/store.py:10")
    assert "from 2 call paths" in site.describe()


def _store(sink: list[str], n: int) -> None:
    sink.extend(f"item {i} " * 8 for i in range(n))  # the one allocating line


def _from_api(sink: list[str]) -> None:
    _store(sink, 3000)


def _from_cron(sink: list[str]) -> None:
    _store(sink, 1000)


def test_tracemalloc_window_adds_up_a_line_from_two_call_paths() -> None:
    from memwarden.leak.tracewindow import TraceWindow

    sink: list[str] = []
    window = TraceWindow().start()
    _from_api(sink)
    _from_cron(sink)
    result = window.finish()
    top = result.sites[0]
    assert top.site.endswith(f"test_census_robust.py:{_store.__code__.co_firstlineno + 1}")
    assert top.paths >= 2 and top.count >= 4000, top  # api and cron (and the list growing)
    assert any("_from_api" in frame or "test_census_robust" in frame for frame in top.traceback)
