"""The ledger: each distinct uuid counts once, across batches, sources and repeats."""

from __future__ import annotations

import dataclasses

import pytest
from prometheus_client import CollectorRegistry

from exporter import catalogue, mapping
from exporter.classify import Kind
from exporter.events import Entity, Event
from exporter.health import Health
from exporter.ledger import Ledger, plan
from exporter.selfmetrics import SelfMetrics
from exporter.state import MetricState
from exporter.store.memory import MemoryStore
from tests.conftest import NOW

TERMINAL = "application.provision.group_push.mapping.update.or.delete.failed.with.error"
RETRIED = "application.provision.group_push.mapping.update.or.delete.failed"
PUSHED = "application.provision.group_push.pushed"


def event(uuid: str, event_type: str = TERMINAL, published: float | None = 100.0) -> Event:
    return Event(
        uuid=uuid,
        event_type=event_type,
        published=published,
        outcome="FAILURE",
        reason="",
        message="",
        actor=Entity(display_name="Ada"),
        application=Entity(display_name="Slack"),
        group=Entity(display_name="Eng"),
    )


@pytest.fixture
def parts() -> tuple[Ledger, MetricState, CollectorRegistry, MemoryStore]:
    registry = CollectorRegistry()
    state = MetricState()
    store = MemoryStore(dedup_window=3600)
    metrics = SelfMetrics(registry)
    ledger = Ledger(store, state, metrics, Health(metrics), lambda: NOW)
    return ledger, state, registry, store


def test_plan_of_a_failure_increments_the_counters_and_raises_the_gauges() -> None:
    update = plan(event("a"), Kind.TERMINAL_FAILURE, NOW)
    assert update.increments == (
        (catalogue.FAILURES.name, ("Slack", "Eng", "Ada")),
        (catalogue.FAILURES_BY_KIND.name, ("Slack", TERMINAL, "terminal")),
        (catalogue.FAILURE_REASONS.name, ("Slack", "other")),
    )
    assert update.maxima == (
        (catalogue.LAST_FAILURE.name, ("Slack", "Eng"), 100.0),
        (mapping.STATE_SERIES, ("Slack", "Eng"), mapping.encode(100.0, failing=True)),
    )


def test_plan_uses_now_when_published_is_missing() -> None:
    update = plan(event("a", published=None), Kind.RETRIED_FAILURE, NOW)
    assert update.maxima[0][2] == NOW


def test_plan_of_a_success_changes_no_counter_only_the_mapping_state() -> None:
    update = plan(event("a"), Kind.SUCCESS, NOW)
    assert update.increments == ()
    assert update.maxima == (
        (mapping.STATE_SERIES, ("Slack", "Eng"), mapping.encode(100.0, failing=False)),
    )


def test_plan_counts_the_failure_reason_from_the_outcome_reason() -> None:
    failed = dataclasses.replace(event("a"), reason="Linked group is missing in AWS IAM")
    increments = dict(plan(failed, Kind.TERMINAL_FAILURE, NOW).increments)
    assert increments[catalogue.FAILURE_REASONS.name] == ("Slack", "not_found")


async def test_mapping_fails_until_a_later_success_whatever_the_arrival_order(
    parts: tuple[Ledger, MetricState, CollectorRegistry, MemoryStore],
) -> None:
    ledger, state, _, store = parts
    success = dataclasses.replace(event("s", published=200.0), event_type=PUSHED, outcome="")
    await ledger.record([event("f1", published=100.0)], "event_hook")
    assert mapping.failing(state.series(mapping.STATE_SERIES)) == {("Slack", "Eng"): 1.0}
    await ledger.record([success], "poller")
    assert mapping.failing(state.series(mapping.STATE_SERIES)) == {("Slack", "Eng"): 0.0}
    # A failure published before the success but read after it changes nothing...
    await ledger.record([event("f0", published=150.0)], "backfill")
    assert mapping.failing(state.series(mapping.STATE_SERIES)) == {("Slack", "Eng"): 0.0}
    # ...a newer one does, and the store agrees with the exposed view.
    await ledger.record([event("f2", published=250.0)], "poller")
    assert mapping.failing(state.series(mapping.STATE_SERIES)) == {("Slack", "Eng"): 1.0}
    stored = (await store.values())[mapping.STATE_SERIES]
    assert mapping.decode(stored[("Slack", "Eng")]) == (250.0, True)


def test_mapping_state_encoding_orders_by_time_then_failure() -> None:
    assert mapping.encode(100.001, False) > mapping.encode(100.0, True)
    assert mapping.encode(100.0, True) > mapping.encode(100.0, False)
    assert mapping.decode(mapping.encode(1_795_000_000.123, True)) == (1_795_000_000.123, True)


async def test_redelivered_and_repeated_uuids_count_once(
    parts: tuple[Ledger, MetricState, CollectorRegistry, MemoryStore],
) -> None:
    ledger, state, registry, _ = parts
    first = await ledger.record([event("a"), event("b"), event("a")], "event_hook")
    again = await ledger.record([event("b"), event("c")], "workflows")
    assert (first.counted, first.duplicates) == (2, 1)
    assert (again.counted, again.duplicates) == (1, 1)
    assert state.series(catalogue.FAILURES.name) == {("Slack", "Eng", "Ada"): 3.0}
    dup = "okta_group_push_exporter_duplicate_events_total"
    assert registry.get_sample_value(dup, {"source": "event_hook"}) == 1
    assert registry.get_sample_value(dup, {"source": "workflows"}) == 1


async def test_terminal_and_retried_failures_stay_distinguishable(
    parts: tuple[Ledger, MetricState, CollectorRegistry, MemoryStore],
) -> None:
    ledger, state, _, _ = parts
    await ledger.record([event("a"), event("b", RETRIED)], "poller")
    assert state.series(catalogue.FAILURES_BY_KIND.name) == {
        ("Slack", TERMINAL, "terminal"): 1.0,
        ("Slack", RETRIED, "retried"): 1.0,
    }


async def test_last_failure_gauge_keeps_the_newest_published_time(
    parts: tuple[Ledger, MetricState, CollectorRegistry, MemoryStore],
) -> None:
    ledger, state, _, _ = parts
    await ledger.record([event("a", published=200.0), event("b", published=150.0)], "poller")
    assert state.series(catalogue.LAST_FAILURE.name) == {("Slack", "Eng"): 200.0}


async def test_unrelated_events_are_ignored_and_not_remembered(
    parts: tuple[Ledger, MetricState, CollectorRegistry, MemoryStore],
) -> None:
    ledger, state, registry, store = parts
    result = await ledger.record([event("x", "user.session.start")], "event_hook")
    assert (result.counted, result.duplicates, result.ignored) == (0, 0, 1)
    assert state.count() == 0 and len(store) == 0
    received = registry.get_sample_value(
        "okta_group_push_exporter_events_received_total",
        {"source": "event_hook", "kind": "ignored"},
    )
    assert received == 1


async def test_memory_store_forgets_uuids_after_the_window() -> None:
    store = MemoryStore(dedup_window=10)
    update = plan(event("a"), Kind.TERMINAL_FAILURE, 0)
    assert await store.commit([update], now=0) == [True]
    assert await store.commit([update], now=5) == [False]
    assert await store.commit([update], now=100) == [True]
