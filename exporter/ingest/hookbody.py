"""The fast path for event hook bodies: decode only the fields the exporter reads. Pure."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Final, Generic, TypeVar

import msgspec

from exporter.ingest.events import (
    NO_ENTITY,
    Batch,
    Entity,
    Event,
    Skipped,
    as_text,
    check_envelope_type,
    collect,
    epoch_seconds,
    make_event,
    parse_hook_envelope,
    pick_targets,
)
from exporter.ingest.jsontext import NOT_JSON, loads
from exporter.ingest.memo import Memo

T = TypeVar("T")

# msgspec decodes a body straight into these structs and skips every other field without
# building it: a few times cheaper than decoding the whole document, then walking it
# (BENCHMARKS.md, "In-process ingest"). A body that does not fit them (a field of another type, an
# item that is not an object, invalid JSON, nesting past Python's recursion limit) goes
# the lenient way (ingest/jsontext.py, then parse_hook_envelope), which decides as it
# always has. Nothing decoded here is nested
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
_TARGETS: Final = _Texts(lambda text: pick_targets(_TARGETS_DECODER.decode(text) or ()))


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
        # Every field is a str or None here, so `or ""` stands in for `as_text`.
        outcome = self.outcome or _NO_OUTCOME
        return make_event(
            self.uuid or "",
            self.eventType or "",
            epoch_seconds(self.published),
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
        check_envelope_type(envelope.eventType)
        events, skipped = collect(envelope.data.events, _LogEvent.event)
    except (*NOT_JSON, UnicodeDecodeError):
        return parse_hook_envelope(loads(body))
    return Batch(events, skipped, delivery_id=as_text(envelope.eventId))
