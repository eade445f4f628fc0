"""Admin actions (POST /memory/gc, /memory/cleanup, /memory/snapshot): off (404) unless a token
is configured; `Authorization: Bearer <token>` compared in constant time."""

from __future__ import annotations

import gc
import hmac
import json
from collections.abc import Mapping
from typing import Any

from memwarden.web.http import Response, error_response, json_response

ACTIONS = ("gc", "cleanup", "snapshot")
MAX_ADMIN_BODY_BYTES = 4096


def bearer_token(headers: Mapping[str, str]) -> str | None:
    value = headers.get("authorization")
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def token_matches(configured: str, offered: str | None) -> bool:
    if offered is None:
        return False
    # Bytes, not str: compare_digest refuses non-ASCII str, and a hostile header may hold any.
    return hmac.compare_digest(configured.encode("utf-8"), offered.encode("utf-8", "replace"))


def parse_body(body: bytes) -> dict[str, Any] | Response:
    """A flat JSON object (every value a string, number, boolean or null), else a 4xx."""
    if len(body) > MAX_ADMIN_BODY_BYTES:
        return error_response(413, f"admin request body above {MAX_ADMIN_BODY_BYTES} bytes")
    if not body.strip():
        return {}
    try:
        payload = json.loads(body)
    except RecursionError:  # "[[[[..." within the size limit still nests past the C stack guard
        return error_response(400, "body is not valid JSON: nested too deeply")
    except (ValueError, UnicodeDecodeError) as err:
        return error_response(400, f"body is not valid JSON: {err}")
    if not isinstance(payload, dict):
        return error_response(400, "body must be a JSON object")
    nested = sorted(key for key, value in payload.items() if isinstance(value, dict | list))
    if nested:
        return error_response(400, f"field(s) {', '.join(nested)}: expected a string, number, "
                                   "boolean or null, not an object or a list")
    return payload


def _shown(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:40] + "..."


def run_action(action: str, payload: dict[str, Any]) -> Response:
    """Blocking (gc and snapshots take a while): ASGI callers run it in a thread."""
    if action == "gc":
        return _gc(payload)
    unknown = sorted(set(payload))
    if unknown:
        return error_response(400, f"unknown field(s) for {action}: {', '.join(unknown)}")
    if action == "cleanup":
        return _cleanup()
    return _snapshot()


def _gc(payload: dict[str, Any]) -> Response:
    generation = payload.get("generation", 2)
    unknown = sorted(set(payload) - {"generation"})
    if unknown:
        return error_response(400, f"unknown field(s) for gc: {', '.join(unknown)}")
    # type() and not isinstance: True is an int, and 1.0 == 1 would reach gc.collect(1.0).
    if type(generation) is not int or generation not in (0, 1, 2):
        return error_response(400, f"generation={_shown(generation)}: expected 0, 1 or 2")
    from memwarden.readers.proc import self_rss_bytes

    before = self_rss_bytes()
    collected = gc.collect(generation)
    after = self_rss_bytes()
    freed = None if before is None or after is None else before - after
    return json_response(200, {"action": "gc", "generation": generation,
                               "collected_objects": collected, "freed_bytes": freed})


def _cleanup() -> Response:
    from memwarden import actions
    from memwarden.hooks import REGISTRY
    from memwarden.policy import Tier
    from memwarden.web.state import running_guardian

    guardian = running_guardian()
    if guardian is not None:
        steps = guardian.cleanup(Tier.CRITICAL)  # also publishes `action` events
    else:
        steps = actions.cleanup(REGISTRY, Tier.CRITICAL)
    return json_response(200, {
        "action": "cleanup",
        "steps": [{"step": s.step, "freed_bytes": s.freed_bytes, "ok": s.ok, "detail": s.detail}
                  for s in steps],
        "freed_bytes": sum(s.freed_bytes or 0 for s in steps),
    })


def _snapshot() -> Response:
    import memwarden

    path = memwarden.snapshot()
    return json_response(200, {"action": "snapshot", "path": str(path)})
