"""The in-process view of event-derived series, which `/metrics` renders."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from exporter.classify import Kind

Labels = tuple[str, ...]
Values = dict[str, dict[Labels, float]]


@dataclass(frozen=True, slots=True)
class Update:
    """What one distinct event does to the state, applied only if its uuid is new."""

    uuid: str
    kind: Kind
    increments: tuple[tuple[str, Labels], ...] = ()  # (metric name, label values) += 1
    maxima: tuple[tuple[str, Labels, float], ...] = ()  # gauge = max(gauge, value)


class MetricState:
    """Counter and gauge values by metric name and label values.

    Changed only by the ledger (after a commit) and by loading a store's snapshot.
    """

    def __init__(self) -> None:
        self._values: Values = {}

    def apply(self, update: Update) -> None:
        """Add 1 to each incremented series; raise each gauge to at least its value."""
        for name, labels in update.increments:
            series = self._values.setdefault(name, {})
            series[labels] = series.get(labels, 0.0) + 1.0
        for name, labels, value in update.maxima:
            series = self._values.setdefault(name, {})
            if value > series.get(labels, float("-inf")):
                series[labels] = value

    def load(self, values: Mapping[str, Mapping[Labels, float]]) -> None:
        """Replace the view with a store's snapshot."""
        self._values = {name: dict(series) for name, series in values.items()}

    def merge(self, values: Mapping[str, Mapping[Labels, float]]) -> None:
        """Raise each series to at least the given value (counters and gauges only grow)."""
        for name, incoming in values.items():
            series = self._values.setdefault(name, {})
            for labels, value in incoming.items():
                if value > series.get(labels, float("-inf")):
                    series[labels] = value

    def values(self) -> Values:
        """A copy of every series, by metric name."""
        return {name: dict(series) for name, series in self._values.items()}

    def series(self, name: str) -> dict[Labels, float]:
        """The live series of one metric (empty when it has none yet)."""
        return self._values.get(name, {})

    def count(self) -> int:
        """How many series the view holds."""
        return sum(len(series) for series in self._values.values())
