"""Compare memwarden with PM2, supervisord + memmon and circus on the same child programs.

    python bench/compare/run.py            # everything, ~35 min
    python bench/compare/run.py --quick    # fewer repetitions
    ... --tools pm2,circus --scenarios leak,tree --variants fastest

Each peer runs at its default detection setting and at its fastest accepted one
(compare_variants); memwarden at its default.

Installs the peers into bench/compare/.sandbox on first use, prints a markdown report and
writes it to bench/results/compare-<date>.md; the tables also replace the generated block in
docs/benchmarks/comparison.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import compare_sandbox
import compare_scenarios as scenarios
from compare_headline import headline_block
from compare_report import SCENARIOS, docs_block, document
from compare_table import Figures, render
from compare_tools import (
    REPO,
    Circus,
    Memwarden,
    MemwardenSocket,
    Pm2,
    Pm2Cluster,
    Supervisord,
    Tool,
)
from compare_variants import DEFAULT, FASTEST, LABELS, Variant, variants

RUNNERS: dict[str, Callable[[Tool, Path, scenarios.Config], Figures | str]] = {
    "leak": scenarios.slow_leak,
    "spike": scenarios.spike,
    "load": scenarios.restart_under_load,
    "footprint": scenarios.footprint,
    "tree": scenarios.tree,
}
TOOL_KEYS = ("memwarden", "pm2", "supervisord", "circus")
PEERS: dict[str, Callable[[compare_sandbox.Sandbox, Variant], Tool]] = {
    "pm2": Pm2, "supervisord": Supervisord, "circus": Circus,
}
# At a default interval (30-240 s) the load scenario's server would leak 64 MiB/s for
# minutes; the restart window it measures does not depend on the check interval.
LOAD_SKIPPED = ("not run at the default setting: the server leaks 64 MiB/s and would grow "
                "for the whole check interval; see the fastest row")
DOC = REPO / "docs" / "benchmarks" / "comparison.md"  # ends with the generated block
BLOCK = re.compile(r"(<!-- compare:table:start -->\n).*?(<!-- compare:table:end -->)", re.S)
README = REPO / "README.md"  # its short table, from full runs only
HEADLINE = re.compile(r"(<!-- compare:headline:start -->\n).*?(<!-- compare:headline:end -->)",
                      re.S)


def machine() -> dict[str, str]:
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    total_kib = int(next(line for line in meminfo if line.startswith("MemTotal:")).split()[1])
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo
                  if line.startswith("model name")), "unknown")
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True, check=False).stdout.strip()
    return {
        "uname": " ".join(platform.uname()),
        "nproc": str(os.cpu_count()),
        "memory": f"{total_kib / 2**20:.1f} GiB",
        "cpu": model,
        "memwarden commit": commit or "unknown",
    }


SETTLE_MAX_S = 60.0
SETTLE_MEMORY_SOME_AVG10 = 0.5  # % of time some task stalled on memory, over the last 10 s


def memory_pressure_avg10() -> float | None:
    try:
        first = Path("/proc/pressure/memory").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    fields = dict(item.split("=") for item in first.split()[1:])
    return float(fields["avg10"])


def settle() -> None:
    """Before each tool's run: let the memory stalls of the previous run (a spike's reclaim,
    a host squeeze) die down, so one run's aftermath is not charged to the next tool."""
    started_s = time.monotonic()
    while time.monotonic() - started_s < SETTLE_MAX_S:
        pressure = memory_pressure_avg10()
        if pressure is None or pressure <= SETTLE_MEMORY_SOME_AVG10:
            break
        time.sleep(1.0)
    waited_s = time.monotonic() - started_s
    if waited_s >= 1.0:
        print(f"[compare] waited {waited_s:.0f} s for memory pressure to settle "
              f"(some avg10 {memory_pressure_avg10()})", file=sys.stderr, flush=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tools", default=",".join(TOOL_KEYS),
                        help=f"comma-separated subset of {','.join(TOOL_KEYS)}")
    parser.add_argument("--scenarios", default=",".join(RUNNERS),
                        help=f"comma-separated subset of {','.join(RUNNERS)}")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--spike-runs", type=int, default=None, help="spike runs per tool [5]")
    parser.add_argument("--variants", default=",".join(LABELS),
                        help=f"the peers' settings to run: comma-separated subset of "
                        f"{','.join(LABELS)}")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    for name, allowed in (("tools", TOOL_KEYS), ("scenarios", tuple(RUNNERS)),
                          ("variants", LABELS)):
        chosen = getattr(args, name).split(",")
        unknown = [item for item in chosen if item not in allowed]
        if unknown:
            parser.error(f"--{name}: unknown {', '.join(unknown)} (choose from "
                         f"{', '.join(allowed)})")
        setattr(args, name, chosen)
    return args


def config(args: argparse.Namespace) -> scenarios.Config:
    cfg = scenarios.Config()
    if args.quick:
        cfg = scenarios.Config(leak_restarts=2, spike_runs=3, load_restarts=4,
                               footprint_window_s=5.0, tree_wait_s=15.0)
    if args.spike_runs is not None:
        cfg.spike_runs = args.spike_runs
    return cfg


def load_tools(tools: list[Tool], box: compare_sandbox.Sandbox) -> list[Tool]:
    """The load scenario adds memwarden --socket and PM2's cluster mode (fastest setting)."""
    out: list[Tool] = []
    for tool in tools:
        out.append(tool)
        if isinstance(tool, Memwarden):
            # Zero-downtime restarts are what --socket is for; the plain row stays beside it.
            out.append(MemwardenSocket())
        elif type(tool) is Pm2 and tool.variant is not None and tool.variant.label == FASTEST:
            # PM2's cluster mode can only run a Node.js app.
            out.append(Pm2Cluster(box, tool.variant))
    return out


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    cfg = config(args)
    box = compare_sandbox.ensure()
    labels = tuple(args.variants)
    tools: list[Tool] = [Memwarden()] if "memwarden" in args.tools else []
    tools += [PEERS[key](box, variant) for key in TOOL_KEYS if key in args.tools
              for variant in variants(key, labels)]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    runs_dir = compare_sandbox.SANDBOX / "runs" / stamp
    results: dict[str, dict[str, Figures | str]] = {}
    # The load scenario runs first: after the leak and spike scenarios, its first tool's
    # failures were 4-5x those of a run on a fresh host (22-24 % vs 4.4-5.3 %, same code;
    # see docs/benchmarks/comparison.md). The tables keep the scenarios' order.
    for key in sorted(args.scenarios, key=lambda k: k != "load"):
        rows: dict[str, Figures | str] = {}
        scenario_tools = list(tools)
        if key == "load":
            scenario_tools = load_tools(scenario_tools, box)
        for tool in scenario_tools:
            reason = tool.unavailable()
            if key == "load" and tool.variant is not None and tool.variant.label == DEFAULT:
                reason = LOAD_SKIPPED
            if reason is not None:
                rows[tool.name] = reason
                continue
            settle()
            started_s = time.monotonic()
            try:
                rows[tool.name] = RUNNERS[key](tool, runs_dir / f"{key}-{tool.slug}", cfg)
            # One tool failing must not cost the whole run; the row says what went wrong.
            except (OSError, RuntimeError, subprocess.SubprocessError, KeyError) as err:
                rows[tool.name] = f"error: {type(err).__name__}: {err}"
            print(f"[compare] {key} / {tool.name}: {time.monotonic() - started_s:.0f} s",
                  file=sys.stderr, flush=True)
        results[key] = rows
        print(render(SCENARIOS[key], rows), file=sys.stderr, flush=True)
    results = {key: results[key] for key in args.scenarios}

    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = " ".join(["python bench/compare/run.py", *argv])
    machine_info, versions = machine(), compare_sandbox.versions(box)
    settings = {tool.name: tool.settings for tool in
                (load_tools(tools, box) if "load" in args.scenarios else tools)}
    text = document(date=date, machine=machine_info, versions=versions, settings=settings,
                    command=command, results=results)
    print(text)
    if not args.no_write:
        out = REPO / "bench" / "results" / f"compare-{date[:10]}.md"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        print(f"[compare] wrote {out.relative_to(REPO)}", file=sys.stderr)
        if DOC.exists() and BLOCK.search(DOC.read_text()):
            block = docs_block(date=date, machine=machine_info, versions=versions,
                               settings=settings, command=command, results=results)
            DOC.write_text(BLOCK.sub(lambda m: m.group(1) + block + m.group(2),
                                     DOC.read_text()))
            print(f"[compare] updated {DOC.relative_to(REPO)}", file=sys.stderr)
        full_run = (set(args.scenarios) == set(RUNNERS) and set(args.tools) == set(TOOL_KEYS)
                    and set(labels) == set(LABELS))
        if full_run and not args.quick and HEADLINE.search(README.read_text()):
            headline = headline_block(command=command, nproc=machine_info["nproc"],
                                      results=results,
                                      peers=[tool.name for tool in tools[1:]])
            README.write_text(HEADLINE.sub(lambda m: m.group(1) + headline + "\n" + m.group(2),
                                           README.read_text()))
            print(f"[compare] updated {README.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
