"""Per-worker recycling: a worker over its max memory finishes its work and is replaced.

gunicorn (`memwarden.workers.gunicorn`), uvicorn (`memwarden.workers.uvicorn`) and Celery
(`memwarden.workers.celery`); each loads its server's modules only when used.
"""
