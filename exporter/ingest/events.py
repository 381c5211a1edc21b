"""Okta payloads in, immutable event records out. Pure: no I/O, no clock.

Every ingest path (event hook envelope, Okta Workflows card, System Log page, exported
NDJSON) ends in the same `Event` record, so dedup and counting never care where an event
came from. Parsing is lenient in the way Okta's own data demands (DESIGN section 2):
unknown fields are ignored, `target` may be null or in any order, `version` may be a
number, and a missing field becomes `unknown` instead of an error.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

import msgspec

UNKNOWN: Final = "unknown"
T = TypeVar("T")
HOOK_ENVELOPE_TYPE: Final = "com.okta.event_hook"

# Okta's target types (research/okta.md section 4.2). Targets are picked by type, never by
# position; the id prefixes are the fallback Okta's ids make possible when `type` is absent.
APP_TYPES: Final = frozenset({"AppInstance"})
GROUP_TYPES: Final = frozenset({"UserGroup"})
MAPPING_TYPES: Final = frozenset({"GroupPushMapping"})
APP_ID_PREFIX: Final = "0oa"
GROUP_ID_PREFIX: Final = "00g"


class PayloadError(ValueError):
    """The request body as a whole is not what the endpoint accepts (answered with 400)."""


# Entity and Event are frozen msgspec Structs rather than frozen dataclasses: every
# event builds several, and a Struct is built about ten times faster; both are immutable,
# compare by value and hash alike. `rename` lets the fast hook decoder
# (ingest/hookbody.py) build an Entity straight from Okta's camelCase object.
class Entity(
    msgspec.Struct,
    frozen=True,
    cache_hash=True,  # the ledger's planner hashes the same few entities over and over
    rename={"alternate_id": "alternateId", "display_name": "displayName"},
):
    """An Okta actor or target: the four identifying fields, each possibly empty."""

    id: str = ""
    type: str = ""
    alternate_id: str = ""
    display_name: str = ""

    def label(self) -> str:
        """displayName, then alternateId, then id, then `unknown`; placeholders are absent."""
        for value in (self.display_name, self.alternate_id, self.id):
            if value and not is_placeholder(value):
                return value
        return UNKNOWN


def is_placeholder(value: str) -> bool:
    """Whether `value` is Okta's literal placeholder `unknown` (any case): no value at all.

    Okta writes it where it has nothing: `alternateId: "unknown"` on targets, and an actor
    `{"id": "unknown", "alternateId": "admin", "displayName": "unknown"}` in the public
    Panther fixture (tests/payloads/panther-analysis_okta-rule-test-events.ndjson).
    """
    return len(value) >= len(UNKNOWN) and value.strip().lower() == UNKNOWN


NO_ENTITY: Final = Entity()


class Event(msgspec.Struct, frozen=True):
    """One Okta LogEvent, reduced to what the exporter counts and labels."""

    uuid: str
    event_type: str
    published: float | None  # epoch seconds; None when absent or unreadable
    outcome: str  # outcome.result, upper case, "" when absent
    reason: str  # outcome.reason, "" when absent
    message: str  # displayMessage
    actor: Entity = NO_ENTITY
    application: Entity = NO_ENTITY
    group: Entity = NO_ENTITY
    mapping: Entity = NO_ENTITY


@dataclass(frozen=True, slots=True)
class Skipped:
    """An item inside a valid batch that could not become an event, and why."""

    reason: str  # bounded set: not_object, missing_uuid, invalid_json


@dataclass(frozen=True, slots=True)
class Batch:
    """What one request or page held: the events, plus what was skipped."""

    events: tuple[Event, ...]
    skipped: tuple[Skipped, ...] = ()
    delivery_id: str = ""
    # Workflows cards that came without `Event Details`: their `Event ID` is the dedup key.
    without_details: int = 0


# --- small lenient readers -------------------------------------------------------------


def as_text(value: object) -> str:
    """A field as text: strings as they are, numbers and booleans printed, anything else ""."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return ""


# Okta's camelCase names for an actor or target, and the same as the card's folded keys.
ENTITY_KEYS: Final = ("id", "type", "alternateId", "displayName")
CARD_ENTITY_KEYS: Final = ("id", "type", "alternateid", "displayname")


def as_object(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


# 9999-12-31T23:59:59Z, the latest time RFC 3339 (and datetime) can write.
LATEST_TIME: Final = 253_402_300_799.0


def epoch_seconds(published: datetime | None) -> float | None:
    """A decoded RFC 3339 time as epoch seconds; one without an offset is UTC."""
    if published is None:
        return None
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    return published.timestamp()


def parse_timestamp(value: object) -> float | None:
    """Okta's RFC 3339 `published` as epoch seconds; also epoch numbers and the space form.

    Returns None for anything unreadable: a bad timestamp must not cost the event.
    """
    # Strings first, and no `isinstance(value, int | float)`: that builds a union per
    # call, and this runs for every event.
    if not isinstance(value, str):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        # Epoch milliseconds are common in exports; seconds are what Prometheus wants.
        try:
            seconds = float(value) / 1000 if value > 1e11 else float(value)
        except OverflowError:  # an integer past float's range (ingest/jsontext.py decodes
            # big integers exactly)
            return None
        # Within what an RFC 3339 time can say (NaN fails too): a larger number could
        # not be encoded as a mapping state (exporter/counting/mapping.py) and means nothing.
        return seconds if 0 <= seconds <= LATEST_TIME else None
    if len(value) == 24 and value[23] == "Z" and value[19] == ".":
        # Okta's own form, nearly every event's: the second is looked up (the events of
        # one delivery share a handful), the milliseconds added. One division, so the
        # result is the float `datetime.timestamp()` gives.
        millis = value[20:23]
        if millis.isascii() and millis.isdigit():
            second = _okta_second(value[:19])
            if second is not None:
                return (second * 1000 + int(millis)) / 1000
    try:
        # RFC 3339 as msgspec reads it (the space form and nanoseconds too), so that the
        # hook decoder's typed fast path, which reads `published` with msgspec, and this
        # agree on every text.
        return epoch_seconds(msgspec.convert(value.strip(), datetime))
    except msgspec.ValidationError:
        return None


@functools.lru_cache(maxsize=1024)
def _okta_second(text: str) -> int | None:
    """Epoch seconds of "YYYY-MM-DDTHH:MM:SS" in UTC, or None if it is not that."""
    if not (text[4] == text[7] == "-" and text[10] == "T" and text[13] == text[16] == ":"):
        return None
    # With these separators fromisoformat accepts only digits between them: what the
    # general pattern in parse_timestamp accepts.
    try:
        return round(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())
    except ValueError:
        return None


def parse_entity(value: object, names: tuple[str, str, str, str] = ENTITY_KEYS) -> Entity:
    """An actor or target object; `names` are its id, type, alternate id and display name keys."""
    obj = as_object(value)
    if not obj:
        return NO_ENTITY
    id_key, type_key, alternate_key, display_key = names
    return Entity(
        id=as_text(obj.get(id_key)),
        type=as_text(obj.get(type_key)),
        alternate_id=as_text(obj.get(alternate_key)),
        display_name=as_text(obj.get(display_key)),
    )


def pick_targets(targets: Sequence[Entity]) -> tuple[Entity, Entity, Entity]:
    """The application, group and mapping among an event's targets (NO_ENTITY if absent).

    By type, the first of each; an application or group without a type is recognised by
    its id prefix, but only when no target of that type is present.
    """
    application = group = mapping = NO_ENTITY
    untyped = False
    for target in targets:
        kind = target.type
        if kind in APP_TYPES:
            if application is NO_ENTITY:
                application = target
        elif kind in GROUP_TYPES:
            if group is NO_ENTITY:
                group = target
        elif kind in MAPPING_TYPES:
            if mapping is NO_ENTITY:
                mapping = target
        elif not kind:
            untyped = True
    if untyped and (application is NO_ENTITY or group is NO_ENTITY):
        for target in targets:
            if target.type:
                continue
            if application is NO_ENTITY and target.id.startswith(APP_ID_PREFIX):
                application = target
            elif group is NO_ENTITY and target.id.startswith(GROUP_ID_PREFIX):
                group = target
    return application, group, mapping


def parse_log_event(value: object) -> Event | Skipped:
    """One LogEvent object -> an `Event`, or `Skipped` with the reason it cannot count."""
    if not isinstance(value, dict):
        return Skipped("not_object")
    raw_targets = value.get("target")
    outcome = as_object(value.get("outcome"))
    return make_event(
        as_text(value.get("uuid")),
        as_text(value.get("eventType")),
        parse_timestamp(value.get("published")),
        as_text(outcome.get("result")),
        as_text(outcome.get("reason")),
        as_text(value.get("displayMessage")),
        parse_entity(value.get("actor")),
        pick_targets(
            [parse_entity(t) for t in raw_targets if isinstance(t, dict)]
            if isinstance(raw_targets, list)
            else ()
        ),
    )


def make_event(  # noqa: PLR0917 - positional on purpose: once per event
    uuid: str,
    event_type: str,
    published: float | None,
    result: str,
    reason: str,
    message: str,
    actor: Entity,
    targets: tuple[Entity, Entity, Entity],
) -> Event | Skipped:
    """A LogEvent's fields, as text, and its picked targets -> an `Event`.

    Both decoders end here.

    Positional, and no keyword arguments to `Event`: this runs once per event.
    """
    uuid = uuid.strip()
    if not uuid:
        return Skipped("missing_uuid")
    return Event(
        uuid,
        event_type.strip(),
        published,
        result.upper(),
        reason,
        message,
        actor,
        *targets,
    )


def collect(
    items: Sequence[T], parse: Callable[[T], Event | Skipped]
) -> tuple[tuple[Event, ...], tuple[Skipped, ...]]:
    events: list[Event] = []
    skipped: list[Skipped] = []
    for item in items:
        parsed = parse(item)
        if isinstance(parsed, Event):
            events.append(parsed)
        else:
            skipped.append(parsed)
    return tuple(events), tuple(skipped)


# --- event hook envelopes ----------------------------------------------------------------


def parse_hook_envelope(document: object) -> Batch:
    """An event hook delivery body (already decoded JSON) -> a Batch.

    The envelope must be an object with `data.events` as a list; `eventType`, when
    present, must be Okta's `com.okta.event_hook`. Items of `data.events` that are not
    LogEvents are skipped, not fatal: the rest of the delivery still counts.
    """
    if not isinstance(document, dict):
        raise PayloadError("not an Okta event hook envelope: the body is not a JSON object")
    check_envelope_type(document.get("eventType"))
    data = document.get("data")
    if not isinstance(data, dict):
        raise PayloadError("not an Okta event hook envelope: 'data' is missing or not an object")
    items = data.get("events")
    if not isinstance(items, list):
        raise PayloadError(
            "not an Okta event hook envelope: 'data.events' is missing or not a list"
        )
    events, skipped = collect(items, parse_log_event)
    return Batch(events=events, skipped=skipped, delivery_id=as_text(document.get("eventId")))


def check_envelope_type(envelope_type: object) -> None:
    if envelope_type is not None and envelope_type != HOOK_ENVELOPE_TYPE:
        raise PayloadError(
            f"not an Okta event hook envelope: eventType must be {HOOK_ENVELOPE_TYPE!r}"
        )


# --- raw LogEvents: System Log pages, NDJSON, JSON arrays -------------------------------


def parse_log_events(items: Sequence[object]) -> Batch:
    """A System Log API page (a JSON array of LogEvents) -> a Batch."""
    events, skipped = collect(items, parse_log_event)
    return Batch(events=events, skipped=skipped)
