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


# 18 digits is an exabyte; the cap keeps a 400-digit header from reaching int() at all.
MAX_CONTENT_LENGTH_DIGITS = 18


class BadRequest(ValueError):
    """A request memwarden must refuse with 400 before anyone reads its body."""

    def response(self) -> Response:
        return error_response(400, str(self))


def content_length(value: str | None) -> int | None:
    """A Content-Length header (several joined with commas) as int; None when absent or empty.

    RFC 9110: only ASCII digits; several values are accepted only when they are all the same.
    Anything else ("²", "-1", "1e3", 400 digits, "5, 6") raises BadRequest: the body's length
    is unknown, so neither memwarden nor the app can read the request safely.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    values = {part.strip() for part in text.split(",")} if "," in text else {text}
    if len(values) == 1:
        number = values.pop()
        if number.isascii() and number.isdigit() and len(number) <= MAX_CONTENT_LENGTH_DIGITS:
            return int(number)
    shown = text if len(text) <= 40 else text[:40] + "..."
    raise BadRequest(f"Content-Length {shown!r}: expected one number of bytes "
                     f"(ASCII digits, at most {MAX_CONTENT_LENGTH_DIGITS})")
