"""The framework-neutral response every integration translates: (status, headers, body)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
    405: "Method Not Allowed", 413: "Content Too Large", 500: "Internal Server Error",
    501: "Not Implemented", 503: "Service Unavailable",
}


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @property
    def status_line(self) -> str:
        """WSGI's "200 OK"."""
        return f"{self.status} {REASONS.get(self.status, 'Unknown')}"


def json_response(
    status: int, payload: Any, *, content_type: str = "application/json",
    headers: tuple[tuple[str, str], ...] = (),
) -> Response:
    body = json.dumps(payload, separators=(",", ":"), default=str).encode()
    return Response(status, (
        ("content-type", content_type),
        ("content-length", str(len(body))),
        ("cache-control", "no-store"),
        *headers,
    ), body)


def error_response(
    status: int, message: str, *, headers: tuple[tuple[str, str], ...] = ()
) -> Response:
    return json_response(status, {"error": message, "status": status}, headers=headers)
