"""Okta payloads in, immutable event records out. Pure: no I/O, no clock.

Every ingest path (event hook envelope, Okta Workflows card, System Log page, exported
NDJSON) ends in the same `Event` record, so dedup and counting never care where an event
came from. Parsing is lenient in the way Okta's own data demands (DESIGN section 2):
unknown fields are ignored, `target` may be null or in any order, `version` may be a
number, and a missing field becomes `unknown` instead of an error.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Generic, TypeVar

import msgspec

from exporter.ingest.memo import Memo

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
# event builds several, and a Struct is built about ten times faster (BENCHMARKS.md,
# "Ingest"); both are immutable, compare by value and hash alike. `rename` lets the fast
# hook decoder below build an Entity straight from Okta's camelCase object.
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


def _text(value: object) -> str:
    """A field as text: strings as they are, numbers and booleans printed, anything else ""."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return ""


# Okta's camelCase names for an actor or target, and the same as the card's folded keys.
_ENTITY_KEYS: Final = ("id", "type", "alternateId", "displayName")
_CARD_ENTITY_KEYS: Final = ("id", "type", "alternateid", "displayname")


def _obj(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


# 9999-12-31T23:59:59Z, the latest time RFC 3339 (and datetime) can write.
LATEST_TIME: Final = 253_402_300_799.0


def _epoch(published: datetime | None) -> float | None:
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
        except OverflowError:  # an integer past float's range: see `loads` on big numbers
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
        return _epoch(msgspec.convert(value.strip(), datetime))
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


def parse_entity(value: object, names: tuple[str, str, str, str] = _ENTITY_KEYS) -> Entity:
    """An actor or target object; `names` are its id, type, alternate id and display name keys."""
    obj = _obj(value)
    if not obj:
        return NO_ENTITY
    id_key, type_key, alternate_key, display_key = names
    return Entity(
        id=_text(obj.get(id_key)),
        type=_text(obj.get(type_key)),
        alternate_id=_text(obj.get(alternate_key)),
        display_name=_text(obj.get(display_key)),
    )


def _pick_targets(targets: Sequence[Entity]) -> tuple[Entity, Entity, Entity]:
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
    outcome = _obj(value.get("outcome"))
    return _event(
        _text(value.get("uuid")),
        _text(value.get("eventType")),
        parse_timestamp(value.get("published")),
        _text(outcome.get("result")),
        _text(outcome.get("reason")),
        _text(value.get("displayMessage")),
        parse_entity(value.get("actor")),
        _pick_targets(
            [parse_entity(t) for t in raw_targets if isinstance(t, dict)]
            if isinstance(raw_targets, list)
            else ()
        ),
    )


def _event(  # noqa: PLR0917 - positional on purpose: once per event
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


def _collect(
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


MAX_DEPTH: Final = 32  # Okta's LogEvents nest about 6 deep
# The depth scan reads each byte once: outside strings it searches for the next quote or
# bracket; at a quote it matches the string's content from there, possessively (no
# backtracking), and goes on after it. A regex that matches whole strings and is retried
# from every quote re-reads the rest of an unterminated string from each one: quadratic
# (issue 15: 20 KB took 1.7 s).
_STRUCTURE: Final = re.compile(rb'["\[\]{}]')
_STRING_CONTENT: Final = re.compile(rb'(?:[^"\\]++|\\.)*+', re.DOTALL)


def json_depth(body: bytes) -> int:
    """How deeply the JSON text nests arrays and objects (brackets inside strings ignored).

    Checked before decoding: the decoder accepts as many levels as Python's recursion
    limit leaves it, deep enough that repr, logging or re-serialising the result would hit
    that limit (reliability.md s3).
    Linear in the body's length, whatever it holds (an unterminated string ends the scan:
    the decoder refuses the text anyway).
    """
    depth = deepest = position = 0
    while (found := _STRUCTURE.search(body, position)) is not None:
        char = body[found.start()]
        position = found.end()
        if char == 0x22:  # "
            content = _STRING_CONTENT.match(body, position)  # matches, if only ""
            position = (content.end() if content else position) + 1
        elif char in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


# The lenient decoder (untyped: dicts, lists, str, int, float, bool, None), as msgspec
# decodes. Checked against orjson, which this replaced: the same values for every valid
# document but one kind, and a refusal for every invalid one (invalid UTF-8 anywhere, a
# lone surrogate escape, control characters in strings, NaN, comments, trailing commas or
# content, a BOM, an empty body); a duplicate key keeps its last value in both. Integers
# outside 64 bits are that one kind: msgspec decodes them exactly (up to 4300 digits, then
# refuses), orjson made them floats and refused those past float's range. Only the reason
# after "invalid JSON: " is worded differently.
_DECODER: Final = msgspec.json.Decoder()


def loads(body: bytes | str) -> Any:
    """JSON text -> Python value; PayloadError with a one-line reason when it is not JSON."""
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    if data.count(b"[") + data.count(b"{") > MAX_DEPTH and json_depth(data) > MAX_DEPTH:
        raise PayloadError(f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        return _DECODER.decode(data)
    except msgspec.DecodeError as exc:
        raise PayloadError(f"invalid JSON: {exc}") from None


# --- event hook envelopes ----------------------------------------------------------------


def parse_hook_envelope(document: object) -> Batch:
    """An event hook delivery body (already decoded JSON) -> a Batch.

    The envelope must be an object with `data.events` as a list; `eventType`, when
    present, must be Okta's `com.okta.event_hook`. Items of `data.events` that are not
    LogEvents are skipped, not fatal: the rest of the delivery still counts.
    """
    if not isinstance(document, dict):
        raise PayloadError("not an Okta event hook envelope: the body is not a JSON object")
    _check_envelope_type(document.get("eventType"))
    data = document.get("data")
    if not isinstance(data, dict):
        raise PayloadError("not an Okta event hook envelope: 'data' is missing or not an object")
    items = data.get("events")
    if not isinstance(items, list):
        raise PayloadError(
            "not an Okta event hook envelope: 'data.events' is missing or not a list"
        )
    events, skipped = _collect(items, parse_log_event)
    return Batch(events=events, skipped=skipped, delivery_id=_text(document.get("eventId")))


def _check_envelope_type(envelope_type: object) -> None:
    if envelope_type is not None and envelope_type != HOOK_ENVELOPE_TYPE:
        raise PayloadError(
            f"not an Okta event hook envelope: eventType must be {HOOK_ENVELOPE_TYPE!r}"
        )


# --- the fast path for hook bodies: decode only the fields the exporter reads -------------
#
# msgspec decodes a body straight into these structs and skips every other field without
# building it: a few times cheaper than decoding the whole document, then walking it
# (BENCHMARKS.md, "Ingest"). A body that does not fit them (a field of another type, an
# item that is not an object, invalid JSON, nesting past Python's recursion limit) goes
# the lenient way above, which decides as it always has. Nothing decoded here is nested
# more than four levels, so no later repr, log or re-serialisation can recurse deeply.


# Attributes are spelled as Okta spells the fields: msgspec maps JSON keys to them as they
# are. A field of another type than these expect takes the lenient path.
class _Outcome(msgspec.Struct):
    result: str | None = None
    reason: str | None = None


_NULL: Final = msgspec.Raw(b"null")


class _Texts(Generic[T]):
    """A JSON text's decoded value, remembered per text.

    An org's events name the same few actors and application/group pairs over and over,
    so an event's `actor` and `target` are kept as JSON text by the decoder and decoded
    here once per distinct text: the events that share it share the same Entity objects.
    Bounded in entries (when full, it starts over) and in the length of a text it keeps.
    A text that does not decode raises DecodeError, which sends the whole body the
    lenient way.
    """

    def __init__(self, decode: Callable[[bytes], T], size: int = 1024, longest: int = 2048):
        self._decode = decode
        self._longest = longest
        self._memo: Memo[bytes, T] = Memo(size)

    def __call__(self, raw: msgspec.Raw) -> T:
        text = bytes(raw)
        found = self._memo.get(text)
        if found is None:
            found = self._decode(text)
            if len(text) <= self._longest:
                self._memo.put(text, found)
        return found


# Entities decode as text: Okta sends their fields as strings; a null or a number there
# fails the decoder, and the body goes the lenient way.
_ACTOR_DECODER: Final = msgspec.json.Decoder(Entity | None)
_TARGETS_DECODER: Final = msgspec.json.Decoder(list[Entity] | None)
_ACTORS: Final = _Texts(lambda text: _ACTOR_DECODER.decode(text) or NO_ENTITY)
_TARGETS: Final = _Texts(lambda text: _pick_targets(_TARGETS_DECODER.decode(text) or ()))


class _LogEvent(msgspec.Struct):
    uuid: str | None = None
    eventType: str | None = None
    # msgspec reads RFC 3339 times in C; any other text fails the decoder, and the body
    # goes the lenient way (parse_timestamp).
    published: datetime | None = None
    displayMessage: str | None = None
    actor: msgspec.Raw = _NULL  # see _Texts
    outcome: _Outcome | None = None
    target: msgspec.Raw = _NULL

    def event(self) -> Event | Skipped:
        # Every field is a str or None here, so `or ""` stands in for `_text`.
        outcome = self.outcome or _NO_OUTCOME
        return _event(
            self.uuid or "",
            self.eventType or "",
            _epoch(self.published),
            outcome.result or "",
            outcome.reason or "",
            self.displayMessage or "",
            _ACTORS(self.actor),
            _TARGETS(self.target),
        )


class _Data(msgspec.Struct):
    events: list[_LogEvent]


class _Envelope(msgspec.Struct):
    data: _Data
    eventType: str | None = None
    eventId: str | None = None


_NO_OUTCOME: Final = _Outcome()
_HOOK_DECODER: Final = msgspec.json.Decoder(_Envelope)


def parse_hook_body(body: bytes) -> Batch:
    """An event hook delivery's body -> a Batch: `parse_hook_envelope(loads(body))`, faster."""
    try:
        if not body.isascii():
            # msgspec checks UTF-8 only in the strings it reads: text that is not UTF-8
            # anywhere makes the body not JSON, as the lenient way says (400).
            body.decode("utf-8")
        envelope = _HOOK_DECODER.decode(body)
        _check_envelope_type(envelope.eventType)
        events, skipped = _collect(envelope.data.events, _LogEvent.event)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        return parse_hook_envelope(loads(body))
    return Batch(events, skipped, delivery_id=_text(envelope.eventId))


# --- raw LogEvents: System Log pages, NDJSON, JSON arrays -------------------------------


def parse_log_events(items: Sequence[object]) -> Batch:
    """A System Log API page (a JSON array of LogEvents) -> a Batch."""
    events, skipped = _collect(items, parse_log_event)
    return Batch(events=events, skipped=skipped)


# --- Okta Workflows "Group Push Failed" card -----------------------------------------------

# The Workflows card only fires for the one hook-eligible group-push type (research/okta.md
# section 1.5), so a card that does not name its type is that type.
WORKFLOWS_DEFAULT_TYPE: Final = (
    "application.provision.group_push.mapping.update.or.delete.failed.with.error"
)

_KEY_NOISE = re.compile(r"[\s_\-]+")


def _norm_key(key: str) -> str:
    return _KEY_NOISE.sub("", key).lower()


def _normalized(value: object) -> dict[str, Any]:
    """An object with its keys folded: case, spaces, underscores and hyphens ignored."""
    return {_norm_key(k): v for k, v in _obj(value).items()} if isinstance(value, dict) else {}


def _card_entity(value: object) -> Entity:
    """A card's {"ID", "Type", "Alternate ID", "Display Name"} object, keys folded."""
    return parse_entity(_normalized(value), _CARD_ENTITY_KEYS)


def _event_details(value: object) -> object:
    """`Event Details` arrives as the LogEvent object or as its JSON text."""
    if isinstance(value, str) and value.strip():
        try:
            return _DECODER.decode(value)
        # Not JSON, a lone surrogate in the text (orjson refused it too) or nested past what
        # Python's recursion limit leaves msgspec (orjson refused past 1024 levels): no
        # details, as before.
        except (msgspec.DecodeError, UnicodeEncodeError, RecursionError):
            return None
    return value if isinstance(value, dict) else None


def _or(first: Entity, second: Entity) -> Entity:
    return first if first != NO_ENTITY else second


def parse_workflows_card(value: object) -> Event | Skipped:
    """One "Group Push Failed" card output, as a flow forwards it, -> an Event.

    The raw LogEvent in `Event Details` wins where it has a field (its `uuid` is the dedup
    key, the same one the hook and the System Log carry); the card's own fields fill the
    rest, with `Event ID` as the key when there are no details.
    """
    if not isinstance(value, dict):
        return Skipped("not_object")
    card = _normalized(value)
    details = parse_log_event(_event_details(card.get("eventdetails")))
    from_card = Event(
        uuid=_text(card.get("eventid")).strip(),
        event_type=_text(card.get("eventtype")).strip() or WORKFLOWS_DEFAULT_TYPE,
        published=parse_timestamp(card.get("dateandtime")),
        outcome="",
        reason="",
        message=_text(card.get("message")),
        actor=_card_entity(card.get("actor")),
        application=_card_entity(card.get("oktaapplication")),
        group=_card_entity(card.get("group")),
        mapping=_card_entity(card.get("grouppushmapping")),
    )
    if isinstance(details, Skipped):
        return from_card if from_card.uuid else Skipped("missing_uuid")
    return Event(
        uuid=details.uuid,
        event_type=details.event_type or from_card.event_type,
        published=details.published if details.published is not None else from_card.published,
        outcome=details.outcome,
        reason=details.reason,
        message=details.message or from_card.message,
        actor=_or(details.actor, from_card.actor),
        application=_or(details.application, from_card.application),
        group=_or(details.group, from_card.group),
        mapping=_or(details.mapping, from_card.mapping),
    )


def parse_workflows_payload(document: object) -> Batch:
    """A Workflows POST body: one card object, or a list of them."""
    if isinstance(document, dict):
        items: list[object] = [document]
    elif isinstance(document, list):
        items = document
    else:
        raise PayloadError("not a Workflows payload: expected a JSON object or a list of objects")
    events, skipped = _collect(items, parse_workflows_card)
    without = sum(
        1
        for item in items
        if isinstance(item, dict) and _event_details(_normalized(item).get("eventdetails")) is None
    )
    return Batch(events=events, skipped=skipped, without_details=without)
