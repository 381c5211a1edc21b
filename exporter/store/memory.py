"""A store that keeps everything in memory: nothing survives a restart.

For tests and as the baseline in benchmarks (`--storage.backend memory`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from exporter.records import Labels, Tallies, Update, Values, apply
from exporter.store.base import Lease, Summary, count_series


class MemoryStore:
    """Uuids with the time they were first seen, in insertion order for cheap pruning."""

    shared = False

    def __init__(self, dedup_window: float) -> None:
        self._window = dedup_window
        self._seen: dict[str, float] = {}
        self._values: Values = {}
        self._held = Tallies()  # the metric state's optimisation, for the same reason
        self._meta: dict[str, str] = {}
        self._leases: dict[str, Lease] = {}

    async def open(self) -> Values:
        return self._copy()

    async def commit(self, updates: Sequence[Update], now: float) -> list[bool]:
        self._forget_before(now - self._window)
        seen = self._seen
        uuids = [update.uuid for update in updates]
        if seen.keys().isdisjoint(uuids) and len(set(uuids)) == len(uuids):
            # Every uuid new, none twice (nearly every delivery): set operations in C.
            seen.update(zip(uuids, itertools.repeat(now)))
            self._apply(updates)
            return [True] * len(uuids)
        applied: list[bool] = []
        new: list[Update] = []
        for update in updates:
            is_new = update.uuid not in seen
            if is_new:
                seen[update.uuid] = now
                new.append(update)
            applied.append(is_new)
        self._apply(new)
        return applied

    def _apply(self, updates: Sequence[Update]) -> None:
        held = self._held
        for update in held.hold_all(updates):
            apply(self._values, update)
        if held.full:
            held.fold(self._values)

    def _read(self) -> Values:
        """The values, with what is held folded in first."""
        self._held.fold(self._values)
        return self._values

    async def values(self) -> Values:
        return self._copy()

    def _copy(self) -> Values:
        return {name: dict(series) for name, series in self._read().items()}

    async def generation(self) -> int:
        return 0  # nobody else writes here

    async def get_meta(self, key: str) -> str | None:
        return self._meta.get(key)

    async def set_meta(self, key: str, value: str, *, only_if_absent: bool = False) -> bool:
        if only_if_absent and key in self._meta:
            return False
        self._meta[key] = value
        return True

    async def drop(self, series: Sequence[tuple[str, Labels, float]]) -> int:
        """Forget the series that still hold the given value (a newer write keeps them)."""
        values = self._read()
        dropped = 0
        for name, labels, value in series:
            current = values.get(name, {})
            if current.get(labels) == value:
                del current[labels]
                dropped += 1
        return dropped

    async def prune(self, now: float, window: float) -> int:
        return self._forget_before(now - window)

    def _forget_before(self, cutoff: float) -> int:
        stale = []
        for uuid, seen_at in self._seen.items():
            if seen_at >= cutoff:
                break  # insertion order is time order
            stale.append(uuid)
        for uuid in stale:
            del self._seen[uuid]
        return len(stale)

    async def probe(self) -> None:
        return None

    async def summary(self) -> Summary:
        oldest = next(iter(self._seen.values()), None)
        series = count_series(self._read())
        return Summary("memory", "process memory", series, len(self._seen), oldest, None)

    def __len__(self) -> int:
        return len(self._seen)

    async def close(self) -> None:
        return None

    async def acquire_lease(
        self, name: str, owner: str, ttl: float, now: float, *, replacing: str | None = None
    ) -> bool:
        held = self._leases.get(name)
        if held is not None and not held.may_take(owner, now, replacing):
            return False
        self._leases[name] = Lease(owner, now + ttl)
        return True

    async def lease_holder(self, name: str, now: float) -> str | None:
        held = self._leases.get(name)
        return held.owner if held is not None and held.expires > now else None

    async def release_lease(self, name: str, owner: str) -> None:
        held = self._leases.get(name)
        if held is not None and held.owner == owner:
            del self._leases[name]

    async def seen(self, uuids: Sequence[str]) -> list[bool]:
        return [uuid in self._seen for uuid in uuids]
