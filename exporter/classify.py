"""Which Okta event types are group-push failures, and of which kind. Pure and table-driven.

The table is DESIGN section 2 (sources in research/okta.md section 1). Only the
`...failed.with.error` type is hook-eligible; the others arrive through the System Log.
"""

from __future__ import annotations

import enum
from typing import Final

from exporter.events import Event


class Kind(enum.Enum):
    """What an event means for the exporter."""

    TERMINAL_FAILURE = "terminal"  # Okta will not retry: an admin must act
    RETRIED_FAILURE = "retried"  # Okta retries by itself; a success may follow
    SUCCESS = "success"
    IGNORED = "ignored"

    @property
    def is_failure(self) -> bool:
        return self in (Kind.TERMINAL_FAILURE, Kind.RETRIED_FAILURE)


# Failures whatever their outcome field says: the event type itself is the failure.
FAILURE_TYPES: Final[dict[str, Kind]] = {
    # Okta's catalog: "failed and cannot be retried ... may require admin intervention".
    "application.provision.group_push.mapping.update.or.delete.failed.with.error": (
        Kind.TERMINAL_FAILURE
    ),
    # "failed and will be retried".
    "application.provision.group_push.mapping.update.or.delete.failed": Kind.RETRIED_FAILURE,
    # Renames, deactivations and rule-created mappings are not retried by Okta.
    "application.provision.group_push.mapping.app.group.renamed.failed": Kind.TERMINAL_FAILURE,
    "application.provision.group_push.mapping.deactivated.source.group.renamed.failed": (
        Kind.TERMINAL_FAILURE
    ),
    "app.user_management.grouppush.mapping.created.from.rule.error.duplicate": (
        Kind.TERMINAL_FAILURE
    ),
    "app.user_management.grouppush.mapping.created.from.rule.error.validation": (
        Kind.TERMINAL_FAILURE
    ),
    "app.user_management.grouppush.mapping.created.from.rule.errors": Kind.TERMINAL_FAILURE,
}

SUCCESS_TYPES: Final = frozenset(
    {
        "application.provision.group_push.pushed",
        "application.provision.group_push.updated",
        "application.provision.group_push.push_memberships",
    }
)

# Group and membership provisioning types log both outcomes: only FAILURE counts. A push
# that failed this way has been seen succeeding on Okta's own retry, logged as
# `group_push.updated` (research/okta.md section 1.2), so these are retried failures.
PROVISIONING_PREFIXES: Final = (
    "application.provision.group.",
    "application.provision.group_membership.",
)
FAILURE_OUTCOME: Final = "FAILURE"
# Answers as module constants: on Python 3.11, `Kind.SUCCESS` is a metaclass attribute
# lookup of about 300 ns, and this runs for every event.
_SUCCESS: Final = Kind.SUCCESS
_RETRIED: Final = Kind.RETRIED_FAILURE
_IGNORED: Final = Kind.IGNORED


def classify(event_type: str, outcome: str) -> Kind:
    """The Kind of an event type with its `outcome.result` (upper case)."""
    kind = FAILURE_TYPES.get(event_type)
    if kind is not None:
        return kind
    if event_type in SUCCESS_TYPES:
        return _SUCCESS
    if event_type.startswith(PROVISIONING_PREFIXES) and outcome == FAILURE_OUTCOME:
        return _RETRIED
    return _IGNORED


def classify_event(event: Event) -> Kind:
    """The Kind of a parsed event."""
    return classify(event.event_type, event.outcome)


def subscribed_types() -> tuple[str, ...]:
    """Every event type the exporter reads, for System Log filters and docs."""
    return tuple(sorted({*FAILURE_TYPES, *SUCCESS_TYPES}))
