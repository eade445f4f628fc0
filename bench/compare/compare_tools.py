"""One adapter per supervisor: start a program under it with a memory restart threshold, find
its daemon, stop everything. Each peer runs at one of its variants (compare_variants): its
default detection setting or its fastest accepted one."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import compare_procs as procs
from compare_sandbox import Sandbox
from compare_variants import Variant, row_name

REPO = Path(__file__).resolve().parents[2]
MIB = 2**20


def socket_path(run_dir: Path) -> Path:
    # AF_UNIX paths are limited to 107 bytes; the run directory can be deeper than that.
    return Path("/tmp") / f"mwcompare-{hashlib.sha1(bytes(run_dir)).hexdigest()[:12]}.sock"


@dataclass
class Launch:
    program: list[str]
    threshold_bytes: int
    run_dir: Path
    cgroup: Path | None = None
    port: int | None = None  # the server's TCP port, for tools that hold the listening socket


@dataclass
class Running:
    tool: Tool
    launch: Launch
    launcher: subprocess.Popen[bytes]
    token: str
    extra: dict[str, str] = field(default_factory=dict)

    def daemon_pid(self) -> int | None:
        return self.tool.daemon_pid(self)

    def stop(self) -> None:
        try:
            self.tool.stop(self)
        finally:
            procs.kill_tagged(self.token)
            if self.launcher.poll() is None:
                self.launcher.kill()
            self.launcher.wait(timeout=30)
            procs.wait_for(lambda: True if not procs.tagged_pids(self.token) else None, 30)
            socket_path(self.launch.run_dir).unlink(missing_ok=True)


class Tool:
    name = ""
    settings = ""
    variant: Variant | None = None  # a peer's setting; memwarden runs at its default
    tag = ""  # short: run directories hold AF_UNIX sockets (PM2's), limited to 107 bytes

    @property
    def slug(self) -> str:
        return self.tag + (f"-{self.variant.label}" if self.variant is not None else "")

    def unavailable(self) -> str | None:
        return None

    def command(self, launch: Launch) -> tuple[list[str], dict[str, str]]:
        raise NotImplementedError

    def daemon_pid(self, running: Running) -> int | None:
        return running.launcher.pid if running.launcher.poll() is None else None

    def stop(self, running: Running) -> None:
        if running.launcher.poll() is None:
            running.launcher.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                running.launcher.wait(timeout=20)

    def start(self, launch: Launch) -> Running:
        launch.run_dir.mkdir(parents=True, exist_ok=True)
        argv, env_extra = self.command(launch)
        token = launch.run_dir.name
        env = {**os.environ, **env_extra, "MWCOMPARE_TOKEN": token}
        if launch.cgroup is not None:
            # The launcher joins the group before exec, so the tool and all it spawns are inside.
            argv = ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(launch.cgroup),
                    *argv]
        log = (launch.run_dir / "tool.log").open("ab")
        launcher = subprocess.Popen(
            argv, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=launch.run_dir, start_new_session=True,
        )
        log.close()
        return Running(self, launch, launcher, token)


class Pm2(Tool):
    base = "PM2 (fork)"
    tag = "pm2-fork"
    cluster_instances = 0  # 0: fork mode; else cluster mode with that many Node.js workers

    def __init__(self, box: Sandbox, variant: Variant) -> None:
        self.box = box
        self.worker_interval_ms = int(variant.setting)
        self.variant = variant
        self.name = row_name(self.base, variant)
        self.settings = (
            f"`max_memory_restart`; {variant.why} (the maintainers' knob, Unitech/pm2#2391); "
            "`exec_mode: fork`, default stop (SIGINT, `kill_timeout` 1600 ms)"
        )

    def _env(self, run_dir: Path) -> dict[str, str]:
        return {
            "PM2_HOME": str(run_dir / "pm2home"),
            "PM2_WORKER_INTERVAL": str(self.worker_interval_ms),
            "PM2_DISABLE_VERSION_CHECK": "1",
        }

    def command(self, launch: Launch) -> tuple[list[str], dict[str, str]]:
        app: dict[str, object] = {
            "name": "app",
            "script": launch.program[1],
            "args": launch.program[2:],
            "interpreter": launch.program[0],
            "exec_mode": "fork",
            "autorestart": True,
            "max_memory_restart": f"{launch.threshold_bytes // MIB}M",
        }
        if self.cluster_instances:
            app.update(exec_mode="cluster", instances=self.cluster_instances)
            del app["interpreter"]
        ecosystem = launch.run_dir / "ecosystem.json"
        ecosystem.write_text(json.dumps({"apps": [app]}))
        # `pm2 start` spawns the God daemon (which inherits the cgroup and env) and exits.
        return ["node", str(self.box.pm2_bin), "start", str(ecosystem)], self._env(launch.run_dir)

    def daemon_pid(self, running: Running) -> int | None:
        pid_file = running.launch.run_dir / "pm2home" / "pm2.pid"
        try:
            pid = int(pid_file.read_text())
        except (FileNotFoundError, ValueError):
            return None
        return pid if procs.alive(pid) else None

    def stop(self, running: Running) -> None:
        subprocess.run(
            ["node", str(self.box.pm2_bin), "kill"],
            env={**os.environ, **self._env(running.launch.run_dir)},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, check=False,
        )


class Pm2Cluster(Pm2):
    """Cluster mode is Node's `cluster` module: it runs the Node.js twin of the server."""

    base = "PM2 (cluster, Node.js twin)"
    tag = "pm2-cluster"
    cluster_instances = 2

    def __init__(self, box: Sandbox, variant: Variant) -> None:
        super().__init__(box, variant)
        self.settings = (
            f"as {row_name(Pm2.base, variant)}, but `exec_mode: cluster`, "
            f"`instances: {self.cluster_instances}`, "
            "running `children/server.js` (Node.js, same protocol and leak) since cluster mode "
            "cannot run a Python app; a memory restart is a per-worker reload"
        )


class Supervisord(Tool):
    base = "supervisord + memmon"
    tag = "memmon"

    def __init__(self, box: Sandbox, variant: Variant) -> None:
        self.box = box
        self.tick = variant.setting
        self.variant = variant
        self.name = row_name(self.base, variant)
        self.settings = (
            "superlance `memmon -c -p app=<threshold>` (`-c`: cumulative RSS of the process "
            f"and its children); {variant.why}; program `stopasgroup` + `killasgroup`, "
            "`startsecs=0`, default stop (SIGTERM, `stopwaitsecs` 10)"
        )

    def command(self, launch: Launch) -> tuple[list[str], dict[str, str]]:
        run = launch.run_dir
        sock = socket_path(run)
        memmon = f"{self.box.venv_bin / 'memmon'} -c -p app={launch.threshold_bytes // MIB}MB"
        conf = f"""
[unix_http_server]
file={sock}

[supervisord]
nodaemon=true
logfile={run}/supervisord.log
pidfile={run}/supervisord.pid
childlogdir={run}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{sock}

[program:app]
command={" ".join(launch.program)}
autorestart=true
startsecs=0
startretries=1000
stopasgroup=true
killasgroup=true
redirect_stderr=true
stdout_logfile={run}/app.log

[eventlistener:memmon]
command={memmon}
events={self.tick}
stderr_logfile={run}/memmon.log
"""
        (run / "supervisord.conf").write_text(conf)
        return [str(self.box.venv_bin / "supervisord"), "-c", str(run / "supervisord.conf")], {}


class Circus(Tool):
    base = "circus"
    tag = "circus"

    def __init__(self, box: Sandbox, variant: Variant) -> None:
        self.box = box
        self.loop_rate_s = float(variant.setting)
        self.variant = variant
        self.max_count = variant.max_count
        self.name = row_name(self.base, variant)
        self.settings = (
            f"`ResourceWatcher` plugin, `max_mem=<threshold>`; {variant.why}; `max_cpu` and "
            "`health_threshold` off so only memory counts; watcher `stop_children=true`, "
            "default stop (SIGTERM, `graceful_timeout` 30 s)"
        )

    def command(self, launch: Launch) -> tuple[list[str], dict[str, str]]:
        run = launch.run_dir
        conf = f"""
[circus]
endpoint = ipc://{run}/endpoint
pubsub_endpoint = ipc://{run}/pubsub
stats_endpoint = ipc://{run}/stats
statsd = false

[watcher:app]
cmd = {launch.program[0]}
args = {" ".join(launch.program[1:])}
numprocesses = 1
copy_env = true
stop_children = true

[plugin:memwatch]
use = circus.plugins.resource_watcher.ResourceWatcher
watcher = app
max_mem = {launch.threshold_bytes // MIB}M
max_cpu = 0
health_threshold = 0
max_count = {self.max_count}
loop_rate = {self.loop_rate_s:g}
"""
        (run / "circus.ini").write_text(conf)
        return [str(self.box.venv_bin / "circusd"), str(run / "circus.ini")], {}


class Memwarden(Tool):
    name = "memwarden"
    tag = "memwarden"
    settings = (
        "`memwarden run --limit <threshold> --restart 100% --max-restarts 1000` (default "
        "interval and stop: SIGTERM to the program's group, `--grace` 10 s; the restart cap "
        "is raised because the peers do not cap memory restarts)"
    )

    def unavailable(self) -> str | None:
        if not (REPO / "src" / "memwarden" / "supervisor" / "cli.py").exists():
            return "pending: `memwarden run` (issue 3) is not on this branch yet"
        return None

    def command(self, launch: Launch) -> tuple[list[str], dict[str, str]]:
        src = str(REPO / "src")
        pythonpath = os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH", "")) if p)
        argv = [sys.executable, "-m", "memwarden", "run",
                "--limit", f"{launch.threshold_bytes // MIB}M", "--restart", "100%",
                "--max-restarts", "1000",
                # Its own socket: other memwardens may be running on this machine.
                "--control-socket", str(socket_path(launch.run_dir)),
                *self.socket_args(launch), "--", *launch.program]
        return argv, {"PYTHONPATH": pythonpath}

    def socket_args(self, launch: Launch) -> list[str]:
        return []


class MemwardenSocket(Memwarden):
    """The load scenario once more, with memwarden holding the server's listening socket."""

    name = "memwarden --socket"
    tag = "memwarden-socket"
    settings = (
        "as memwarden, plus `--socket tcp://127.0.0.1:<port>`: memwarden binds the port once "
        "and hands it to every generation (LISTEN_FDS); the same server serves on fd 3"
    )

    def socket_args(self, launch: Launch) -> list[str]:
        if launch.port is None:
            raise RuntimeError("memwarden --socket needs the server's port")
        return ["--socket", f"tcp://127.0.0.1:{launch.port}"]
