"""Okta's Group Push Mapping API and what it needs around it: URLs and lenient parsing. Pure.

From Okta's management OpenAPI (okta/okta-management-openapi-spec, `listApplications`,
`listGroupPushMappings`, `getGroup`; the mapping API is GA since 2025):

- `GET /api/v1/apps`: `filter` on `status` (among a few others, not on features), `limit`
  up to 200, pages by `after` through the `rel="next"` link. An app's `features` lists
  `GROUP_PUSH` when it can push groups; only those apps have mappings.
- `GET /api/v1/apps/{appId}/group-push/mappings`: `limit` 1..1000 (default 100), pages by
  `after` through the next link; optional `status`, `sourceGroupId`, `lastUpdated` filters.
  A mapping: `id`, `status` (`ACTIVE`, `ERROR`, `INACTIVE`), `sourceGroupId` (the Okta
  group), `targetGroupId` (the group in the app), `errorSummary` ("the error message
  summary if the latest push failed"), `lastPush`, `created`, `lastUpdated`.
- `GET /api/v1/groups/{groupId}`: the group's name is `profile.name`.

Parsing follows the rest of the exporter: unknown fields are ignored, a missing one is
empty, an item that is not an object is skipped, never a crash.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from exporter.ingest.events import Entity, parse_timestamp

APPS_PATH: Final = "/api/v1/apps"
GROUP_PUSH_FEATURE: Final = "GROUP_PUSH"
APPS_PAGE_LIMIT: Final = 200  # the most listApplications gives per page
MAPPINGS_PAGE_LIMIT: Final = 1000  # the most listGroupPushMappings gives per page

ACTIVE: Final = "ACTIVE"
ERROR: Final = "ERROR"
INACTIVE: Final = "INACTIVE"
UNKNOWN_STATUS: Final = "UNKNOWN"  # a status this version does not know (a label value)
STATUSES: Final = (ACTIVE, ERROR, INACTIVE)


@dataclass(frozen=True, slots=True)
class App:
    """An app instance that pushes groups."""

    id: str
    entity: Entity  # as a System Log AppInstance target: label, name, id
    name: str = ""  # the app definition's key (`name`): the Admin Console's URLs use it


@dataclass(frozen=True, slots=True)
class PushMapping:
    """One group push mapping as the API describes it now."""

    id: str
    app: App
    source_group_id: str
    target_group_id: str
    status: str  # one of STATUSES, or UNKNOWN_STATUS
    error_summary: str
    last_push: float | None  # epoch seconds


def apps_url(org_url: str) -> str:
    """The first page of the org's active apps (only they push anything)."""
    query = urllib.parse.urlencode({"filter": 'status eq "ACTIVE"', "limit": APPS_PAGE_LIMIT})
    return f"{org_url}{APPS_PATH}?{query}"


def mappings_url(org_url: str, app_id: str) -> str:
    """The first page of one app's group push mappings, every status."""
    app = urllib.parse.quote(app_id, safe="")
    return f"{org_url}{APPS_PATH}/{app}/group-push/mappings?limit={MAPPINGS_PAGE_LIMIT}"


def group_url(org_url: str, group_id: str) -> str:
    return f"{org_url}/api/v1/groups/{urllib.parse.quote(group_id, safe='')}"


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _objects(items: Iterable[object]) -> Iterable[Mapping[str, Any]]:
    return (item for item in items if isinstance(item, dict))


def parse_apps(items: Iterable[object]) -> list[App]:
    """The apps of one listApplications page that have the GROUP_PUSH feature."""
    apps = []
    for item in _objects(items):
        features = item.get("features")
        app_id = _text(item.get("id"))
        if not app_id or not isinstance(features, list) or GROUP_PUSH_FEATURE not in features:
            continue
        # Okta's management OpenAPI (Application): `label` is the "User-defined display
        # name for app", `name` the "Unique key for app definition", `id` the "Unique ID
        # for the app instance". The label is the instance label that the System Log writes
        # as the AppInstance's alternateId ("AWS Production" in the public Panther fixture,
        # whose displayName is the catalogue app's name): inferred from those samples, not
        # stated by Okta. The API gives no catalogue name, so no display name here.
        label = _text(item.get("label"))
        apps.append(App(app_id, Entity(app_id, "AppInstance", label, ""), _text(item.get("name"))))
    return apps


def parse_status(value: object) -> str:
    status = _text(value).strip().upper()
    return status if status in STATUSES else UNKNOWN_STATUS


def parse_mappings(items: Iterable[object], app: App) -> list[PushMapping]:
    """The mappings of one listGroupPushMappings page (those without an id are skipped)."""
    mappings = []
    for item in _objects(items):
        mapping_id = _text(item.get("id"))
        if not mapping_id:
            continue
        mappings.append(
            PushMapping(
                id=mapping_id,
                app=app,
                source_group_id=_text(item.get("sourceGroupId")),
                target_group_id=_text(item.get("targetGroupId")),
                status=parse_status(item.get("status")),
                error_summary=_text(item.get("errorSummary")).strip(),
                last_push=parse_timestamp(item.get("lastPush")),
            )
        )
    return mappings


def group_entity(group_id: str, document: Mapping[str, Any] | None) -> Entity:
    """An Okta group as a System Log UserGroup target: its name, else its id.

    `document` is getGroup's answer, or None when the group is gone (404).
    """
    profile = document.get("profile") if document is not None else None
    name = _text(profile.get("name")) if isinstance(profile, dict) else ""
    return Entity(group_id, "UserGroup", name, name)
