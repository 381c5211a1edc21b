"""The newest Okta event behind each failure counter, for OpenMetrics exemplars. Pure.

A spike on a dashboard is a count; the on-call wants the event behind it. In the
OpenMetrics exposition each failure counter carries an exemplar `{event_uuid="..."}` naming
the LogEvent with the newest `published` time that incremented it, so a Grafana panel with
exemplars on links a point to the exact System Log entry. The text format has no exemplars
and stays as it is.

Kept per process: after a restart, or on a replica that did not receive the event, a series
shows no exemplar until its next failure. Bounded by the series the state exposes: the
exposition forgets an exemplar when its series is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from exporter import catalogue
from exporter.records import Series, Tallies, Update

LABEL: Final = "event_uuid"
# The failure counters: an exemplar names one event, and only these count events.
METRICS: Final = frozenset(
    spec.name
    for spec in (catalogue.FAILURES, catalogue.FAILURES_BY_KIND, catalogue.FAILURE_REASONS)
)
# OpenMetrics caps an exemplar's label set at 128 UTF-8 characters; Okta's uuids have 36.
# A longer "uuid" (a forged body) gets no exemplar rather than a scrape Prometheus refuses.
MAX_UUID: Final = 128 - len(LABEL)


@dataclass(frozen=True, slots=True)
class Exemplar:
    """One event: its uuid and Okta's published time (epoch seconds)."""

    uuid: str
    published: float

    def text(self) -> str:
        """The exemplar as prometheus_client's OpenMetrics encoder writes it, leading space
        included: ` # {event_uuid="..."} 1.0 <published>`."""
        value = self.uuid.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
        return f' # {{{LABEL}="{value}"}} 1.0 {self.published}'


class Exemplars:
    """The newest event per failure counter series."""

    def __init__(self) -> None:
        # (published, uuid) per series: a tuple, not an Exemplar, as this is written for
        # every counted failure and read only when a series is rendered.
        self._newest: dict[Series, tuple[float, str]] = {}
        # The newest update per shape until a read: one dict operation per event instead
        # of one per counter (records.Tallies, as the metric state does).
        self._held = Tallies()

    def note(self, updates: Iterable[Update], now: float) -> None:
        """Remember the events of counted updates; `now` stands in for a missing time.

        The newest by Okta's published time wins, so an exemplar's timestamp never goes
        back (Prometheus refuses out-of-order exemplars) whatever order events arrive in.
        """
        held = self._held
        failures = [u for u in updates if u.kind.is_failure and len(u.uuid) <= MAX_UUID]
        for update in held.hold_all(failures, unranked=now):  # those without a shape
            self._remember(update.rank if update.rank is not None else now, update)
        if held.full:
            self._fold()

    def _fold(self) -> None:
        for _, published, update in self._held.take():
            self._remember(published, update)

    def _remember(self, published: float, update: Update) -> None:
        newest = self._newest
        for series in update.increments:
            if series[0] in METRICS:
                current = newest.get(series)
                if current is None or published >= current[0]:
                    newest[series] = (published, update.uuid)

    def get(self, name: str, labels: tuple[str, ...]) -> Exemplar | None:
        """The exemplar of one series, if this process counted an event for it."""
        self._fold()
        newest = self._newest.get((name, labels))
        return None if newest is None else Exemplar(newest[1], newest[0])

    def forget(self, name: str, labels: tuple[str, ...]) -> None:
        """Drop a series' exemplar (the series itself was dropped)."""
        self._fold()
        self._newest.pop((name, labels), None)

    def __len__(self) -> int:
        self._fold()
        return len(self._newest)
