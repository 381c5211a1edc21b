"""The API's mappings as series, and their comparison with the event-derived state. Pure."""

from __future__ import annotations

import re

import pytest

from exporter.counting import mapping
from exporter.counting.state import Labels
from exporter.ingest.events import Entity
from exporter.ingest.labels import Filter, LabelPolicy
from exporter.okta.disagreements import (
    API_ACTIVE_EVENTS_FAILING,
    API_ERROR_EVENTS_OK,
    API_ERROR_NO_EVENTS,
    API_INACTIVE_EVENTS_FAILING,
    EVENTS_FAILING_NO_MAPPING,
    MappingState,
    Tracker,
    describe,
    disagreements,
    series,
)
from exporter.okta.grouppush import App, PushMapping

NOW = 1_795_000_000.0
# As parse_apps reads it: the app's `label` is the instance label, the events' alternateId.
SLACK = App("0oa1", Entity("0oa1", "AppInstance", "Slack Finance", ""))
IDS = ("0oa1", "00g1")


def push(mapping_id: str, status: str, summary: str = "", app: App = SLACK) -> PushMapping:
    return PushMapping(mapping_id, app, "00g1", "00g2", status, summary, NOW)


def group(name: str) -> Entity:
    return Entity("00g1", "UserGroup", name, name)


def state(
    mapping_id: str,
    group: str,
    status: str,
    application: str = "Slack",
    ids: tuple[str, str] = IDS,
) -> MappingState:
    return MappingState(mapping_id, *ids, application, group, status, "", None, None)


def test_describe_labels_like_the_failure_counters_and_reads_the_reason() -> None:
    described = describe(push("m", "ERROR", "Failed: 401 Unauthorized"), group("Eng\x00"))
    assert (described.application, described.group) == ("Slack Finance", "Eng")
    assert (described.application_key, described.group_key) == IDS
    assert described.reason == "credentials"
    # The group's own name never decides the reason: "Duplicate Admins" is not a duplicate.
    assert (
        describe(
            push("m", "ERROR", "Duplicate Admins: timed out"), group("Duplicate Admins")
        ).reason
        == "network"
    )
    assert describe(push("m", "ERROR"), group("Eng")).reason == "other"  # no summary given
    assert describe(push("m", "ACTIVE"), group("Eng")).reason is None
    # Still ACTIVE, but the latest push failed: the reason is worth showing.
    assert (
        describe(push("m", "ACTIVE", "429 Too Many Requests"), group("Eng")).reason
        == "rate_limited"
    )
    nameless = App("0oa9", Entity("0oa9", "AppInstance"))
    assert describe(push("m", "ACTIVE", app=nameless), Entity("00g7")).application == "0oa9"
    assert describe(push("m", "ACTIVE", app=nameless), Entity("00g7")).group == "00g7"


def test_describe_applies_the_events_label_policy() -> None:
    policy = LabelPolicy(
        group="id",
        max_length=3,
        filters={"application": Filter(deny=re.compile("Sla.*"))},
    )
    described = describe(push("m", "ERROR", "Failed: 401 Unauthorized"), group("Eng"), policy)
    assert (described.application, described.group) == ("__other__", "00g")
    assert described.reason == "credentials"


def test_series_give_every_status_and_add_up_mappings_that_share_labels() -> None:
    states = [
        MappingState("a", *IDS, "Slack", "Eng", "ERROR", "x", "not_found", NOW - 10),
        # a second Slack that the policy names alike
        MappingState("b", "0oa2", "00g1", "Slack", "Eng", "ERROR", "y", "not_found", NOW - 5),
        MappingState("c", "0oa1", "00g3", "Slack", "Ops", "UNKNOWN", "", None, None),
    ]
    out = series(states)
    assert out.status == {
        ("Slack", "Eng", "ACTIVE"): 0,
        ("Slack", "Eng", "ERROR"): 2,
        ("Slack", "Eng", "INACTIVE"): 0,
        ("Slack", "Ops", "ACTIVE"): 0,
        ("Slack", "Ops", "ERROR"): 0,
        ("Slack", "Ops", "INACTIVE"): 0,
        ("Slack", "Ops", "UNKNOWN"): 1,
    }
    assert sum(v for k, v in out.status.items() if k[2] == "ERROR") == 2  # sum by (status)
    assert out.reasons == {("Slack", "Eng", "not_found"): 2}
    assert out.last_push == {("Slack", "Eng"): NOW - 5}
    assert out.names == {IDS: ("Slack", "Eng"), ("0oa2", "00g1"): ("Slack", "Eng"),
                         ("0oa1", "00g3"): ("Slack", "Ops")}  # fmt: skip


def test_series_show_a_mapping_under_its_newest_event_names() -> None:
    """After a rename the API families follow the names the event families show."""
    states = [state("a", "Eng", "ERROR")]
    out = series(states, {IDS: ("Slack Renamed", "Engineering")})
    assert out.status[("Slack Renamed", "Engineering", "ERROR")] == 1
    assert out.names == {IDS: ("Slack", "Eng")}  # the API's own names, for mapping_info


@pytest.mark.parametrize(
    ("status", "events", "kind"),
    [
        ("ERROR", None, API_ERROR_NO_EVENTS),
        ("ERROR", False, API_ERROR_EVENTS_OK),
        ("ERROR", True, None),
        ("ACTIVE", True, API_ACTIVE_EVENTS_FAILING),
        ("ACTIVE", False, None),
        ("ACTIVE", None, None),  # a mapping that never failed
        ("INACTIVE", True, API_INACTIVE_EVENTS_FAILING),
        ("INACTIVE", None, None),
        ("UNKNOWN", True, None),  # a status this version cannot judge
    ],
)
def test_each_kind_of_disagreement(status: str, events: bool | None, kind: str | None) -> None:
    states = [state("m1", "Eng", status)]
    known: dict[Labels, float] = {}
    if events is not None:
        known[IDS] = mapping.encode(NOW, events)
    found = disagreements(states, known)
    assert [d.kind for d in found] == ([kind] if kind else [])
    if kind:
        assert found[0].key == ("mapping", "m1") and found[0].event_failing is events


def test_failing_events_without_a_mapping_count_only_for_applications_the_api_lists() -> None:
    events: dict[Labels, float] = {
        ("0oa1", "00gDeleted"): mapping.encode(NOW, True),
        ("0oa1", "00gRecovered"): mapping.encode(NOW, False),
        ("0oaZoom", "00gOther"): mapping.encode(NOW, True),  # not an app the API lists
        ("label:Slack", "label:Eng"): mapping.encode(NOW, True),  # no ids: never the API's
    }
    shown = {("0oa1", "00gDeleted"): ("Slack", "Deleted")}
    (found,) = disagreements([state("m1", "Eng", "ACTIVE")], events, shown)
    assert (found.kind, found.key) == (EVENTS_FAILING_NO_MAPPING, ("ids", "0oa1", "00gDeleted"))
    assert (found.application, found.group) == ("Slack", "Deleted")
    assert found.api_status == "" and found.event_published == NOW


def test_api_and_events_join_by_ids_whatever_their_names() -> None:
    """The API's label text differs from the events' (renamed since, or another label
    source): still one mapping, so one disagreement, not two."""
    api = [state("m1", "Engineering (old name)", "ERROR", application="Slack Finance")]
    events: dict[Labels, float] = {IDS: mapping.encode(NOW, False)}
    shown = {IDS: ("Slack Finance Workspace", "Engineering")}
    (found,) = disagreements(api, events, shown)
    assert found.kind == API_ERROR_EVENTS_OK
    assert (found.application, found.group) == ("Slack Finance Workspace", "Engineering")
    # Agreeing states under different names: nothing to report.
    assert disagreements(api, {IDS: mapping.encode(NOW, True)}, shown) == []
    # The same names under other ids are another mapping: the API's is without events.
    other: dict[Labels, float] = {("0oa2", "00g1"): mapping.encode(NOW, True)}
    assert [d.kind for d in disagreements(api, other, shown)] == [API_ERROR_NO_EVENTS]


def test_a_disagreement_is_reported_once_it_lasted_and_again_after_it_ended() -> None:
    tracker = Tracker()
    one = disagreements([state("m1", "Eng", "ERROR")], {})
    assert tracker.update(one) == []  # the event may be on its way
    assert [d.kind for d in tracker.update(one)] == [API_ERROR_NO_EVENTS]
    assert tracker.update(one) == []  # once
    other_kind = disagreements([state("m1", "Eng", "ERROR")], {IDS: mapping.encode(NOW, False)})
    assert tracker.update(other_kind) == []  # a new kind for the same mapping: pending again
    assert [d.kind for d in tracker.update(other_kind)] == [API_ERROR_EVENTS_OK]
    assert tracker.update([]) == []  # ended
    assert tracker.update(one) == []
    assert len(tracker.update(one)) == 1  # back: reported again
    blip = disagreements([state("m2", "Eng", "ERROR")], {})
    assert tracker.update(blip) == [] and tracker.update([]) == []  # a blip never counts


def test_a_reading_feeds_the_mapping_read_model() -> None:
    """What a /status page reads: each mapping by ids, events and Okta's answer side by side."""
    read = MappingState("m1", *IDS, "Slack", "Eng", "ERROR", "401 Unauthorized", "credentials", 5.0)
    values: dict[str, dict[Labels, float]] = {
        mapping.NAMES_SERIES: {(*IDS, "Slack Finance", "Eng"): NOW},
        mapping.STATE_SERIES: {IDS: mapping.encode(NOW, True)},
        mapping.LAST_FAILURE_SERIES: {IDS: NOW},
    }
    (row,) = mapping.rows(values, series([read]).mappings)
    assert row == mapping.Row(
        "0oa1", "00g1", "Slack Finance", "Eng", True, NOW, NOW,
        "ERROR", "401 Unauthorized", "credentials", 5.0,
    )  # fmt: skip
