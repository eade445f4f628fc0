"""Supervisor test fixtures (defined in sup_helpers, which tests import helpers from)."""

from sup_helpers import script, supervise

__all__ = ["script", "supervise"]
