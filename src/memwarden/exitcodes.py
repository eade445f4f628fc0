"""Named exit codes, documented in docs/reference/exit-codes.md."""

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2  # bad option, config value, unknown or unreadable pid, unsafe control directory
EXIT_SOFTWARE = 70  # EX_SOFTWARE: the supervisor hit an internal error it cannot recover from
# EX_TEMPFAIL from sysexits.h: "temporary failure, retry". Non-zero, so systemd's
# Restart=on-failure, Kubernetes, supervisord and memwarden restart the process; not 3 or 4,
# which gunicorn's arbiter treats as boot/app-load errors and halts on.
EXIT_MEMORY_RESTART = 75
EXIT_CANNOT_EXECUTE = 126  # as a shell: the command exists but cannot be executed
EXIT_NOT_FOUND = 127  # as a shell: the command is not found
EXIT_SIGNAL_BASE = 128  # a program killed by signal N makes `memwarden run` exit 128+N
