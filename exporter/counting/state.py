"""The in-process view of event-derived series, which `/metrics` renders.

`MetricState` owns the values (counters and gauges by metric name and label values) and
tells the parts that each own one concern what happened to them:

- `Caps` (counting/caps.py): label governance, reservations, overflow;
- `Expiry` (counting/expiry.py): last-write times for the series TTL, tombstones;
- `Changes` (counting/changes.py): which series the exposition must render again;
- `Tallies` (exporter/records.py): updates held back and applied in one step per shape,
  the one optimisation kept here (its docstring has the measured gain).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import attrgetter

from exporter.counting.caps import SERIES_CAP, Admitted, Caps, Limits
from exporter.counting.changes import Changes
from exporter.counting.expiry import Expiry
from exporter.records import Kind, Labels, Series, Tallies, Update, Values

# Re-exported for the importers that find them here.
__all__ = [
    "SERIES_CAP",
    "Admitted",
    "Kind",
    "Labels",
    "Limits",
    "MetricState",
    "Series",
    "Update",
    "Values",
]


_OVERFLOW = attrgetter("overflow")


class MetricState:
    """Counter and gauge values by metric name and label values.

    Changed by the ledger (admit, apply, release, drop) and by a store's snapshot (load,
    merge). Without `limits` nothing is capped. With `track_updates`, every write stamps
    its series' time for expiry (`stale`).
    """

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        clock: Callable[[], float] = time.time,
        track_updates: bool = False,
    ) -> None:
        self._values: Values = {}
        self.caps = Caps(limits, self._is_live)
        self.expiry = Expiry(clock, tracking=track_updates)
        self.changes = Changes()
        self._held = Tallies()

    @property
    def limits(self) -> Limits | None:
        return self.caps.limits

    @property
    def removals(self) -> int:
        """Grows whenever a series stops being counted (see Planner)."""
        return self.caps.removals

    def _is_live(self, name: str, labels: Labels) -> bool:
        series = self._values.get(name)
        return series is not None and labels in series

    # --- governance ------------------------------------------------------------------------

    def admit(self, series: Sequence[Series]) -> Admitted | None:
        """The caps for one event's series (Caps.admit); None when every series is live
        already, the common case: nothing to decide or reserve."""
        values = self._values
        for name, labels in series:
            known = values.get(name)
            if known is None or labels not in known:
                return self.caps.admit(series)
        return None

    def release(self, series: Iterable[Series]) -> None:
        self.caps.release(series)

    def reserved(self) -> int:
        return self.caps.reserved()

    def overflow(self) -> dict[str, int]:
        return self.caps.overflow()

    def distinct(self, label: str) -> int:
        return self.caps.distinct(label)

    # --- values ----------------------------------------------------------------------------

    def apply(self, update: Update) -> None:
        """Add 1 to each incremented series; raise each gauge to at least its value."""
        self.apply_all((update,))

    def apply_all(self, updates: Iterable[Update]) -> None:
        """`apply` each update in turn. The values read the same as if applied at once.

        A ranked update whose series all exist already is held (`Tallies`) unless each
        write needs its own time (expiry); everything else applies now.
        """
        updates = updates if isinstance(updates, Sequence) else list(updates)
        # Overflow is rare: found by a scan in C rather than a test per update in Python.
        for overflow in filter(None, map(_OVERFLOW, updates)):
            self.caps.count_overflow(overflow)
        held = self._held
        may_hold = not self.expiry.tracking
        # Those of a shape held already are held in one loop; the rest in turn here. Out
        # of order, but the same: a held shape's updates are all taken by the first pass,
        # and holding reads no values.
        for update in held.hold_all(updates, start=False) if may_hold else updates:
            rank = update.rank
            if rank is not None and may_hold:
                if held.add(update, rank):
                    continue
                if update.written and self._all_live(update.written):
                    held.start(update, rank)
                    continue
            self._apply_now(update)
        if held.full:
            self._fold()  # nobody read for long: keep memory bounded

    def _all_live(self, written: tuple[Series, ...]) -> bool:
        values = self._values
        for name, labels in written:
            series = values.get(name)
            if series is None or labels not in series:
                return False
        return True

    def _fold(self) -> None:
        """Apply the held updates. Every reader of the values calls this first (the caps'
        checks need not: a held update's series are all live already)."""
        if not self._held:
            return
        shapes = self._held.fold(self._values)
        if self.changes.watching:
            mark = self.changes.mark
            for written in shapes:
                for name, labels in written:
                    mark(name, labels)

    def _apply_now(self, update: Update) -> None:
        """Apply one update to the values, telling the parts about each series."""
        now = self.expiry.clock() if self.expiry.tracking else None
        for name, labels in update.increments:
            series = self._values.setdefault(name, {})
            current = series.get(labels)
            series[labels] = 1.0 if current is None else current + 1.0
            self._wrote(name, labels, current is None, now)
        for name, labels, value in update.maxima:
            series = self._values.setdefault(name, {})
            current = series.get(labels)
            if current is None or value > current:
                series[labels] = value
            self._wrote(name, labels, current is None, now)

    def _wrote(self, name: str, labels: Labels, new: bool, now: float | None = None) -> None:
        """A series was written: counted when new (unless reserved), stamped, marked."""
        if new and not self.caps.is_reserved(name, labels):
            self.caps.added(name, labels)
        self.expiry.touch(name, labels, now)
        self.changes.mark(name, labels)

    def load(self, values: Mapping[str, Mapping[Labels, float]]) -> None:
        """Replace the view with a store's snapshot (reservations in flight are kept)."""
        self._fold()
        self.caps.removals += 1
        for name, series in self._values.items():
            for labels in series:
                if not self.caps.is_reserved(name, labels):
                    self.caps.removed(name, labels)
                self.changes.mark(name, labels)
        self._values = {}
        self.expiry.clear()
        self.merge(values)

    def merge(self, values: Mapping[str, Mapping[Labels, float]]) -> None:
        """Raise each series to at least the given value (counters and gauges only grow).

        A series this process just expired stays gone unless the incoming value shows
        that another replica counted it since.
        """
        self._fold()
        for name, incoming in values.items():
            series = self._values.get(name)
            for labels, value in incoming.items():
                current = series.get(labels) if series is not None else None
                if current is not None and value <= current:
                    continue
                if current is None and self.expiry.buried(name, labels, value):
                    continue
                if series is None:
                    series = self._values[name] = {}
                series[labels] = value
                self._wrote(name, labels, current is None)

    def values(self) -> Values:
        """A copy of every series, by metric name."""
        self._fold()
        return {name: dict(series) for name, series in self._values.items()}

    def series(self, name: str) -> dict[Labels, float]:
        """The live series of one metric (empty when it has none yet)."""
        self._fold()
        return self._values.get(name, {})

    def count(self) -> int:
        """How many series the view holds."""
        self._fold()
        return sum(len(series) for series in self._values.values())

    # --- expiry ----------------------------------------------------------------------------

    def stale(self, before: float) -> list[tuple[str, Labels, float]]:
        """Series last updated before `before` and not reserved, with their values."""
        self._fold()
        return self.expiry.stale(before, self._values, self.caps.reservations)

    def drop(self, series: Iterable[tuple[str, Labels, float]]) -> int:
        """Forget series that still hold the given value; returns how many.

        What it forgot is remembered until the next drop, so that a refresh which read
        the shared store before the drop cannot bring it back (see `merge`).
        """
        self._fold()
        self.expiry.start_drop()
        dropped = 0
        for name, labels, value in series:
            values = self._values.get(name)
            if values is None or values.get(labels) != value:
                continue
            del values[labels]
            dropped += 1
            self.caps.removals += 1
            if not self.caps.is_reserved(name, labels):
                self.caps.removed(name, labels)
            self.expiry.forgot(name, labels, value)
            self.changes.mark(name, labels)
        return dropped

    # --- change tracking for the exposition ------------------------------------------------

    def watch(self) -> None:
        """Start recording which series change, every current one included (see `changed`)."""
        self._fold()
        self.changes.watch(self._values)

    def changed(self, name: str, most: int) -> list[Labels]:
        """Take up to `most` label sets of `name` changed (or dropped) since last asked."""
        self._fold()
        return self.changes.take(name, most)
