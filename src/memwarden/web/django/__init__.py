"""Django integration: add "memwarden.web.django" to INSTALLED_APPS and
"memwarden.web.django.middleware.MemwardenMiddleware" first in MIDDLEWARE; options in
settings.MEMWARDEN = {"max_concurrency": 64, ...} (same keys as the [web] table)."""
