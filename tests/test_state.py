"""MetricState's bookkeeping: caps that count every series, reservations, expiry, changes."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from exporter import catalogue
from exporter.config import MIN_SERIES, Config, LabelsSection
from exporter.counting import mapping
from exporter.counting.ledger import Ledger
from exporter.counting.planner import limits, plan, propose, stored_series
from exporter.counting.state import SERIES_CAP, Admitted, Labels, MetricState, Update, Values
from exporter.ingest import reasons
from exporter.ingest.classify import Kind
from exporter.ingest.events import Entity, Event
from exporter.ingest.labels import GOVERNED, OTHER, LabelPolicy
from exporter.metrics.health import Health
from exporter.metrics.selfmetrics import SelfMetrics
from exporter.records import Tallies
from exporter.store.memory import MemoryStore

FAILURES = catalogue.FAILURES.name
BY_KIND = catalogue.FAILURES_BY_KIND.name
LAST = mapping.LAST_FAILURE_SERIES  # a maximum, as the tests without caps need one
NAMES = mapping.NAMES_SERIES
REASONS = catalogue.FAILURE_REASONS.name
TERMINAL = "application.provision.group_push.mapping.update.or.delete.failed.with.error"
RETRIED = "application.provision.group_push.mapping.update.or.delete.failed"
PUSHED = "application.provision.group_push.pushed"  # a success: moves the mapping state


def capped(max_values: int = 1000, max_series: int = 10_000) -> MetricState:
    return MetricState(
        limits(Config(labels=LabelsSection(max_values=max_values, max_series=max_series)))
    )


def proposed(app: str, group: str, actor: str, kind: str = "terminal") -> list[tuple[str, Labels]]:
    return [
        (FAILURES, (app, group, actor)),
        (BY_KIND, (app, TERMINAL, kind)),
        (NAMES, (f"0oa{app}", f"00g{group}", app, group)),
    ]


def admit(state: MetricState, series: list[tuple[str, Labels]]) -> Admitted:
    """`state.admit`, with None (all counted already) spelled out."""
    return state.admit(series) or Admitted(tuple(series))


def admit_and_apply(state: MetricState, app: str, group: str, actor: str) -> Update:
    admitted = admit(state, proposed(app, group, actor))
    failures, by_kind, last = admitted.series
    update = Update(
        "u",
        Kind.TERMINAL_FAILURE,
        (failures, by_kind),
        ((*last, 1.0),),
        admitted.overflow,
        admitted.reserved,
    )
    state.apply(update)
    state.release(update.reserved)
    return update


def distinct(state: MetricState, label: str) -> set[str]:
    values: set[str] = set()
    for name, label_names in stored_series():
        if label in label_names:
            position = label_names.index(label)
            values |= {labels[position] for labels in state.series(name)}
    return values


def a_failure() -> Event:
    app = Entity("0oa1", "AppInstance", "app", "App")
    return Event("u", TERMINAL, 1.0, "FAILURE", "", "", Entity(), app, Entity("00g1", "UserGroup"))


def test_the_floor_of_the_series_cap_leaves_room_for_a_failure() -> None:
    kept = limits(Config(labels=LabelsSection(max_series=MIN_SERIES))).reserve
    # failures 1, by kind 2, reasons 8, users ignored 1; the mapping's names, last failure
    # and state 1 each
    assert kept == 15
    assert MIN_SERIES - kept >= len(propose(a_failure(), Kind.TERMINAL_FAILURE))  # 6


def test_the_floor_of_the_series_cap_counts_a_first_failure_without_folding() -> None:
    update = plan(a_failure(), Kind.TERMINAL_FAILURE, 1.0, state=capped(max_series=MIN_SERIES))
    assert update.overflow == ()


def test_new_values_beyond_the_cap_become_other_and_are_counted() -> None:
    state = capped(max_values=3)  # two real values, one kept for __other__
    for app in ("a", "b", "c", "d"):
        admit_and_apply(state, app, "g", "x")
    assert distinct(state, "application") == {"a", "b", OTHER}
    assert state.series(FAILURES)[(OTHER, "g", "x")] == 2.0
    assert state.overflow()["application"] == 2
    # A known value still passes once the label is full.
    admit_and_apply(state, "a", "g", "x")
    assert state.series(FAILURES)[("a", "g", "x")] == 2.0


def test_the_series_cap_folds_new_label_sets_and_keeps_room_for_them() -> None:
    # 20 - 14 kept for the __other__ label sets (one per metric and kind or reason) = 6 real
    state = capped(max_series=MIN_SERIES)
    for group in range(5):
        admit_and_apply(state, "a", f"g{group}", "x")
    assert state.count() <= MIN_SERIES
    assert state.series(FAILURES)[(OTHER, OTHER, OTHER)] >= 1
    assert state.series(BY_KIND) == {("a", TERMINAL, "terminal"): 5.0}  # that one existed
    assert state.overflow()[SERIES_CAP] >= 1
    assert sum(state.series(FAILURES).values()) == 5


def test_caps_count_series_loaded_from_the_store() -> None:
    state = capped(max_values=3)
    state.merge({FAILURES: {("a", "g", "x"): 4.0, ("b", "g", "x"): 1.0}})
    admit_and_apply(state, "c", "g", "x")
    assert distinct(state, "application") == {"a", "b", OTHER}
    state.load({FAILURES: {("z", "g", "x"): 1.0}})
    assert state.distinct("application") == 1  # what load replaced no longer counts
    assert state.series(FAILURES) == {("z", "g", "x"): 1.0}


def test_a_reservation_counts_until_released() -> None:
    state = capped(max_values=2)  # one real value
    first = admit(state, proposed("a", "g", "x"))
    second = admit(state, proposed("b", "g", "x"))  # "a" is reserved: "b" overflows
    assert first.series[0] == (FAILURES, ("a", "g", "x"))
    assert second.series[0] == (FAILURES, (OTHER, "g", "x"))
    state.release(first.reserved)  # e.g. a duplicate: never applied
    state.release(second.reserved)
    assert state.count() == 0 and state.distinct("application") == 0
    third = admit(state, proposed("b", "g", "x"))
    assert third.series[0] == (FAILURES, ("b", "g", "x"))


def test_drop_forgets_series_and_frees_their_values() -> None:
    now = [100.0]
    state = MetricState(
        limits(Config(labels=LabelsSection(max_values=2))), clock=lambda: now[0], track_updates=True
    )
    admit_and_apply(state, "a", "g", "x")
    now[0] = 200.0
    admit_and_apply(state, "a", "h", "x")
    stale = state.stale(150.0)
    assert sorted(labels for name, labels, _ in stale if name == FAILURES) == [("a", "g", "x")]
    assert state.drop(stale) == 2  # the FAILURES and names series of group g
    assert ("a", "g", "x") not in state.series(FAILURES)
    assert state.distinct("group") == 1
    # A refresh that read the shared store before the drop does not bring it back...
    state.merge({FAILURES: {("a", "g", "x"): 1.0}})
    assert ("a", "g", "x") not in state.series(FAILURES)
    # ...unless another replica counted it since.
    state.merge({FAILURES: {("a", "g", "x"): 2.0}})
    assert state.series(FAILURES)[("a", "g", "x")] == 2.0
    assert state.drop([(FAILURES, ("a", "h", "x"), 5.0)]) == 0  # the value moved on: kept


def test_changes_are_reported_once_in_batches() -> None:
    state = MetricState()
    state.merge({FAILURES: {("a", "g", str(i)): 1.0 for i in range(5)}})
    state.watch()
    assert len(state.changed(FAILURES, 3)) == 3
    assert len(state.changed(FAILURES, 3)) == 2
    assert state.changed(FAILURES, 3) == []
    state.merge({FAILURES: {("a", "g", "0"): 2.0}})
    assert state.changed(FAILURES, 3) == [("a", "g", "0")]


def _failure(uuid: str, written: tuple[tuple[str, Labels], ...], last: float) -> Update:
    """An update with the last series of `written` as its maximum."""
    *increments, (name, labels) = written
    return Update(uuid, Kind.TERMINAL_FAILURE, tuple(increments), ((name, labels, last),),
                  written=written, rank=last)  # fmt: skip


def test_pending_updates_report_each_of_their_series_changed() -> None:
    written = ((FAILURES, ("a", "g", "x")), (LAST, ("a", "g")))
    update = _failure("u", written, 5.0)
    state = MetricState()
    state.apply(update)
    state.watch()
    assert state.changed(FAILURES, 10) == [("a", "g", "x")]  # watch() starts with everything
    assert state.changed(LAST, 10) == [("a", "g")]
    state.apply_all([update, update])  # existing series: pending, one entry for both
    assert state.series(FAILURES) == {("a", "g", "x"): 3.0}
    assert state.changed(FAILURES, 10) == [("a", "g", "x")]
    assert state.changed(LAST, 10) == [("a", "g")]
    assert state.changed(FAILURES, 10) == []


def test_unranked_updates_apply_at_once() -> None:
    written = ((FAILURES, ("a", "g", "x")), (LAST, ("a", "g")))
    state = MetricState()
    state.apply(_failure("u0", written, 5.0))
    state.apply(Update("u1", Kind.TERMINAL_FAILURE, written[:1], ((*written[1], 9.0),),
                       written=written))  # fmt: skip
    assert len(state._held) == 0
    assert state.series(LAST) == {("a", "g"): 9.0}


def test_updates_to_existing_series_read_as_if_applied_at_once() -> None:
    written = ((FAILURES, ("a", "g", "x")), (LAST, ("a", "g")))
    state = MetricState()
    state.apply(_failure("u0", written, 5.0))  # new series: applied now
    state.apply_all([_failure("u1", written, 9.0), _failure("u2", written, 7.0)])
    assert state.series(FAILURES) == {("a", "g", "x"): 3.0}
    assert state.series(LAST) == {("a", "g"): 9.0}  # the largest, whatever the order
    assert state.values() == {FAILURES: {("a", "g", "x"): 3.0}, LAST: {("a", "g"): 9.0}}


def test_a_batch_of_held_new_and_capped_shapes_reads_as_if_applied_in_turn() -> None:
    held = ((FAILURES, ("a", "g", "x")), (LAST, ("a", "g")))
    fresh = ((FAILURES, ("b", "h", "x")), (LAST, ("b", "h")))
    state = MetricState()
    state.apply_all([_failure("u0", held, 5.0), _failure("u1", held, 5.0)])  # held from now
    capped = Update("u5", Kind.TERMINAL_FAILURE, fresh[:1], ((*fresh[1], 1.0),),
                    overflow=("group",), written=fresh[:1] + fresh[1:], rank=1.0)  # fmt: skip
    batch = [_failure("u2", fresh, 4.0), _failure("u3", held, 8.0), capped,
             _failure("u4", fresh, 3.0), _failure("u6", held, 7.0)]  # fmt: skip
    state.apply_all(batch)
    assert state.values() == {
        FAILURES: {("a", "g", "x"): 4.0, ("b", "h", "x"): 3.0},
        LAST: {("a", "g"): 8.0, ("b", "h"): 4.0},
    }
    assert state.overflow() == {"group": 1}  # counted per update, held or not


def test_tallies_hold_a_batch_as_if_held_in_turn() -> None:
    a = ((FAILURES, ("a", "g", "x")),)
    b = ((FAILURES, ("b", "h", "x")),)
    tallies = Tallies()
    unranked = Update("u9", Kind.TERMINAL_FAILURE, a, written=a)
    shapeless = Update("u8", Kind.TERMINAL_FAILURE, rank=1.0)
    batch = [_failure("u1", a, 2.0), unranked, shapeless, _failure("u2", a, 2.0)]
    assert tallies.hold_all(batch) == [unranked, shapeless]
    assert tallies.hold_all([_failure("u3", b, 1.0)], start=False) == [_failure("u3", b, 1.0)]
    assert tallies.hold_all([unranked], unranked=2.0) == []
    # Of equal ranks the later is the top, as if applied in turn.
    assert tallies.take() == [(3, 2.0, unranked)]


def test_a_merge_after_pending_updates_neither_loses_nor_doubles_them() -> None:
    # The store's value already holds this process's updates: merging it must not add
    # the pending ones a second time (they are applied first, then the merge raises).
    written = ((FAILURES, ("a", "g", "x")), (LAST, ("a", "g")))
    state = MetricState()
    state.apply(_failure("u0", written, 5.0))
    state.apply_all([_failure("u1", written, 6.0), _failure("u2", written, 6.0)])
    state.merge({FAILURES: {("a", "g", "x"): 3.0}, LAST: {("a", "g"): 6.0}})
    assert state.series(FAILURES) == {("a", "g", "x"): 3.0}
    state.merge({FAILURES: {("a", "g", "x"): 4.0}})  # another replica counted one more
    assert state.series(FAILURES) == {("a", "g", "x"): 4.0}


def test_a_drop_compares_against_pending_updates_too() -> None:
    written = ((FAILURES, ("a", "g", "x")), (LAST, ("a", "g")))
    state = MetricState()
    state.apply(_failure("u0", written, 5.0))
    state.apply(_failure("u1", written, 5.0))  # pending: the series now holds 2
    assert state.drop([(FAILURES, ("a", "g", "x"), 1.0)]) == 0  # counted since it was read
    assert state.drop([(FAILURES, ("a", "g", "x"), 2.0)]) == 1
    assert state.series(FAILURES) == {}


def test_updates_pending_stay_bounded_without_a_scrape() -> None:
    state = MetricState()
    state.watch()
    for i in range(5000):  # distinct tuples, as the caps produce them: a bounded backlog
        written = ((FAILURES, ("a", "g", str(i % 7))),)
        state.apply(Update(str(i), Kind.TERMINAL_FAILURE, written, written=written, rank=0.0))
        assert len(state._held) <= 4096
    assert sorted(state.changed(FAILURES, 100)) == [("a", "g", str(i)) for i in range(7)]


# --- properties, through the ledger with a real (memory) store ---------------------------

names = st.sampled_from(["Slack", "AWS", "Zoom", "Box", "", " ", "__other__", "ünï", "\ud800"])
events = st.lists(
    st.tuples(
        st.integers(0, 40),  # uuid: small, so duplicates happen
        names,
        st.text(max_size=4),
        st.text(max_size=4),
        st.sampled_from([TERMINAL, RETRIED, PUSHED, "user.session.start"]),
    ),
    max_size=60,
)


def as_event(uuid: int, app: str, group: str, actor: str, event_type: str) -> Event:
    return Event(
        # Successes have uuids of their own: which of two kinds counts is not in question.
        uuid=f"success-{uuid}" if event_type == PUSHED else str(uuid),
        event_type=event_type,
        published=float(uuid),
        outcome="SUCCESS" if event_type == PUSHED else "FAILURE",
        reason="",
        message="",
        actor=Entity(display_name=actor),
        application=Entity(display_name=app),
        group=Entity(display_name=group),
    )


async def record_all(
    ledger: Ledger, batches: Sequence[Sequence[Event]], concurrently: bool
) -> None:
    if concurrently:
        await asyncio.gather(*(ledger.record(batch, "event_hook") for batch in batches))
    else:
        for batch in batches:
            await ledger.record(batch, "event_hook")


@settings(max_examples=150, deadline=None)
@given(
    items=events,
    max_values=st.integers(1, 5),
    max_series=st.integers(MIN_SERIES, MIN_SERIES + 14),
    batch=st.integers(1, 7),
    concurrently=st.booleans(),
    preloaded=st.integers(0, 4),
)
def test_caps_are_never_exceeded_and_totals_equal_the_distinct_events(
    *,
    items: list[tuple[int, str, str, str, str]],
    max_values: int,
    max_series: int,
    batch: int,
    concurrently: bool,
    preloaded: int,
) -> None:
    config = Config(labels=LabelsSection(max_values=max_values, max_series=max_series))
    state = MetricState(limits(config))
    # Series a store brings back at start count against the caps like any other.
    loaded: Values = {
        FAILURES: {(f"app{i}", "g", "x"): 1.0 for i in range(min(preloaded, max_values - 1))}
    }
    state.merge(loaded)
    registry = CollectorRegistry()
    metrics = SelfMetrics(registry)
    ledger = Ledger(
        MemoryStore(3600), state, metrics, Health(metrics), lambda: 0.0, policy=LabelPolicy()
    )
    parsed = [as_event(*item) for item in items]
    batches = [parsed[i : i + batch] for i in range(0, len(parsed), batch)]
    asyncio.run(record_all(ledger, batches, concurrently))

    assert state.count() <= max_series
    for label in GOVERNED:
        assert len(distinct(state, label)) <= max_values, label
    counted = {e.uuid: e for e in parsed if e.event_type in (TERMINAL, RETRIED, PUSHED)}
    failed = {uuid for uuid, e in counted.items() if e.event_type != PUSHED}
    loaded_total = sum(loaded[FAILURES].values())
    assert sum(state.series(FAILURES).values()) == len(failed) + loaded_total
    assert sum(state.series(BY_KIND).values()) == len(failed)
    assert sum(state.series(REASONS).values()) == len(failed)
    assert {labels[1] for labels in state.series(REASONS)} <= set(reasons.REASONS)
    # Every mapping with a counted event has a state, under its own or __other__ labels.
    assert bool(state.series(mapping.STATE_SERIES)) == bool(counted)
    assert {labels[2] for labels in state.series(BY_KIND)} <= {"terminal", "retried"}
    assert state.reserved() == 0  # nothing stays reserved once every batch is answered
