"""Classification: every type of Okta's group push catalogue, pinned row by row."""

from __future__ import annotations

import pytest

from exporter.ingest.classify import CATALOGUE, Kind, classify, failure_only_types, subscribed_types
from exporter.ingest.reasons import classify_reason
from tests.conftest import payload

CATALOG = [e["id"] for e in payload("okta-event-types_group-push-subset.json")["eventTypes"]]
T, R, S = Kind.TERMINAL_FAILURE, Kind.RETRIED_FAILURE, Kind.SUCCESS
E, U, H, N = Kind.MAPPING_ENDED, Kind.USERS_IGNORED, Kind.HOOK_DELIVERY_FAILED, Kind.IGNORED
PP = "application.provision.group_push."

# One row per catalogue entry: (Kind with outcome FAILURE, Kind with outcome SUCCESS).
EXPECTED: dict[str, tuple[Kind, Kind]] = {
    "app.user_management": (N, N),
    "app.user_management.grouppush.mapping.created.from.rule": (N, N),
    "app.user_management.grouppush.mapping.created.from.rule.error.duplicate": (T, T),
    "app.user_management.grouppush.mapping.created.from.rule.error.validation": (T, T),
    "app.user_management.grouppush.mapping.created.from.rule.errors": (T, T),
    "app.user_management.grouppush.mapping.okta.users.ignored": (U, U),
    "application.provision.group.add": (R, N),
    "application.provision.group.import": (N, N),
    "application.provision.group.remove": (R, N),
    "application.provision.group.update": (R, N),
    "application.provision.group.verify_exists": (R, N),
    "application.provision.group_membership.add": (R, N),
    "application.provision.group_membership.import": (N, N),
    "application.provision.group_membership.remove": (R, N),
    "application.provision.group_membership.update": (R, N),
    PP + "activate_mapping": (N, N),
    PP + "deactivate_mapping": (N, E),
    PP + "delete_appgroup": (N, E),
    PP + "mapping.and.groups.deleted.rule.deleted": (N, E),
    PP + "mapping.app.group.renamed": (N, N),
    PP + "mapping.app.group.renamed.failed": (T, T),
    PP + "mapping.created": (N, N),
    PP + "mapping.created.from.rule.warning.duplicate.name": (T, T),
    PP + "mapping.created.from.rule.warning.duplicate.name.tobecreated": (T, T),
    PP + "mapping.created.from.rule.warning.upsertGroup.duplicate.name": (T, T),
    PP + "mapping.deactivated.source.group.renamed": (N, E),
    PP + "mapping.deactivated.source.group.renamed.failed": (T, T),
    PP + "mapping.update.or.delete.failed": (R, R),
    PP + "mapping.update.or.delete.failed.with.error": (T, T),
    PP + "push_memberships": (N, S),
    PP + "pushed": (N, S),
    PP + "removed": (N, E),
    PP + "updated": (N, S),
    "event_hook.activated": (N, N),
    "event_hook.created": (N, N),
    "event_hook.deactivated": (N, N),
    "event_hook.deleted": (N, N),
    "event_hook.delivery": (H, H),
    "event_hook.updated": (N, N),
    "event_hook.verified": (N, N),
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
    assert classify("application.provision.group.something_new", "FAILURE") is N
    assert classify("application.provision.user.push", "FAILURE") is N
    assert classify("user.session.start", "FAILURE") is N
    assert classify("", "") is N


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
    whatever = {t for t, (_, on_success) in EXPECTED.items() if on_success is not N}
    failure_only = {t for t, (f, s) in EXPECTED.items() if s is N and f is not N}
    assert set(subscribed_types()) == whatever
    assert set(failure_only_types()) == failure_only
    assert "event_hook.delivery" in whatever
