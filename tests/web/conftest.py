"""Fixtures for the tests in this folder (pytest finds them here by name)."""

from __future__ import annotations

from tests.web.web_helpers import serve  # noqa: F401
