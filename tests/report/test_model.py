from __future__ import annotations

from pathlib import Path

import pytest

from memwarden.report.downsample import envelope, gap_threshold_s, runs
from memwarden.report.model import ReportInputError, load_trace
from memwarden.report.summary import summarise
from tests.report.report_traces import MIB, START_S, event, header, realistic, sample, write_lines


def test_realistic_trace_loads_with_torn_tail(tmp_path: Path) -> None:
    trace = load_trace(realistic(tmp_path / "t.jsonl", duration_s=1800, rate_mib_per_h=900))
    assert [s.name for s in trace.series] == [""]
    series = trace.series[0]
    assert len(series.times_s) == 1800  # the torn last line is skipped
    assert series.times_s == sorted(series.times_s)
    kinds = {e.kind for e in trace.events}
    assert {"tier", "restart", "oom_kill", "leak", "action"} <= kinds
    summary = summarise(trace, series)
    assert summary.restarts == 1 and summary.oom_kills == 1
    assert summary.limit_bytes == 512 * MIB
    assert summary.peak_bytes is not None and summary.peak_bytes >= int(512 * MIB * 0.95)


def test_unknown_keys_nulls_and_junk_figures(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "t.jsonl", [
        header() | {"future_key": {"x": 1}},
        sample(START_S + 2, 200 * MIB, new_figure=7),
        sample(START_S + 1, None, tree_rss_bytes=None),  # out of order, unknown figure
        sample(START_S + 3, True, tree_rss_bytes="lots"),  # not numbers: unknown, never 0
        {"type": "sample"},  # no time: skipped
        {"type": "mystery", "t": START_S},
        event(START_S + 2, "action", "gc freed 1 MiB") | {"figures": "not a dict"},
    ])
    series = load_trace(path).series[0]
    assert series.times_s == [START_S + 1, START_S + 2, START_S + 3]
    assert series.figures["measured_bytes"] == [None, 200 * MIB, None]
    assert series.figures["tree_rss_bytes"] == [None, 200 * MIB, None]
    assert series.last("warn") == int(512 * MIB * 0.7)


def test_supervisor_trace_groups_by_program(tmp_path: Path) -> None:
    records = [header()]
    for i in range(10):
        records.append(sample(START_S + i, (100 + i) * MIB, program="web"))
        records.append(sample(START_S + i, 50 * MIB, source="supervisor:worker"))
    records.append(event(START_S + 5, "restart", "worker restarted", source="supervisor:worker"))
    records.append(event(START_S + 6, "oom_kill", "web killed", program="web"))
    trace = load_trace(write_lines(tmp_path / "t.jsonl", records))
    assert [s.name for s in trace.series] == ["web", "worker"]
    web, worker = (summarise(trace, s) for s in trace.series)
    assert (web.restarts, web.oom_kills, worker.restarts, worker.oom_kills) == (0, 1, 1, 0)
    assert web.peak_bytes == 109 * MIB


def test_oom_kills_from_the_cgroup_counter(tmp_path: Path) -> None:
    counts = [None, 0, 0, 1, 1, 3]
    records = [header()] + [sample(START_S + i, 100 * MIB, oom_kill_events=c)
                            for i, c in enumerate(counts)]
    trace = load_trace(write_lines(tmp_path / "t.jsonl", records))
    summary = summarise(trace, trace.series[0])
    assert summary.oom_kills == 3
    assert [e.time_s for e in summary.events] == [START_S + 3, START_S + 5, START_S + 5]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"", "not a memwarden trace"),
        (b"hello world\nthis is a log\n", "not a memwarden trace"),
        (b'{"a": 1}\n[1, 2]\n', "not a memwarden trace"),
        (b"\x89PNG\r\n\x1a\n\x00\xff\xfe", "not a memwarden trace"),
        (b'{"type":"header","schema":"other/1"}\n{"type":"sample","t":1}\n', "schema"),
        (b'{"type":"header","schema":"memwarden.trace/1"}\n', "no samples"),
    ],
)
def test_bad_traces(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "t.jsonl"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ReportInputError, match=message):
        load_trace(path)


def test_directory_is_not_a_trace(tmp_path: Path) -> None:
    with pytest.raises(ReportInputError, match="not a file"):
        load_trace(tmp_path)


def test_envelope_keeps_spikes_and_troughs() -> None:
    points = [(float(i), 100) for i in range(100_000)]
    points[31_337] = (31_337.0, 10_000)
    points[77_777] = (77_777.0, 1)
    buckets = envelope(points, 0.0, 99_999.0, 1000)
    assert len(buckets) == 1000
    assert max(b.high for b in buckets) == 10_000
    assert min(b.low for b in buckets) == 1


def test_gaps_split_runs() -> None:
    times = [float(i) for i in range(100)] + [float(i) for i in range(500, 600)]
    points = [(t, 5) for t in times]
    assert gap_threshold_s(times) == pytest.approx(5.0)
    assert [len(r) for r in runs(envelope(points, 0, 599, 600), gap_threshold_s(times))] == [
        100, 100]
    # Fewer columns than samples: neighbouring buckets are not a gap.
    assert len(runs(envelope(points, 0, 599, 50), gap_threshold_s(times))) == 2
