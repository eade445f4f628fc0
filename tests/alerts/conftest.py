"""Fixtures for the tests in this folder (pytest finds them here by name)."""

from __future__ import annotations

from tests.alerts.alerts_receiver import down_url_fixture, receiver_fixture  # noqa: F401
