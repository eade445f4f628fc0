"""`memwarden check [PID] [--json]`: where am I, how close to the limit, what to do.

The exit status is the tier of the figure it read, so scripts and monitoring can act on it:
0 ok, 1 warn, 3 critical, 4 at the restart threshold or over the limit (2: bad input).
"""

from __future__ import annotations

import json
from typing import Any

import click

from memwarden.cli.common import styled, usage_errors
from memwarden.exitcodes import (
    EXIT_CHECK_CRITICAL,
    EXIT_CHECK_RESTART,
    EXIT_CHECK_WARN,
    EXIT_OK,
)
from memwarden.policy import PolicyConfig, PolicyState, Tier, evaluate
from memwarden.settings.clickopts import given, setting_options
from memwarden.settings.load import FLAG
from memwarden.units import format_bytes

EXIT_BY_TIER = {Tier.OK: EXIT_OK, Tier.WARN: EXIT_CHECK_WARN, Tier.CRITICAL: EXIT_CHECK_CRITICAL,
                Tier.RESTART: EXIT_CHECK_RESTART}
TIER_COLOURS = {Tier.OK: "green", Tier.WARN: "yellow", Tier.CRITICAL: "red",
                Tier.RESTART: "magenta"}


@click.command(epilog="Exit status: 0 ok, 1 warn, 3 critical, 4 at the restart threshold or "
               "over the limit, 2 bad input.")
@click.argument("pid", type=int, required=False)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@setting_options("guard", ("limit", "warn", "critical", "restart", "metric"))
@usage_errors
def check(pid: int | None, as_json: bool, **options: str | None) -> None:
    """One-shot report: a process tree (PID) or the container/system as a whole."""
    from memwarden.checkup import checkup_json, run_checkup
    from memwarden.sample import Sampler
    from memwarden.settings import load

    config = load().guard(given(options), source=FLAG)
    sampler = Sampler(pid=pid, budget_bytes=config.limit_bytes, metric=config.metric,
                      with_status=True)
    sample = sampler.sample()
    checkup = run_checkup(sample, with_top=pid is None)
    tier = tier_of(sample.measured_bytes, sample.limit.limit_bytes, config.policy())
    data = checkup_json(checkup)
    data["tier"] = tier.label
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        _print_text(data, tier)
    raise SystemExit(EXIT_BY_TIER[tier])


def tier_of(measured_bytes: int | None, limit_bytes: int | None, policy: PolicyConfig) -> Tier:
    """The tier of one reading (no hysteresis, no sustain: there is no history); over the
    limit counts as the restart tier even when the ladder has no restart threshold."""
    if measured_bytes is None:
        return Tier.OK
    if limit_bytes is not None and measured_bytes > limit_bytes:
        return Tier.RESTART
    plain = PolicyConfig(ladder=policy.ladder, hysteresis_fraction=policy.hysteresis_fraction)
    state, _ = evaluate(PolicyState(), measured_bytes=measured_bytes, limit_bytes=limit_bytes,
                        now_s=0.0, config=plain)
    return state.tier


def headroom_text(headroom_bytes: int | None) -> str:
    if headroom_bytes is not None and headroom_bytes < 0:
        return f"none: {format_bytes(-headroom_bytes)} over the limit"
    return format_bytes(headroom_bytes)


def _row(label: str, value: str) -> None:
    click.echo(f"  {label:<22} {value}")


def _print_text(data: dict[str, Any], tier: Tier) -> None:
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
    _row("headroom", headroom_text(data["headroom_bytes"]))
    _row("tier", styled(tier.label, fg=TIER_COLOURS[tier], bold=tier != Tier.OK))
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
