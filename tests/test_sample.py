"""One flat form of a sample: the trace, the guardian's status and a program's figures take
their names and values from Sample.figures()."""

from __future__ import annotations

import json
import os

from memwarden.policy import Tier
from memwarden.sample import Sampler
from memwarden.trace import sample_record


def test_every_json_view_of_a_sample_agrees_with_its_figures() -> None:
    sample = Sampler(pid=os.getpid(), budget_bytes=2**30, include_runtime=True).sample()
    figures = sample.figures()
    assert figures["tree_rss_bytes"] > 0 and figures["limit_bytes"] == 2**30
    assert figures["py_allocated_blocks"] > 0  # the in-process figures are there too
    json.dumps(figures)  # plain JSON values only

    record = sample_record(sample, Tier.OK, {Tier.WARN: 2**29}, program="web")
    assert {k: record[k] for k in figures} == figures
    assert record["type"] == "sample" and record["program"] == "web"
    assert record["thresholds_bytes"] == {"warn": 2**29}


def test_status_and_program_figures_are_taken_from_the_sample() -> None:
    from memwarden.guardian import GuardianStatus
    from memwarden.supervisor.config import ProgramConfig
    from memwarden.supervisor.program import new_run

    sample = Sampler(pid=os.getpid(), budget_bytes=2**30).sample()
    figures = sample.figures()
    status = GuardianStatus(sample=sample, tier=Tier.OK, thresholds_bytes={}, running=True)
    shown = status.to_json()
    for key in ("metric", "measured_bytes", "limit_bytes", "limit_source", "tree_rss_bytes",
                "working_set_bytes"):
        assert shown[key] == figures[key], key
    run = new_run(ProgramConfig(name="web", command=("true",)))
    run.last_sample = sample
    assert run.figures() == {
        "tree_rss_bytes": figures["tree_rss_bytes"],
        "working_set_bytes": figures["working_set_bytes"],
        "limit_bytes": figures["limit_bytes"], "limit_source": figures["limit_source"],
        "processes": figures["tree_processes"],
    }
