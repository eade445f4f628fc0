"""The supervisor loop: one thread, one selector, timers; signal handlers only enqueue.

Design (so cgroup ownership, sockets and watchdog plug in without changing it):

- **Wake-up sources.** Everything the loop waits on is a file descriptor registered in one
  `selectors` selector whose data is a callback `fn(selector)`: the signal wake-up pipe
  (`signal.set_wakeup_fd`), the control socket and its connections, each child's stdout and
  stderr. `add_reader(fd, callback)` / `remove_reader(fd)` let other components add their own
  (a cgroup threshold eventfd, a PSI trigger fd, an sd_notify socket). The selector's timeout
  is the nearest timer: a program's next sample (cadence.py: `interval` near a threshold, up
  to 20 intervals far from one or while kernel events watch every threshold ahead), a stop's
  grace deadline, a backoff, a max-age or cron restart.
- **Spawn hooks.** `spawn_hooks(program) -> list[SpawnHook]` is called before every spawn;
  a hook's `preexec` runs in the child before exec (e.g. join the program's own cgroup), its
  `pass_fds` stay open and its `env` is merged (e.g. LISTEN_FDS/LISTEN_PID, NOTIFY_SOCKET).
- **One restart entry.** `request_restart(name, reason, detail, figures)` is the single way
  anything asks for a restart: the memory policy, the control socket, max-age, cron, and a
  watchdog or an eventfd callback. It counts toward max_restarts (past it: `errored`), logs
  one line with reason, tier and figures, and starts a graceful stop: SIGTERM to the process
  group, `grace`, then SIGKILL for everything left of the tree; the program starts again
  once its whole tree is gone.
- **Signals** are handled by `handle_<name>` methods: SIGTERM/SIGINT stop every program
  gracefully and exit; more SIGTERMs never cut the shutdown hooks short, a second SIGINT
  (Ctrl-C twice) or a SIGQUIT kills what is left at once. SIGHUP/SIGUSR1/SIGUSR2/SIGWINCH are
  forwarded to every program's process group, SIGCHLD reaps every exited child, including
  orphans re-parented to us (we are a child subreaper, or PID 1).
- **Guarded.** Every handler runs through `Guard.call`: an exception is logged with its
  traceback and the loop goes on; only a loop that cannot wait any more stops every program
  gracefully and exits 70.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import time
from collections import deque
from collections.abc import Callable, Sequence

from memwarden.exitcodes import EXIT_OK, EXIT_SOFTWARE
from memwarden.supervisor import pid1
from memwarden.supervisor.bus import SupervisorBus
from memwarden.supervisor.config import ProgramConfig, SupervisorConfig
from memwarden.supervisor.container import ContainerWatch
from memwarden.supervisor.escapes import EscapeWatch
from memwarden.supervisor.guard import Guard, Unrecoverable
from memwarden.supervisor.handoff import SocketWiring
from memwarden.supervisor.leaks import LeakEvents
from memwarden.supervisor.liveness import Liveness
from memwarden.supervisor.logs import LogSink
from memwarden.supervisor.monitor import MemoryMonitor
from memwarden.supervisor.owned import CgroupWiring
from memwarden.supervisor.pressure import PressureWiring
from memwarden.supervisor.process import SpawnHook, set_child_subreaper
from memwarden.supervisor.program import ProgramRun, new_run
from memwarden.supervisor.runner import Runner
from memwarden.supervisor.sentinel import Sentinel, start_sentinel
from memwarden.supervisor.states import TERMINAL_STATES, ProgramState, RestartReason
from memwarden.supervisor.stopping import emergency_stop

# Not `from typing import ...` at run time: typing costs ~2 MB of RSS in the supervisor.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

Reader = Callable[[selectors.BaseSelector], None]
MAX_SENTINEL_STARTS = 20  # a sentinel killed this often is not coming back
SpawnHooks = Callable[[ProgramConfig], Sequence[SpawnHook]]


class Supervisor:
    def __init__(self, config: SupervisorConfig, *, sink: LogSink | None = None,
                 spawn_hooks: SpawnHooks | None = None) -> None:
        self.config = config
        self.sink = sink or LogSink(json_logs=config.json_logs, log_dir=config.log_dir)
        self.events = SupervisorBus()  # every decision, typed; the log is one subscriber
        self.events.subscribe(self.sink.on_event)
        self.runs: dict[str, ProgramRun] = {p.name: new_run(p) for p in config.programs}
        for program in config.programs:
            self.sink.open_program(program.name, program.log_max_bytes, program.log_backups)
        self.selector = selectors.DefaultSelector()
        self._signals: deque[int] = deque()
        self.shutting_down = False
        self._repeats_logged: set[int] = set()  # signals whose repeat was already logged
        self._sentinel_starts = 0
        self.guard = Guard(self.sink)
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._extra_hooks = spawn_hooks
        self.pressure = PressureWiring(self)
        self.cgroups = CgroupWiring(self)
        self.container = ContainerWatch(self)
        self.sockets = SocketWiring(config)  # binds now: a busy address fails before any start
        self.liveness = Liveness(self)
        self.leaks = LeakEvents(self)
        self.runner = Runner(self, self.spawn_hooks)
        self.memory = MemoryMonitor(self)
        self.escapes = EscapeWatch(self)
        self.control: Any = None
        self.sentinel: Sentinel | None = None
        self.started_s = time.monotonic()

    # -- wake-up sources ---------------------------------------------------------------------
    def add_reader(self, fd: Any, callback: Reader) -> None:
        self.selector.register(fd, selectors.EVENT_READ, callback)

    def remove_reader(self, fd: Any) -> None:
        with contextlib.suppress(KeyError, ValueError):  # already gone with its child
            self.selector.unregister(fd)

    def spawn_hooks(self, program: ProgramConfig) -> list[SpawnHook]:
        """What every spawn of program gets: its owned cgroup, and any hooks given."""
        hooks = list(self._extra_hooks(program)) if self._extra_hooks else []
        for hook in (self.cgroups.spawn_hook(program.name), self.sockets.spawn_hook(program),
                     self.liveness.spawn_hook(program.name), self.leaks.spawn_hook(program)):
            if hook is not None:
                hooks.append(hook)
        return hooks

    def restart_sentinel(self) -> None:
        """A new sentinel, told everything the old one knew (someone killed it)."""
        self._sentinel_starts += 1
        sentinel = start_sentinel() if self._sentinel_starts <= MAX_SENTINEL_STARTS else None
        self.sentinel = sentinel
        if sentinel is None:
            self.sink.event("warning", "no sentinel: if the supervisor is SIGKILLed, "
                            "grandchildren may outlive it")
            return
        for run in self.runs.values():
            if run.alive and run.pid is not None:
                sentinel.add(run.pid)
        for pid in self.escapes.pids:
            sentinel.add_pid(pid)
        for pgid in self.escapes.groups:
            sentinel.add(pgid)
        for path in self.cgroups.paths():
            sentinel.add_cgroup(path)
        for path in self.leaks.scratch_dirs():
            sentinel.add_dir(path)
        if self._sentinel_starts > 1:
            self.sink.event("info", f"sentinel pid {sentinel.pid} knows what its predecessor "
                            "knew")

    def after_sigterm(self, run: ProgramRun) -> None:
        """SIGTERM went to run's group (any stop): a program paused at its wall needs room."""
        self.cgroups.after_sigterm(run)

    # -- signals -----------------------------------------------------------------------------
    def _enqueue_signal(self, signum: int, _frame: object) -> None:
        self._signals.append(signum)  # only enqueue: the loop does the work

    def _install_signals(self) -> None:
        for signum in pid1.HANDLED:
            signal.signal(signum, self._enqueue_signal)
            signal.siginterrupt(signum, False)
        signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        self.add_reader(self._wake_r, self._drain_wakeup)

    def _drain_wakeup(self, _selector: selectors.BaseSelector) -> None:
        try:
            while os.read(self._wake_r, 512):
                pass
        except BlockingIOError:
            pass

    def _dispatch_signals(self) -> None:
        while self._signals:
            signum = self._signals.popleft()
            if signum == signal.SIGCHLD:
                self.guard.call("SIGCHLD", self.handle_sigchld)
            elif signum in pid1.FORCE:
                self.guard.call(signal.Signals(signum).name, self.handle_force, signum)
            elif signum in pid1.SHUTDOWN:
                self.guard.call(signal.Signals(signum).name, self.handle_sigterm, signum)
            else:
                self.guard.call(signal.Signals(signum).name, self.handle_forward, signum)

    def handle_sigchld(self) -> None:
        for pid, status in pid1.reap_children():
            self.guard.call(f"the exit of pid {pid}", self.runner.on_reaped, pid, status)

    def handle_sigterm(self, signum: int) -> None:
        name = signal.Signals(signum).name
        if self.shutting_down and signum == signal.SIGINT:
            self.handle_force(signum)  # Ctrl-C twice: the person at the terminal insists
            return
        if self.shutting_down:
            # One stop, delivered again (a parent's PR_SET_PDEATHSIG fires per exiting
            # thread, `kill` retried by a script, a storm): never cuts shutdown hooks short.
            if signum not in self._repeats_logged:
                self._repeats_logged.add(signum)
                self.sink.event("info", f"{name} again (pid {os.getpid()}): already stopping "
                                "gracefully; SIGINT twice or SIGQUIT kills at once")
            return
        self.shutdown(f"{name} received (pid {os.getpid()})")

    def handle_force(self, signum: int) -> None:
        """SIGQUIT, or SIGINT during a stop: SIGKILL every program's tree now, then exit."""
        why = f"{signal.Signals(signum).name} received (pid {os.getpid()})"
        if signum == signal.SIGINT:
            why = f"SIGINT again (pid {os.getpid()}) during the graceful stop"
        self.shutting_down = True
        self.sink.event("warning", f"{why}: killing every program now")
        for run in self.runs.values():
            self.runner.kill_now(run, why)

    def shutdown(self, why: str) -> None:
        """Stop every program gracefully, then exit; asking again changes nothing."""
        if self.shutting_down:
            self.sink.event("info", f"{why}: already stopping gracefully")
            return
        self.shutting_down = True
        self.sink.event("info", f"{why}: stopping every program")
        for run in self.runs.values():
            self.guard.call(f"stopping {run.name}", self.runner.stop, run, after="stop",
                            reason=why)

    def handle_forward(self, signum: int) -> None:
        for run in self.runs.values():
            if run.alive and run.pid is not None:
                self.sink.event("info", f"forwarding {signal.Signals(signum).name} to pid "
                                f"{run.pid}'s group", program=run.name)
                self.runner.signal(run, signum)

    # -- the one restart entry ---------------------------------------------------------------
    def request_restart(self, name: str, reason: str, detail: str = "",
                        figures: dict[str, Any] | None = None) -> bool:
        """Restart program `name` gracefully; False when it is unknown or not running.
        reason: a RestartReason (or its name)."""
        run = self.runs.get(name)
        if run is None:
            return False
        return self.runner.restart(run, RestartReason(reason), detail, figures or {})

    def stop_program(self, name: str) -> bool:
        run = self.runs.get(name)
        if run is None:
            return False
        self.runner.stop(run, after="stop", reason="requested")
        return True

    # -- the loop ----------------------------------------------------------------------------
    def run(self) -> int:
        """Start every program and supervise until none is left; the exit status."""
        if not set_child_subreaper() and not pid1.is_pid1():
            self.sink.event("warning", "cannot become a child subreaper: orphans go to init")
        self._install_signals()
        self.restart_sentinel()
        if self.control is not None:
            self.control.register(self.selector)
        self.pressure.setup()  # before the cgroups: their detection line names it
        self.cgroups.setup()
        self.liveness.setup()
        for name in self.runs:
            listening = self.sockets.describe(name)
            if listening:
                self.sink.event("info", f"listening on {listening}: handed to every "
                                "generation as fd 3.. (LISTEN_FDS)", program=name)
        mode = "as PID 1, " if pid1.is_pid1() else ""
        tick_s = self.config.tick_s
        slowest_s = max(self.memory.slowest_s(run) for run in self.runs.values())
        still_s = max(self.memory.slowest_s(run, still=True) for run in self.runs.values())
        still = f" ({still_s:g}s while a tree does not move)" if still_s > slowest_s else ""
        self.sink.event("info", f"supervisor pid {os.getpid()} {mode}starting "
                        f"{len(self.runs)} program(s), sampling every {tick_s:g}s near a "
                        f"threshold, up to every {slowest_s:g}s far from one{still}")
        for run in self.runs.values():
            self.guard.call(f"starting {run.name}", self.runner.start, run)
        _give_back_startup_memory()
        try:
            while not self._finished():
                self._iterate()
            self._drain_output()
        except Unrecoverable as err:
            return self._give_up(str(err))
        except Exception as err:
            self.guard.report("the loop", err)
            return self._give_up(f"{type(err).__name__}: {err}")
        finally:
            self._close()
        return self._exit_status()

    def _iterate(self) -> None:
        """One turn of the loop: wait, run what is ready, signals, reaping, timers."""
        try:
            timeout_s = max(0.0, self._next_deadline_s() - time.monotonic())
        except Exception as err:
            self.guard.report("the timers' deadlines", err)
            timeout_s = 0.1
        try:
            ready = self.selector.select(min(timeout_s, 3600.0))
        except Exception as err:
            self.guard.loop_failed(err)
            return
        self.guard.loop_ok()
        for key, _mask in ready:
            self.guard.call(f"the reader of fd {key.fd}", key.data, self.selector)
        self._dispatch_signals()
        # Cheap; covers a SIGCHLD coalesced with another signal.
        self.guard.call("reaping", self.handle_sigchld)
        self._timers(time.monotonic())

    def _exit_status(self) -> int:
        """The first nonzero final status in program order, else 0 (see exit-codes docs)."""
        for run in self.runs.values():
            status = self.runner.final_status(run)
            if status:
                self.sink.event("error" if run.state == ProgramState.ERRORED else "info",
                                f"exiting with status {status}: {run.name} is {run.state} "
                                f"({run.exit_description or 'no exit status'})")
                return status
        ended = [f"{r.name} is {r.state}" for r in self.runs.values()
                 if r.state != ProgramState.STOPPED]
        if ended:  # it ended for good with status 0 (e.g. max_restarts 0 and exit 0)
            self.sink.event("info", f"exiting with status 0: {', '.join(ended)} (last exit "
                            "with status 0)")
            return EXIT_OK
        self.sink.event("info", "every program stopped; exiting with status 0")
        return EXIT_OK

    def _give_up(self, why: str) -> int:
        """Unrecoverable: stop every program gracefully without the loop, exit 70."""
        self.sink.event("error", f"cannot go on ({why}): stopping every program and "
                        f"exiting with status {EXIT_SOFTWARE}")
        self.shutting_down = True
        runs = [r for r in self.runs.values() if r.state not in TERMINAL_STATES]
        extras = {r.name: self.escapes.adopted().get(r.name, set()) | self.cgroups.members(r)
                  for r in runs}
        emergency_stop(runs, extras)
        for run in runs:
            self.guard.call(f"killing {run.name}'s cgroup", self.cgroups.kill, run)
        return EXIT_SOFTWARE

    def _drain_output(self) -> None:
        """Pass on what the programs wrote just before they exited (it may still sit in the
        pipes); bounded, in case something that inherited a pipe keeps writing."""
        for _ in range(1000):
            events = self.selector.select(0)
            if not events:
                return
            for key, _mask in events:
                self.guard.call(f"the reader of fd {key.fd}", key.data, self.selector)

    def _finished(self) -> bool:
        return all(r.state in TERMINAL_STATES for r in self.runs.values())

    def _next_deadline_s(self) -> float:
        now_s = time.monotonic()
        deadlines = [now_s + 3600.0, *self.liveness.deadlines(), self.container.deadline_s()]
        if self.control is not None and self.control.deadline_s() is not None:
            deadlines.append(self.control.deadline_s())
        for run in self.runs.values():
            deadlines.extend(d for d in self.runner.deadlines(run) if d is not None)
            if run.alive and run.state == ProgramState.RUNNING:
                deadlines.append(run.next_sample_s)
        return min(deadlines)

    def _timers(self, now_s: float) -> None:
        fresh: dict[str, set[int]] = {}
        for run in self.runs.values():
            self.guard.call(f"{run.name}'s timers", self._program_timers, run, now_s, fresh)
        if fresh:
            self.guard.call("tracking escaped processes", self.escapes.scan, fresh)
        self.guard.call("the memory budget", self.memory.check_totals)
        self.guard.call("liveness", self.liveness.check, now_s)
        self.guard.call("the container's pressure", self.container.on_timer, now_s)
        if self.control is not None:
            self.guard.call("the control socket", self.control.tick, now_s)

    def _program_timers(self, run: ProgramRun, now_s: float,
                        fresh: dict[str, set[int]]) -> None:
        self.runner.on_timer(run, now_s)
        if run.alive and run.state == ProgramState.RUNNING and now_s >= run.next_sample_s:
            self.memory.sample(run)  # schedules the next one (cadence.py)
            tree = run.last_sample.tree if run.last_sample is not None else None
            fresh[run.name] = set(tree.pids) if tree is not None else set()
        elif run.state == ProgramState.STOPPING:
            self.cgroups.tick(run)

    def _close(self) -> None:
        # Each step guarded: a failing one must not keep the sentinel's pipe open.
        self.guard.call("closing the container watch", self.container.close)
        self.guard.call("closing the cgroups", self.cgroups.close)
        self.guard.call("closing pressure", self.pressure.close)
        self.guard.call("closing liveness", self.liveness.close)
        self.guard.call("closing the leak answers", self.leaks.close)
        self.guard.call("closing the sockets", self.sockets.close)
        # Withdraw what is gone, so a reused pid number is never on the sentinel's list.
        self.guard.call("forgetting gone processes", self.escapes.forget_gone)
        if self.sentinel is not None:  # EOF: it kills whatever is still listed, then exits
            self.guard.call("closing the sentinel", self.sentinel.close)
        signal.set_wakeup_fd(-1)
        for signum in pid1.HANDLED:
            signal.signal(signum, signal.SIG_DFL)
        if self.control is not None:
            self.guard.call("closing the control socket", self.control.close, self.selector)
        self.remove_reader(self._wake_r)
        os.close(self._wake_r)
        os.close(self._wake_w)
        self.selector.close()
        self.sink.close()

    # -- control -----------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        now_s = time.monotonic()
        return {
            "ok": True,
            "pid": os.getpid(),
            "uptime_s": now_s - self.started_s,
            "programs": [{**run.status(now_s), "detection": self.cgroups.modes.get(run.name)}
                         for run in self.runs.values()],
            "budget": self.memory.budget_status(),
        }

    def handle_control(self, request: dict[str, Any]) -> dict[str, Any]:
        command = request.get("cmd")
        name = request.get("program")
        if command == "status":
            return self.status()
        if command in ("restart", "stop"):
            if name is None and command == "stop":
                self.shutdown("stop requested on the control socket")
                return {"ok": True, "stopping": sorted(self.runs)}
            if not isinstance(name, str) or name not in self.runs:
                return {"ok": False, "error": f"no program named {name!r}",
                        "programs": sorted(self.runs)}
            if command == "restart":
                self.request_restart(name, RestartReason.MANUAL, "control socket")
            else:
                self.stop_program(name)
            return {"ok": True, "program": self.runs[name].status(time.monotonic())}
        return {"ok": False, "error": f"unknown cmd {command!r}; use status, restart, stop"}


def _give_back_startup_memory() -> None:
    """Imports leave freed heap behind; hand it back to the OS once (glibc's malloc_trim)."""
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(AttributeError):  # not glibc (musl, macOS): nothing to trim
        ctypes.CDLL(None).malloc_trim(0)
