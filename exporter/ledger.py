"""Decide which events are new, turn them into counter updates, and record them.

`plan` is pure: an event and its kind -> the series it increments. `Ledger` is the one
place where a batch becomes state: the store decides, atomically, which uuids are new and
keeps what is durable; only then does the in-process view change and the caller answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from exporter import catalogue, mapping
from exporter.classify import Kind, classify_event
from exporter.events import Event
from exporter.health import Health
from exporter.labels import clean
from exporter.reasons import classify_reason
from exporter.selfmetrics import SelfMetrics
from exporter.state import Labels, MetricState, Update
from exporter.store.base import Store, StoreError


def plan(event: Event, kind: Kind, now: float) -> Update:
    """The update for one failure or success event; `now` stands in for a missing time."""
    if kind is Kind.SUCCESS:
        return Update(uuid=event.uuid, kind=kind, maxima=(_mapping_state(event, False, now),))
    if not kind.is_failure:
        return Update(uuid=event.uuid, kind=kind)
    application = clean(event.application.label())
    group = clean(event.group.label())
    actor = clean(event.actor.label())
    published = event.published if event.published is not None else now
    return Update(
        uuid=event.uuid,
        kind=kind,
        increments=(
            (catalogue.FAILURES.name, (application, group, actor)),
            (
                catalogue.FAILURES_BY_KIND.name,
                (application, clean(event.event_type), kind.value),
            ),
            (catalogue.FAILURE_REASONS.name, (application, failure_reason(event))),
        ),
        maxima=(
            (catalogue.LAST_FAILURE.name, (application, group), published),
            _mapping_state(event, True, now),
        ),
    )


# --- failure reasons and mapping state (System Log poller issue) ---------------------------


def failure_reason(event: Event) -> str:
    """The bounded reason label of a failure event (exporter/reasons.py)."""
    names = (event.group.label(), event.application.label(), event.mapping.label())
    return classify_reason(event.event_type, event.reason, event.message, names=names)


def _mapping_state(event: Event, failing: bool, now: float) -> tuple[str, Labels, float]:
    """The max-update that makes this event the mapping's state if it is the newest."""
    labels = (clean(event.application.label()), clean(event.group.label()))
    published = event.published if event.published is not None else now
    return (mapping.STATE_SERIES, labels, mapping.encode(published, failing))


@dataclass(frozen=True, slots=True)
class Recorded:
    """What became of a batch: counted (new), duplicates, and ignored (not group push)."""

    counted: int
    duplicates: int
    ignored: int
    failures: int = 0  # of `counted`, how many were failures (the rest were successes)


class Ledger:
    """Records batches exactly once per uuid, whichever source brought them."""

    def __init__(
        self,
        store: Store,
        state: MetricState,
        metrics: SelfMetrics,
        health: Health,
        clock: Callable[[], float],
    ) -> None:
        self._store = store
        self._health = health
        self._state = state
        self._metrics = metrics
        self._clock = clock

    async def record(self, events: Sequence[Event], source: str) -> Recorded:
        """Commit the batch's new events durably, then update the exposed state.

        Raises whatever the store raises: the caller must then not acknowledge.
        """
        now = self._clock()
        updates: list[Update] = []
        ignored = 0
        for event in events:
            kind = classify_event(event)
            self._metrics.event_received(source, kind.value)
            if kind is Kind.IGNORED:
                ignored += 1
            else:
                updates.append(plan(event, kind, now))
        applied: list[bool] = []
        if updates:
            try:
                applied = await self._store.commit(updates, now)
            except StoreError as exc:
                self._health.storage_failed("commit", exc)
                raise
            self._health.storage_ok()
        counted = failures = 0
        for update, is_new in zip(updates, applied, strict=True):
            if is_new:
                counted += 1
                failures += update.kind.is_failure
                self._state.apply(update)
        duplicates = len(updates) - counted
        if duplicates:
            self._metrics.duplicates(source, duplicates)
        return Recorded(counted=counted, duplicates=duplicates, ignored=ignored, failures=failures)
