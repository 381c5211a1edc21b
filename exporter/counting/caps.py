"""Label governance's bookkeeping: how many series use each value, reservations, overflow.

The caps must decide in constant time, against every series the state counts (live,
loaded, merged and in flight alike): so `Caps` keeps how many counted series use each
governed label value, the series reserved by batches between planning and commit (so two
concurrent deliveries cannot pass a cap together), and how often a cap replaced a value.
The values themselves stay in the state (exporter/counting/state.py), which tells the caps
when a series starts or stops being counted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, KeysView, Mapping, Sequence
from dataclasses import dataclass, field

import msgspec

from exporter.ingest.labels import OTHER
from exporter.records import Labels, Series

# The overflow counter's label for label sets folded by the series cap. Double underscores
# are reserved in Prometheus label names, so no real label can be called that.
SERIES_CAP: str = "__series__"


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


class Caps:
    """Counted series by governed label value, reservations and overflow counts.

    `live` tells whether the state holds a series. Without `limits` nothing is capped,
    and the caps only count series and hold reservations.
    """

    def __init__(self, limits: Limits | None, live: Callable[[str, Labels], bool]) -> None:
        self.limits = limits
        self._live = live
        self._count = 0  # live series plus reserved ones that are not live yet
        self._pending: dict[Series, int] = {}
        # label name -> value -> how many counted series use it
        self._refs: dict[str, dict[str, int]] = {
            label: {} for label in (limits.labels if limits else ())
        }
        self._overflow: dict[str, int] = dict.fromkeys(limits.labels, 0) if limits else {}
        # Grows whenever a series stops being counted: a planner that saw all of an
        # event's series counted may skip the caps while this stays the same.
        self.removals = 0

    def admit(self, series: Sequence[Series]) -> Admitted:
        """Apply the caps to one event's series and reserve the new ones until `release`.

        A governed value already counted passes; a new one passes while its label has
        room, else it becomes __other__. Then a label set not yet counted needs room
        under the series cap, else all its governed labels become __other__. Live series
        need no reservation: only a drop removes them, and the ledger never drops while
        a batch is in flight.
        """
        limits = self.limits
        if limits is None:
            fresh = tuple(key for key in series if not self._live(*key))
            self.reserve(fresh)
            return Admitted(tuple(series), (), fresh)
        decided, overflow = self._decide_values(limits, series)
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
        fresh = tuple(key for key in final if not self._live(*key))
        self.reserve(fresh)
        return Admitted(tuple(final), tuple(overflow), fresh)

    def _decide_values(
        self, limits: Limits, series: Sequence[Series]
    ) -> tuple[dict[tuple[str, str], str], list[str]]:
        """Each governed (label, value) of the event: kept, or __other__ past its cap."""
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
        return decided, overflow

    def reserve(self, series: Iterable[Series]) -> None:
        """Count series as present until `release`, so later decisions see them."""
        for key in series:
            held = self._pending.get(key, 0)
            if held == 0 and not self._live(*key):
                self.added(*key)
            self._pending[key] = held + 1

    def release(self, series: Iterable[Series]) -> None:
        """End reservations; a reserved series that never became live stops counting."""
        for key in series:
            held = self._pending[key] - 1
            if held:
                self._pending[key] = held
                continue
            del self._pending[key]
            if not self._live(*key):
                self.removed(*key)

    def is_reserved(self, name: str, labels: Labels) -> bool:
        return (name, labels) in self._pending

    @property
    def reservations(self) -> KeysView[Series]:
        """The series reserved now."""
        return self._pending.keys()

    def _exists(self, name: str, labels: Labels) -> bool:
        return self._live(name, labels) or (name, labels) in self._pending

    def added(self, name: str, labels: Labels) -> None:
        """A series starts being counted."""
        self._count += 1
        if self.limits is not None:
            for label, value in zip(self.limits.governed.get(name, ()), labels, strict=False):
                if label is not None:
                    refs = self._refs[label]
                    refs[value] = refs.get(value, 0) + 1

    def removed(self, name: str, labels: Labels) -> None:
        """A series stops being counted."""
        self.removals += 1
        self._count -= 1
        if self.limits is not None:
            for label, value in zip(self.limits.governed.get(name, ()), labels, strict=False):
                if label is not None:
                    refs = self._refs[label]
                    if refs[value] == 1:
                        del refs[value]
                    else:
                        refs[value] -= 1

    def count_overflow(self, labels: Iterable[str]) -> None:
        """A counted event had the values of these labels replaced by a cap."""
        overflow = self._overflow
        for label in labels:
            overflow[label] = overflow.get(label, 0) + 1

    def overflow(self) -> dict[str, int]:
        """Counted events whose value a cap replaced, by label (SERIES_CAP: the series cap)."""
        return dict(self._overflow)

    def reserved(self) -> int:
        """Series reserved by batches between planning and commit."""
        return len(self._pending)

    def distinct(self, label: str) -> int:
        """Distinct values of a governed label among counted and reserved series."""
        return len(self._refs.get(label, ()))
