"""Fixtures for the tests in this folder (pytest finds them here by name)."""

from __future__ import annotations

from tests.alerts.alerts_receiver import receiver_fixture  # noqa: F401
from tests.supervisor.lossless_helpers import owned_group_fixture  # noqa: F401
from tests.supervisor.sup_helpers import script, supervise  # noqa: F401
