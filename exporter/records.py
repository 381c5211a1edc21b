"""Shared record types: what store/, counting/ and metrics/ all import.

`Update` is what one event does to the values and `apply` is how: every store that keeps
values itself (memory) and the metric state (counting/state.py) agree on it here.
"""

from __future__ import annotations

import enum

import msgspec

Labels = tuple[str, ...]
Values = dict[str, dict[Labels, float]]
Series = tuple[str, Labels]  # (metric name, label values)


class Kind(enum.Enum):
    """What an event means for the exporter."""

    TERMINAL_FAILURE = "terminal"  # Okta will not retry: an admin must act
    RETRIED_FAILURE = "retried"  # Okta retries by itself; a success may follow
    SUCCESS = "success"
    MAPPING_ENDED = "ended"  # the mapping was removed or deactivated: nothing is failing now
    USERS_IGNORED = "users_ignored"  # Okta skipped some users while pushing the group
    HOOK_DELIVERY_FAILED = "hook_delivery_failed"  # Okta could not deliver to an event hook
    IGNORED = "ignored"

    @property
    def is_failure(self) -> bool:
        return self in (Kind.TERMINAL_FAILURE, Kind.RETRIED_FAILURE)

    @property
    def clears_failing(self) -> bool:
        """Whether the event ends its mapping's "failing now" (a success or the mapping's end)."""
        return self in (Kind.SUCCESS, Kind.MAPPING_ENDED)


# A frozen msgspec Struct, like the Event it comes from: one per event, built cheaply.
class Update(msgspec.Struct, frozen=True):
    """What one distinct event does to the state, applied only if its uuid is new."""

    uuid: str
    kind: Kind
    increments: tuple[tuple[str, Labels], ...] = ()  # (metric name, label values) += 1
    maxima: tuple[tuple[str, Labels, float], ...] = ()  # gauge = max(gauge, value)
    overflow: tuple[str, ...] = ()  # labels whose value a cap replaced with __other__
    reserved: tuple[Series, ...] = ()  # new series held in the state until released
    # Every series the update writes, as one tuple that events with the same labels share
    # (the ledger's planner keeps it): updates that share the tuple write the same series,
    # so the state tallies them together (see apply_all).
    written: tuple[Series, ...] = ()
    # Orders the updates that share `written`: of two, the one with the larger rank has
    # every maximum at least as large (the planner's is the event time, which each of its
    # maxima grows with). The state then keeps one update per tally instead of comparing
    # every maximum of every event. None: no such order, so the update applies at once.
    rank: float | None = None


def apply(values: Values, update: Update) -> None:
    """Add one to each incremented series and raise each maximum (a new series starts there)."""
    for name, labels in update.increments:
        series = values.setdefault(name, {})
        series[labels] = series.get(labels, 0.0) + 1.0
    for name, labels, value in update.maxima:
        series = values.setdefault(name, {})
        current = series.get(labels)
        if current is None or value > current:
            series[labels] = value
