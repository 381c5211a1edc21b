"""Which Okta event types the exporter reads, and what each means. Pure and table-driven.

`CATALOGUE` holds one row per event type of Okta's own catalogue that concerns group push
(tests/payloads/okta-event-types_group-push-subset.json, from okta/okta-developer-docs
`data/event-types.json`, release 2026.08.1): the Kind the event has when its
`outcome.result` is FAILURE, and the Kind it has otherwise. `tests/test_classify.py` walks
every catalogue entry and pins its row, so a type Okta adds shows up in review, not as a
silent prefix match. Types outside the table are ignored.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from exporter.ingest.events import Event
from exporter.records import Kind

# Moved to exporter.records (issue 16); re-exported for existing importers.
__all__ = ["Kind"]


class Row(NamedTuple):
    """One event type's classification: its Kind with outcome FAILURE, and otherwise."""

    on_failure: Kind
    otherwise: Kind


FAILURE_OUTCOME: Final = "FAILURE"

_T, _R = Kind.TERMINAL_FAILURE, Kind.RETRIED_FAILURE
_S, _E, _I = Kind.SUCCESS, Kind.MAPPING_ENDED, Kind.IGNORED
# The type itself is the failure, whatever `outcome` says (Okta documents no outcome for it).
_FAILED_TERMINAL: Final = Row(_T, _T)
# Group and membership provisioning types log both outcomes; only FAILURE is a failure. A
# push that failed this way has been seen succeeding on Okta's own retry, logged as
# `group_push.updated` (research/okta.md section 1.2), so these are retried failures.
_PROVISIONING: Final = Row(_R, _I)
_SUCCEEDED: Final = Row(_I, _S)  # a success counts only when the outcome is not FAILURE
_ENDED: Final = Row(_I, _E)  # likewise the end of a mapping: a failed delete ends nothing
_IGNORE: Final = Row(_I, _I)

PP: Final = "application.provision.group_push."  # the prefix of most group push types

# Okta's catalogue, type by type (descriptions quoted from it where they decide the row).
CATALOGUE: Final[dict[str, Row]] = {
    # "Imported new or deleted existing member of an application group": imports.
    "app.user_management": _IGNORE,
    "app.user_management.grouppush.mapping.created.from.rule": _IGNORE,
    # "did not get created from rule because an existing mapping already existed", or a
    # validation error: Okta does not retry a rule's mapping.
    "app.user_management.grouppush.mapping.created.from.rule.error.duplicate": _FAILED_TERMINAL,
    "app.user_management.grouppush.mapping.created.from.rule.error.validation": _FAILED_TERMINAL,
    "app.user_management.grouppush.mapping.created.from.rule.errors": _FAILED_TERMINAL,
    # "Okta users ignored while pushing group to AppInstance": the push went on without them.
    "app.user_management.grouppush.mapping.okta.users.ignored": Row(
        Kind.USERS_IGNORED, Kind.USERS_IGNORED
    ),
    "application.provision.group.add": _PROVISIONING,
    # "Fired when Okta downloads a remote group": an import, never a push failure.
    "application.provision.group.import": _IGNORE,
    "application.provision.group.remove": _PROVISIONING,
    "application.provision.group.update": _PROVISIONING,
    # "no group found on update or delete" (group push enhancement enabled).
    "application.provision.group.verify_exists": _PROVISIONING,
    "application.provision.group_membership.add": _PROVISIONING,
    # "Error while downloading memberships": an import, never a push failure.
    "application.provision.group_membership.import": _IGNORE,
    "application.provision.group_membership.remove": _PROVISIONING,
    "application.provision.group_membership.update": _PROVISIONING,
    PP + "activate_mapping": _IGNORE,
    PP + "deactivate_mapping": _ENDED,
    PP + "delete_appgroup": _ENDED,
    # "An existing mapping and its target groups have been deleted because a mapping rule
    # was deleted."
    PP + "mapping.and.groups.deleted.rule.deleted": _ENDED,
    PP + "mapping.app.group.renamed": _IGNORE,
    # Renames and deactivations are not retried by Okta.
    PP + "mapping.app.group.renamed.failed": _FAILED_TERMINAL,
    PP + "mapping.created": _IGNORE,
    # "A new mapping from a rule was not created due to a duplicate group name": the same
    # failure as the rule's `error.duplicate` above (reason `duplicate`, ingest/reasons.py).
    PP + "mapping.created.from.rule.warning.duplicate.name": _FAILED_TERMINAL,
    PP + "mapping.created.from.rule.warning.duplicate.name.tobecreated": _FAILED_TERMINAL,
    PP + "mapping.created.from.rule.warning.upsertGroup.duplicate.name": _FAILED_TERMINAL,
    # "An existing mapping has been deactivated because the source group was renamed."
    PP + "mapping.deactivated.source.group.renamed": _ENDED,
    PP + "mapping.deactivated.source.group.renamed.failed": _FAILED_TERMINAL,
    # "failed and will be retried".
    PP + "mapping.update.or.delete.failed": Row(_R, _R),
    # "failed and cannot be retried ... may require admin intervention"; the only group
    # push type an event hook can deliver (tag event-hook-eligible).
    PP + "mapping.update.or.delete.failed.with.error": _FAILED_TERMINAL,
    PP + "push_memberships": _SUCCEEDED,
    PP + "pushed": _SUCCEEDED,
    # "A group was removed from an app".
    PP + "removed": _ENDED,
    PP + "updated": _SUCCEEDED,
    "event_hook.activated": _IGNORE,
    "event_hook.created": _IGNORE,
    "event_hook.deactivated": _IGNORE,
    "event_hook.deleted": _IGNORE,
    # "Triggered when an event hook delivery fails ... only when the delivery is
    # unsuccessful": every one is a failed delivery, whatever its outcome says.
    "event_hook.delivery": Row(Kind.HOOK_DELIVERY_FAILED, Kind.HOOK_DELIVERY_FAILED),
    "event_hook.updated": _IGNORE,
    "event_hook.verified": _IGNORE,
}
HOOK_DELIVERY_TYPE: Final = "event_hook.delivery"
_NOT_LISTED: Final = _IGNORE


def classify(event_type: str, outcome: str) -> Kind:
    """The Kind of an event type with its `outcome.result` (upper case)."""
    row = CATALOGUE.get(event_type, _NOT_LISTED)
    return row.on_failure if outcome == FAILURE_OUTCOME else row.otherwise


def classify_event(event: Event) -> Kind:
    """The Kind of a parsed event."""
    return classify(event.event_type, event.outcome)


def failure_only_types() -> tuple[str, ...]:
    """The types that matter only with outcome FAILURE (they log every success too)."""
    return tuple(
        sorted(t for t, row in CATALOGUE.items() if row.otherwise is _I and row != _IGNORE)
    )


def subscribed_types() -> tuple[str, ...]:
    """The types that matter whatever their outcome, for System Log filters and docs."""
    return tuple(sorted(t for t, row in CATALOGUE.items() if row.otherwise is not _I))
