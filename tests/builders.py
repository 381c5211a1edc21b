"""Synthetic Okta payloads built to the LogEvent schema (no real group-push event is public)."""

from __future__ import annotations

import hashlib
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
    app_id: str | None = None,
    group_id: str | None = None,
) -> dict[str, object]:
    """A group push failure LogEvent; a fresh uuid unless one is given.

    The app and group ids follow from their names unless given: one name, one mapping.
    """
    return {
        "uuid": uuid or str(uuids.uuid4()),
        "published": published,
        "eventType": event_type,
        "actor": {"id": "00u1", "type": "User", "displayName": actor},
        "outcome": {"result": "FAILURE"},
        "target": [
            {"id": app_id or okta_id("0oa", app), "type": "AppInstance", "displayName": app},
            {"id": group_id or okta_id("00g", group), "type": "UserGroup", "displayName": group},
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


def okta_id(prefix: str, name: str) -> str:
    """An Okta-shaped id (prefix and alphanumerics) that follows from `name`."""
    return prefix + hashlib.sha256(name.encode()).hexdigest()[:17]
