"""The sender against a real receiver on loopback: ok, slow, down, 429; dedup and cooldown."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from memwarden.alerts import AlertHandle, AlertsConfig, attach
from memwarden.alerts.config import MAX_BACKOFF_S
from memwarden.alerts.sender import backoff_s
from memwarden.events import Event, EventBus
from tests.alerts.alerts_receiver import Receiver, serving


def tier_event(previous: str, current: str, source: str = "guardian") -> Event:
    return Event(kind="tier", time_s=time.time(), message=f"memory tier {previous} -> {current}",
                 tier=current, source=source, figures={"previous": previous})


@pytest.fixture
def handles() -> Iterator[list[AlertHandle]]:
    made: list[AlertHandle] = []
    yield made
    for handle in made:
        handle.close(timeout_s=2)


def attached(handles: list[AlertHandle], bus: EventBus, **config: object) -> AlertHandle:
    handle = attach(bus, AlertsConfig(service="svc", **config))  # type: ignore[arg-type]
    assert handle is not None
    handles.append(handle)
    return handle


def test_no_url_attaches_nothing() -> None:
    assert attach(EventBus(), environ={}) is None


def test_publish_returns_while_receiver_hangs(
    receiver: Receiver, handles: list[AlertHandle]
) -> None:
    receiver.mode = "slow"
    bus = EventBus()
    handle = attached(handles, bus, url=receiver.url + "/hook", format="json")
    bus.publish(tier_event("ok", "warn"))
    receiver.wait_for(1)  # the request is at the receiver, which has not answered
    bus.publish(tier_event("warn", "critical"))  # returns although the sender thread is stuck
    assert not receiver.release.is_set()
    stats = handle.stats()
    assert stats["queued"] == 2 and stats["sent"] == 0 and stats["pending"] == 1
    receiver.release.set()
    assert handle.flush(30)
    assert handle.stats()["sent"] == 2
    bodies = [r.body for r in receiver.wait_for(2)]
    assert [b["labels"]["tier"] for b in bodies] == ["warn", "critical"]
    assert bodies[0]["status"] == "firing" and bodies[0]["labels"]["service"] == "svc"
    assert bodies[1]["labels"]["severity"] == "critical"


def test_down_receiver_is_retried_then_given_up(down_url: str,
                                                handles: list[AlertHandle]) -> None:
    bus = EventBus()
    handle = attached(handles, bus, url=down_url, timeout_s=2.0, retries=2,
                      retry_backoff_s=0.05)
    bus.publish(tier_event("ok", "critical"))
    bus.publish(Event(kind="restart", time_s=time.time(), message="restarting", source="app"))
    assert handle.flush(30)
    stats = handle.stats()
    assert stats["sent"] == 0 and stats["failed"] == 2 and stats["given_up"] == 2
    assert stats["retried"] == 4  # two retries each after the refused first try


def test_receiver_answering_500_gets_every_alert(
    receiver: Receiver, handles: list[AlertHandle]
) -> None:
    # A receiver that answers 500 for a while: nothing is lost once it recovers.
    receiver.answers = [500, 502, 503, 500]
    bus = EventBus()
    handle = attached(handles, bus, url=receiver.url, format="json", retry_backoff_s=0.05)
    for n in range(67):  # distinct sources: 67 distinct alerts
        bus.publish(Event(kind="leak", time_s=time.time(), message=f"l{n}", source=f"p{n}"))
    assert handle.flush(60)
    delivered = [r.body["labels"]["source"] for r in receiver.requests[len(receiver.answers):]]
    assert sorted(delivered) == sorted(f"p{n}" for n in range(67))
    assert delivered[0] == "p0"  # the failing alert was retried first, not sent last
    stats = handle.stats()
    assert stats["sent"] == 67 and stats["retried"] == 4
    assert stats["failed"] == 0 and stats["given_up"] == 0


def test_refused_then_listening_receiver_gets_the_alert(
    down_url: str, handles: list[AlertHandle]
) -> None:
    bus = EventBus()
    handle = attached(handles, bus, url=down_url, format="json", retries=10,
                      retry_backoff_s=0.1)
    bus.publish(Event(kind="oom_kill", time_s=time.time(), message="oom", source="sup"))
    deadline = time.monotonic() + 30
    while handle.stats()["retried"] < 1:  # refused at least once
        assert time.monotonic() < deadline, handle.stats()
        time.sleep(0.01)
    bus.publish(tier_event("ok", "warn"))  # returns at once while the target backs off
    assert handle.stats()["pending"] >= 1
    port = int(down_url.rsplit(":", 1)[1].split("/")[0])
    with serving(port) as late:
        bodies = [r.body for r in late.wait_for(2)]
        assert handle.flush(30)
    assert [b["alertname"] for b in bodies] == ["MemwardenOOMKill", "MemwardenMemoryTier"]
    stats = handle.stats()
    assert stats["sent"] == 2 and stats["retried"] >= 1 and stats["given_up"] == 0


def test_client_errors_are_not_retried(receiver: Receiver, handles: list[AlertHandle]) -> None:
    receiver.answers = [400]
    bus = EventBus()
    handle = attached(handles, bus, url=receiver.url, format="json", retry_backoff_s=0.05)
    bus.publish(Event(kind="oom_kill", time_s=time.time(), message="oom", source="sup"))
    assert handle.flush(30)
    assert len(receiver.requests) == 1
    stats = handle.stats()
    assert stats["failed"] == 1 and stats["given_up"] == 0 and stats["retried"] == 0


@pytest.mark.parametrize("failures", [1, 2, 5, 6, 7, 1100, 10**6])
def test_backoff_doubles_within_bounds(failures: int) -> None:
    for _ in range(100):
        wait_s = backoff_s(1.0, failures)
        ceiling_s = min(2.0 ** (min(failures, 64) - 1), MAX_BACKOFF_S)
        assert ceiling_s / 2 <= wait_s <= ceiling_s


def test_burst_of_flapping_transitions_is_deduplicated(
    receiver: Receiver, handles: list[AlertHandle]
) -> None:
    bus = EventBus()
    handle = attached(handles, bus, url=receiver.url, format="slack", cooldown_s=300.0)
    for _ in range(50):
        bus.publish(tier_event("ok", "warn"))
        bus.publish(tier_event("warn", "ok"))
    assert handle.flush(30)
    texts = [r.body["text"] for r in receiver.requests]
    assert len(texts) == 2  # one fire, one resolve; the other 49 flaps are inside the cooldown
    assert "MemwardenMemoryTier" in texts[0] and "tier=warn" in texts[0]
    assert texts[1].startswith(":white_check_mark: RESOLVED")
    assert handle.stats()["suppressed"] == 49


def test_repeated_rise_is_deduplicated_and_cooldown_zero_resends(
    receiver: Receiver, handles: list[AlertHandle]
) -> None:
    bus = EventBus()
    handle = attached(handles, bus, url=receiver.url, format="json", cooldown_s=0.0)
    bus.publish(tier_event("ok", "warn"))
    bus.publish(tier_event("ok", "warn"))  # already firing: a duplicate
    bus.publish(tier_event("warn", "ok"))
    bus.publish(tier_event("ok", "warn"))  # no cooldown: fires again
    assert handle.flush(30)
    statuses = [r.body["status"] for r in receiver.requests]
    assert statuses == ["firing", "resolved", "firing"]
    fingerprints = {r.body["fingerprint"] for r in receiver.requests}
    assert len(fingerprints) == 1  # the same alert each time: a stable fingerprint
    assert handle.stats()["deduplicated"] == 1


def test_retry_after_is_honoured(receiver: Receiver, handles: list[AlertHandle]) -> None:
    receiver.mode = "429"
    receiver.retry_after = "1"
    bus = EventBus()
    handle = attached(handles, bus, url=receiver.url, format="json")
    bus.publish(Event(kind="oom_kill", time_s=time.time(), message="oom", source="sup"))
    first, second = receiver.wait_for(2)
    assert first.body == second.body
    # Not a speed figure: the receiver asked for at least 1 s, and must not be asked sooner.
    assert second.monotonic_s - first.monotonic_s >= 1.0
    assert handle.flush(30)
    assert handle.stats()["retried"] == 1 and handle.stats()["sent"] == 1


def test_full_queue_drops_oldest_and_counts(receiver: Receiver, handles: list[AlertHandle]) -> None:
    receiver.mode = "slow"
    bus = EventBus()
    handle = attached(handles, bus, url=receiver.url, format="json", queue_size=3)

    def restart(n: int) -> Event:  # distinct sources: distinct alerts, no dedup
        return Event(kind="restart", time_s=time.time(), message=f"r{n}", source=f"p{n}")

    bus.publish(restart(0))
    receiver.wait_for(1)  # item 0 is in flight, the queue is empty
    for n in range(1, 10):
        bus.publish(restart(n))
    assert handle.stats()["dropped"] == 6
    receiver.release.set()
    assert handle.flush(30)
    assert [r.body["labels"]["source"] for r in receiver.requests] == ["p0", "p7", "p8", "p9"]


def test_full_queue_drop_newest(receiver: Receiver, handles: list[AlertHandle]) -> None:
    receiver.mode = "slow"
    bus = EventBus()
    handle = attached(handles, bus, url=receiver.url, format="json", queue_size=2,
                      overflow="drop_newest")
    for n in range(5):
        bus.publish(Event(kind="leak", time_s=time.time(), message=f"l{n}", source=f"p{n}"))
        if n == 0:
            receiver.wait_for(1)
    receiver.release.set()
    assert handle.flush(30)
    assert [r.body["labels"]["source"] for r in receiver.requests] == ["p0", "p1", "p2"]
    assert handle.stats()["dropped"] == 2


def test_kinds_filter_and_listener_never_raises(
    receiver: Receiver, handles: list[AlertHandle]
) -> None:
    bus = EventBus()
    handle = attached(handles, bus, url=receiver.url, format="json")
    bus.publish(Event(kind="action", time_s=time.time(), message="gc gave back 1 MiB"))
    bus.publish(Event(kind="tier", time_s=time.time(), message="odd", tier="bogus"))
    assert handle.flush(30)
    assert receiver.requests == [] and handle.stats()["queued"] == 0


def test_guardian_restart_alert_leaves_before_the_exit(
    receiver: Receiver, handles: list[AlertHandle]
) -> None:
    bus = EventBus()
    handle = attached(handles, bus, url=receiver.url, format="json")
    # The guardian publishes this right before os._exit: the alert must be out on return.
    bus.publish(Event(kind="restart", time_s=time.time(), message="exiting with status 75",
                      tier="restart", source="guardian"))
    assert len(receiver.requests) == 1 and handle.stats()["sent"] == 1
    assert receiver.requests[0].body["alertname"] == "MemwardenRestart"
