"""Which series changed since the exposition last looked, per metric.

The exposition (exporter/metrics/exposition.py) keeps each series' rendered line and asks
only for the ones that changed, a few hundred at a time, so that a scrape of 100,000
series re-renders what moved and never holds the event loop for long.
"""

from __future__ import annotations

from exporter.records import Labels, Values


class Changes:
    """Changed (or dropped) label sets by metric name, from `watch` on."""

    def __init__(self) -> None:
        self.watching = False
        self._changed: dict[str, dict[Labels, None]] = {}

    def watch(self, values: Values) -> None:
        """Start recording, every current series counting as changed."""
        self._changed = {name: dict.fromkeys(series) for name, series in values.items()}
        self.watching = True

    def mark(self, name: str, labels: Labels) -> None:
        """A series changed (no-op until `watch`)."""
        if self.watching:
            pending = self._changed.get(name)
            if pending is None:
                pending = self._changed[name] = {}
            pending[labels] = None

    def take(self, name: str, most: int) -> list[Labels]:
        """Up to `most` label sets of `name` changed since last asked."""
        pending = self._changed.get(name)
        if not pending:
            return []
        if len(pending) <= most:
            # A dict never shrinks as keys leave it: drop the whole table instead, or the
            # first scrape (every series changed) would leave its size behind for good.
            del self._changed[name]
            return list(pending)
        taken: list[Labels] = []
        for labels in pending:
            taken.append(labels)
            if len(taken) == most:
                break
        for labels in taken:
            del pending[labels]
        return taken
