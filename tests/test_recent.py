"""The per-process recent record behind /status: counts, since when, bounds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from exporter.counting.planner import plan
from exporter.counting.recent import BUCKET, DAY, HOUR, Recent, Seen
from exporter.counting.state import Update
from exporter.ingest.classify import Kind, classify
from exporter.ingest.events import Entity, Event

T0 = 1_795_000_000.0
KEY = ("0oaSLACK", "00gENG")  # mapping-level keys are the Okta ids (exporter/counting/mapping.py)
FAILED = "application.provision.group_push.mapping.update.or.delete.failed.with.error"
PUSHED = "application.provision.group_push.pushed"


def event(published: float, *, failure: bool = True, app: str = "Slack", n: int = 0) -> Event:
    return Event(
        uuid=f"{app}-{published}-{failure}-{n}",
        event_type=FAILED if failure else PUSHED,
        published=published,
        outcome="FAILURE" if failure else "SUCCESS",
        reason="Invalid credentials" if failure else "",
        message="Push failed",
        application=Entity(f"0oa{app.upper()}", "AppInstance", app, app),
        group=Entity("00gENG", "UserGroup", "Eng", "Eng"),
    )


def feed(recent: Recent, *events: Event) -> None:
    """As the ledger does: plan each event, hand the batch over."""
    updates = [plan(e, classify(e.event_type, e.outcome), T0) for e in events]
    recent.note_batch(list(events), updates)


def seen(recent: Recent, key: tuple[str, str] = KEY) -> Seen:
    mapping = recent.view().get(key)
    assert mapping is not None
    return mapping


def test_counts_failures_in_the_last_hour_and_day_by_published_time() -> None:
    recent = Recent()
    feed(recent, *(event(t) for t in (T0 - 2 * DAY, T0 - 5 * HOUR, T0 - 30 * 60, T0 - 60)))
    feed(recent, event(T0))
    mapping = seen(recent)
    assert mapping.failures_since(T0 - HOUR) == 3
    assert mapping.failures_since(T0 - DAY) == 4
    assert (mapping.application.id, mapping.group.id) == ("0oaSLACK", "00gENG")
    assert mapping.last_failure is not None and mapping.last_failure.published == T0


def test_since_is_the_first_failure_after_the_newest_success_to_the_minute() -> None:
    recent = Recent()
    feed(recent, event(T0 - 600), event(T0 - 300, failure=False))
    feed(recent, event(T0 - 120), event(T0 - 60))
    mapping = seen(recent)
    assert mapping.failing_since == T0 - 120 - (T0 - 120) % BUCKET
    assert mapping.last_success == T0 - 300


def test_a_success_after_every_failure_leaves_nothing_failing() -> None:
    recent = Recent()
    feed(recent, event(T0 - 600))
    feed(recent, event(T0, failure=False))
    assert seen(recent).failing_since is None


def test_the_newest_success_wins_whatever_the_order() -> None:
    recent = Recent()
    feed(recent, event(T0, failure=False), event(T0 - 500, failure=False))
    feed(recent, event(T0 - 900, failure=False))
    assert seen(recent).last_success == T0


def test_a_success_only_mapping_is_known_without_counts() -> None:
    recent = Recent()
    feed(recent, event(T0, failure=False))
    mapping = seen(recent)
    assert (mapping.last_failure, mapping.per_minute, mapping.last_success) == (None, {}, T0)


def test_counters_are_bounded_oldest_minutes_first() -> None:
    recent = Recent(max_counters=100)
    for i in range(300):
        feed(recent, event(T0 - (300 - i) * BUCKET, n=i))
    mapping = seen(recent)
    assert len(mapping.per_minute) <= 100
    assert max(mapping.per_minute) == int((T0 - BUCKET) // BUCKET)  # the newest are kept


def test_a_failure_a_minute_for_two_days_keeps_one_day_of_counters() -> None:
    recent = Recent(max_counters=2000)
    minutes = int(2 * DAY // BUCKET)
    for start in range(0, minutes, 50):
        batch = range(start, min(start + 50, minutes))
        feed(recent, *(event(T0 - (minutes - 1 - i) * BUCKET) for i in batch))
    mapping = seen(recent)
    assert len(mapping.per_minute) <= 2000
    assert mapping.failures_since(T0 - HOUR) == 61  # minutes T0-60min .. T0, both ends counted
    assert mapping.failures_since(T0 - DAY) == DAY // BUCKET + 1


@given(st.lists(st.tuples(st.floats(T0 - 3 * DAY, T0), st.booleans()), max_size=60))
def test_counts_match_the_failures_fed_whatever_the_batches(
    fed: list[tuple[float, bool]],
) -> None:
    recent = Recent()
    events = [event(t, failure=f, n=i) for i, (t, f) in enumerate(fed)]
    for start in range(0, len(events), 7):
        feed(recent, *events[start : start + 7])
    failures = [t for t, f in fed if f]
    view = recent.view()
    if not failures:
        assert KEY not in view or view[KEY].per_minute == {}
        return
    since = T0 - HOUR
    expected = sum(1 for t in failures if t // BUCKET >= since // BUCKET)
    assert view[KEY].failures_since(since) == expected


def test_updates_of_other_kinds_or_without_a_time_are_passed_over() -> None:
    """Only the planner's mapping failures and successes count; nothing else breaks a batch."""
    recent = Recent()
    failure = event(T0)
    planned = plan(failure, classify(failure.event_type, failure.outcome), T0)
    other = Update("x", Kind.IGNORED)  # no series, no time
    timeless = Update("y", Kind.TERMINAL_FAILURE, maxima=planned.maxima)
    recent.note_batch([event(T0, n=1), failure], [other, planned])
    recent.note_batch([event(T0, n=2)], [timeless])
    assert seen(recent).failures_since(T0 - HOUR) == 1
