"""The ledger: each distinct uuid counts once, across batches, sources and repeats."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from exporter import catalogue
from exporter.config import Config, LabelsSection
from exporter.counting import mapping
from exporter.counting.ledger import Ledger
from exporter.counting.planner import Planner, limits, plan
from exporter.counting.recent import Recent
from exporter.counting.state import MetricState, Update
from exporter.ingest.classify import Kind
from exporter.ingest.events import LATEST_TIME, Entity, Event
from exporter.ingest.hookbody import parse_hook_body
from exporter.ingest.labels import HASH_LENGTH, Filter, LabelPolicy
from exporter.ingest.workflows import parse_workflows_card
from exporter.metrics.exposition import Exposition, GovernanceCollector, mapping_families, negotiate
from exporter.metrics.health import Health
from exporter.metrics.selfmetrics import SelfMetrics
from exporter.store.base import Store, StoreError
from exporter.store.memory import MemoryStore
from exporter.store.sqlite import SqliteStore
from tests.builders import envelope, okta_id
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
        application=Entity("0oa1", "AppInstance", "Slack", "Slack"),
        group=Entity("00g1", "UserGroup", "", "Eng"),
    )


IDS = ("0oa1", "00g1")


def failing(state: MetricState) -> dict[tuple[str, ...], float]:
    """okta_group_push_mapping_failing as exposed: by names."""
    return mapping_families(state)[catalogue.MAPPING_FAILING.name]


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
        (mapping.NAMES_SERIES, (*IDS, "Slack", "Eng"), 100.0),
        (mapping.LAST_FAILURE_SERIES, IDS, 100.0),
        (mapping.STATE_SERIES, IDS, mapping.encode(100.0, failing=True)),
    )


def test_plan_uses_now_when_published_is_missing() -> None:
    update = plan(event("a", published=None), Kind.RETRIED_FAILURE, NOW)
    assert update.maxima[0][2] == NOW


def test_plan_of_a_success_changes_no_counter_only_the_mapping_state() -> None:
    update = plan(event("a"), Kind.SUCCESS, NOW)
    assert update.increments == ()
    assert update.maxima == (
        (mapping.NAMES_SERIES, (*IDS, "Slack", "Eng"), 100.0),
        (mapping.STATE_SERIES, IDS, mapping.encode(100.0, failing=False)),
    )


def test_plan_of_a_mapping_end_writes_the_same_not_failing_state_as_a_success() -> None:
    ended = plan(event("a"), Kind.MAPPING_ENDED, NOW)
    assert ended.increments == ()
    assert ended.maxima == plan(event("b"), Kind.SUCCESS, NOW).maxima


def test_plan_of_users_ignored_counts_its_own_series_only() -> None:
    update = plan(event("a"), Kind.USERS_IGNORED, NOW)
    assert update.increments == ((catalogue.USERS_IGNORED.name, ("Slack", "Eng")),)
    assert update.maxima == ()


async def test_recorded_counts_failures_and_hook_delivery_failures_apart(
    parts: tuple[Ledger, MetricState, CollectorRegistry, MemoryStore],
) -> None:
    """Only failures are failures; each event_hook.delivery is new once (the store's dedup)."""
    ledger = parts[0]
    hook = msgspec.structs.replace(event("h1"), event_type="event_hook.delivery")
    removed = msgspec.structs.replace(
        event("r1"), event_type="application.provision.group_push.removed", outcome="SUCCESS"
    )
    recorded = await ledger.record([event("f1"), hook, removed], "poller")
    assert (recorded.counted, recorded.failures, recorded.hook_delivery_failures) == (3, 1, 1)
    again = await ledger.record([hook], "poller")
    assert (again.counted, again.duplicates, again.hook_delivery_failures) == (0, 1, 0)


def test_clearing_failing_now_is_one_predicate_over_kinds() -> None:
    """Every kind that clears "failing now" (a success, the end of a mapping: issue 14,
    section 1) plans like a success; every failure kind sets failing."""
    assert {kind for kind in Kind if kind.clears_failing} == {Kind.SUCCESS, Kind.MAPPING_ENDED}
    for kind in Kind:
        update = plan(event("a"), kind, NOW)
        state = dict(((name, labels), value) for name, labels, value in update.maxima)
        if kind.clears_failing:
            assert mapping.decode(state[mapping.STATE_SERIES, IDS]) == (100.0, False)
        elif kind.is_failure:
            assert mapping.decode(state[mapping.STATE_SERIES, IDS]) == (100.0, True)
        else:
            assert not state


def test_plan_counts_the_failure_reason_from_the_outcome_reason() -> None:
    failed = msgspec.structs.replace(event("a"), reason="Linked group is missing in AWS IAM")
    increments = dict(plan(failed, Kind.TERMINAL_FAILURE, NOW).increments)
    assert increments[catalogue.FAILURE_REASONS.name] == ("Slack", "not_found")


async def test_mapping_fails_until_a_later_success_whatever_the_arrival_order(
    parts: tuple[Ledger, MetricState, CollectorRegistry, MemoryStore],
) -> None:
    ledger, state, _, store = parts
    success = msgspec.structs.replace(event("s", published=200.0), event_type=PUSHED, outcome="")
    await ledger.record([event("f1", published=100.0)], "event_hook")
    assert failing(state) == {("Slack", "Eng"): 1.0}
    await ledger.record([success], "poller")
    assert failing(state) == {("Slack", "Eng"): 0.0}
    # A failure published before the success but read after it changes nothing...
    await ledger.record([event("f0", published=150.0)], "backfill")
    assert failing(state) == {("Slack", "Eng"): 0.0}
    # ...a newer one does, and the store agrees with the exposed view.
    await ledger.record([event("f2", published=250.0)], "poller")
    assert failing(state) == {("Slack", "Eng"): 1.0}
    stored = (await store.values())[mapping.STATE_SERIES]
    assert mapping.decode(stored[IDS]) == (250.0, True)


def test_mapping_state_encoding_orders_by_time_then_failure() -> None:
    assert mapping.encode(100.001, False) > mapping.encode(100.0, True)
    assert mapping.encode(100.0, True) > mapping.encode(100.0, False)
    assert mapping.decode(mapping.encode(1_795_000_000.123, True)) == (1_795_000_000.123, True)


@given(st.floats(min_value=0, max_value=LATEST_TIME), st.booleans())
def test_mapping_state_is_the_exact_integer_formula(published: float, failing: bool) -> None:
    # Computed in floats for speed; must be the number integer arithmetic gives.
    assert mapping.encode(published, failing) == float(2 * round(published * 1000) + failing)


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
    assert state.series(mapping.LAST_FAILURE_SERIES) == {IDS: 200.0}
    assert mapping_families(state)[catalogue.LAST_FAILURE.name] == {("Slack", "Eng"): 200.0}


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


async def test_the_recent_record_gets_each_new_event_with_its_update_in_a_mixed_batch() -> None:
    state, store, recent = MetricState(), MemoryStore(dedup_window=3600), Recent()
    metrics = SelfMetrics(CollectorRegistry())
    ledger = Ledger(store, state, metrics, Health(metrics), lambda: NOW, recent=recent)
    await ledger.record([event("a", published=100.0)], "event_hook")
    batch = [
        event("x", "user.session.start"),  # ignored: no update
        event("a", published=300.0),  # a duplicate: not fed
        event("b", published=200.0),
        msgspec.structs.replace(event("c", PUSHED, published=150.0), outcome="SUCCESS"),
    ]
    await ledger.record(batch, "event_hook")
    (seen,) = recent.view().values()
    assert seen.last_failure is batch[2]
    assert seen.last_success == 150.0
    assert seen.failures_since(0.0) == 2


async def test_memory_store_forgets_uuids_after_the_window() -> None:
    store = MemoryStore(dedup_window=10)
    update = plan(event("a"), Kind.TERMINAL_FAILURE, 0)
    assert await store.commit([update], now=0) == [True]
    assert await store.commit([update], now=5) == [False]
    assert await store.commit([update], now=100) == [True]


# --- label governance and the series TTL ---------------------------------------------------


def governed(
    store: Store | None = None,
    *,
    clock: Callable[[], float] = lambda: NOW,
    policy: LabelPolicy | None = None,
    ttl: float | None = None,
    **caps: int,
) -> tuple[Ledger, MetricState, CollectorRegistry]:
    config = Config(labels=LabelsSection(**caps))  # type: ignore[arg-type]
    state = MetricState(limits(config), clock=clock, track_updates=ttl is not None)
    registry = CollectorRegistry()
    registry.register(GovernanceCollector(state))
    metrics = SelfMetrics(registry)
    ledger = Ledger(
        store if store is not None else MemoryStore(3600),
        state,
        metrics,
        Health(metrics),
        clock,
        policy=policy or LabelPolicy(),
        series_ttl=ttl,
    )
    return ledger, state, registry


def by(uuid: str, app: str = "Slack", group: str = "Eng", actor: str = "Ada") -> Event:
    return Event(
        uuid=uuid,
        event_type=TERMINAL,
        published=100.0,
        outcome="FAILURE",
        reason="",
        message="",
        actor=Entity(id=f"00u-{actor}", display_name=actor),
        application=Entity(okta_id("0oa", app), "AppInstance", app, app),
        group=Entity(okta_id("00g", group), "UserGroup", "", group),
    )


async def test_overflow_is_counted_per_event_and_logged_once_per_label(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ledger, state, registry = governed(max_values=3)
    overflow = "okta_group_push_exporter_label_overflow_total"
    assert registry.get_sample_value(overflow, {"label": "actor"}) == 0  # there before any
    with caplog.at_level(logging.WARNING, logger="exporter.counting.ledger"):
        await ledger.record([by(str(i), actor=f"actor {i}") for i in range(6)], "event_hook")
        await ledger.record([by("6", actor="actor 6"), by("6", actor="actor 6")], "event_hook")
    assert registry.get_sample_value(overflow, {"label": "actor"}) == 5  # the duplicate: not
    assert sum(state.series(catalogue.FAILURES.name).values()) == 7
    warnings = [r for r in caplog.records if "label cap reached" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].fields == {  # type: ignore[attr-defined]
        "label": "actor",
        "flag": "--labels.max-values",
        "max_values": 3,
    }


async def test_caps_and_policy_govern_failure_reasons_and_mapping_state_too() -> None:
    ledger, state, registry = governed(
        max_values=3, policy=LabelPolicy(filters={"group": Filter(deny=re.compile("tmp-.*"))})
    )
    exposition = Exposition(state, registry)
    pushed = msgspec.structs.replace(
        by("ok-Box", app="Box", group="Eng"), event_type=PUSHED, outcome="SUCCESS"
    )
    batch = [
        *(by(f"f-{app}", app=app, group=group) for app, group in
          [("Slack", "Eng"), ("Zoom", "Ops"), ("AWS", "tmp-1"), ("Okta", "Eng")]),
        pushed,  # a success with a new application: capped like a failure's
    ]  # fmt: skip
    assert (await ledger.record(batch, "system_log")).counted == 5
    other = "__other__"
    reasons = state.series(catalogue.FAILURE_REASONS.name)
    assert reasons == {("Slack", "other"): 1.0, ("Zoom", "other"): 1.0, (other, "other"): 2.0}
    slack, zoom = okta_id("0oa", "Slack"), okta_id("0oa", "Zoom")
    eng, ops = okta_id("00g", "Eng"), okta_id("00g", "Ops")
    # The ids are capped like the names: AWS, Okta and Box are past the application cap,
    # and so are their ids; tmp-1's id is the third group id.
    assert set(state.series(mapping.STATE_SERIES)) == {
        (slack, eng), (zoom, ops), (other, other), (other, eng),
    }  # fmt: skip
    # Every overflowing value was counted: AWS, Okta, Box; tmp-1 is denied, not capped.
    overflow = "okta_group_push_exporter_label_overflow_total"
    assert registry.get_sample_value(overflow, {"label": "application"}) == 3
    text = exposition.render(negotiate("")).decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    failing = {
        (s.labels["application"], s.labels["group"]): s.value
        for s in families["okta_group_push_mapping_failing"].samples
    }
    # Okta's failure and Box's success share (__other__, Eng): the newer event decides,
    # and at the same millisecond a failure wins.
    assert failing == {
        ("Slack", "Eng"): 1.0, ("Zoom", "Ops"): 1.0, (other, other): 1.0, (other, "Eng"): 1.0,
    }  # fmt: skip
    reasons_total = sum(s.value for s in families["okta_group_push_failure_reasons"].samples)
    assert reasons_total == 4  # exact, whatever labels the failures ended up under


async def test_a_failed_commit_reserves_nothing(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path)  # never opened: every commit fails
    ledger, state, _ = governed(store, max_values=2)
    with pytest.raises(StoreError):
        await ledger.record([by("a", app="Zoom")], "event_hook")
    assert state.reserved() == 0 and state.distinct("application") == 0
    await store.close()


def test_a_plan_that_fails_reserves_nothing() -> None:
    # A time no mapping state can encode (the parsers never return one; a caller might).
    state = MetricState(limits(Config(labels=LabelsSection(max_values=2))))
    with pytest.raises(OverflowError):
        Planner(LabelPolicy(), state)(event("a", published=1e308), Kind.TERMINAL_FAILURE, NOW)
    assert state.reserved() == 0 and state.distinct("application") == 0


async def test_the_actor_hash_key_is_kept_in_the_store_and_shared(tmp_path: Path) -> None:
    policy = LabelPolicy(actor="hash")
    first_store = SqliteStore(tmp_path)
    await first_store.open()
    ledger, state, _ = governed(first_store, policy=policy)
    with pytest.raises(StoreError, match="hash key"):
        await ledger.record([by("a")], "event_hook")  # 503: Okta retries once it is loaded
    await ledger.prepare()
    await ledger.record([by("a")], "event_hook")
    (labels,) = state.series(catalogue.FAILURES.name)
    assert "Ada" not in labels[2] and len(labels[2]) == HASH_LENGTH
    await first_store.close()
    # A restart (or another replica) hashes the same person alike.
    again = SqliteStore(tmp_path)
    await again.open()
    restarted, _, _ = governed(again, policy=policy)
    await restarted.prepare()
    assert restarted.policy.labels(by("b")).actor == labels[2]
    await again.close()


class HeldStore(MemoryStore):
    """A memory store whose commits wait until the test lets them through."""

    def __init__(self) -> None:
        super().__init__(3600)
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def commit(self, updates: Sequence[Update], now: float) -> list[bool]:
        self.entered.set()
        await self.release.wait()
        return await super().commit(updates, now)


async def test_series_ttl_drops_idle_series_but_never_one_being_counted() -> None:
    now = [NOW]
    store = HeldStore()
    ledger, state, _ = governed(store, clock=lambda: now[0], ttl=3600)
    store.release.set()
    await ledger.record([by("a", group="Idle"), by("b", group="Busy")], "event_hook")
    now[0] += 7200
    store.release.clear()
    busy = asyncio.create_task(ledger.record([by("c", group="Busy")], "event_hook"))
    await store.entered.wait()
    expiry = asyncio.create_task(ledger.expire())
    await asyncio.sleep(0)
    assert not expiry.done()  # waits for the commit in flight
    store.release.set()
    await busy
    assert await expiry == 4  # the Idle group's FAILURES, names, LAST and mapping state
    failures = catalogue.FAILURES.name
    assert state.series(failures) == {("Slack", "Busy", "Ada"): 2.0}
    assert (await store.values())[failures] == {("Slack", "Busy", "Ada"): 2.0}
    assert set(state.series(mapping.STATE_SERIES)) == {
        (okta_id("0oa", "Slack"), okta_id("00g", "Busy"))
    }
    assert await ledger.expire() == 0
    # Without a TTL nothing ever expires.
    plain, _, _ = governed()
    assert await plain.expire() == 0


async def test_remembered_proposals_meet_the_caps_again_once_a_series_is_dropped() -> None:
    now = [NOW]
    ledger, state, _ = governed(clock=lambda: now[0], ttl=3600, max_values=3)
    await ledger.record([by("1", actor="Ada")], "event_hook")  # remembered: all counted
    now[0] += 7200
    assert await ledger.expire() > 0  # Ada's series are gone ...
    await ledger.record([by(str(i), actor=f"actor {i}") for i in range(2, 5)], "event_hook")
    await ledger.record([by("5", actor="Ada")], "event_hook")  # ... and the cap is full now
    actors = {labels[2] for labels in state.series(catalogue.FAILURES.name)}
    assert "Ada" not in actors
    assert "__other__" in actors
    assert len(actors) <= 3


async def test_a_new_label_policy_forgets_what_the_old_one_decided() -> None:
    ledger, state, _ = governed()
    await ledger.record([by("1", actor="Ada")], "event_hook")
    ledger.policy = LabelPolicy(actor="none")
    await ledger.record([by("2", actor="Ada")], "event_hook")
    assert state.series(catalogue.FAILURES.name) == {
        ("Slack", "Eng", "Ada"): 1.0,
        ("Slack", "Eng", ""): 1.0,
    }


def test_the_planner_keeps_no_key_with_megabytes_of_text() -> None:
    planner = Planner(LabelPolicy())
    short, long = event("a"), msgspec.structs.replace(event("b"), message="x" * 100_000)
    assert planner(long, Kind.TERMINAL_FAILURE, NOW).increments
    assert not planner._memo  # counted, not remembered
    planner(short, Kind.TERMINAL_FAILURE, NOW)
    assert len(planner._memo) == 1


# --- Okta ids inside, names on the labels (issue 14) ---------------------------------------


def target(kind: str, id_: str, alternate: str, display: str) -> dict[str, str]:
    return {"id": id_, "type": kind, "alternateId": alternate, "displayName": display}


def hook_event(uuid: str, app: dict[str, str], group: dict[str, str], **extra: object) -> object:
    return {
        "uuid": uuid,
        "published": "2026-11-20T09:15:00.123Z",
        "eventType": TERMINAL,
        "actor": extra.get("actor", target("User", "00u1", "ada@example.com", "Ada Admin")),
        "outcome": {"result": "FAILURE", "reason": "Invalid token"},
        "target": [app, group],
    }


async def test_two_instances_of_one_app_are_counted_apart(
    parts: tuple[Ledger, MetricState, CollectorRegistry, MemoryStore],
) -> None:
    """Two Slack workspaces share the catalogue name; their instance labels and ids differ."""
    ledger, state, _, _ = parts
    finance = target("AppInstance", "0oaFinance01", "Slack Finance Workspace", "Slack")
    sales = target("AppInstance", "0oaSales0001", "Slack Sales Workspace", "Slack")
    eng = target("UserGroup", "00gEng000001", "Engineering", "Engineering")
    body = orjson.dumps(envelope(hook_event("a", finance, eng), hook_event("b", sales, eng)))
    await ledger.record(parse_hook_body(body).events, "event_hook")
    assert state.series(catalogue.FAILURES.name) == {
        ("Slack Finance Workspace", "Engineering", "Ada Admin"): 1.0,
        ("Slack Sales Workspace", "Engineering", "Ada Admin"): 1.0,
    }
    assert failing(state) == {
        ("Slack Finance Workspace", "Engineering"): 1.0,
        ("Slack Sales Workspace", "Engineering"): 1.0,
    }
    assert set(state.series(mapping.STATE_SERIES)) == {
        ("0oaFinance01", "00gEng000001"),
        ("0oaSales0001", "00gEng000001"),
    }


async def test_okta_unknown_placeholders_fall_back_to_real_values(
    parts: tuple[Ledger, MetricState, CollectorRegistry, MemoryStore],
) -> None:
    """Okta's `unknown`, any case, on the actor, the group and the app is no value."""
    ledger, state, _, _ = parts
    app = target("AppInstance", "0oa1", "UNKNOWN", "Slack")
    group = target("UserGroup", "00g1", "unknown", "Unknown")
    # The public Panther actor: {"id":"unknown","alternateId":"admin","displayName":"unknown"}
    actor = target("User", "unknown", "admin", "unknown")
    body = orjson.dumps(envelope(hook_event("a", app, group, actor=actor)))
    await ledger.record(parse_hook_body(body).events, "event_hook")
    assert state.series(catalogue.FAILURES.name) == {("Slack", "00g1", "admin"): 1.0}
    assert set(state.series(mapping.STATE_SERIES)) == {("0oa1", "00g1")}


async def test_a_card_without_ids_is_kept_by_its_label_text(
    parts: tuple[Ledger, MetricState, CollectorRegistry, MemoryStore],
) -> None:
    ledger, state, _, _ = parts
    card = {
        "Event ID": "card-1",
        "Okta Application": {"Alternate ID": "Box Legal", "Display Name": "Box"},
        "Group": {"Display Name": "Legal"},
    }
    event = parse_workflows_card(card)
    assert isinstance(event, Event)
    await ledger.record([event], "workflows")
    assert set(state.series(mapping.STATE_SERIES)) == {("label:Box Legal", "label:Legal")}
    assert failing(state) == {("Box Legal", "Legal"): 1.0}
