"""`memwarden report`: a self-contained HTML page (and optional PNG) from a trace and snapshots.

Only the sparkline is imported here: `memwarden monitor` uses it, and it must stay light.
"""

from memwarden.report.sparkline import sparkline

__all__ = ["sparkline"]
