"""What this process saw of each mapping lately: for the /status page. Pure, bounded.

The stored state answers "failing now, since when" but keeps no history, so "how many
failures in the last hour and day" cannot be derived from it. This keeps, per mapping (by
the label values its mapping state is stored under): the failures per minute of Okta's
`published` time, the newest failure event and the newest success. The ledger feeds it
after the store committed a batch, with the new events only, so redelivery and replay
count once.

It is per process and starts empty: a restart forgets it, and with several replicas each
page counts what that replica ingested (README "The status page"). Bounded: the mappings
are the state's (its series cap bounds them), and the per-minute counters are trimmed to
the last day and to at most `max_counters` in all, the oldest minutes first.

Feeding runs for every batch, so it is done with whole-batch operations (`map`, `zip`,
`Counter.update`, `dict.update`, which loop in C) and no Python code per event: a
per-event loop cost 0.9 us per event, a quarter of the ledger's time, where the HTTP
ingest target is narrow (BENCHMARKS.md "/status"). The last failure fed counts as the
mapping's newest, not compared by time (the System Log poller reads in ascending order, a
hook delivery's events are the same moment's, and a late copy of an event is a duplicate
that is not fed); the newest success is compared by time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import attrgetter, floordiv, itemgetter
from typing import Final

from exporter.counting.state import Labels, Update
from exporter.ingest.events import Entity, Event

BUCKET: Final = 60.0  # seconds per counter
DAY: Final = 86400.0
HOUR: Final = 3600.0
MAX_COUNTERS: Final = 500_000  # (mapping, minute) counters in all: about 50 MB at most

_IS_FAILURE = attrgetter("kind.is_failure")
_CLEARS = attrgetter("kind.clears_failing")
_RANK = attrgetter("rank")
_MAXIMA = attrgetter("maxima")
_LAST = itemgetter(-1)
_LABELS = itemgetter(1)
_TIME = itemgetter(1)
_DAY_MINUTES: Final = int(DAY // BUCKET)


@dataclass(slots=True)
class Seen:
    """One mapping as this process saw it."""

    application: Entity = field(default_factory=Entity)
    group: Entity = field(default_factory=Entity)
    last_failure: Event | None = None
    last_success: float | None = None
    # Failures per minute (`published` // BUCKET), the last day's at most.
    per_minute: dict[int, int] = field(default_factory=dict)

    def failures_since(self, since: float) -> int:
        """Failures published at `since` or later (to the minute)."""
        first = int(since // BUCKET)
        return sum(count for minute, count in self.per_minute.items() if minute >= first)

    @property
    def failing_since(self) -> float | None:
        """The first failure after the newest success, to the minute; None if none."""
        after = self.last_success if self.last_success is not None else float("-inf")
        minutes = [m for m, count in self.per_minute.items() if count and (m + 1) * BUCKET > after]
        return max(min(minutes) * BUCKET, after) if minutes else None


class Recent:
    """The recent failures and successes of each mapping, fed by the ledger."""

    def __init__(self, max_counters: int = MAX_COUNTERS) -> None:
        self._max = max_counters
        # Failures by minute of `published`, then by mapping: a batch's failures mostly
        # share their minute, and then one Counter.update counts them all.
        self._minutes: dict[int, Counter[Labels]] = {}
        self._newest_minute = -1
        self._newest: dict[Labels, Event] = {}  # the newest failure event
        self._success: dict[Labels, float] = {}  # the newest success's published time

    def note_batch(self, events: Sequence[Event], updates: Sequence[Update]) -> None:
        """A batch the ledger committed: `updates[i]` is new and planned from `events[i]`.

        Only mapping failures and successes count; an update of another kind, or one
        without a time (not the planner's), is passed over.
        """
        failed = list(map(_IS_FAILURE, updates))
        if all(failed):  # nearly every batch: no copies
            if failed:
                self._failed(events, updates)
            return
        if any(failed):
            self._failed(list(compress(events, failed)), list(compress(updates, failed)))
        # A success and the end of a mapping both clear it (exporter/ingest/classify.py).
        succeeded = list(map(_CLEARS, updates))
        if any(succeeded):
            self._succeeded(list(compress(updates, succeeded)))

    def _failed(self, events: Sequence[Event], updates: Sequence[Update]) -> None:
        times = list(map(_RANK, updates))
        if None in times:
            return
        failures = list(map(_LABELS, map(_LAST, map(_MAXIMA, updates))))  # mapping state's
        self._newest.update(zip(failures, events, strict=True))
        first, last = int(min(times) // BUCKET), int(max(times) // BUCKET)
        if first == last:
            counter = self._counter(first)
            if counter is not None:
                counter.update(failures)
            return
        # A page read while catching up: spread over minutes.
        minutes = map(int, map(floordiv, times, repeat(BUCKET)))
        for (minute, key), count in Counter(zip(minutes, failures, strict=True)).items():
            counter = self._counter(minute)
            if counter is not None:
                counter[key] += count

    def _succeeded(self, updates: list[Update]) -> None:
        times = list(map(_RANK, updates))
        if None in times:
            return
        labels = map(_LABELS, map(_LAST, map(_MAXIMA, updates)))
        # Sorted by time, so the dict keeps each mapping's newest of the batch.
        for key, published in dict(sorted(zip(labels, times, strict=True), key=_TIME)).items():
            if published > self._success.get(key, published - 1):
                self._success[key] = published

    def _counter(self, minute: int) -> Counter[Labels] | None:
        """The minute's counters; None for a minute older than the last day."""
        counter = self._minutes.get(minute)
        if counter is None:
            if minute < self._newest_minute - _DAY_MINUTES:
                return None
            counter = self._minutes[minute] = Counter()
            self._newest_minute = max(self._newest_minute, minute)
            self._trim()
        return counter

    def _trim(self) -> None:
        """Forget minutes older than a day before the newest, then the oldest past the cap."""
        oldest = self._newest_minute - _DAY_MINUTES
        for minute in [m for m in self._minutes if m < oldest]:
            del self._minutes[minute]
        total = sum(map(len, self._minutes.values()))
        for minute in sorted(self._minutes):
            if total < self._max or minute == self._newest_minute:  # room for this minute
                break
            total -= len(self._minutes.pop(minute))

    def view(self) -> dict[Labels, Seen]:
        """Every mapping seen, with its counters: built once for each page."""
        seen: dict[Labels, Seen] = {}
        for key, event in self._newest.items():
            seen[key] = Seen(event.application, event.group, event, self._success.get(key))
        for minute, counter in self._minutes.items():
            for key, count in counter.items():
                mapping = seen.get(key)
                if mapping is not None:
                    mapping.per_minute[minute] = count
        for key, published in self._success.items():
            if key not in seen:
                seen[key] = Seen(last_success=published)
        return seen
