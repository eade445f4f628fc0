"""One JSON POST with a timeout: httpx when installed (extra `alerts`), else urllib.request.

Imported only by the sender's background thread, so neither client loads with memwarden.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

USER_AGENT = "memwarden-alerts"


@dataclass(frozen=True, slots=True)
class PostResult:
    status: int | None  # None: no answer (refused, timed out, DNS ...)
    retry_after_s: float | None  # from a 429's Retry-After header
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def parse_retry_after(value: str | None, *, now_s: float | None = None) -> float | None:
    """Seconds from `Retry-After: 120` or an HTTP date; None when absent or unparseable."""
    if value is None:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now_s is None else now_s))


class Poster:
    """Posts JSON; keeps one httpx.Client (building one per request costs milliseconds of CPU
    for its SSL context, taken from the app's threads under the GIL). Used by one thread."""

    def __init__(self) -> None:
        self._client: Any = None
        try:
            import httpx
        except ImportError:
            self._httpx: Any = None
        else:
            self._httpx = httpx

    def post_json(self, url: str, body: Any, *, timeout_s: float) -> PostResult:
        data = json.dumps(body, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if self._httpx is None:
            return _post_urllib(url, data, headers, timeout_s)
        if self._client is None:
            self._client = self._httpx.Client()
        try:
            response = self._client.post(url, content=data, headers=headers, timeout=timeout_s)
        except self._httpx.HTTPError as err:
            return PostResult(None, None, f"{type(err).__name__}: {err}")
        return PostResult(response.status_code,
                          _retry_after(response.status_code, response.headers.get("Retry-After")))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def post_json(url: str, body: Any, *, timeout_s: float) -> PostResult:
    """One POST with a throwaway client."""
    poster = Poster()
    try:
        return poster.post_json(url, body, timeout_s=timeout_s)
    finally:
        poster.close()


def _retry_after(status: int, header: str | None) -> float | None:
    return parse_retry_after(header) if status == 429 else None


def _post_urllib(url: str, data: bytes, headers: dict[str, str], timeout_s: float) -> PostResult:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return PostResult(int(response.status), None)
    except urllib.error.HTTPError as err:
        return PostResult(err.code, _retry_after(err.code, err.headers.get("Retry-After")))
    except (urllib.error.URLError, OSError, ValueError) as err:
        # URLError wraps refused/DNS; a read timeout surfaces as TimeoutError (an OSError).
        return PostResult(None, None, f"{type(err).__name__}: {err}")
