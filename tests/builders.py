"""Synthetic Okta payloads built to the LogEvent schema (no real group-push event is public)."""

from __future__ import annotations

import uuid as uuids
from typing import Final

TERMINAL: Final = "application.provision.group_push.mapping.update.or.delete.failed.with.error"
RETRIED: Final = "application.provision.group_push.mapping.update.or.delete.failed"


def failure_event(
    app: str = "Slack",
    group: str = "Eng",
    actor: str = "Ada",
    *,
    uuid: str | None = None,
    event_type: str = TERMINAL,
    published: str = "2026-11-28T10:00:00.000Z",
) -> dict[str, object]:
    """A group push failure LogEvent; a fresh uuid unless one is given."""
    return {
        "uuid": uuid or str(uuids.uuid4()),
        "published": published,
        "eventType": event_type,
        "actor": {"id": "00u1", "type": "User", "displayName": actor},
        "outcome": {"result": "FAILURE"},
        "target": [
            {"id": "0oa1", "type": "AppInstance", "displayName": app},
            {"id": "00g1", "type": "UserGroup", "displayName": group},
        ],
    }


def envelope(*events: object, delivery_id: str = "") -> dict[str, object]:
    """An event hook delivery body holding `events`."""
    document: dict[str, object] = {
        "eventType": "com.okta.event_hook",
        "data": {"events": list(events)},
    }
    if delivery_id:
        document["eventId"] = delivery_id
    return document
