"""A store that keeps the dedup set in memory only: nothing survives a restart."""

from __future__ import annotations

from collections.abc import Sequence

from exporter.state import Update, Values


class MemoryStore:
    """Uuids seen within the dedup window, in insertion order for cheap pruning."""

    def __init__(self, dedup_window: float) -> None:
        self._window = dedup_window
        self._seen: dict[str, float] = {}

    async def open(self) -> Values:
        return {}

    async def commit(self, updates: Sequence[Update], now: float) -> list[bool]:
        self.prune(now)
        applied: list[bool] = []
        for update in updates:
            is_new = update.uuid not in self._seen
            if is_new:
                self._seen[update.uuid] = now
            applied.append(is_new)
        return applied

    def prune(self, now: float) -> int:
        """Forget uuids older than the window; returns how many were dropped."""
        cutoff = now - self._window
        stale = []
        for uuid, seen_at in self._seen.items():
            if seen_at >= cutoff:
                break  # insertion order is time order
            stale.append(uuid)
        for uuid in stale:
            del self._seen[uuid]
        return len(stale)

    def __len__(self) -> int:
        return len(self._seen)

    async def close(self) -> None:
        return None
