"""Cleanup steps say what they gave back; RSS that grew meanwhile is not a negative gift."""

from __future__ import annotations

from memwarden.actions import gave_back


def test_gave_back_wording() -> None:
    assert gave_back(12 * 2**20) == "gave back 12.0 MiB"
    assert gave_back(0) == "gave back 0 B"
    assert gave_back(None) == "gave back -"
    assert gave_back(-3 * 2**20) == "gave back nothing (RSS grew 3.0 MiB meanwhile)"
