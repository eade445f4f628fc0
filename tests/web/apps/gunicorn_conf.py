# gunicorn settings for the multiprocess metrics test: drop dead workers' live gauges.
from memwarden.web.metrics import child_exit

__all__ = ["child_exit"]
