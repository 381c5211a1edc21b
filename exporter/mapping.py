"""Whether a group push mapping is failing now: the newest event by `published` decides. Pure.

Events arrive out of order (hooks are unordered, the System Log's polling query is ordered
by persistence time, backfill and replay come later still), so "the newest event" must be
decided by Okta's `published` time, not by arrival. The state of one application + group
is therefore stored as a single number that only grows:

    2 * (published in milliseconds) + (1 if the event was a failure else 0)

The larger number is the newer event, and at the very same millisecond a failure wins
(the cautious answer). Because it only grows, the store's existing "keep the maximum"
update applies it atomically, redelivery and replay cannot move it back, and replicas
sharing Redis agree by the same max-merge as every other series. The exposed gauge
`okta_group_push_mapping_failing` is the last bit of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from exporter.state import Labels

# The stored series (application, group) -> encoded state. Not a metric name: it is never
# exposed as it is, only decoded into `okta_group_push_mapping_failing`.
STATE_SERIES: Final = "mapping_state"


def encode(published: float, failing: bool) -> float:
    """One mapping's state at `published` (epoch seconds) as an ever-growing number.

    Exact in a float64 for any date before the year 70,000 (2 * 2.2e15 < 2**53), so float
    arithmetic gives the same number as integer arithmetic would, only faster (this runs
    for every event).
    """
    return 2.0 * round(published * 1000) + (1.0 if failing else 0.0)


def decode(value: float) -> tuple[float, bool]:
    """(published epoch seconds, failing) from `encode`'s number."""
    whole = round(value)
    return (whole // 2) / 1000, bool(whole % 2)


def failing_value(value: float) -> float:
    """The exposed gauge's value for one stored state: 1.0 if the newest event failed."""
    return 1.0 if decode(value)[1] else 0.0


def failing(states: Mapping[Labels, float]) -> dict[Labels, float]:
    """The exposed gauge: 1.0 where the newest event was a failure, else 0.0."""
    return {labels: failing_value(value) for labels, value in states.items()}
