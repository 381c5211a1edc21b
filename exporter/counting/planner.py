"""From an event and its kind to the update it makes: the series it writes, after the caps.

`propose` says which series an event writes, before the caps (pure); `Planner` remembers
proposals per event identity and asks the metric state's caps only about series not
counted yet; `limits` turns the `--labels.*` caps into the state's `Limits` over every
series the planner writes (`stored_series`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

from exporter import catalogue
from exporter.config import Config
from exporter.counting import mapping
from exporter.counting.state import Labels, Limits, MetricState, Series, Update
from exporter.ingest.classify import Kind
from exporter.ingest.events import Entity, Event
from exporter.ingest.labels import DEFAULT_POLICY, GOVERNED, LabelPolicy
from exporter.ingest.memo import Memo
from exporter.ingest.reasons import REASONS, classify_reason

# Closed labels and how many values they take: the series cap keeps room for each
# metric's fold-everything label sets, one per combination of these.
CLOSED_LABELS: Final = {
    "kind": sum(1 for kind in Kind if kind.is_failure),
    "reason": len(REASONS),
}


def propose(event: Event, kind: Kind, policy: LabelPolicy = DEFAULT_POLICY) -> tuple[Series, ...]:
    """The series a failure, clearing or users-ignored event writes, before the caps. Pure.

    A failure: its three counters, then (the maxima) its mapping's names, last-failure time
    and state. An event that clears a mapping (`Kind.clears_failing`: a success, the end of a
    mapping) writes only the names and the state. Users ignored by a push count on their
    mapping's own counter. Mapping-level series are keyed by the Okta ids
    (exporter/counting/mapping.py); the names series carries the label values the counters get.
    """
    application, group = policy.mapping(event)
    if kind is Kind.USERS_IGNORED:
        return ((_USERS_IGNORED_SERIES, (application, group)),)
    pair = (mapping.key(event.application, application), mapping.key(event.group, group))
    names = (_NAMES, (*pair, application, group))
    if kind.clears_failing:
        return (names, (_STATE, pair))
    _, _, actor, event_type = policy.labels(event)
    # `reason` is a closed set (exporter/ingest/reasons.py); `application` is governed as anywhere.
    return (
        (_FAILURES, (application, group, actor)),
        (_BY_KIND, (application, event_type, kind.value)),
        (_REASONS, (application, failure_reason(event))),
        names,
        (_LAST, pair),
        (_STATE, pair),
    )


def plan(
    event: Event,
    kind: Kind,
    now: float,
    policy: LabelPolicy = DEFAULT_POLICY,
    state: MetricState | None = None,
) -> Update:
    """The update for one event; `now` stands in for a missing time.

    Without `state` this is pure. With it, the caps apply and the update's series stay
    reserved in `state` until the ledger applies or releases them.
    """
    return Planner(policy, state)(event, kind, now)


class _Proposal:
    """What `propose` said for one event identity, split the way an Update wants it."""

    __slots__ = ("increments", "live", "maxima", "series")

    def __init__(self, series: tuple[Series, ...]) -> None:
        self.series = series
        # `propose` puts the series kept as a maximum (names, times, mapping state) last.
        split = len(series) - sum(1 for name, _ in series if name in _MAXIMA)
        self.increments = series[:split]
        self.maxima = series[split:]
        # The state's removal count when every series was last seen counted (see Planner).
        self.live = -1


class Planner:
    """Turns events into updates: `propose`, remembered per event identity, then the caps.

    Everything `propose` reads but the uuid and the time repeats from event to event (a
    failing mapping fails for every member), while sanitising, filters, hashing and the
    reason rules cost more than the rest of an event's way in. So the proposal is kept,
    and so is the fact that all its series are counted already: until the state removes
    a series, the caps have nothing to decide for it. The memory is bounded: when full, it
    starts over, so a flood of distinct values costs time, never memory.
    """

    def __init__(
        self,
        policy: LabelPolicy,
        state: MetricState | None = None,
        size: int = 1024,
        longest: int = 4096,
    ) -> None:
        self.policy = policy
        self._state = state
        self._longest = longest  # characters of text in a key it keeps (see _keeps)
        self._memo: Memo[tuple[object, ...], _Proposal] = Memo(size)

    def __call__(self, event: Event, kind: Kind, now: float) -> Update:
        if not kind.counted:
            return Update(event.uuid, kind)
        updates: list[Update] = []
        self.plan_all((event,), (kind,), now, updates, [])
        return updates[0]

    def plan_all(
        self,
        events: Sequence[Event],
        kinds: Sequence[Kind],
        now: float,
        updates: list[Update],
        capped: list[Update],
    ) -> None:
        """Plan each counted event of a batch in turn, appending its update to `updates`
        and, when the caps decided for it (a reservation, an overflow), to `capped`.

        Appended one by one, so that if one raises, the reservations of those before it
        are there to release. The state's removal count is read once: admitting never
        removes a series, and nothing else (a drop, a load, a release) can run in
        between, as this loop never awaits. A batch at a time, with the update
        built in the loop, as the events of a delivery come one after another: the
        ledger went from 2.93 to 2.67 us an event with it and Kind's identity hash
        (`python -m bench.ledger_parts`, side by side with the per-event call).
        """
        state = self._state
        removals = state.removals if state is not None else 0
        remembered = self._memo.get
        for event, kind in zip(events, kinds, strict=True):
            # The proposal is remembered by the fields `propose` reads for the kind.
            key: tuple[object, ...]
            if kind.is_failure:
                key = (kind, event.event_type, event.application, event.group,
                       event.actor, event.mapping, event.reason, event.message)  # fmt: skip
            elif kind.clears_failing:
                key = (None, event.application, event.group)
            elif kind is Kind.USERS_IGNORED:
                key = (kind, event.application, event.group)
            else:
                if kind.counted:  # a kind that writes no series
                    updates.append(Update(event.uuid, kind))
                continue
            proposal = remembered(key)
            if proposal is None:
                proposal = self._propose(event, kind, key)
            published = event.published if event.published is not None else now
            # Encoded before the caps reserve anything: whatever raises must not leave a
            # reservation behind.
            encoded = mapping.encode(published, not kind.clears_failing)
            overflow: tuple[str, ...] = ()
            reserved: tuple[Series, ...] = ()
            if state is not None and proposal.live != removals:
                admitted = state.admit(proposal.series)
                if admitted is None:
                    proposal.live = removals
                else:
                    proposal = _Proposal(admitted.series)
                    overflow, reserved = admitted.overflow, admitted.reserved
            maxima = proposal.maxima
            values: tuple[tuple[str, Labels, float], ...]
            if kind.clears_failing:
                (names, names_labels), (state_name, state_labels) = maxima
                values = ((names, names_labels, published), (state_name, state_labels, encoded))
            elif not maxima:  # users ignored: a counter only
                values = ()
            else:
                (names, names_labels), (last, last_labels), (state_name, state_labels) = maxima
                values = (
                    (names, names_labels, published),
                    (last, last_labels, published),
                    (state_name, state_labels, encoded),
                )
            # Ranked by the event time: every maximum above grows with it (see Update.rank).
            update = Update(
                event.uuid, kind, proposal.increments, values, overflow, reserved,
                proposal.series, published,
            )  # fmt: skip
            updates.append(update)
            if overflow or reserved:
                capped.append(update)

    def _propose(self, event: Event, kind: Kind, key: tuple[object, ...]) -> _Proposal:
        """`propose` for an event whose `key` is not remembered, remembering it if short."""
        proposal = _Proposal(propose(event, kind, self.policy))
        if self._keeps(key):
            self._memo.put(key, proposal)
        return proposal

    def _keeps(self, key: tuple[object, ...]) -> bool:
        """Whether a key is short enough to keep: a body can carry megabytes of text.

        Asked on a miss only, so the memory stays bounded without costing the hits.
        """
        size = 0
        for part in key:
            if isinstance(part, str):
                size += len(part)
            elif isinstance(part, Entity):
                size += len(part.id) + len(part.type) + len(part.alternate_id)
                size += len(part.display_name)
        return size <= self._longest


_FAILURES: Final = catalogue.FAILURES.name
_BY_KIND: Final = catalogue.FAILURES_BY_KIND.name
_REASONS: Final = catalogue.FAILURE_REASONS.name
_LAST: Final = mapping.LAST_FAILURE_SERIES
_STATE: Final = mapping.STATE_SERIES
_NAMES: Final = mapping.NAMES_SERIES
_USERS_IGNORED_SERIES: Final = catalogue.USERS_IGNORED.name
_MAXIMA: Final = frozenset({_NAMES, _LAST, _STATE})
# The label names of the mapping-level series: the ids are capped like the names.
_IDS: Final = ("application_id", "group_id")


# --- failure reasons (System Log poller issue) ---------------------------------------------


def failure_reason(event: Event) -> str:
    """The bounded reason label of a failure event (exporter/ingest/reasons.py)."""
    names = (event.group.label(), event.application.label(), event.mapping.label())
    return classify_reason(event.event_type, event.reason, event.message, names=names)


def stored_series() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Every event-derived series the ledger writes, by stored name, with its label names.

    The catalogue's event metrics, and the mapping-level series by Okta ids from which the
    exposition derives the mapping families (exporter/counting/mapping.py).
    """
    return (
        *((spec.name, spec.labels) for spec in catalogue.EVENT_METRICS),
        (mapping.NAMES_SERIES, (*_IDS, "application", "group")),
        (mapping.LAST_FAILURE_SERIES, _IDS),
        (mapping.STATE_SERIES, _IDS),
    )


def limits(config: Config) -> Limits:
    """The caps of `config`, over every event-derived series (`stored_series`)."""
    governed: dict[str, tuple[str | None, ...]] = {}
    reserve = 0
    for name, labels in stored_series():
        governed[name] = tuple(label if label in GOVERNED else None for label in labels)
        reserve += math.prod(CLOSED_LABELS.get(label, 1) for label in labels)
    return Limits(
        max_values=config.labels.max_values,
        max_series=config.labels.max_series,
        governed=governed,
        reserve=reserve,
    )
