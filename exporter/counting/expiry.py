"""When each series was last written, for the optional series TTL, and what was dropped.

Kept only with `--metrics.series-ttl` on (a time per series costs memory). The tombstones
remember what the last drop forgot, so that a refresh which read a shared store before
the drop cannot bring a series back (MetricState.merge asks `buried`).
"""

from __future__ import annotations

from collections.abc import Callable, Container

from exporter.records import Labels, Series, Values

_NEVER = float("-inf")


class Expiry:
    """Last-write times per series (when `tracking`) and the tombstones of the last drop."""

    def __init__(self, clock: Callable[[], float], *, tracking: bool) -> None:
        self.clock = clock
        self.tracking = tracking
        self._updated: dict[Series, float] = {}
        self._tombstones: dict[Series, float] = {}

    def touch(self, name: str, labels: Labels, now: float | None = None) -> None:
        """A series was written (at `now`, or the clock's time)."""
        if self.tracking:
            self._updated[name, labels] = self.clock() if now is None else now

    def stale(
        self, before: float, values: Values, reserved: Container[Series]
    ) -> list[tuple[str, Labels, float]]:
        """Series last written before `before` and not reserved, with their values."""
        return [
            (name, labels, values[name][labels])
            for (name, labels), at in self._updated.items()
            if at < before and (name, labels) not in reserved
        ]

    def start_drop(self) -> None:
        """A drop begins: only what it forgets stays buried."""
        self._tombstones.clear()

    def forgot(self, name: str, labels: Labels, value: float) -> None:
        """A drop forgot this series, which held `value`."""
        self._updated.pop((name, labels), None)
        self._tombstones[name, labels] = value

    def buried(self, name: str, labels: Labels, value: float) -> bool:
        """Whether an incoming `value` is one the last drop forgot (or older)."""
        return value <= self._tombstones.get((name, labels), _NEVER)

    def clear(self) -> None:
        """Every series is gone (the state loads a snapshot)."""
        self._updated.clear()
