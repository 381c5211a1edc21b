"""Property tests: parsers never crash, labels are always safe, order never changes totals."""

from __future__ import annotations

import asyncio
import string
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from exporter import catalogue
from exporter.counting.ledger import Ledger
from exporter.counting.state import MetricState, Update
from exporter.ingest.classify import Kind
from exporter.ingest.events import (
    Event,
    PayloadError,
    Skipped,
    parse_hook_envelope,
    parse_log_event,
)
from exporter.ingest.jsontext import loads
from exporter.ingest.labels import clean
from exporter.ingest.workflows import parse_workflows_payload
from exporter.metrics.exposition import StateCollector
from exporter.metrics.health import Health
from exporter.metrics.selfmetrics import SelfMetrics
from exporter.store.memory import MemoryStore

TERMINAL = "application.provision.group_push.mapping.update.or.delete.failed.with.error"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
okta_keys = st.sampled_from(
    ["uuid", "eventType", "published", "actor", "target", "outcome", "displayName", "type",
     "alternateId", "id", "data", "events", "Event Details", "Event ID", "Okta Application"]
)  # fmt: skip
okta_like = st.recursive(
    json_values,
    lambda children: (
        st.dictionaries(okta_keys, children, max_size=6) | st.lists(children, max_size=4)
    ),
    max_leaves=30,
)


@given(okta_like)
def test_parsers_return_records_or_a_payload_error_never_anything_else(document: Any) -> None:
    assert isinstance(parse_log_event(document), Event | Skipped)
    for parse in (parse_hook_envelope, parse_workflows_payload):
        try:
            batch = parse(document)
        except PayloadError:
            continue
        assert all(isinstance(e, Event) and e.uuid for e in batch.events)


@given(st.binary(max_size=512))
def test_loads_of_any_bytes_is_a_value_or_a_payload_error(data: bytes) -> None:
    reason = ""
    try:
        loads(data)
    except PayloadError as exc:
        reason = str(exc)
    assert "\n" not in reason


@given(st.text(), st.integers(min_value=1, max_value=300))
def test_clean_labels_are_short_valid_utf8_without_control_characters(
    text: str, limit: int
) -> None:
    value = clean(text, limit)
    value.encode("utf-8")
    assert len(value) <= limit
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value)


@given(st.lists(st.text(), min_size=1, max_size=5))
def test_any_label_values_render_to_a_parseable_exposition(values: list[str]) -> None:
    state = MetricState()
    registry = CollectorRegistry()
    registry.register(StateCollector(state))

    for i, value in enumerate(values):
        labels = (clean(value), clean(value[::-1]), str(i))
        state.apply(Update(str(i), Kind.TERMINAL_FAILURE, ((catalogue.FAILURES.name, labels),)))
    text = generate_latest(registry).decode()
    parsed = [s for f in text_string_to_metric_families(text) for s in f.samples]
    assert sum(s.value for s in parsed) == len(values)


uuids = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=6)


def failure(uuid: str, app: str) -> dict[str, object]:
    return {
        "uuid": uuid,
        "eventType": TERMINAL,
        "target": [{"type": "AppInstance", "displayName": app}],
    }


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.tuples(uuids, st.sampled_from(["a", "b", "c"])), max_size=6), max_size=8),
    st.randoms(use_true_random=False),
)
def test_order_of_events_and_deliveries_never_changes_the_totals(
    deliveries: list[list[tuple[str, str]]], random: Any
) -> None:
    """Okta's deliveries are unordered and repeated: the totals depend only on the set."""
    # Events with one uuid are one event: keep the first app seen for each uuid.
    canonical: dict[str, str] = {}
    for delivery in deliveries:
        for uuid, app in delivery:
            canonical.setdefault(uuid, app)
    deliveries = [[(u, canonical[u]) for u, _ in d] for d in deliveries]

    def totals(order: list[list[tuple[str, str]]]) -> dict[tuple[str, ...], float]:
        registry = CollectorRegistry()
        metrics = SelfMetrics(registry)
        state = MetricState()
        ledger = Ledger(MemoryStore(3600), state, metrics, Health(metrics), lambda: 0.0)

        async def run() -> None:
            for delivery in order:
                batch = parse_hook_envelope(
                    loads(orjson.dumps({"data": {"events": [failure(u, a) for u, a in delivery]}}))
                )
                await ledger.record(batch.events, "event_hook")

        asyncio.run(run())
        return state.series(catalogue.FAILURES.name)

    shuffled = [list(d) for d in deliveries] * 2  # every delivery retried once
    random.shuffle(shuffled)
    for delivery in shuffled:
        random.shuffle(delivery)
    expected: dict[str, int] = {}
    for app in canonical.values():
        expected[app] = expected.get(app, 0) + 1
    result = totals(shuffled)
    assert result == totals(deliveries)
    assert {labels[0]: value for labels, value in result.items()} == expected
