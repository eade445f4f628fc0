"""The supervisor's vocabulary: a program's states, why it restarts, when it restarts.

`StrEnum`s, so they compare equal to, print as and serialize to their plain names (status
JSON, log lines and traces keep the words users already read). `enum` is loaded anyway
through the policy's tiers: these cost the lean supervisor nothing.
"""

from __future__ import annotations

from enum import StrEnum


class ProgramState(StrEnum):
    STARTING = "starting"  # configured, not spawned yet
    RUNNING = "running"  # child up
    STOPPING = "stopping"  # SIGTERM sent, waiting for the tree (then `after_stop`)
    BACKOFF = "backoff"  # waiting to restart after a crash
    STOPPED = "stopped"  # by request
    EXITED = "exited"  # finished and not restarted (autorestart)
    ERRORED = "errored"  # past max_restarts: given up

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset({ProgramState.STOPPED, ProgramState.EXITED, ProgramState.ERRORED})


class RestartReason(StrEnum):
    MEMORY = "memory"  # a tier reached restart (the program's, the budget's, the container's)
    CRASH = "crash"  # exited non-zero or by a signal nobody here sent
    OOM_KILL = "oom_kill"  # SIGKILLed by the kernel's OOM killer
    EXIT = "exit"  # exited with status 0 (restarted when autorestart is `always`)
    AGE = "age"  # max_age
    CRON = "cron"  # restart_at
    MANUAL = "manual"  # `memwarden restart NAME`
    WATCHDOG = "watchdog"  # a failed health probe or a missed sd_notify deadline

    @property
    def crashed(self) -> bool:
        """The program ended by itself: the next start waits for the crash backoff."""
        return self in (RestartReason.CRASH, RestartReason.OOM_KILL, RestartReason.EXIT)


class Autorestart(StrEnum):
    ALWAYS = "always"
    ON_FAILURE = "on-failure"  # not after an exit with status 0
    NEVER = "never"
