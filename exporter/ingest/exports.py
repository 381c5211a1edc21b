"""Exported LogEvents, as people keep them, into one Batch. Pure: bytes in, events out.

`replay` reads what users have at hand: a System Log API answer saved as a JSON array,
NDJSON from a SIEM or a log shipper (one LogEvent per line), saved event hook deliveries
(`com.okta.event_hook` envelopes, one per file, in an array or one per line), or a single
LogEvent. A line or item that is not a LogEvent is skipped with a reason, never fatal.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from exporter.ingest.events import (
    Batch,
    Event,
    PayloadError,
    Skipped,
    parse_hook_envelope,
    parse_log_event,
)
from exporter.ingest.jsontext import DECODER, NOT_JSON


def _is_envelope(item: object) -> bool:
    return isinstance(item, dict) and isinstance(item.get("data"), dict)


def export_items(data: bytes) -> tuple[int, Iterator[object | Skipped]]:
    """How many top-level values an export holds, and an iterator over them.

    A JSON document (array or object) is decoded whole; NDJSON is decoded a line at a
    time, so a large export is never held as Python objects all at once (the count is
    of its lines).
    """
    data = data.strip()
    if not data:
        return 0, iter(())
    try:
        document = DECODER.decode(data)
    except NOT_JSON:  # not one document: read as lines
        return data.count(b"\n") + 1, _lines(data)
    items: list[object] = document if isinstance(document, list) else [document]
    return len(items), iter(items)


def _lines(data: bytes) -> Iterator[object | Skipped]:
    for line in io.BytesIO(data):
        if not line.strip():
            continue
        try:
            yield DECODER.decode(line)
        except NOT_JSON:
            yield Skipped("invalid_json")


def parse_item(item: object | Skipped) -> Batch:
    """One top-level value of an export: a LogEvent, or a hook delivery of several."""
    if isinstance(item, Skipped):
        return Batch(events=(), skipped=(item,))
    if _is_envelope(item):
        try:
            return parse_hook_envelope(item)
        except PayloadError:
            return Batch(events=(), skipped=(Skipped("not_log_event"),))
    parsed = parse_log_event(item)
    if isinstance(parsed, Event):
        return Batch(events=(parsed,))
    return Batch(events=(), skipped=(parsed,))


def parse_export(data: bytes) -> Batch:
    """Every LogEvent in an exported file, in file order."""
    events: list[Event] = []
    skipped: list[Skipped] = []
    for item in export_items(data)[1]:
        batch = parse_item(item)
        events.extend(batch.events)
        skipped.extend(batch.skipped)
    return Batch(events=tuple(events), skipped=tuple(skipped))
