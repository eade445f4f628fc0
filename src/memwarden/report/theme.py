"""Colours, shared by the HTML, the SVG and the PNG so they read the same (GitHub Primer hues)."""

from __future__ import annotations

SERIES_COLOURS = {
    "tree_rss_bytes": "#0969da",
    "working_set_bytes": "#1a7f37",
    "measured_bytes": "#0969da",
    "py_traced_bytes": "#bc4c00",
}
LEVEL_COLOURS = {
    "warn": "#bf8700",
    "critical": "#e16f24",
    "restart": "#cf222e",
    "limit": "#24292f",
}
# Faint fills: the bands say "where am I" without fighting the series for attention.
BAND_COLOURS = {
    "ok": "rgba(45,164,78,0.07)",
    "warn": "rgba(212,167,44,0.16)",
    "critical": "rgba(225,111,36,0.18)",
    "restart": "rgba(207,34,46,0.18)",
    "over": "rgba(130,7,30,0.30)",
}
TIER_COLOURS = {
    "ok": "#2da44e",
    "warn": "#d4a72c",
    "critical": "#e16f24",
    "restart": "#cf222e",
}
EVENT_STYLES: dict[str, tuple[str, str]] = {  # kind -> (lane label, colour)
    "tier": ("tier change", "#57606a"),
    "action": ("gc / cleanup", "#0969da"),
    "shed": ("load shed", "#bf8700"),
    "leak": ("leak", "#bf3989"),
    "watchdog": ("watchdog", "#953800"),
    "restart": ("restart", "#8250df"),
    "exit": ("exit", "#6e7781"),
    "oom_kill": ("OOM kill", "#82071e"),
    "state_saved": ("state saved", "#1a7f37"),
    "state_restored": ("restored", "#116329"),
    "started": ("start", "#6e7781"),
    "stopped": ("stopped", "#57606a"),
    "snapshot": ("snapshot", "#1b7c83"),
}
# These are drawn across the plot too: they explain the drops in the series.
FULL_HEIGHT_KINDS = ("restart", "oom_kill", "leak")
