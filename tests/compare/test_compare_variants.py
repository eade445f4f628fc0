"""The peers' declared settings: each at its default and its fastest accepted value."""

from __future__ import annotations

from pathlib import Path

import pytest
from compare_sandbox import Sandbox
from compare_tools import Circus, Launch, Pm2, Pm2Cluster, Supervisord
from compare_variants import DEFAULT, FASTEST, LABELS, VARIANTS, row_name, variants

BOX = Sandbox(Path("/nonexistent-sandbox"))
PEERS = {"pm2": Pm2, "supervisord": Supervisord, "circus": Circus}


def test_every_peer_has_exactly_one_default_and_one_fastest() -> None:
    for key in PEERS:
        assert [v.label for v in variants(key)] == [DEFAULT, FASTEST]
    assert {v.tool for v in VARIANTS} == set(PEERS)
    assert variants("pm2", (FASTEST,)) == (VARIANTS[1],)


def test_row_names_are_unique_and_say_which_setting() -> None:
    names = [PEERS[v.tool](BOX, v).name for v in VARIANTS]
    assert len(set(names)) == len(names)
    for name, variant in zip(names, VARIANTS, strict=True):
        assert name == row_name(PEERS[variant.tool].base, variant)
        assert f", {variant.label} " in name and name.endswith(variant.shown)


def test_the_defaults_are_the_peers_own() -> None:
    pm2, memmon, circus = (PEERS[key](BOX, variants(key, (DEFAULT,))[0])
                           for key in ("pm2", "supervisord", "circus"))
    assert isinstance(pm2, Pm2) and pm2.worker_interval_ms == 30000
    assert isinstance(memmon, Supervisord) and memmon.tick == "TICK_60"
    assert isinstance(circus, Circus) and (circus.loop_rate_s, circus.max_count) == (60.0, 3)


def test_the_fastest_settings_reach_the_peers_configuration(tmp_path: Path) -> None:
    launch = Launch(["python3", "app.py"], 300 * 2**20, tmp_path)
    fastest = {key: PEERS[key](BOX, variants(key, (FASTEST,))[0]) for key in PEERS}
    _, env = fastest["pm2"].command(launch)
    assert env["PM2_WORKER_INTERVAL"] == "10"
    fastest["supervisord"].command(launch)
    assert "events=TICK_5\n" in (tmp_path / "supervisord.conf").read_text()
    fastest["circus"].command(launch)
    ini = (tmp_path / "circus.ini").read_text()
    assert "loop_rate = 0.01\n" in ini and "max_count = 0\n" in ini
    default_circus = PEERS["circus"](BOX, variants("circus", (DEFAULT,))[0])
    default_circus.command(launch)
    ini = (tmp_path / "circus.ini").read_text()
    assert "loop_rate = 60\n" in ini and "max_count = 3\n" in ini


def test_cluster_mode_names_the_setting_it_shares_with_fork_mode() -> None:
    cluster = Pm2Cluster(BOX, variants("pm2", (FASTEST,))[0])
    assert cluster.name == "PM2 (cluster, Node.js twin), fastest 10 ms"
    assert "as PM2 (fork), fastest 10 ms" in cluster.settings


def test_run_accepts_only_known_variants(capsys: pytest.CaptureFixture[str]) -> None:
    import run

    assert run.parse_args([]).variants == list(LABELS)
    assert run.parse_args(["--variants", "fastest"]).variants == ["fastest"]
    with pytest.raises(SystemExit) as exit_info:
        run.parse_args(["--variants", "fastest,quickest"])
    assert exit_info.value.code == 2
    assert "--variants: unknown quickest (choose from default, fastest)" in capsys.readouterr().err


def test_the_load_scenario_adds_socket_and_cluster_rows_once() -> None:
    import run

    tools = [run.Memwarden(), *(Pm2(BOX, v) for v in variants("pm2"))]
    names = [tool.name for tool in run.load_tools(tools, BOX)]
    assert names == ["memwarden", "memwarden --socket", "PM2 (fork), default 30 s",
                     "PM2 (fork), fastest 10 ms", "PM2 (cluster, Node.js twin), fastest 10 ms"]


def test_run_directories_are_unique_and_short_enough_for_pm2_sockets() -> None:
    import run

    tools = run.load_tools([run.Memwarden(), *(PEERS[v.tool](BOX, v) for v in VARIANTS)], BOX)
    slugs = [tool.slug for tool in tools]
    assert len(set(slugs)) == len(slugs)
    # <sandbox>/runs/<stamp>/<scenario>-<slug>/pm2home/pub.sock must fit in sun_path (107
    # bytes) from a checkout as deep as this one; the slug keeps its share small.
    assert max(len(f"footprint-{slug}") for slug in slugs) <= 30
