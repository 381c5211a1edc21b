"""Classification: which event types count as failures, and terminal vs retried."""

from __future__ import annotations

import pytest

from exporter.classify import FAILURE_TYPES, SUCCESS_TYPES, Kind, classify, subscribed_types
from tests.conftest import payload

CATALOG = {e["id"] for e in payload("okta-event-types_group-push-subset.json")["eventTypes"]}


def test_every_type_in_the_tables_exists_in_oktas_catalog() -> None:
    """A typo in a table would silently never match: pin the strings to Okta's catalog."""
    assert set(FAILURE_TYPES) <= CATALOG
    assert set(SUCCESS_TYPES) <= CATALOG


@pytest.mark.parametrize(
    ("event_type", "outcome", "kind"),
    [
        ("application.provision.group_push.mapping.update.or.delete.failed.with.error", "FAILURE", Kind.TERMINAL_FAILURE),
        # The type itself is the failure, whatever outcome says (Okta does not document it).
        ("application.provision.group_push.mapping.update.or.delete.failed.with.error", "", Kind.TERMINAL_FAILURE),
        ("application.provision.group_push.mapping.update.or.delete.failed", "FAILURE", Kind.RETRIED_FAILURE),
        ("application.provision.group_push.mapping.app.group.renamed.failed", "FAILURE", Kind.TERMINAL_FAILURE),
        ("application.provision.group_push.mapping.deactivated.source.group.renamed.failed", "", Kind.TERMINAL_FAILURE),
        ("app.user_management.grouppush.mapping.created.from.rule.error.duplicate", "", Kind.TERMINAL_FAILURE),
        ("app.user_management.grouppush.mapping.created.from.rule.error.validation", "", Kind.TERMINAL_FAILURE),
        ("app.user_management.grouppush.mapping.created.from.rule.errors", "", Kind.TERMINAL_FAILURE),
        ("application.provision.group.add", "FAILURE", Kind.RETRIED_FAILURE),
        ("application.provision.group.update", "FAILURE", Kind.RETRIED_FAILURE),
        ("application.provision.group.remove", "FAILURE", Kind.RETRIED_FAILURE),
        ("application.provision.group_membership.add", "FAILURE", Kind.RETRIED_FAILURE),
        ("application.provision.group_membership.remove", "FAILURE", Kind.RETRIED_FAILURE),
        ("application.provision.group_membership.update", "FAILURE", Kind.RETRIED_FAILURE),
        ("application.provision.group.add", "SUCCESS", Kind.IGNORED),
        ("application.provision.group_membership.add", "SUCCESS", Kind.IGNORED),
        ("application.provision.group_push.pushed", "SUCCESS", Kind.SUCCESS),
        ("application.provision.group_push.updated", "SUCCESS", Kind.SUCCESS),
        ("application.provision.group_push.push_memberships", "SUCCESS", Kind.SUCCESS),
        ("application.provision.group_push.mapping.created", "SUCCESS", Kind.IGNORED),
        ("application.provision.user.push", "FAILURE", Kind.IGNORED),
        ("user.session.start", "FAILURE", Kind.IGNORED),
        ("", "", Kind.IGNORED),
    ],
)  # fmt: skip
def test_classification_table(event_type: str, outcome: str, kind: Kind) -> None:
    assert classify(event_type, outcome) is kind


def test_failure_kinds_are_failures_and_others_are_not() -> None:
    assert Kind.TERMINAL_FAILURE.is_failure and Kind.RETRIED_FAILURE.is_failure
    assert not Kind.SUCCESS.is_failure and not Kind.IGNORED.is_failure


def test_subscribed_types_cover_failures_and_successes() -> None:
    assert set(subscribed_types()) == set(FAILURE_TYPES) | SUCCESS_TYPES
