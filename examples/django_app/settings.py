"""A minimal Django project under memwarden.

    python examples/django_app/manage.py runserver
    gunicorn -w 2 examples.django_app.wsgi:application
"""

from __future__ import annotations

SECRET_KEY = "example-only-not-secret"  # a demo project: not a secret
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "examples.django_app.urls"
INSTALLED_APPS = ["memwarden.web.django"]
MIDDLEWARE = ["memwarden.web.django.middleware.MemwardenMiddleware"]  # first: sheds earliest
DATABASES: dict[str, object] = {}
USE_TZ = True
MEMWARDEN = {"max_concurrency": 32, "max_body_bytes": "10M"}  # same keys as the [web] table
