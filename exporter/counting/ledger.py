"""Decide which events are new, turn them into counter updates, and record them.

`plan` turns an event and its kind into the series it increments; label governance
(`exporter.ingest.labels`, then the caps kept in `exporter.counting.state`) decides the label values
there, before the store commits, so stored and exposed series are the same. `Ledger` is
the one place where a batch becomes state: the store decides, atomically, which uuids are
new and keeps what is durable; only then does the in-process view change and the caller
answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from exporter import catalogue
from exporter.config import Config
from exporter.counting import mapping
from exporter.counting.exemplars import Exemplars
from exporter.counting.recent import Recent
from exporter.counting.state import SERIES_CAP, Labels, Limits, MetricState, Series, Update
from exporter.ingest.classify import Kind, classify
from exporter.ingest.events import Entity, Event
from exporter.ingest.labels import DEFAULT_POLICY, GOVERNED, OTHER, LabelPolicy
from exporter.ingest.memo import Memo
from exporter.ingest.reasons import REASONS, classify_reason
from exporter.store.base import Store, StoreError

log = logging.getLogger(__name__)
HASH_KEY_META: Final = "actor_hash_key"
# Closed labels and how many values they take: the series cap keeps room for each
# metric's fold-everything label sets, one per combination of these.
CLOSED_LABELS: Final = {
    "kind": sum(1 for kind in Kind if kind.is_failure),
    "reason": len(REASONS),
}
EXPIRY_BATCH: Final = 1000
# The kinds after which a mapping is not failing now: a push that worked, and the kinds that
# end a mapping (issue 14, section 1). This set alone decides it; such an event writes only
# its mapping's state and names (`propose`).
CLEARS_FAILING: Final = frozenset(kind for kind in Kind if kind.clears_failing)
# The kinds as module constants: on Python 3.11, `Kind.SUCCESS` is a metaclass attribute
# lookup of about 300 ns, and an Enum's hash is Python code, so per event the ledger tests
# identity and looks up the (string) values instead.
_CLEARS: Final = frozenset(kind._value_ for kind in CLEARS_FAILING)
_FAILS: Final = frozenset(kind._value_ for kind in Kind if kind.is_failure)
_IGNORED: Final = Kind.IGNORED
_USERS_IGNORED: Final = Kind.USERS_IGNORED
_HOOK_DELIVERY: Final = Kind.HOOK_DELIVERY_FAILED
_KINDS: Final = tuple(Kind)


def clears_failing(kind: Kind) -> bool:
    """Whether an event of `kind` ends its mapping's "failing now" (see CLEARS_FAILING)."""
    return kind._value_ in _CLEARS


def propose(event: Event, kind: Kind, policy: LabelPolicy = DEFAULT_POLICY) -> tuple[Series, ...]:
    """The series a failure, clearing or users-ignored event writes, before the caps. Pure.

    A failure: its three counters, then (the maxima) its mapping's names, last-failure time
    and state. An event that clears a mapping (`clears_failing`: a success, the end of a
    mapping) writes only the names and the state. Users ignored by a push count on their
    mapping's own counter. Mapping-level series are keyed by the Okta ids
    (exporter/counting/mapping.py); the names series carries the label values the counters get.
    """
    application, group = policy.mapping(event)
    if kind is Kind.USERS_IGNORED:
        return ((_USERS_IGNORED_SERIES, (application, group)),)
    pair = (mapping.key(event.application, application), mapping.key(event.group, group))
    names = (_NAMES, (*pair, application, group))
    if clears_failing(kind):
        return (names, (_STATE, pair))
    _, _, actor, event_type = policy.labels(event)
    # `reason` is a closed set (exporter/ingest/reasons.py); `application` is governed as anywhere.
    return (
        (_FAILURES, (application, group, actor)),
        (_BY_KIND, (application, event_type, kind._value_)),
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
        # `_value_`: Enum's hash and properties are Python code.
        value = kind._value_
        clears = value in _CLEARS
        if clears:
            key: tuple[object, ...] = ("", event.application, event.group)
        elif value in _FAILS:
            key = (kind._value_, event.event_type, event.application, event.group,
                   event.actor, event.mapping, event.reason, event.message)  # fmt: skip
        elif kind is _USERS_IGNORED:
            key = (kind._value_, event.application, event.group)
        else:
            return Update(event.uuid, kind)
        proposal = self._memo.get(key)
        if proposal is None:
            proposal = _Proposal(propose(event, kind, self.policy))
            if self._keeps(key):
                self._memo.put(key, proposal)
        published = event.published if event.published is not None else now
        # Encoded before the caps reserve anything: whatever raises must not leave a
        # reservation behind.
        encoded = mapping.encode(published, not clears)
        increments, maxima, written = proposal.increments, proposal.maxima, proposal.series
        overflow: tuple[str, ...] = ()
        reserved: tuple[Series, ...] = ()
        state = self._state
        if state is not None and proposal.live != state.removals:
            admitted = state.admit(proposal.series)
            if admitted is None:
                proposal.live = state.removals
            else:
                capped = _Proposal(admitted.series)
                increments, maxima, written = capped.increments, capped.maxima, capped.series
                overflow, reserved = admitted.overflow, admitted.reserved
        values: tuple[tuple[str, Labels, float], ...]
        if clears:
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
        return Update(event.uuid, kind, increments, values, overflow, reserved, written, published)

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


async def load_hash_key(store: Store) -> bytes:
    """The actor hash key kept in the store, created by the first to ask for it.

    The first replica's key wins, so every replica and every restart hash alike.
    """
    await store.set_meta(HASH_KEY_META, secrets.token_hex(32), only_if_absent=True)
    key = await store.get_meta(HASH_KEY_META)
    if not key:
        raise StoreError("the actor hash key could not be stored")
    return bytes.fromhex(key)


class Gate:
    """Shared by any number of holders, or held by one alone.

    Batches share it from planning to commit; series expiry holds it alone, so a series
    is never dropped from the store while a commit that counts it is in flight.
    """

    def __init__(self) -> None:
        self._holders = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._open = asyncio.Event()
        self._open.set()

    def shared(self) -> _Shared:
        """Hold the gate alongside any other sharer (`async with gate.shared():`)."""
        return _Shared(self)

    async def _enter_shared(self) -> None:
        while not self._open.is_set():
            await self._open.wait()
        self._holders += 1
        self._idle.clear()

    def _leave_shared(self) -> None:
        self._holders -= 1
        if not self._holders:
            self._idle.set()

    @contextlib.asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        while not self._open.is_set():
            await self._open.wait()
        self._open.clear()  # new batches wait from now on: the exclusive holder never starves
        try:
            await self._idle.wait()
            yield
        finally:
            self._open.set()


class _Shared:
    """`Gate.shared()`: a class, not a generator, as it is entered once per delivery."""

    __slots__ = ("_gate",)

    def __init__(self, gate: Gate) -> None:
        self._gate = gate

    async def __aenter__(self) -> None:
        await self._gate._enter_shared()

    async def __aexit__(self, *exc_info: object) -> None:
        self._gate._leave_shared()


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
                planner = self._planner
                kinds = [classify(event.event_type, event.outcome) for event in events]
                for event, kind in zip(events, kinds, strict=True):
                    if kind is not _IGNORED:  # appended one by one: `finally` releases
                        update = planner(event, kind, now)
                        updates.append(update)
                        if update.reserved or update.overflow:
                            capped.append(update)
                # Per kind, not per event: a labelled child lookup costs more than a plan.
                # (list.count, not Counter: an Enum's hash is Python code.)
                for kind in _KINDS:
                    count = kinds.count(kind)
                    if count:
                        self._metrics.event_received(source, kind._value_, count)
                        if kind is not _IGNORED and kind._value_ not in _FAILS:
                            others += count
                new = await self._commit(updates, now)
                self._state.apply_all(new)
                if new:
                    self._observe(events, kinds, updates, new, now)
                counted = len(new)
                failures = counted
                if others:
                    failures = sum(1 for u in new if u.kind._value_ in _FAILS)
                    if _HOOK_DELIVERY in kinds:
                        hook_failures = sum(1 for u in new if u.kind is _HOOK_DELIVERY)
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
        planned = [event for event, kind in zip(events, kinds, strict=True) if kind is not _IGNORED]
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
