"""Okta's own answer on each group push mapping, as series, and next to the events. Pure.

The reconciler (exporter/okta/reconciler.py) reads every mapping from Okta's Group Push
Mapping API; this module turns what it read into the exported series and compares it with
the event-derived state of exporter/counting/mapping.py, which it matches by Okta ids: the app
instance id and the source group id, never by label text (the API's app `label` is the
instance label, which events carry as the AppInstance's alternateId; names are renamed and
repeat). Every mapping family shows a mapping under one pair of names: its newest event's,
else the API's (exporter/counting/mapping.py `shown_names`).

Disagreements, by kind (the `kind` label):

- `api_error_events_ok`: the API says ERROR, the newest event says the push worked;
- `api_error_no_events`: the API says ERROR, no event was ever seen for the mapping (an
  event hook or poll missed it, or the exporter started after it);
- `api_active_events_failing`, `api_inactive_events_failing`: the newest event is a
  failure, the API says ACTIVE (the push works again: the success event was missed) or
  INACTIVE (someone turned the mapping off);
- `events_failing_no_mapping`: the newest event for an app instance id and group id is a
  failure, the API knows that app instance but has no mapping from that group (deleted).

Events arrive some seconds after the change they report (a hook at once, the poller every
`--okta.poll-interval`), so a disagreement counts only once it is seen by two readings in a
row, and then once: it is counted and logged again only after it ended.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from exporter.counting import mapping
from exporter.counting.state import Labels
from exporter.ingest.events import Entity
from exporter.ingest.labels import DEFAULT_POLICY, LabelPolicy
from exporter.ingest.reasons import classify_reason
from exporter.okta.grouppush import ACTIVE, ERROR, INACTIVE, STATUSES, PushMapping

API_ERROR_EVENTS_OK: Final = "api_error_events_ok"
API_ERROR_NO_EVENTS: Final = "api_error_no_events"
API_ACTIVE_EVENTS_FAILING: Final = "api_active_events_failing"
API_INACTIVE_EVENTS_FAILING: Final = "api_inactive_events_failing"
EVENTS_FAILING_NO_MAPPING: Final = "events_failing_no_mapping"
KINDS: Final = (
    API_ERROR_EVENTS_OK,
    API_ERROR_NO_EVENTS,
    API_ACTIVE_EVENTS_FAILING,
    API_INACTIVE_EVENTS_FAILING,
    EVENTS_FAILING_NO_MAPPING,
)


@dataclass(frozen=True, slots=True)
class MappingState:
    """One mapping as read: its keys (Okta ids), the API's names for it, what the API says."""

    id: str
    application_key: str  # the app instance id (exporter/counting/mapping.py `key`)
    group_key: str  # the source group id
    application: str
    group: str
    status: str
    error_summary: str
    reason: str | None  # the summary's reason: set while in ERROR or with a summary
    last_push: float | None


def describe(
    push: PushMapping, group: Entity, policy: LabelPolicy = DEFAULT_POLICY
) -> MappingState:
    """The state of `push`, whose source group is `group`, under the failure counters' labels.

    The labels come from the same `LabelPolicy` as the events' (sources, cleaning, allow and
    deny), so both sides of a comparison name a mapping alike.
    """
    reason = None
    if push.status == ERROR or push.error_summary:
        names = (group.label(), push.app.entity.label())
        reason = classify_reason("", push.error_summary, names=names)
    application, group_label = policy.entities(push.app.entity, group)
    return MappingState(
        id=push.id,
        application_key=mapping.key(push.app.entity, application),
        group_key=mapping.key(group, group_label),
        application=application,
        group=group_label,
        status=push.status,
        error_summary=push.error_summary,
        reason=reason,
        last_push=push.last_push,
    )


@dataclass(frozen=True, slots=True)
class Series:
    """The exported values: status (1 for the current one), reason, last push.

    Several mappings may be shown under one application and group (a cap folded them, or
    two instances share a name under the label policy): their status and reason values add
    up, so `sum by (status)` still counts mappings, and the last push is the newest.
    `names` is what the reading adds to okta_group_push_mapping_info: the API's names of
    every mapping read, by (app key, group key); `mappings` what it read of each, by the
    same keys (for `exporter.counting.mapping.rows`).
    """

    status: dict[Labels, float] = field(default_factory=dict)  # application, group, status
    reasons: dict[Labels, float] = field(default_factory=dict)  # application, group, reason
    last_push: dict[Labels, float] = field(default_factory=dict)  # application, group
    names: dict[mapping.Pair, mapping.Pair] = field(default_factory=dict)
    mappings: dict[mapping.Pair, MappingState] = field(default_factory=dict)


def keys(state: MappingState) -> mapping.Pair:
    """The mapping's (app key, group key): how event-derived state knows it."""
    return state.application_key, state.group_key


def series(
    states: Iterable[MappingState], shown: Mapping[mapping.Pair, mapping.Pair] | None = None
) -> Series:
    """The series of every mapping read; `shown` names mappings by their keys (the names
    every mapping family uses), else a mapping carries the API's names."""
    out = Series()
    shown = shown or {}
    for state in states:
        out.names[keys(state)] = (state.application, state.group)
        out.mappings[keys(state)] = state
        pair = shown.get(keys(state)) or (state.application, state.group)
        for status in (*STATUSES, *([] if state.status in STATUSES else [state.status])):
            key = (*pair, status)
            out.status[key] = out.status.get(key, 0.0) + (status == state.status)
        if state.reason is not None:
            key = (*pair, state.reason)
            out.reasons[key] = out.reasons.get(key, 0.0) + 1.0
        if state.last_push is not None:
            out.last_push[pair] = max(state.last_push, out.last_push.get(pair, state.last_push))
    return out


@dataclass(frozen=True, slots=True)
class Disagreement:
    """The API and the events tell different stories about one mapping."""

    key: tuple[str, ...]  # the mapping's id, or the keys (Okta ids) when the API has none
    kind: str
    application: str
    group: str
    api_status: str  # "" when the API has no such mapping
    event_failing: bool | None  # the newest event: a failure, a success, or none seen
    event_published: float | None


def _event(state: float | None) -> tuple[float | None, bool | None]:
    if state is None:
        return None, None
    return mapping.decode(state)


def disagreements(
    states: Sequence[MappingState],
    events: Mapping[Labels, float],
    shown: Mapping[mapping.Pair, mapping.Pair] | None = None,
) -> list[Disagreement]:
    """Every mapping on which the API and the event-derived state disagree now.

    `events` is the stored mapping state (exporter/counting/mapping.py) by app key and group key,
    joined to the API's mappings by those Okta ids; `shown` names mappings as every
    mapping family does (else a mapping carries the API's names, or its ids).
    """
    shown = shown or {}
    found = []
    for state in states:
        published, failing = _event(events.get(keys(state)))
        kind = None
        if state.status == ERROR and failing is None:
            kind = API_ERROR_NO_EVENTS
        elif state.status == ERROR and not failing:
            kind = API_ERROR_EVENTS_OK
        elif state.status == ACTIVE and failing:
            kind = API_ACTIVE_EVENTS_FAILING
        elif state.status == INACTIVE and failing:
            kind = API_INACTIVE_EVENTS_FAILING
        if kind is not None:
            key = ("mapping", state.id)
            pair = shown.get(keys(state)) or (state.application, state.group)
            found.append(Disagreement(key, kind, *pair, state.status, failing, published))
    # Only real ids: an app known by label text alone is never the API's app.
    applications = {state.application_key for state in states}
    mapped = {keys(state) for state in states}
    for labels, value in sorted(events.items()):
        if len(labels) != 2 or labels[0] not in applications or labels in mapped:
            continue
        published, failing = _event(value)
        if failing:
            kind = EVENTS_FAILING_NO_MAPPING
            pair = shown.get((labels[0], labels[1])) or mapping.fallback_names(
                (labels[0], labels[1])
            )
            found.append(Disagreement(("ids", *labels), kind, *pair, "", True, published))
    return found


class Tracker:
    """Which disagreements were seen, so that each is reported once, after it lasted."""

    def __init__(self) -> None:
        self._pending: dict[tuple[str, ...], str] = {}  # seen once: key -> kind
        self._reported: dict[tuple[str, ...], str] = {}

    def update(self, found: Iterable[Disagreement]) -> list[Disagreement]:
        """The disagreements to count and log now: seen now and by the reading before.

        One that ends is forgotten; if it comes back, it is new again.
        """
        pending: dict[tuple[str, ...], str] = {}
        reported: dict[tuple[str, ...], str] = {}
        confirmed = []
        for item in found:
            if self._reported.get(item.key) == item.kind:
                reported[item.key] = item.kind
            elif self._pending.get(item.key) == item.kind:
                reported[item.key] = item.kind
                confirmed.append(item)
            else:
                pending[item.key] = item.kind
        self._pending, self._reported = pending, reported
        return confirmed
