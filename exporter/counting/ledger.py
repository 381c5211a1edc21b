"""Decide which events are new, and record them: the one place where a batch becomes state.

The planner (exporter/counting/planner.py) turns each event into an update, with label
governance decided before the store commits, so stored and exposed series are the same.
The store then decides, atomically, which uuids are new and keeps what is durable; only
then does the in-process view change and the caller answer.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from exporter.counting import mapping
from exporter.counting.exemplars import Exemplars
from exporter.counting.gate import Gate
from exporter.counting.planner import Planner
from exporter.counting.recent import Recent
from exporter.counting.state import SERIES_CAP, MetricState, Update
from exporter.ingest.classify import Kind, classify
from exporter.ingest.events import Event
from exporter.ingest.labels import DEFAULT_POLICY, OTHER, LabelPolicy
from exporter.store.base import Store, StoreError

log = logging.getLogger(__name__)
HASH_KEY_META: Final = "actor_hash_key"
EXPIRY_BATCH: Final = 1000
_KINDS: Final = tuple(Kind)  # iterating the Enum runs a Python generator each time


async def load_hash_key(store: Store) -> bytes:
    """The actor hash key kept in the store, created by the first to ask for it.

    The first replica's key wins, so every replica and every restart hash alike.
    """
    await store.set_meta(HASH_KEY_META, secrets.token_hex(32), only_if_absent=True)
    key = await store.get_meta(HASH_KEY_META)
    if not key:
        raise StoreError("the actor hash key could not be stored")
    return bytes.fromhex(key)


@dataclass(frozen=True, slots=True)
class Recorded:
    """What became of a batch: counted (new), duplicates, and ignored (not group push)."""

    counted: int
    duplicates: int
    ignored: int
    failures: int = 0  # of `counted`, how many were failures
    hook_delivery_failures: int = 0  # of `counted`, how many were event_hook.delivery


class Counts(Protocol):
    """What the ledger tells the self-metrics (metrics/selfmetrics.py implements it)."""

    def event_received(self, source: str, kind: str, count: int = 1) -> None: ...
    def duplicates(self, source: str, count: int) -> None: ...


class StorageHealth(Protocol):
    """What the ledger tells readiness about the store (metrics/health.py implements it)."""

    def storage_failed(self, operation: str, error: Exception) -> None: ...
    def storage_ok(self) -> None: ...


class Ledger:
    """Records batches exactly once per uuid, whichever source brought them."""

    def __init__(
        self,
        store: Store,
        state: MetricState,
        metrics: Counts,
        health: StorageHealth,
        clock: Callable[[], float],
        *,
        policy: LabelPolicy = DEFAULT_POLICY,
        series_ttl: float | None = None,
        exemplars: Exemplars | None = None,
        recent: Recent | None = None,
    ) -> None:
        self._store = store
        self._exemplars = exemplars
        self._recent = recent  # told of the new events once they are committed
        self._health = health
        self._state = state
        self._metrics = metrics
        self._clock = clock
        self._planner = Planner(policy, state)
        self._ttl = series_ttl
        self._gate = Gate()
        self._announced: set[str] = set()

    @property
    def policy(self) -> LabelPolicy:
        """The label policy every plan follows."""
        return self._planner.policy

    @policy.setter
    def policy(self, policy: LabelPolicy) -> None:
        self._planner = Planner(policy, self._state)  # what the old policy said is void

    async def prepare(self) -> None:
        """Once the store opens: load what the label policy keeps there (the actor hash
        key), and drop the mapping state older versions kept by label text."""
        if self.policy.actor == "hash" and self.policy.hash_key is None:
            self.policy = self.policy.with_hash_key(await load_hash_key(self._store))
        await self._drop_legacy()

    async def _drop_legacy(self) -> None:
        """Forget mapping state stored by label text (before ids keyed it): it cannot be
        joined to an id, so it would stay "failing" for good. See the README, "Upgrading"."""
        legacy = [
            (name, labels, value)
            for name in mapping.LEGACY_SERIES
            for labels, value in self._state.series(name).items()
        ]
        if not legacy:
            return
        async with self._gate.exclusive():
            await self._store.drop(legacy)
            self._state.drop(legacy)
        log.warning(
            "dropped mapping state stored by label text by an older version",
            extra={"fields": {"series": len(legacy)}},
        )

    async def record(self, events: Sequence[Event], source: str) -> Recorded:
        """Commit the batch's new events durably, then update the exposed state.

        Raises whatever the store raises: the caller must then not acknowledge.
        """
        if self.policy.needs_hash_key:
            raise StoreError("the actor hash key is not loaded from the store yet")
        now = self._clock()
        updates: list[Update] = []
        capped: list[Update] = []  # updates the caps decided for: reservations, overflow
        counted = failures = hook_failures = 0
        others = 0  # events of a kind that is neither a failure nor ignored
        async with self._gate.shared():
            try:
                kinds = [classify(event.event_type, event.outcome) for event in events]
                # Appended one by one: `finally` releases what the caps reserved.
                self._planner.plan_all(events, kinds, now, updates, capped)
                # Per kind, not per event: a labelled child lookup costs more than a plan.
                for kind in _KINDS:
                    count = kinds.count(kind)
                    if count:
                        self._metrics.event_received(source, kind.value, count)
                        if kind.counted and not kind.is_failure:
                            others += count
                new = await self._commit(updates, now)
                self._state.apply_all(new)
                if new:
                    self._observe(events, kinds, updates, new, now)
                counted = len(new)
                failures = counted
                if others:
                    failures = sum(1 for u in new if u.kind.is_failure)
                    if Kind.HOOK_DELIVERY_FAILED in kinds:
                        hook_failures = sum(1 for u in new if u.kind is Kind.HOOK_DELIVERY_FAILED)
                if capped:
                    counted_ids = {id(update) for update in new}
                    for update in capped:
                        if update.overflow and id(update) in counted_ids:
                            self._announce(update.overflow)
            finally:
                for update in capped:
                    if update.reserved:
                        self._state.release(update.reserved)
        duplicates = len(updates) - counted
        if duplicates:
            self._metrics.duplicates(source, duplicates)
        return Recorded(
            counted=counted,
            duplicates=duplicates,
            ignored=len(events) - len(updates),
            failures=failures,
            hook_delivery_failures=hook_failures,
        )

    async def _commit(self, updates: list[Update], now: float) -> list[Update]:
        """Commit `updates` to the store; the ones whose uuid was new."""
        if not updates:
            return updates
        try:
            applied = await self._store.commit(updates, now)
        except StoreError as exc:
            self._health.storage_failed("commit", exc)
            raise
        self._health.storage_ok()
        if all(applied):
            return updates
        return [u for u, is_new in zip(updates, applied, strict=True) if is_new]

    def _observe(
        self,
        events: Sequence[Event],
        kinds: Sequence[Kind],
        updates: Sequence[Update],
        new: Sequence[Update],
        now: float,
    ) -> None:
        """Tell the in-process views of recent events (exemplars, the /status page's
        recent record) what was just committed."""
        if self._exemplars is not None:
            self._exemplars.note(new, now)
        if self._recent is None:
            return
        # `updates` holds one update per event that is not ignored, in order.
        planned = events
        if len(updates) != len(events):
            planned = [e for e, kind in zip(events, kinds, strict=True) if kind.counted]
        if new is not updates:
            fresh = {id(update) for update in new}
            planned = [e for e, u in zip(planned, updates, strict=True) if id(u) in fresh]
        self._recent.note_batch(planned, new)

    def _announce(self, labels: Sequence[str]) -> None:
        """Log, once per label and process, that a cap started folding values."""
        for label in labels:
            if label in self._announced:
                continue
            self._announced.add(label)
            limits = self._state.limits
            if label == SERIES_CAP:
                fields: dict[str, object] = {
                    "flag": "--labels.max-series",
                    "max_series": limits.max_series if limits else None,
                }
            else:
                fields = {
                    "label": label,
                    "flag": "--labels.max-values",
                    "max_values": limits.max_values if limits else None,
                }
            # Once per label and process: the overflow counter tells how much since.
            log.warning(
                f"label cap reached: new values are counted under {OTHER}",
                extra={"fields": fields},
            )

    async def expire(self) -> int:
        """Drop series not updated for the series TTL, from the store and the view.

        Returns how many. Batches wait meanwhile, so no commit counts a series while it
        is being dropped.
        """
        if self._ttl is None:
            return 0
        dropped = 0
        async with self._gate.exclusive():
            stale = self._state.stale(self._clock() - self._ttl)
            for start in range(0, len(stale), EXPIRY_BATCH):
                batch = stale[start : start + EXPIRY_BATCH]
                try:
                    await self._store.drop(batch)
                except StoreError as exc:
                    self._health.storage_failed("expire", exc)
                    raise
                dropped += self._state.drop(batch)
        if dropped:
            log.info("expired idle series", extra={"fields": {"series": dropped, "ttl": self._ttl}})
        return dropped
