"""The store interface the ledger writes through."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from exporter.state import Update, Values


class StoreError(Exception):
    """Storage cannot take writes now; the caller answers 503 so Okta retries."""


class Store(Protocol):
    """Dedup set plus durable counter values, updated atomically per batch."""

    async def open(self) -> Values:
        """Prepare the store and return the counter values it holds (empty when new)."""
        ...

    async def commit(self, updates: Sequence[Update], now: float) -> list[bool]:
        """Apply each update whose uuid is new, atomically; say for each whether it was.

        A uuid repeated inside the batch counts once. When this returns, what it applied
        is durable as far as the backend promises; on StoreError nothing was applied.
        """
        ...

    async def close(self) -> None:
        """Flush and release resources."""
        ...
