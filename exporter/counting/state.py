"""The in-process view of event-derived series, which `/metrics` renders, and its bookkeeping.

Besides the values, the state keeps what label governance needs to decide in constant
time: how many series use each label value (so the caps count live, loaded, merged and
in-flight series alike), reservations for batches between planning and commit (so two
concurrent deliveries cannot pass a cap together), overflow counts, last-update times for
the optional series TTL, and which series changed since the exposition last looked.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import msgspec

from exporter.ingest.labels import OTHER
from exporter.records import Kind, Labels, Series, Update, Values

# Moved to exporter.records (issue 16); re-exported for existing importers.
__all__ = ["Kind", "Labels", "Series", "Update", "Values"]

# The overflow counter's label for label sets folded by the series cap. Double underscores
# are reserved in Prometheus label names, so no real label can be called that.
SERIES_CAP: str = "__series__"
_NEVER = float("-inf")
# Distinct update shapes the journal holds, at most, before it folds them into the values.
_JOURNAL = 4096


class _Tally:
    """Updates with the same `written` tuple, to apply later in one step: how many, and
    the one with the largest maxima (by `Update.rank`)."""

    __slots__ = ("count", "first", "rank", "top")

    def __init__(self, update: Update, rank: float) -> None:
        self.first = update  # keeps `written` alive, so its id is not reused meanwhile
        self.count = 1
        self.rank = rank
        self.top = update  # the update of the highest rank so far


@dataclass(frozen=True, slots=True)
class Limits:
    """The caps, and which label positions of each metric they govern."""

    max_values: int  # distinct values per governed label, __other__ included
    max_series: int  # event-derived series in all
    # metric name -> label name per position, None where the label is a closed set
    governed: Mapping[str, tuple[str | None, ...]]
    # series set aside for the label sets the series cap folds into (all __other__)
    reserve: int = 0
    labels: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        names = sorted({n for names in self.governed.values() for n in names if n is not None})
        object.__setattr__(self, "labels", (*names, SERIES_CAP))


class Admitted(msgspec.Struct, frozen=True):
    """An event's series after the caps, which caps it ran into, which it reserved."""

    series: tuple[Series, ...]
    overflow: tuple[str, ...] = ()
    reserved: tuple[Series, ...] = ()


class MetricState:
    """Counter and gauge values by metric name and label values, with their bookkeeping.

    Changed by the ledger (reserve, apply, release, drop) and by a store's snapshot (load,
    merge). Without `limits` it is a plain value container (the memory store uses it so).
    """

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        clock: Callable[[], float] = time.time,
        track_updates: bool = False,
    ) -> None:
        self._values: Values = {}
        self._limits = limits
        self._clock = clock
        self._count = 0  # live series plus reserved ones that are not live yet
        self._pending: dict[Series, int] = {}
        # label name -> value -> how many counted series use it
        self._refs: dict[str, dict[str, int]] = {
            label: {} for label in (limits.labels if limits else ())
        }
        self._overflow: dict[str, int] = dict.fromkeys(limits.labels, 0) if limits else {}
        self._updated: dict[Series, float] | None = {} if track_updates else None
        self._tombstones: dict[Series, float] = {}
        self._changed: dict[str, dict[Labels, None]] | None = None
        # Updates to series that exist already, tallied by the identity of their `written`
        # tuple and folded into `_values` before anything reads them (`_fold`): events with
        # the same labels cost one dict operation each instead of a few per series.
        self._journal: dict[int, _Tally] = {}
        self._noting = track_updates  # every write needs _note, not only new series
        # Grows whenever a series stops being counted: a planner that saw all of an
        # event's series counted may skip the caps while this stays the same.
        self.removals = 0

    @property
    def limits(self) -> Limits | None:
        return self._limits

    # --- governance: caps decided against everything the state counts ----------------------

    def admit(self, series: Sequence[Series]) -> Admitted | None:
        """Apply the caps to one event's series and reserve the new ones until `release`.

        None when every series is counted already: nothing to decide or reserve.

        A governed value already counted passes; a new one passes while its label has
        room, else it becomes __other__. Then a label set not yet counted needs room
        under the series cap, else all its governed labels become __other__. Live series
        need no reservation: only a drop removes them, and the ledger never drops while
        a batch is in flight.
        """
        values = self._values
        for name, labels in series:
            known = values.get(name)
            if known is None or labels not in known:
                break
        else:
            return None  # the common case
        limits = self._limits
        if limits is None:
            fresh = tuple(key for key in series if not self._is_live(*key))
            self.reserve(fresh)
            return Admitted(tuple(series), (), fresh)
        overflow: list[str] = []
        decided: dict[tuple[str, str], str] = {}
        admitted_new: dict[str, int] = {}
        for name, labels in series:
            for label, value in zip(limits.governed[name], labels, strict=True):
                if label is None or value == OTHER or (label, value) in decided:
                    continue
                refs = self._refs[label]
                if value in refs:
                    decided[label, value] = value
                    continue
                real = len(refs) - (OTHER in refs) + admitted_new.get(label, 0)
                if real < limits.max_values - 1:  # one value is kept for __other__
                    decided[label, value] = value
                    admitted_new[label] = admitted_new.get(label, 0) + 1
                else:
                    decided[label, value] = OTHER
                    overflow.append(label)
        final: list[Series] = []
        new_series = 0
        for name, labels in series:
            names = limits.governed[name]
            capped = tuple(
                v if label is None else decided.get((label, v), v)
                for label, v in zip(names, labels, strict=True)
            )
            if not self._exists(name, capped) and (name, capped) not in final:
                if self._count + new_series < limits.max_series - limits.reserve:
                    new_series += 1
                else:
                    folded = tuple(
                        v if label is None else OTHER
                        for label, v in zip(names, capped, strict=True)
                    )
                    if folded != capped and SERIES_CAP not in overflow:
                        overflow.append(SERIES_CAP)
                    capped = folded
            final.append((name, capped))
        fresh = tuple(key for key in final if not self._is_live(*key))
        self.reserve(fresh)
        return Admitted(tuple(final), tuple(overflow), fresh)

    def reserve(self, series: Iterable[Series]) -> None:
        """Count series as present until `release`, so later decisions see them."""
        for key in series:
            held = self._pending.get(key, 0)
            if held == 0 and not self._is_live(*key):
                self._added(*key)
            self._pending[key] = held + 1

    def release(self, series: Iterable[Series]) -> None:
        """End reservations; a reserved series that never became live stops counting."""
        for key in series:
            held = self._pending[key] - 1
            if held:
                self._pending[key] = held
                continue
            del self._pending[key]
            if not self._is_live(*key):
                self._removed(*key)

    def _exists(self, name: str, labels: Labels) -> bool:
        return self._is_live(name, labels) or (name, labels) in self._pending

    def _is_live(self, name: str, labels: Labels) -> bool:
        series = self._values.get(name)
        return series is not None and labels in series

    def _added(self, name: str, labels: Labels) -> None:
        self._count += 1
        if self._limits is not None:
            for label, value in zip(self._limits.governed.get(name, ()), labels, strict=False):
                if label is not None:
                    refs = self._refs[label]
                    refs[value] = refs.get(value, 0) + 1

    def _removed(self, name: str, labels: Labels) -> None:
        self.removals += 1
        self._count -= 1
        if self._limits is not None:
            for label, value in zip(self._limits.governed.get(name, ()), labels, strict=False):
                if label is not None:
                    refs = self._refs[label]
                    if refs[value] == 1:
                        del refs[value]
                    else:
                        refs[value] -= 1

    # --- values ----------------------------------------------------------------------------

    def apply(self, update: Update) -> None:
        """Add 1 to each incremented series; raise each gauge to at least its value."""
        self.apply_all((update,))

    def apply_all(self, updates: Iterable[Update]) -> None:
        """`apply` each update in turn. The values read the same as if applied at once.

        This runs for every event. A ranked update whose series all exist already goes to
        the journal: counters commute and maxima only grow, so applying a tally of them
        later changes nothing a reader can see, as long as every reader folds first. A new
        series (and every write while series expiry needs per-series times) applies now.
        """
        journal = self._journal
        direct = self._updated is not None
        for update in updates:
            if update.overflow:
                self._count_overflow(update.overflow)
            rank = update.rank
            if rank is not None and not direct:
                written = update.written
                tally = journal.get(id(written))
                if tally is not None:
                    tally.count += 1
                    if rank > tally.rank:
                        tally.rank = rank
                        tally.top = update
                    continue
                if written and self._all_live(written):
                    journal[id(written)] = _Tally(update, rank)
                    continue
            self._apply_now(update)
        if len(journal) > _JOURNAL:
            self._fold()  # nobody read for long: keep memory bounded

    def _count_overflow(self, labels: tuple[str, ...]) -> None:
        overflow = self._overflow
        for label in labels:
            overflow[label] = overflow.get(label, 0) + 1

    def _all_live(self, written: tuple[Series, ...]) -> bool:
        values = self._values
        for name, labels in written:
            series = values.get(name)
            if series is None or labels not in series:
                return False
        return True

    def _fold(self) -> None:
        """Apply what the journal holds. Every reader of `_values` calls this first."""
        journal = self._journal
        if not journal:
            return
        self._journal = {}
        values = self._values
        watching = self._changed is not None
        for tally in journal.values():
            first = tally.first
            for name, labels in first.increments:
                values[name][labels] += tally.count
            for name, labels, value in tally.top.maxima:
                series = values[name]
                series[labels] = max(series[labels], value)
            if watching:
                for name, labels in first.written:
                    self._mark_changed(name, labels)

    def _apply_now(self, update: Update) -> None:
        """Apply one update to `_values` directly, with the bookkeeping of each series."""
        values = self._values
        updated = self._updated
        noting = self._noting
        now = self._clock() if updated is not None else 0.0
        for name, labels in update.increments:
            series = values.get(name)
            if series is None:
                series = values[name] = {}
            current = series.get(labels)
            if current is None:
                series[labels] = 1.0
                self._note(name, labels, True)
                continue
            series[labels] = current + 1.0
            if noting:
                self._touch(updated, now, name, labels)
        for name, labels, value in update.maxima:
            series = values.get(name)
            if series is None:
                series = values[name] = {}
            current = series.get(labels)
            if current is None:
                series[labels] = value
                self._note(name, labels, True)
                continue
            if value > current:
                series[labels] = value
            if noting:
                self._touch(updated, now, name, labels)

    def _touch(
        self, updated: dict[Series, float] | None, now: float, name: str, labels: Labels
    ) -> None:
        """`_note` for a series that exists already."""
        if updated is not None:
            updated[name, labels] = now
        self._mark_changed(name, labels)

    def _note(self, name: str, labels: Labels, new: bool) -> None:
        """Bookkeeping for a written series: counted when new, touched, marked changed."""
        if new and (name, labels) not in self._pending:
            self._added(name, labels)
        if self._updated is not None:
            self._updated[name, labels] = self._clock()
        changed = self._changed
        if changed is not None:  # _mark_changed, inlined: this runs for every write
            pending = changed.get(name)
            if pending is None:
                pending = changed[name] = {}
            pending[labels] = None

    def load(self, values: Mapping[str, Mapping[Labels, float]]) -> None:
        """Replace the view with a store's snapshot (reservations in flight are kept)."""
        self._fold()
        self.removals += 1
        for name, series in self._values.items():
            for labels in series:
                if (name, labels) not in self._pending:
                    self._removed(name, labels)
                self._mark_changed(name, labels)
        self._values = {}
        if self._updated is not None:
            self._updated.clear()
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
                if current is None and value <= self._tombstones.get((name, labels), _NEVER):
                    continue
                if series is None:
                    series = self._values[name] = {}
                series[labels] = value
                self._note(name, labels, current is None)

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

    def reserved(self) -> int:
        """Series reserved by batches between planning and commit."""
        return len(self._pending)

    def overflow(self) -> dict[str, int]:
        """Counted events whose value a cap replaced, by label (SERIES_CAP: the series cap)."""
        return dict(self._overflow)

    def distinct(self, label: str) -> int:
        """Distinct values of a governed label among counted and reserved series."""
        return len(self._refs.get(label, ()))

    # --- expiry ----------------------------------------------------------------------------

    def stale(self, before: float) -> list[tuple[str, Labels, float]]:
        """Series last updated before `before` and not reserved, with their values."""
        self._fold()
        if self._updated is None:
            return []
        return [
            (name, labels, self._values[name][labels])
            for (name, labels), at in self._updated.items()
            if at < before and (name, labels) not in self._pending
        ]

    def drop(self, series: Iterable[tuple[str, Labels, float]]) -> int:
        """Forget series that still hold the given value; returns how many.

        What it forgot is remembered until the next drop, so that a refresh which read
        the shared store before the drop cannot bring it back (see `merge`).
        """
        self._fold()
        self._tombstones.clear()
        dropped = 0
        for name, labels, value in series:
            values = self._values.get(name)
            if values is None or values.get(labels) != value:
                continue
            del values[labels]
            dropped += 1
            self.removals += 1
            if (name, labels) not in self._pending:
                self._removed(name, labels)
            if self._updated is not None:
                self._updated.pop((name, labels), None)
            self._tombstones[name, labels] = value
            self._mark_changed(name, labels)
        return dropped

    # --- change tracking for the exposition ------------------------------------------------

    def watch(self) -> None:
        """Start recording which series change, every current one included (see `changed`)."""
        self._fold()
        self._changed = {name: dict.fromkeys(series) for name, series in self._values.items()}
        self._noting = True

    def changed(self, name: str, most: int) -> list[Labels]:
        """Take up to `most` label sets of `name` changed (or dropped) since last asked."""
        self._fold()
        changed = self._changed
        pending = changed.get(name) if changed is not None else None
        if changed is None or not pending:
            return []
        if len(pending) <= most:
            # A dict never shrinks as keys leave it: drop the whole table instead, or the
            # first scrape (every series changed) would leave its size behind for good.
            del changed[name]
            return list(pending)
        taken: list[Labels] = []
        for labels in pending:
            taken.append(labels)
            if len(taken) == most:
                break
        for labels in taken:
            del pending[labels]
        return taken

    def _mark_changed(self, name: str, labels: Labels) -> None:
        if self._changed is not None:
            changed = self._changed.get(name)
            if changed is None:
                changed = self._changed[name] = {}
            changed[labels] = None
