"""Mappings by Okta ids: their keys, their newest names, and the read model of each. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from exporter import catalogue
from exporter.counting import mapping
from exporter.counting.state import Labels, Values
from exporter.ingest.events import Entity

NAMES = mapping.NAMES_SERIES
STATE = mapping.STATE_SERIES
LAST = mapping.LAST_FAILURE_SERIES


def test_a_key_is_the_okta_id_else_the_label_text_marked_as_such() -> None:
    assert mapping.key(Entity("0oaua5ldoougycQAO696", "AppInstance"), "AWS Production") == (
        "0oaua5ldoougycQAO696"
    )
    # No id, Okta's placeholder, or text no Okta id looks like: the label, marked.
    assert mapping.key(Entity(), "Slack") == "label:Slack"
    assert mapping.key(Entity("unknown"), "Slack") == "label:Slack"
    assert mapping.key(Entity("UNKNOWN"), "Slack") == "label:Slack"
    # An "id" that spells a text key cannot pose as one: it is not id-shaped.
    assert mapping.key(Entity("label:Zoom"), "Slack") == "label:Slack"
    assert mapping.key(Entity("0oa 1"), "Slack") == "label:Slack"
    assert mapping.okta_id("label:Slack") == ""
    assert mapping.okta_id("00g1") == "00g1"


def test_the_newest_names_win_by_published_time_whatever_the_order() -> None:
    names: dict[Labels, float] = {
        ("0oa1", "00g1", "Slack Treasury", "Engineering"): 200.0,
        ("0oa1", "00g1", "Slack Finance", "Eng"): 100.0,
        ("0oa2", "00g1", "Slack Sales", "Eng"): 50.0,
        ("0oa3", "00g1", "b", "g"): 7.0,
        ("0oa3", "00g1", "a", "g"): 7.0,  # a tie: every replica picks the same
    }
    assert mapping.newest_names(names) == {
        ("0oa1", "00g1"): ("Slack Treasury", "Engineering"),
        ("0oa2", "00g1"): ("Slack Sales", "Eng"),
        ("0oa3", "00g1"): ("b", "g"),
    }


@dataclass(frozen=True)
class Read:
    """What the reconciler read of a mapping (the fields okta/disagreements.py reads)."""

    application: str
    group: str
    status: str
    error_summary: str = ""
    reason: str | None = None
    last_push: float | None = None


def test_rows_read_every_known_mapping_by_ids_under_its_shown_names() -> None:
    values: Values = {
        NAMES: {
            ("0oa1", "00g1", "Slack Finance", "Eng"): 100.0,
            ("0oa1", "00g1", "Slack Treasury", "Engineering"): 300.0,
            ("label:Box", "label:Ops", "Box", "Ops"): 50.0,
        },
        STATE: {
            ("0oa1", "00g1"): mapping.encode(300.0, True),
            ("label:Box", "label:Ops"): mapping.encode(50.0, False),
        },
        LAST: {("0oa1", "00g1"): 300.0},
    }
    api = {
        ("0oa1", "00g1"): Read("Slack Treasury", "Engineering", "ERROR", "401", "credentials", 9.0),
        ("0oa9", "00g9"): Read("Zoom", "Sales", "ACTIVE", last_push=8.0),  # no event yet
    }
    rows = mapping.rows(values, api)
    assert rows == [
        mapping.Row("", "", "Box", "Ops", False, 50.0, None),
        mapping.Row("0oa1", "00g1", "Slack Treasury", "Engineering", True, 300.0, 300.0,
                    "ERROR", "401", "credentials", 9.0),
        mapping.Row("0oa9", "00g9", "Zoom", "Sales", False, None, None, "ACTIVE", "", None, 8.0),
    ]  # fmt: skip
    # Without the reconciler: the events' mappings alone, no API fields.
    assert [(r.application, r.api_status) for r in mapping.rows(values)] == [
        ("Box", None),
        ("Slack Treasury", None),
    ]


def test_the_families_agree_with_the_rows() -> None:
    values: Values = {
        NAMES: {("0oa1", "00g1", "Slack Finance", "Eng"): 100.0},
        STATE: {("0oa1", "00g1"): mapping.encode(100.0, True)},
        LAST: {("0oa1", "00g1"): 100.0},
    }
    families = mapping.families(values, {("0oa9", "00g9"): ("Zoom", "Sales")})
    assert families[catalogue.MAPPING_FAILING.name] == {("Slack Finance", "Eng"): 1.0}
    assert families[catalogue.LAST_FAILURE.name] == {("Slack Finance", "Eng"): 100.0}
    assert families[catalogue.MAPPING_INFO.name] == {
        ("Slack Finance", "Eng", "0oa1", "00g1", "", ""): 1.0,
        ("Zoom", "Sales", "0oa9", "00g9", "", ""): 1.0,
    }
