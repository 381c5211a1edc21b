"""Okta Workflows "Group Push Failed" card outputs, as a flow forwards them, to events. Pure."""

from __future__ import annotations

import re
from typing import Any, Final

from exporter.ingest.events import (
    CARD_ENTITY_KEYS,
    NO_ENTITY,
    Batch,
    Entity,
    Event,
    PayloadError,
    Skipped,
    as_object,
    as_text,
    collect,
    parse_entity,
    parse_log_event,
    parse_timestamp,
)
from exporter.ingest.jsontext import DECODER, NOT_JSON

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
    return {_norm_key(k): v for k, v in as_object(value).items()} if isinstance(value, dict) else {}


def _card_entity(value: object) -> Entity:
    """A card's {"ID", "Type", "Alternate ID", "Display Name"} object, keys folded."""
    return parse_entity(_normalized(value), CARD_ENTITY_KEYS)


def _event_details(value: object) -> object:
    """`Event Details` arrives as the LogEvent object or as its JSON text."""
    if isinstance(value, str) and value.strip():
        try:
            return DECODER.decode(value)
        # Not JSON, or a lone surrogate in the text (orjson refused it too): no details.
        except (*NOT_JSON, UnicodeEncodeError):
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
        uuid=as_text(card.get("eventid")).strip(),
        event_type=as_text(card.get("eventtype")).strip() or WORKFLOWS_DEFAULT_TYPE,
        published=parse_timestamp(card.get("dateandtime")),
        outcome="",
        reason="",
        message=as_text(card.get("message")),
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
    events, skipped = collect(items, parse_workflows_card)
    without = sum(
        1
        for item in items
        if isinstance(item, dict) and _event_details(_normalized(item).get("eventdetails")) is None
    )
    return Batch(events=events, skipped=skipped, without_details=without)
