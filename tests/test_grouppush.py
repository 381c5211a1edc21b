"""Okta's apps, group push mappings and groups: URLs and lenient parsing. Pure."""

from __future__ import annotations

import urllib.parse
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from exporter.okta.grouppush import (
    UNKNOWN_STATUS,
    App,
    apps_url,
    group_entity,
    group_url,
    mappings_url,
    parse_apps,
    parse_mappings,
)

ORG = "https://example.okta.com"
NOW = 1_795_000_000.0

# The shape of Okta's OpenAPI example ListGroupPushMappingsResponse_Example.
OKTA_EXAMPLE = [
    {
        "created": "2025-01-01T00:00:00Z",
        "errorSummary": "",
        "id": "gPm00000000000000000",
        "lastPush": "2025-01-01T00:00:00Z",
        "lastUpdated": "2025-01-01T00:00:00Z",
        "sourceGroupId": "00g00000000000000000",
        "status": "ACTIVE",
        "targetGroupId": "00g00000000000000001",
        "_links": {"app": {"href": "https://{yourOktaDomain}/api/v1/apps/0oa00000000000000000"}},
    },
    {
        "created": "2025-01-02T00:00:00Z",
        "errorSummary": "",
        "id": "gPm00000000000000001",
        "lastPush": "2025-01-02T00:00:00Z",
        "lastUpdated": "2025-01-02T00:00:00Z",
        "sourceGroupId": "00g00000000000000002",
        "status": "INACTIVE",
        "targetGroupId": "00g00000000000000003",
    },
]


def test_urls_ask_for_the_largest_pages_and_quote_ids() -> None:
    apps = urllib.parse.urlsplit(apps_url(ORG))
    assert apps.path == "/api/v1/apps"
    assert urllib.parse.parse_qs(apps.query) == {"filter": ['status eq "ACTIVE"'], "limit": ["200"]}
    assert mappings_url(ORG, "0oa1") == f"{ORG}/api/v1/apps/0oa1/group-push/mappings?limit=1000"
    assert mappings_url(ORG, "a/b?c").startswith(f"{ORG}/api/v1/apps/a%2Fb%3Fc/group-push")
    assert group_url(ORG, "00g1") == f"{ORG}/api/v1/groups/00g1"


def test_only_apps_with_group_push_are_kept() -> None:
    items: list[Any] = [
        {"id": "0oa1", "label": "Slack", "name": "slack", "features": ["GROUP_PUSH"]},
        {"id": "0oa2", "label": "Wiki", "features": ["PUSH_NEW_USERS"]},
        {"id": "0oa3", "label": "No features"},
        {"id": "0oa4", "name": "unlabelled", "features": ["GROUP_PUSH"]},
        {"label": "No id", "features": ["GROUP_PUSH"]},
        "not an object",
        None,
    ]
    apps = parse_apps(items)
    # The app's label is the instance label: the events' alternateId. `name` is the app's
    # key, not a name a person gave it: an app without a label is known by its id.
    assert [(a.id, a.entity.label()) for a in apps] == [("0oa1", "Slack"), ("0oa4", "0oa4")]
    assert apps[0].entity.alternate_id == "Slack"


def test_mappings_parse_okta_s_example_and_survive_odd_items() -> None:
    app = App("0oa1", parse_apps([{"id": "0oa1", "features": ["GROUP_PUSH"]}])[0].entity)
    first, second = parse_mappings(OKTA_EXAMPLE, app)
    assert (first.id, first.status, first.source_group_id) == (
        "gPm00000000000000000", "ACTIVE", "00g00000000000000000",
    )  # fmt: skip
    assert first.last_push == 1735689600.0 and first.error_summary == ""
    assert second.status == "INACTIVE" and second.app is app
    odd = parse_mappings(
        [{"id": "gPm9", "status": "error", "errorSummary": "  Bad Gateway \n"},
         {"id": "gPm8", "status": "PENDING", "lastPush": "yesterday"},
         {"status": "ERROR"}, []],
        app,
    )  # fmt: skip
    assert [(m.status, m.error_summary, m.last_push) for m in odd] == [
        ("ERROR", "Bad Gateway", None),
        (UNKNOWN_STATUS, "", None),
    ]


@given(
    st.lists(st.one_of(st.none(), st.integers(), st.text(), st.dictionaries(st.text(), st.text())))
)
def test_parsing_never_raises(items: list[Any]) -> None:
    app = App("0oa1", group_entity("0oa1", None))
    parse_apps(items)
    parse_mappings(items, app)


def test_a_group_is_named_by_its_profile_else_its_id() -> None:
    assert group_entity("00g1", {"profile": {"name": "Engineering"}}).label() == "Engineering"
    assert group_entity("00g1", None).label() == "00g1"  # deleted: 404
    assert group_entity("00g1", {"profile": "odd"}).label() == "00g1"
