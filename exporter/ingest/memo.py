"""A bounded memo for what ingest looks up per event: a dict that starts over when full."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Memo(Generic[K, V]):
    """Values by key, at most `size` of them; when full, it forgets everything and goes on.

    Not an LRU: a hit is one dict lookup with no bookkeeping, which is what the per-event
    paths need, and a flood of distinct keys costs time (misses), never memory.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._known: dict[K, V] = {}
        # The dict's own method, so a hit costs no Python call (`put` clears this same
        # dict when full): 60 ns of an event's way in, where every step counts.
        self.get: Callable[[K], V | None] = self._known.get

    def put(self, key: K, value: V) -> None:
        known = self._known
        if len(known) >= self._size:
            known.clear()
        known[key] = value

    def __len__(self) -> int:
        return len(self._known)
