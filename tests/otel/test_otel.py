"""memwarden.otel through the real OTel metrics SDK and its InMemoryMetricReader."""

from __future__ import annotations

import os
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk.metrics")

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

import memwarden.otel
from memwarden.config import GuardConfig
from memwarden.guardian import Guardian
from memwarden.readers.proc import read_process_memory
from memwarden.units import Threshold


def collect(reader: InMemoryMetricReader) -> dict[str, tuple[Any, dict[str, Any]]]:
    data = reader.get_metrics_data()
    assert data is not None
    out = {}
    for resource_metrics in data.resource_metrics:
        for scope in resource_metrics.scope_metrics:
            assert scope.scope.name == "memwarden"
            for metric in scope.metrics:
                (point,) = metric.data.data_points
                out[metric.name] = (point.value, dict(point.attributes or {}), metric.unit)
    return {name: (value, attrs) for name, (value, attrs, _unit) in out.items()}


def test_gauges_report_real_figures() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    memwarden.otel.install(provider, config=GuardConfig(limit_bytes=64 * 1024**3), max_age_s=0)
    figures = collect(reader)
    rss_bytes = read_process_memory(os.getpid()).rss_bytes
    usage, _ = figures["process.memory.usage"]
    assert 0.5 * rss_bytes < usage < 2 * rss_bytes
    assert figures["process.memory.virtual"][0] >= usage
    assert figures["memwarden.memory.tree_rss"][0] >= usage
    limit, attributes = figures["memwarden.memory.limit"]
    assert attributes["memwarden.limit.source"] in ("budget", "cgroup", "system")
    assert limit <= 64 * 1024**3
    assert figures["memwarden.memory.headroom"][0] < limit
    assert 0 < figures["memwarden.memory.usage_ratio"][0] < 1
    assert figures["memwarden.memory.tier"][0] == 0
    working_set = figures.get("container.memory.working_set")
    assert working_set is None or working_set[0] > 0  # absent without a cgroup, never 0
    provider.shutdown()


def test_tier_follows_the_policy() -> None:
    # A warn threshold of 1 byte: this process is certainly above it.
    config = GuardConfig(warn=Threshold(size_bytes=1), critical=None, restart=None)
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    memwarden.otel.install(provider, config=config, max_age_s=0)
    assert collect(reader)["memwarden.memory.tier"][0] == 1
    provider.shutdown()


def test_figures_come_from_a_running_guardian() -> None:
    # Warn, not critical: a critical transition runs gc.collect(), which would finalise other
    # tests' garbage here and turn their ResourceWarnings into this test's errors.
    config = GuardConfig(warn=Threshold(size_bytes=1), critical=None, restart=None,
                         interval_s=3600)
    guardian = Guardian(config).start()
    try:
        reader = InMemoryMetricReader()
        provider = MeterProvider(metric_readers=[reader])
        memwarden.otel.install(provider, guardian=guardian, max_age_s=0)
        figures = collect(reader)
        assert figures["memwarden.memory.tier"][0] == 1 == int(guardian.tier)
        tree = guardian.status().sample.tree
        assert tree is not None and figures["memwarden.memory.tree_rss"][0] == tree.rss_bytes
        provider.shutdown()
    finally:
        guardian.stop()
