"""Failure counters carry the newest event behind them as an OpenMetrics exemplar."""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om

from exporter import catalogue
from exporter.counting.exemplars import MAX_UUID, Exemplar, Exemplars
from exporter.counting.state import MetricState, Update
from exporter.ingest.classify import Kind
from exporter.metrics.exposition import Exposition, StateCollector, negotiate

FAILURES = catalogue.FAILURES.name
LAST = catalogue.LAST_FAILURE.name
OPENMETRICS = negotiate("application/openmetrics-text; version=1.0.0")
TEXT = negotiate("text/plain; version=0.0.4")


def failure(uuid: str, published: float | None, actor: str = "Ada") -> Update:
    return Update(
        uuid=uuid,
        kind=Kind.TERMINAL_FAILURE,
        increments=((FAILURES, ("Slack", "Eng", actor)),),
        maxima=((LAST, ("Slack", "Eng"), published or 0.0),),
        rank=published,
    )


def counted(*updates: Update) -> tuple[MetricState, Exemplars]:
    state, newest = MetricState(clock=lambda: 1.0, track_updates=True), Exemplars()
    for update in updates:
        state.apply(update)
    newest.note(updates, now=5.0)
    return state, newest


def test_the_newest_event_by_published_time_wins_whatever_the_arrival_order() -> None:
    _, newest = counted(failure("late", 200.0), failure("early", 100.0))
    assert newest.get(FAILURES, ("Slack", "Eng", "Ada")) == Exemplar("late", 200.0)


def test_successes_gauges_and_oversized_uuids_give_no_exemplar() -> None:
    success = Update(uuid="s", kind=Kind.SUCCESS, rank=300.0)
    forged = failure("x" * (MAX_UUID + 1), 400.0)
    _, newest = counted(failure("real", 100.0), success, forged)
    assert newest.get(FAILURES, ("Slack", "Eng", "Ada")) == Exemplar("real", 100.0)
    assert newest.get(LAST, ("Slack", "Eng")) is None
    assert len(newest) == 1


def test_an_event_without_a_time_is_stamped_with_now() -> None:
    _, newest = counted(failure("u1", None))
    assert newest.get(FAILURES, ("Slack", "Eng", "Ada")) == Exemplar("u1", 5.0)


def test_openmetrics_lines_carry_the_exemplar_byte_for_byte_as_prometheus_client() -> None:
    state, newest = counted(failure("u-1", 1795000000.5), failure("u-2", 1795000001.25, "Bob"))
    exposition = Exposition(state, CollectorRegistry(), newest)
    reference = CollectorRegistry()
    reference.register(StateCollector(state, newest=newest))
    body = exposition.render(OPENMETRICS)
    assert body == OPENMETRICS.encoder(reference)
    line = (
        b'{actor="Ada",application="Slack",group="Eng"} 1.0 # {event_uuid="u-1"} 1.0 1795000000.5'
    )
    assert line in body
    # A later event moves the exemplar along with the count.
    state.apply(failure("u-3", 1795000002.0))
    newest.note([failure("u-3", 1795000002.0)], now=0.0)
    samples = {
        sample.labels["actor"]: sample.exemplar
        for family in parse_om(exposition.render(OPENMETRICS).decode())  # type: ignore[no-untyped-call]
        if family.name == FAILURES.removesuffix("_total")
        for sample in family.samples
    }
    assert samples["Ada"] is not None and samples["Ada"].labels == {"event_uuid": "u-3"}
    assert samples["Bob"] is not None and samples["Bob"].labels == {"event_uuid": "u-2"}


def test_the_text_format_stays_without_exemplars() -> None:
    state, newest = counted(failure("u-1", 1795000000.5))
    body = Exposition(state, CollectorRegistry(), newest).render(TEXT)
    assert b"event_uuid" not in body
    assert body == Exposition(state, CollectorRegistry()).render(TEXT)


def test_a_dropped_series_forgets_its_exemplar() -> None:
    state, newest = counted(failure("u-1", 1795000000.5))
    exposition = Exposition(state, CollectorRegistry(), newest)
    exposition.render(OPENMETRICS)
    assert state.drop(state.stale(before=2.0)) == 2  # the counter and its gauge
    assert b"event_uuid" not in exposition.render(OPENMETRICS)
    assert len(newest) == 0
