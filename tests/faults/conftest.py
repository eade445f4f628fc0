"""Fixtures for the tests in this folder (pytest finds them here by name)."""

from __future__ import annotations

from tests.supervisor.sup_helpers import script, supervise  # noqa: F401
