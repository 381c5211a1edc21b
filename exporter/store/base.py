"""The store interface the ledger writes through, and what every backend shares."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

import msgspec

from exporter.records import Labels, Update, Values


class StoreError(Exception):
    """Storage cannot take writes now; the caller answers 503 so Okta retries.

    The message names the cause (disk full, read-only, locked, unreachable) and never
    holds a secret.
    """


@dataclass(frozen=True, slots=True)
class Summary:
    """What an operator wants to know about the state."""

    backend: str
    location: str
    series: int
    dedup_entries: int
    oldest_entry: float | None  # epoch seconds when the oldest remembered uuid was seen
    size_bytes: int | None


class Store(Protocol):
    """Dedup set, counter values and small named values, updated atomically per batch."""

    shared: bool  # True when other processes write the same state (re-read the totals)

    async def open(self) -> Values:
        """Prepare the store and return the counter values it holds (empty when new)."""
        ...

    async def commit(self, updates: Sequence[Update], now: float) -> list[bool]:
        """Apply each update whose uuid is new, atomically; say for each whether it was.

        A uuid repeated inside the batch counts once. When this returns, what it applied
        is durable as far as the backend promises; on StoreError nothing was applied.
        """
        ...

    async def values(self) -> Values:
        """The counter values as stored now (shared backends: every replica's writes)."""
        ...

    async def generation(self) -> int:
        """0 for the values `open` returned; changes when another writer changes them.

        Another process or replica, that is: this store's own commits and drops are in the
        in-process view already, and re-reading every value after each of them would stall
        the event loop for as long as the read takes, every refresh interval. Cheap to ask.
        """
        ...

    async def get_meta(self, key: str) -> str | None:
        """A small named value (poller cursor, generated hook secret...)."""
        ...

    async def set_meta(self, key: str, value: str, *, only_if_absent: bool = False) -> bool:
        """Store a named value; with only_if_absent, keep an existing one and say False."""
        ...

    async def drop(self, series: Sequence[tuple[str, Labels, float]]) -> int:
        """Forget each (name, labels) whose stored value is still the given one; say how many.

        For the series TTL: a series another replica has counted since keeps its value.
        """
        ...

    async def prune(self, now: float, window: float) -> int:
        """Forget uuids first seen before now - window; returns how many."""
        ...

    async def probe(self) -> None:
        """A small write that raises StoreError while storage cannot take writes."""
        ...

    async def summary(self) -> Summary:
        """Series, dedup entries, oldest entry and size."""
        ...

    async def close(self) -> None:
        """Flush and release resources."""
        ...

    # --- for the System Log poller, backfill and replay --------------------------------

    async def acquire_lease(
        self, name: str, owner: str, ttl: float, now: float, *, replacing: str | None = None
    ) -> bool:
        """Take the lease `name` for `owner` until now + ttl, or renew it if `owner` has it.

        False while another owner holds it unexpired, unless that owner is `replacing`
        (a holder known to be gone). So only one replica polls Okta at a time; if it dies,
        another takes over once the lease expires. Redis times the expiry by its own
        clock; the other backends by `now`.
        """
        ...

    async def lease_holder(self, name: str, now: float) -> str | None:
        """Who holds the lease unexpired, if anyone."""
        ...

    async def release_lease(self, name: str, owner: str) -> None:
        """Give the lease up now if `owner` holds it, so a standby need not wait it out."""
        ...

    async def seen(self, uuids: Sequence[str]) -> list[bool]:
        """For each uuid, whether it is remembered as counted. Reads only (for --dry-run)."""
        ...


# Series keys are stored (SQLite rows, Redis hash fields): their bytes must never change.
# msgspec writes strings exactly as orjson did, which wrote these keys before it (checked
# for every code point: only `"`, `\` and control characters escaped, as \n, \t, ... or
# \u00XX, the rest as UTF-8); tests/test_stores.py pins an encoding.
_ENCODER: Final = msgspec.json.Encoder()
_DECODER: Final = msgspec.json.Decoder()


def encode_series(name: str, labels: Labels) -> str:
    """One series as a stable text key: a JSON array of the name and the label values."""
    return _ENCODER.encode([name, *labels]).decode()


def decode_series(key: str | bytes) -> tuple[str, Labels]:
    name, *labels = _DECODER.decode(key)
    return name, tuple(labels)


def values_from_rows(rows: Sequence[tuple[str | bytes, float | str | bytes]]) -> Values:
    """Stored (series key, value) rows -> values by metric name and labels."""
    values: Values = {}
    for key, value in rows:
        name, labels = decode_series(key)
        values.setdefault(name, {})[labels] = float(value)
    return values


def count_series(values: Values) -> int:
    return sum(len(series) for series in values.values())


@dataclass(frozen=True, slots=True)
class Lease:
    """Who holds a lease, and until when (epoch seconds), as the local backends keep it."""

    owner: str
    expires: float

    def may_take(self, owner: str, now: float, replacing: str | None = None) -> bool:
        """True when `owner` (or `replacing`) holds it, or its holder let it expire."""
        return self.owner in (owner, replacing) or self.expires <= now

    def encode(self) -> str:
        return _ENCODER.encode([self.owner, self.expires]).decode()

    @classmethod
    def decode(cls, text: str) -> Lease:
        owner, expires = _DECODER.decode(text)
        return cls(str(owner), float(expires))


def lease_key(name: str) -> str:
    """The meta key under which the local backends keep a lease."""
    return f"lease:{name}"
