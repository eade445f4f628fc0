"""Named exit codes, documented in docs/reference/exit-codes.md."""

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2  # bad option, config value, unknown or unreadable pid, unsafe control directory
EXIT_SOFTWARE = 70  # EX_SOFTWARE: the supervisor hit an internal error it cannot recover from
EXIT_INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT, as a shell reports it
# `memwarden check`: the tier of the figure it read, like a monitoring plugin's status. 2 is
# skipped: it means bad input for every command.
EXIT_CHECK_WARN = 1
EXIT_CHECK_CRITICAL = 3
EXIT_CHECK_RESTART = 4  # at or above the restart threshold, or over the limit
# EX_TEMPFAIL from sysexits.h: "temporary failure, retry". Non-zero, so systemd's
# Restart=on-failure, Kubernetes, supervisord and memwarden restart the process; not 3 or 4,
# which gunicorn's arbiter treats as boot/app-load errors and halts on.
EXIT_MEMORY_RESTART = 75
EXIT_CANNOT_EXECUTE = 126  # as a shell: the command exists but cannot be executed
EXIT_NOT_FOUND = 127  # as a shell: the command is not found
EXIT_SIGNAL_BASE = 128  # a program killed by signal N makes `memwarden run` exit 128+N
