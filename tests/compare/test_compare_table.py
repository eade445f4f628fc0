"""The comparison's pure parts: table rendering, ratios, the results document."""

from __future__ import annotations

from compare_report import SCENARIOS, docs_block, document
from compare_table import Column, Figures, Spec, mib, ms, percent, ratio, render

SPEC = Spec("Demo", "what it measures", (Column("delay_s", "delay", ms), Column("note", "note")),
            ("delay_s",))


def test_ratio_against_memwarden_per_row() -> None:
    text = render(SPEC, {"memwarden": {"delay_s": 0.05, "note": "a|b"},
                         "PM2 (fork)": {"delay_s": 1.0, "note": None}})
    lines = text.splitlines()
    assert lines[0] == "### Demo"
    assert lines[4] == "| tool | delay | note | delay × memwarden |"
    assert lines[6] == "| memwarden | 50 ms | a\\|b | 1.0× |"
    assert lines[7] == "| PM2 (fork) | 1000 ms | — | 20.0× |"


def test_pending_memwarden_leaves_ratios_pending() -> None:
    text = render(SPEC, {"memwarden": "pending: tool not installed",
                         "circus": {"delay_s": 0.7, "note": "x"}})
    assert "| memwarden | pending: tool not installed |  |  |" in text
    assert "| circus | 700 ms | x | pending |" in text


def test_ratio_edge_cases() -> None:
    assert ratio(0, 0) == "same"
    assert ratio(3, 0) == "∞ (memwarden 0)"
    assert ratio("yes", 1.0) == "—"
    assert ratio(None, 1.0) == "—"
    assert ratio(2.5, 0.5) == "5.0×"
    assert mib(3 * 2**20) == "3.0 MiB"
    assert ms(12.5) == "12.5 s"
    assert percent(0.0123) == "0.012 %"  # an idle supervisor's CPU, not rounded to 0.01 %


def test_document_names_machine_versions_and_every_scenario() -> None:
    no_figures: Figures = {}
    results: dict[str, dict[str, Figures | str]] = {
        key: {"memwarden": "pending", "circus": no_figures} for key in SCENARIOS
    }
    text = document(date="2026-11-23 14:00 UTC", machine={"nproc": "2", "uname": "Linux x 6.1"},
                    versions={"pm2": "7.0.4"}, settings={"circus": "`loop_rate=1`"},
                    command="python bench/compare/run.py --quick", results=results)
    assert "- nproc: 2" in text and "- pm2: 7.0.4" in text
    assert "| circus | `loop_rate=1` |" in text
    for spec in SCENARIOS.values():
        assert f"### {spec.title}" in text
    block = docs_block(date="d", machine={"nproc": "2", "memory": "1 GiB",
                                          "uname": "Linux x 6.1 #1"},
                       versions={"pm2": "7.0.4"}, settings={"circus, fastest 10 ms": "`x`"},
                       command="c", results=results)
    assert "(6.1)" in block and "### 1. Slow leak" in block and "\n## " not in block
    assert "| circus, fastest 10 ms | `x` |" in block


PEERS = ["PM2 (fork), default 30 s", "PM2 (fork), fastest 10 ms", "circus, fastest 10 ms"]


def headline_results() -> dict[str, dict[str, Figures | str]]:
    return {
        "leak": {"memwarden": {"delay_median_s": 0.036},
                 "PM2 (fork), default 30 s": {"delay_median_s": None, "signalled": "0/1"},
                 "circus, fastest 10 ms": {"delay_median_s": 0.012}},
        "spike": {"memwarden": {"oom": 0, "runs": 20},
                  "PM2 (fork), fastest 10 ms": {"oom": 20, "runs": 20}},
        "load": {"memwarden": {"failed_fraction": 0.08}, "memwarden --socket":
                 {"failed_fraction": 0.0}, "PM2 (fork), default 30 s": "not run at the default",
                 "circus, fastest 10 ms": {"failed_fraction": 0.0495}},
        "footprint": {"memwarden": {"rss_bytes": 17.1 * 2**20, "cpu_percent": 1.3},
                      "circus, fastest 10 ms": "pending",
                      "PM2 (fork), default 30 s": {"rss_bytes": 55 * 2**20,
                                                   "cpu_percent": 0.1}},
        "tree": {"memwarden": {"restarted": "yes, before the grandchild finished filling"},
                 "circus, fastest 10 ms": {"restarted": "no (not within 20 s)"}},
    }


def test_the_readme_headline_has_a_row_per_tool_setting_and_a_column_per_figure() -> None:
    from compare_headline import headline_block

    block = headline_block(command="python bench/compare/run.py", nproc="2",
                           results=headline_results(), peers=PEERS)
    lines = block.splitlines()
    assert "memwarden at its default 100 ms interval" in lines[0]
    assert lines[2].startswith("| | slow leak") and lines[2].count("|") == 8
    assert lines[4] == ("| memwarden | 36 ms | 0/20 | 0.00 % (`--socket`) | 17.1 MiB "
                        "| 1.300 % | yes |")
    assert lines[5] == ("| PM2 (fork), default 30 s | no stop (0/1) | — | — | 55.0 MiB "
                        "| 0.100 % | — |")
    assert lines[6] == "| PM2 (fork), fastest 10 ms | — | 20/20 | — | — | — | — |"
    assert lines[7] == "| circus, fastest 10 ms | 12 ms | — | 4.95 % | — | — | no |"


def test_the_readme_says_where_memwarden_does_not_lead() -> None:
    from compare_headline import headline_block, where_not_leading

    behind = where_not_leading(headline_results(), PEERS)
    assert behind == [
        "slow leak: crossed → stop signal (median) (memwarden 36 ms; circus, fastest 10 ms "
        "12 ms)",
        "10 restarts under load: failed requests without `--socket` (memwarden 8.00 %; "
        "circus, fastest 10 ms 4.95 %)",
        "idle CPU (memwarden 1.300 %; PM2 (fork), default 30 s 0.100 %)",
    ]
    block = headline_block(command="c", nproc="2", results=headline_results(), peers=PEERS)
    assert block.splitlines()[-1].startswith("Where memwarden does not lead in this run: slow")


def test_a_peer_with_no_figure_never_counts_as_leading() -> None:
    from compare_headline import where_not_leading

    results: dict[str, dict[str, Figures | str]] = {
        "leak": {"memwarden": {"delay_median_s": 0.05}, "p": {"delay_median_s": None}},
        "spike": {"memwarden": {"oom": 0, "runs": 20}, "p": {"oom": 0, "runs": 0}},
        "tree": {"memwarden": {"restarted": "yes"}, "p": {"restarted": "yes"}},
        "footprint": {"memwarden": "error: OSError", "p": {"rss_bytes": float("nan")}},
    }
    # A tie is not a lead either way; NaN compares false; memwarden with no figure loses
    # only to a real figure.
    assert where_not_leading(results, ["p"]) == []
