"""The Django app: validates settings.MEMWARDEN at start-up (a bad key fails `manage.py check`
and server start, not the first request)."""

from __future__ import annotations

from django.apps import AppConfig


class MemwardenConfig(AppConfig):  # type: ignore[misc]
    name = "memwarden.web.django"
    label = "memwarden"
    verbose_name = "memwarden"

    def ready(self) -> None:
        from memwarden.web.django.middleware import get_warden

        get_warden()
