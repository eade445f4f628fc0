"""`memwarden check [PID] [--json]`: where am I, how close to the limit, what to do."""

from __future__ import annotations

import json
from typing import Any

import click

from memwarden.cli.common import config_arguments, usage_errors
from memwarden.units import format_bytes


@click.command()
@click.argument("pid", type=int, required=False)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--limit", default=None, help="Budget, e.g. 512M (the effective limit is the "
              "smallest of this, the cgroup limit and the machine's memory).")
@click.option("--metric", type=click.Choice(["auto", "tree_rss", "working_set"]), default=None,
              help="Figure compared with the limit.  [default: auto]")
@usage_errors
def check(pid: int | None, as_json: bool, limit: str | None, metric: str | None) -> None:
    """One-shot report: a process tree (PID) or the container/system as a whole."""
    from memwarden.checkup import checkup_json, run_checkup
    from memwarden.config import load_guard_config
    from memwarden.sample import Sampler

    config = load_guard_config(config_arguments(limit=limit, metric=metric))
    sampler = Sampler(pid=pid, budget_bytes=config.limit_bytes, metric=config.metric,
                      with_status=True)
    checkup = run_checkup(sampler.sample(), with_top=pid is None)
    if as_json:
        click.echo(json.dumps(checkup_json(checkup), indent=2))
        return
    data = checkup_json(checkup)
    _print_text(data)


def _row(label: str, value: str) -> None:
    click.echo(f"  {label:<22} {value}")


def _print_text(data: dict[str, Any]) -> None:
    fb = format_bytes
    pid = data["pid"]
    click.echo(f"memwarden check {'pid ' + str(pid) if pid is not None else '(container/system)'}")
    tree = data["tree"]
    if isinstance(tree, dict):
        processes = tree["processes"]
        _row("tree RSS", f"{fb(tree['rss_bytes'])} in {len(processes)} process(es)")
        if tree["swap_bytes"]:
            _row("tree swap", fb(tree["swap_bytes"]))
        for process in processes[:10]:
            _row(f"  pid {process['pid']}", f"{fb(process['rss_bytes'])} RSS, "
                 f"{process['threads'] or '?'} threads")
    detail = data["process_detail"]
    if isinstance(detail, dict):
        _row("root PSS / USS", f"{fb(detail['pss_bytes'])} / {fb(detail['uss_bytes'])}")
    cg = data["cgroup"]
    if isinstance(cg, dict):
        _row(f"cgroup v{cg['version']}", str(cg["path"]))
        _row("  usage / limit", f"{fb(cg['usage_bytes'])} / "
             f"{fb(cg['limit_bytes']) if cg['limit_bytes'] else 'no limit'}")
        _row("  working set", f"{fb(cg['working_set_bytes'])} (usage - inactive_file "
             f"{fb(cg['inactive_file_bytes'])})")
        if cg["oom_kill_events"]:
            _row("  OOM kills", str(cg["oom_kill_events"]))
    system = data["system"]
    if isinstance(system, dict):
        _row("system", f"{fb(system['available_bytes'])} available of {fb(system['total_bytes'])}")
    ratio = data["usage_ratio"]
    _row("compared figure", f"{data['metric']} = {fb(data['measured_bytes'])}"
         + (f" ({ratio:.0%} of limit)" if isinstance(ratio, float) else ""))
    _row("effective limit", f"{fb(data['limit_bytes'])} ({data['limit_source'] or '-'})")
    _row("headroom", fb(data["headroom_bytes"]))
    pressure = data["pressure"]
    if isinstance(pressure, dict):
        full = pressure["full_avg10"]
        _row("PSI avg10", f"some {pressure['some_avg10']:.2f}%"
             + (f", full {full:.2f}%" if full is not None else ""))
    unavailable = data["sources_unavailable"]
    _row("unavailable sources", ", ".join(unavailable) if unavailable else "none")
    top = data["top_processes"]
    if isinstance(top, list) and top:
        click.echo("top processes by RSS:")
        for process in top:
            click.echo(f"  {process['pid']:>8}  {fb(process['rss_bytes']):>10}  {process['name']}")
    advice = data["recommendations"]
    if isinstance(advice, list) and advice:
        click.echo("recommendations:")
        for line in advice:
            click.echo(f"  - {line}")
