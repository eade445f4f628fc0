"""Starting, stopping and restarting one program's process tree (used by the loop)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Sequence

from memwarden.events import EventKind, Level
from memwarden.exitcodes import EXIT_FAILURE, EXIT_MEMORY_RESTART
from memwarden.policy import PolicyState
from memwarden.supervisor import pid1
from memwarden.supervisor.cmdline import quote_command
from memwarden.supervisor.config import ProgramConfig
from memwarden.supervisor.logs import LineBuffer
from memwarden.supervisor.policy.restart import age_deadline_s, bounded_delay_s
from memwarden.supervisor.process import (
    ExecError,
    SpawnHook,
    exit_status,
    group_exists,
    signal_group,
    spawn,
)
from memwarden.supervisor.program import ProgramRun
from memwarden.supervisor.states import TERMINAL_STATES, Autorestart, ProgramState, RestartReason
from memwarden.supervisor.stopping import kill_tree, terminate_tree, tree_left
from memwarden.units import format_duration

# Not `from typing import ...` at run time: typing costs ~2 MB of RSS in the supervisor.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import selectors
    from typing import Any

    from memwarden.supervisor.loop import Supervisor


class Runner:
    def __init__(self, supervisor: Supervisor,
                 spawn_hooks: Callable[[ProgramConfig], Sequence[SpawnHook]]) -> None:
        self.sup = supervisor
        self.spawn_hooks = spawn_hooks
        # The exit status of a program's last run when it ended by itself (not stopped by us):
        # what `memwarden run` exits with once the program ends for good.
        self._ended: dict[str, int | None] = {}
        self._kill_reasons: dict[str, str] = {}  # why a stop's SIGKILL came before its grace

    def _log(self, level: str, run: ProgramRun, message: str, **fields: Any) -> None:
        self.sup.sink.event(level, message, program=run.name, **fields)

    def _emit(self, kind: EventKind, run: ProgramRun, message: str, *,
              level: Level = Level.INFO, **figures: Any) -> None:
        self.sup.events.emit(kind, message, program=run.name, level=level,
                             tier=run.tier.label, **figures)

    # -- start -------------------------------------------------------------------------------
    def start(self, run: ProgramRun) -> None:
        cfg = run.config
        env = dict(os.environ)
        env.update(cfg.env)
        run.restart_due_s = None
        self._ended[run.name] = None
        try:
            child = spawn(cfg.command, env=env, cwd=str(cfg.cwd) if cfg.cwd else None,
                          hooks=self.spawn_hooks(cfg))
        except ExecError as err:
            # Missing or not executable: every retry would fail the same way.
            run.child, run.state = None, ProgramState.ERRORED
            self._ended[run.name] = err.exit_status
            run.exit_description = f"cannot execute: {err.strerror}"
            self._emit(EventKind.STOPPED, run, f"cannot start {quote_command(cfg.command)}: "
                       f"{err.strerror} (exit status {err.exit_status}, not retried)",
                       level=Level.ERROR, state=run.state, status=err.exit_status)
            return
        except OSError as err:
            run.child = None
            run.exit_description = f"cannot start: {err}"
            self._log("error", run, f"cannot start {quote_command(cfg.command)}: {err}")
            run.started_s = time.monotonic()
            self._after_exit(run, RestartReason.CRASH, run.exit_description)
            return
        now_s = time.monotonic()
        run.child, run.state = child, ProgramState.RUNNING
        run.generation += 1
        run.started_s, run.started_wall_s = now_s, time.time()
        run.known_pids = {child.pid}
        if self.sup.sentinel is not None:
            self.sup.sentinel.add(child.pid)  # the child leads its own process group
        run.policy_state, run.last_sample, run.sampler = PolicyState(), None, None
        run.next_sample_s = now_s
        run.age_due_s = age_deadline_s(now_s, cfg.max_age_s, cfg.max_age_jitter)
        schedule = cfg.restart_at
        run.cron_due_wall_s = schedule.next_after(time.time()) if schedule else None
        for stream, fd in (("stdout", child.stdout_fd), ("stderr", child.stderr_fd)):
            if fd is not None:
                buffer = LineBuffer()
                self.sup.add_reader(fd, self._pipe_reader(run.name, stream, fd, buffer))
        self._emit(EventKind.STARTED, run, f"started pid {child.pid}: {quote_command(cfg.command)}",
                   pid=child.pid, generation=run.generation)

    def _pipe_reader(self, name: str, stream: str, fd: int,
                     buffer: LineBuffer) -> Callable[[selectors.BaseSelector], None]:
        def read(_selector: selectors.BaseSelector) -> None:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            lines = buffer.feed(chunk) if chunk else buffer.flush()
            for line in lines:
                self.sup.sink.child_line(name, stream, line)
            if not chunk:  # EOF: the child and everything that inherited the pipe are gone
                self.sup.remove_reader(fd)
                os.close(fd)

        return read

    # -- exits -------------------------------------------------------------------------------
    def on_reaped(self, pid: int, status: int) -> None:
        run = next((r for r in self.sup.runs.values() if r.alive and r.pid == pid), None)
        description = pid1.describe_status(status)
        sentinel = self.sup.sentinel
        if sentinel is not None and sentinel.gone(pid, os.waitstatus_to_exitcode(status)):
            self.sup.sink.event("warning", f"sentinel pid {pid} {description}: starting "
                                "another one")
            self.sup.restart_sentinel()
            return
        if run is None:
            self.sup.sink.event("info", f"reaped orphan pid {pid} ({description})")
            return
        assert run.child is not None
        run.child.returncode = os.waitstatus_to_exitcode(status)
        run.exit_description = description
        uptime_s = time.monotonic() - run.started_s
        if run.state != ProgramState.STOPPING:  # it ended by itself: its status is the verdict
            self._ended[run.name] = exit_status(run.child.returncode)
        exited: dict[str, Any] = {"pid": pid, "status": run.child.returncode,
                                  "uptime_s": round(uptime_s, 3)}
        message = f"pid {pid} {description} after {format_duration(uptime_s)}"
        if run.state == ProgramState.STOPPING:
            self._emit(EventKind.EXIT, run, message, expected=True, **exited)
            return  # the stop completes on the timer once nothing of the tree is left
        code = run.child.returncode
        if code == EXIT_MEMORY_RESTART:
            reason = RestartReason.MEMORY
            detail = f"pid {pid} exited with status {code}: its guardian reached the restart tier"
        elif code == -signal.SIGKILL and self.sup.memory.oom_killed(run):
            reason, detail = RestartReason.OOM_KILL, f"pid {pid} OOM-killed by the kernel"
            self._emit(EventKind.OOM_KILL, run, f"pid {pid} OOM-killed (SIGKILL from the "
                       f"kernel); figures before it: {run.figures_text()}, tier "
                       f"{run.tier.label}", level=Level.ERROR, reason=reason, pid=pid,
                       **run.figures())
        elif code == 0:
            reason, detail = RestartReason.EXIT, f"pid {pid} exited with status 0"
        else:
            reason, detail = RestartReason.CRASH, f"pid {pid} {description}"
        self._emit(EventKind.EXIT, run, message, level=Level.WARNING if code else Level.INFO,
                   expected=False, **exited)
        self._after_exit(run, reason, detail, uptime_s=uptime_s)

    def _after_exit(self, run: ProgramRun, reason: RestartReason, detail: str, *,
                    uptime_s: float = 0.0) -> None:
        policy = run.config.autorestart
        if policy == Autorestart.NEVER or (policy == Autorestart.ON_FAILURE
                                           and reason == RestartReason.EXIT):
            self.stop(run, after=ProgramState.EXITED, reason=reason)
            return
        after = self._decide(run, reason, detail, run.figures())
        run.restart_delay_s = run.tracker.crash_delay_s(uptime_s) if reason.crashed else 0.0
        if not reason.crashed:
            run.tracker.note_run(uptime_s)
        self.stop(run, after=after, reason=reason)

    def _decide(self, run: ProgramRun, reason: RestartReason, detail: str,
                figures: dict[str, Any]) -> str:
        """Count the restart against max_restarts: "restart", or "errored" past it."""
        now_s, cfg = time.monotonic(), run.config
        if not run.tracker.allow(now_s):
            self._log("error", run, f"errored: {run.tracker.restarts_in_window} restarts within "
                      f"{format_duration(cfg.restart_window_s)} (max_restarts "
                      f"{cfg.max_restarts}); not restarting after {reason} ({detail})",
                      reason=reason, state=ProgramState.ERRORED)
            return ProgramState.ERRORED
        run.tracker.record(now_s, time.time(), reason, detail)
        self._emit(EventKind.RESTART, run, f"restart ({reason}): {detail}; tier "
                   f"{run.tier.label}, {run.figures_text()}; restart "
                   f"{run.tracker.restarts_in_window}/{cfg.max_restarts} in "
                   f"{format_duration(cfg.restart_window_s)}", level=Level.WARNING,
                   reason=reason, detail=detail, pid=run.pid,
                   restarts_in_window=run.tracker.restarts_in_window,
                   max_restarts=cfg.max_restarts, **figures)
        return "restart"

    def restart(self, run: ProgramRun, reason: RestartReason, detail: str,
                figures: dict[str, Any]) -> bool:
        if run.state == ProgramState.RUNNING and run.alive:
            self._ended[run.name] = None  # we stop it: how it exits is no verdict
            run.restart_delay_s = 0.0
            run.tracker.note_run(time.monotonic() - run.started_s)
            self.stop(run, after=self._decide(run, reason, detail, figures), reason=reason)
            return True
        if reason == RestartReason.MANUAL and run.state in (*TERMINAL_STATES,
                                                            ProgramState.BACKOFF):
            run.tracker.reset_window()  # a person asked: an errored program gets a fresh window
            self._log("info", run, f"starting on request (was {run.state})")
            self.start(run)
            return True
        return False

    # -- stop --------------------------------------------------------------------------------
    def stop(self, run: ProgramRun, *, after: str, reason: str) -> None:
        if run.state in TERMINAL_STATES:
            return
        if run.state == ProgramState.STOPPING:
            if after != "restart":
                run.after_stop = after  # a shutdown during a restart wins
            return
        now_s = time.monotonic()
        run.state, run.after_stop = ProgramState.STOPPING, after
        run.stop_deadline_s = now_s + bounded_delay_s(run.config.grace_s)
        run.stop_killed = False
        self._kill_reasons.pop(run.name, None)
        signalled = terminate_tree(run, self._beyond_tree(run))
        self.sup.after_sigterm(run)
        if signalled is None:
            if not run.alive and self._surely_empty(run):
                self._finish_stop(run)  # it exited by itself and nothing of its tree is left
            return
        outside = signalled[1]
        self._log("info", run, f"stopping ({reason}): SIGTERM to process group {run.pid}"
                  + (f" and {outside} process(es) outside it" if outside else "")
                  + f", grace {format_duration(run.config.grace_s)}")

    def kill_now(self, run: ProgramRun, why: str) -> None:
        """SIGKILL run's whole tree at the next timer, not after its grace; why is logged."""
        if run.state == ProgramState.BACKOFF:
            run.state = ProgramState.STOPPED
        if run.state not in (ProgramState.RUNNING, ProgramState.STOPPING):
            return
        if run.state == ProgramState.RUNNING:
            self.stop(run, after="stop", reason=why)
        run.after_stop = "stop"
        run.stop_deadline_s = time.monotonic()
        self._kill_reasons[run.name] = why

    def _beyond_tree(self, run: ProgramRun) -> set[int]:
        """What a walk from run's main process misses: orphans re-parented to us, and the
        rest of its owned cgroup."""
        return self.sup.escapes.members(run) | self.sup.cgroups.members(run)

    def _surely_empty(self, run: ProgramRun) -> bool:
        """The kernel's word that nothing is left, after a /proc scan found nothing: a
        process that forks and exits can slip through a scan, not through these."""
        if run.pid is not None and group_exists(run.pid):
            return False
        return not self.sup.cgroups.members(run)

    def final_status(self, run: ProgramRun) -> int:
        """What `memwarden run` exits with for run: 0 when stopped on request; its own exit
        status (128+N for signal N) when it ended by itself for good; 1 when it errored
        after restarts the supervisor asked for."""
        if run.state == ProgramState.STOPPED:
            return 0
        ended = self._ended.get(run.name)
        if ended is not None:
            return ended
        return EXIT_FAILURE if run.state == ProgramState.ERRORED else 0

    def signal(self, run: ProgramRun, signum: int) -> None:
        if run.pid is not None:
            signal_group(run.pid, signum)

    def on_timer(self, run: ProgramRun, now_s: float) -> None:
        if run.state == ProgramState.STOPPING:
            left = tree_left(run, self._beyond_tree(run))
            if not left and not run.alive and self._surely_empty(run):
                self._finish_stop(run)
            elif run.stop_deadline_s is not None and now_s >= run.stop_deadline_s:
                # Again at every poll while anything is left: a fork can race one round.
                killed = kill_tree(run, left) + self.sup.cgroups.kill(run)
                if not run.stop_killed:
                    run.stop_killed = True
                    why = self._kill_reasons.get(run.name) or (
                        f"grace of {format_duration(run.config.grace_s)} over")
                    self._log("warning", run, f"{why}: SIGKILL to {killed} process(es) of "
                              f"the tree ({', '.join(map(str, sorted(left)))})")
        elif run.state == ProgramState.BACKOFF and run.restart_due_s is not None \
                and now_s >= run.restart_due_s:
            self.start(run)
        elif run.state == ProgramState.RUNNING:
            if run.age_due_s is not None and now_s >= run.age_due_s:
                run.age_due_s = None
                age = format_duration(now_s - run.started_s)
                self.sup.request_restart(run.name, RestartReason.AGE, f"ran {age} (max_age)")
            elif run.cron_due_wall_s is not None and time.time() >= run.cron_due_wall_s:
                run.cron_due_wall_s = None
                schedule = run.config.restart_at
                self.sup.request_restart(run.name, RestartReason.CRON,
                                         f"restart_at {schedule.text!r}" if schedule
                                         else "restart_at")

    def _finish_stop(self, run: ProgramRun) -> None:
        after = run.after_stop
        run.stop_deadline_s = None
        if self.sup.sentinel is not None and run.pid is not None:
            self.sup.sentinel.remove(run.pid)  # the group is empty: its number may be reused
        if after == "restart" and not self.sup.shutting_down:
            if run.restart_delay_s > 0:
                run.state = ProgramState.BACKOFF
                run.restart_due_s = time.monotonic() + run.restart_delay_s
                self._log("info", run, f"restarting in {format_duration(run.restart_delay_s)} "
                          "(backoff)")
            else:
                self.start(run)
            return
        run.state = ProgramState(after) if after in TERMINAL_STATES else ProgramState.STOPPED
        self._emit(EventKind.STOPPED, run, f"now {run.state}",
                   level=Level.ERROR if run.state == ProgramState.ERRORED else Level.INFO,
                   state=run.state)

    def deadlines(self, run: ProgramRun) -> list[float | None]:
        now_s = time.monotonic()
        if run.state == ProgramState.STOPPING:
            # Poll for leftovers of the tree at the sampling interval until the deadline.
            poll_s = now_s + min(bounded_delay_s(run.config.memory.interval_s), 0.1)
            return [poll_s, run.stop_deadline_s if not run.stop_killed else None]
        if run.state == ProgramState.BACKOFF:
            return [run.restart_due_s]
        if run.state == ProgramState.RUNNING:
            cron_s = None
            if run.cron_due_wall_s is not None:
                cron_s = now_s + max(0.0, run.cron_due_wall_s - time.time())
            return [run.age_due_s, cron_s]
        return []

