"""Pure supervisor policies: restart accounting and schedules (no I/O)."""
