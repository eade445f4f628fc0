"""Named exit codes, documented in docs/reference/exit-codes.md."""

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2  # bad option, config value, unknown or unreadable pid
# EX_TEMPFAIL from sysexits.h: "temporary failure, retry". Non-zero, so systemd's
# Restart=on-failure, Kubernetes, supervisord and memwarden restart the process; not 3 or 4,
# which gunicorn's arbiter treats as boot/app-load errors and halts on.
EXIT_MEMORY_RESTART = 75
