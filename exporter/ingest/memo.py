"""A bounded memo for what ingest looks up per event: a dict that starts over when full."""

from __future__ import annotations

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

    def get(self, key: K) -> V | None:
        return self._known.get(key)

    def put(self, key: K, value: V) -> None:
        known = self._known
        if len(known) >= self._size:
            known.clear()
        known[key] = value

    def __len__(self) -> int:
        return len(self._known)
