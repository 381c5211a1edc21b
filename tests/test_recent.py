"""The per-process recent record behind /status: counts, since when, bounds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from exporter.events import Entity, Event
from exporter.recent import BUCKET, DAY, HOUR, Recent

T0 = 1_795_000_000.0
KEY = ("Slack", "Eng")


def event(published: float, *, failure: bool = True, uuid: str = "u") -> Event:
    return Event(
        uuid=uuid,
        event_type="application.provision.group_push.mapping.update.or.delete.failed.with.error"
        if failure
        else "application.provision.group_push.pushed",
        published=published,
        outcome="FAILURE" if failure else "SUCCESS",
        reason="Invalid credentials" if failure else "",
        message="Push failed",
        application=Entity("0oaSLACK", "AppInstance", "Slack", "Slack"),
        group=Entity("00gENG", "UserGroup", "Eng", "Eng"),
    )


def note(recent: Recent, published: float, failure: bool = True) -> None:
    recent.note(KEY, event(published, failure=failure), failure, published)


def test_counts_failures_in_the_last_hour_and_day_by_published_time() -> None:
    recent = Recent()
    for published in (T0 - 2 * DAY, T0 - 5 * HOUR, T0 - 30 * 60, T0 - 60, T0):
        note(recent, published)
    seen = recent.get(KEY)
    assert seen is not None
    assert seen.failures_since(T0 - HOUR) == 3
    assert seen.failures_since(T0 - DAY) == 4
    assert (seen.application.id, seen.group.id) == ("0oaSLACK", "00gENG")


def test_since_is_the_first_failure_after_the_newest_success() -> None:
    recent = Recent()
    note(recent, T0 - 600)
    note(recent, T0 - 300, failure=False)
    note(recent, T0 - 120)
    note(recent, T0 - 60)
    seen = recent.get(KEY)
    assert seen is not None
    assert seen.failing_since == T0 - 120
    assert seen.last_success == T0 - 300
    assert seen.last_failure is not None and seen.last_failure.published == T0 - 60


def test_a_late_success_moves_since_to_the_failures_after_it() -> None:
    recent = Recent()
    note(recent, T0 - 600)
    note(recent, T0 - 120)
    note(recent, T0 - 300, failure=False)  # published between the two, arrived last
    seen = recent.get(KEY)
    assert seen is not None and seen.failing_since == T0 - 120 - (T0 - 120) % BUCKET


def test_a_success_after_every_failure_clears_since() -> None:
    recent = Recent()
    note(recent, T0 - 600)
    note(recent, T0, failure=False)
    seen = recent.get(KEY)
    assert seen is not None and seen.failing_since is None


def test_mappings_are_bounded_least_recently_fed_first() -> None:
    recent = Recent(max_mappings=2)
    for name in ("a", "b", "a", "c"):
        recent.note((name, "g"), event(T0), True, T0)
    assert len(recent) == 2
    assert recent.get(("b", "g")) is None
    assert recent.get(("a", "g")) is not None


@given(st.lists(st.floats(T0 - 10 * DAY, T0), max_size=300))
def test_counters_stay_bounded_to_a_day_of_minutes(times: list[float]) -> None:
    recent = Recent()
    for published in times:
        note(recent, published)
    seen = recent.get(KEY)
    if seen is not None:
        assert len(seen.per_minute) <= DAY / BUCKET + 1
        newest = max(times)
        assert seen.failures_since(newest - HOUR) == sum(
            1 for t in times if t // BUCKET >= (newest - HOUR) // BUCKET
        )


def test_a_failure_a_minute_for_two_days_keeps_one_day_of_counters() -> None:
    recent = Recent()
    minutes = int(2 * DAY // BUCKET)
    for i in range(minutes):
        note(recent, T0 - (minutes - 1 - i) * BUCKET)
    seen = recent.get(KEY)
    assert seen is not None
    assert len(seen.per_minute) <= DAY / BUCKET + 1
    assert seen.failures_since(T0 - HOUR) == 61  # minutes T0-60min .. T0, both ends counted
    assert seen.failures_since(T0 - DAY) == DAY // BUCKET + 1
