"""Classification: every type of Okta's group push catalogue, pinned row by row."""

from __future__ import annotations

import pytest

from exporter.classify import CATALOGUE, Kind, classify, failure_only_types, subscribed_types
from exporter.reasons import classify_reason
from tests.conftest import payload

CATALOG = [e["id"] for e in payload("okta-event-types_group-push-subset.json")["eventTypes"]]
T, R, S = Kind.TERMINAL_FAILURE, Kind.RETRIED_FAILURE, Kind.SUCCESS
E, U, H, I = Kind.MAPPING_ENDED, Kind.USERS_IGNORED, Kind.HOOK_DELIVERY_FAILED, Kind.IGNORED
PP = "application.provision.group_push."

# One row per catalogue entry: (Kind with outcome FAILURE, Kind with outcome SUCCESS).
EXPECTED: dict[str, tuple[Kind, Kind]] = {
    "app.user_management": (I, I),
    "app.user_management.grouppush.mapping.created.from.rule": (I, I),
    "app.user_management.grouppush.mapping.created.from.rule.error.duplicate": (T, T),
    "app.user_management.grouppush.mapping.created.from.rule.error.validation": (T, T),
    "app.user_management.grouppush.mapping.created.from.rule.errors": (T, T),
    "app.user_management.grouppush.mapping.okta.users.ignored": (U, U),
    "application.provision.group.add": (R, I),
    "application.provision.group.import": (I, I),
    "application.provision.group.remove": (R, I),
    "application.provision.group.update": (R, I),
    "application.provision.group.verify_exists": (R, I),
    "application.provision.group_membership.add": (R, I),
    "application.provision.group_membership.import": (I, I),
    "application.provision.group_membership.remove": (R, I),
    "application.provision.group_membership.update": (R, I),
    PP + "activate_mapping": (I, I),
    PP + "deactivate_mapping": (I, E),
    PP + "delete_appgroup": (I, E),
    PP + "mapping.and.groups.deleted.rule.deleted": (I, E),
    PP + "mapping.app.group.renamed": (I, I),
    PP + "mapping.app.group.renamed.failed": (T, T),
    PP + "mapping.created": (I, I),
    PP + "mapping.created.from.rule.warning.duplicate.name": (T, T),
    PP + "mapping.created.from.rule.warning.duplicate.name.tobecreated": (T, T),
    PP + "mapping.created.from.rule.warning.upsertGroup.duplicate.name": (T, T),
    PP + "mapping.deactivated.source.group.renamed": (I, E),
    PP + "mapping.deactivated.source.group.renamed.failed": (T, T),
    PP + "mapping.update.or.delete.failed": (R, R),
    PP + "mapping.update.or.delete.failed.with.error": (T, T),
    PP + "push_memberships": (I, S),
    PP + "pushed": (I, S),
    PP + "removed": (I, E),
    PP + "updated": (I, S),
    "event_hook.activated": (I, I),
    "event_hook.created": (I, I),
    "event_hook.deactivated": (I, I),
    "event_hook.deleted": (I, I),
    "event_hook.delivery": (H, H),
    "event_hook.updated": (I, I),
    "event_hook.verified": (I, I),
}


def test_the_expectations_cover_okta_catalogue_exactly() -> None:
    """Every catalogue entry has a row here and in the code, and nothing else does."""
    assert sorted(EXPECTED) == sorted(CATALOG)
    assert sorted(CATALOGUE) == sorted(CATALOG)


@pytest.mark.parametrize("event_type", CATALOG)
def test_every_catalogue_entry_has_its_class(event_type: str) -> None:
    on_failure, on_success = EXPECTED[event_type]
    assert classify(event_type, "FAILURE") is on_failure
    assert classify(event_type, "SUCCESS") is on_success
    # No outcome at all reads like SUCCESS: only an explicit FAILURE makes a failure.
    assert classify(event_type, "") is on_success


def test_imports_are_never_failures() -> None:
    for event_type in (
        "application.provision.group.import",
        "application.provision.group_membership.import",
    ):
        assert not classify(event_type, "FAILURE").is_failure


def test_types_outside_the_catalogue_are_ignored() -> None:
    """No prefix matching: a type Okta adds is ignored until a row says otherwise."""
    assert classify("application.provision.group.something_new", "FAILURE") is I
    assert classify("application.provision.user.push", "FAILURE") is I
    assert classify("user.session.start", "FAILURE") is I
    assert classify("", "") is I


def test_only_successes_and_ended_mappings_clear_failing_now() -> None:
    assert {kind for kind in Kind if kind.clears_failing} == {S, E}
    assert {kind for kind in Kind if kind.is_failure} == {T, R}


def test_the_duplicate_name_warnings_have_reason_duplicate() -> None:
    duplicates = [t for t in CATALOG if "duplicate" in t and classify(t, "").is_failure]
    assert len(duplicates) == 4  # the three warnings and the rule's error.duplicate
    for event_type in duplicates:
        assert classify_reason(event_type, "HTTP 403 Forbidden") == "duplicate"


def test_subscribed_types_are_exactly_the_types_not_ignored() -> None:
    """The System Log filter asks for this set: all outcomes, or FAILURE only."""
    whatever = {t for t, (_, on_success) in EXPECTED.items() if on_success is not I}
    failure_only = {t for t, (f, s) in EXPECTED.items() if s is I and f is not I}
    assert set(subscribed_types()) == whatever
    assert set(failure_only_types()) == failure_only
    assert "event_hook.delivery" in whatever
