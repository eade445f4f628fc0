"""The comparison's pure parts: table rendering, ratios, the results document."""

from __future__ import annotations

from compare_report import SCENARIOS, docs_block, document
from compare_table import Column, Figures, Spec, mib, ms, ratio, render

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
                         versions={"pm2": "7.0.4"}, command="c", results=results)
    assert "(6.1)" in block and "### 1. Slow leak" in block and "\n## " not in block


def test_the_readme_headline_has_one_row_per_scenario_and_a_column_per_tool() -> None:
    from compare_headline import headline_block

    results: dict[str, dict[str, Figures | str]] = {
        "leak": {"memwarden": {"delay_median_s": 0.036}, "circus": {"delay_median_s": 0.636}},
        "spike": {"memwarden": {"oom": 0, "runs": 20}, "PM2 (fork)": {"oom": 20, "runs": 20}},
        "load": {"memwarden": {"failed_fraction": 0.08}, "memwarden --socket":
                 {"failed_fraction": 0.0}, "circus": {"failed_fraction": 0.0495}},
        "footprint": {"memwarden": {"rss_bytes": 17.1 * 2**20}, "circus": "pending"},
        "tree": {"memwarden": {"restarted": "yes, before the grandchild finished filling"},
                 "circus": {"restarted": "no (not within 20 s)"}},
    }
    block = headline_block(command="python bench/compare/run.py", nproc="2", results=results)
    lines = block.splitlines()
    assert lines[2] == "| | memwarden | PM2 (fork) | supervisord + memmon | circus |"
    assert "| 36 ms | — | — | 636 ms |" in lines[4]
    assert "| 0/20 | 20/20 | — | — |" in lines[5]
    assert "| 0.00 % (`--socket`) | — | — | 4.95 % |" in lines[6]
    assert "| 17.1 MiB | — | — | — |" in lines[7]
    assert lines[8].endswith("| yes | — | — | no |")
