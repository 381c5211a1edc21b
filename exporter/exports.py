"""Exported LogEvents, as people keep them, into one Batch. Pure: bytes in, events out.

`replay` reads what users have at hand: a System Log API answer saved as a JSON array,
NDJSON from a SIEM or a log shipper (one LogEvent per line), saved event hook deliveries
(`com.okta.event_hook` envelopes, one per file, in an array or one per line), or a single
LogEvent. A line or item that is not a LogEvent is skipped with a reason, never fatal.
"""

from __future__ import annotations

import orjson

from exporter.events import (
    Batch,
    Event,
    PayloadError,
    Skipped,
    parse_hook_envelope,
    parse_log_event,
)


def _is_envelope(item: object) -> bool:
    return isinstance(item, dict) and isinstance(item.get("data"), dict)


def _items(data: bytes) -> list[object | Skipped]:
    """The JSON values of a document, or of each NDJSON line (Skipped for a bad line)."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    else:
        return list(document) if isinstance(document, list) else [document]
    items: list[object | Skipped] = []
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            items.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            items.append(Skipped("invalid_json"))
    return items


def parse_export(data: bytes) -> Batch:
    """Every LogEvent in an exported file, in file order."""
    events: list[Event] = []
    skipped: list[Skipped] = []
    for item in _items(data.strip()):
        if isinstance(item, Skipped):
            skipped.append(item)
        elif _is_envelope(item):
            try:
                batch = parse_hook_envelope(item)
            except PayloadError:
                skipped.append(Skipped("not_log_event"))
                continue
            events.extend(batch.events)
            skipped.extend(batch.skipped)
        else:
            parsed = parse_log_event(item)
            if isinstance(parsed, Event):
                events.append(parsed)
            else:
                skipped.append(parsed)
    return Batch(events=tuple(events), skipped=tuple(skipped))
