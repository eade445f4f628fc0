"""A module-level dict keyed by request id; entries are added per request, never removed."""

from __future__ import annotations

KIND = "leak"
OWNER = "leaks.request_dict:_requests"
EXPECT = "python_heap"
RATE = 500 * 400  # 500 requests per step, ~400 B each


_requests: dict[str, dict[str, object]] = {}


def handle(request_id: str, path: str) -> int:
    _requests[request_id] = {"path": path, "user": request_id[-5:], "status": 200}
    return 200


def step(i: int) -> None:
    for n in range(500):
        handle(f"req-{i:08d}-{n:04d}", f"/api/items/{n}")
