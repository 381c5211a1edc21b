"""What this process saw of each mapping lately: for the /status page. Pure, bounded.

The stored state answers "failing now, since when" but keeps no history, so "how many
failures in the last hour and day" cannot be derived from it. This keeps, per mapping
(by the label values its mapping state is stored under), the failures per minute of
Okta's `published` time for the last day, the newest failure event, and the newest
success. The ledger feeds it after the store committed a batch, with the new events only,
so redelivery and replay count once.

It is per process and starts empty: a restart forgets it, and with several replicas each
page counts what that replica ingested (README "/status"). Bounded: at most
`max_mappings` mappings (the least recently fed is forgotten first) and one counter per
minute of the last day for each.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from exporter.classify import Kind
from exporter.events import Entity, Event
from exporter.state import Labels, Update

BUCKET: Final = 60.0  # seconds per counter
DAY: Final = 86400.0
HOUR: Final = 3600.0
MAX_MAPPINGS: Final = 10_000


@dataclass(slots=True)
class Seen:
    """One mapping as this process saw it."""

    application: Entity = field(default_factory=Entity)
    group: Entity = field(default_factory=Entity)
    last_failure: Event | None = None  # the newest by `published`
    last_success: float | None = None
    # The first failure after the newest success, to the minute (see `note`).
    failing_since: float | None = None
    # Failures per minute (`published` // BUCKET), the last day's only.
    per_minute: dict[int, int] = field(default_factory=dict)

    def failures_since(self, since: float) -> int:
        """Failures published at `since` or later (to the minute)."""
        first = int(since // BUCKET)
        return sum(count for minute, count in self.per_minute.items() if minute >= first)


class Recent:
    """The recent failures and successes of each mapping, fed by the ledger."""

    def __init__(self, max_mappings: int = MAX_MAPPINGS) -> None:
        self._max = max_mappings
        self._seen: OrderedDict[Labels, Seen] = OrderedDict()

    def note(self, labels: Labels, event: Event, failure: bool, published: float) -> None:
        """One new event of the mapping stored under `labels`."""
        seen = self._seen.get(labels)
        if seen is None:
            seen = self._seen[labels] = Seen()
            if len(self._seen) > self._max:
                self._seen.popitem(last=False)
        else:
            self._seen.move_to_end(labels)
        if event.application.id:
            seen.application = event.application
        if event.group.id:
            seen.group = event.group
        if not failure:
            if seen.last_success is None or published > seen.last_success:
                seen.last_success = published
                if seen.failing_since is not None and seen.failing_since <= published:
                    # Failures that came in before this (later published) success: the
                    # first of them after it, to the minute, from the counters.
                    later = [m for m in seen.per_minute if (m + 1) * BUCKET > published]
                    seen.failing_since = max(published, min(later) * BUCKET) if later else None
            return
        after_success = seen.last_success is None or published > seen.last_success
        if after_success and (seen.failing_since is None or published < seen.failing_since):
            seen.failing_since = published
        newest = seen.last_failure
        if newest is None or newest.published is None or published >= newest.published:
            seen.last_failure = event
        minute = int(published // BUCKET)
        buckets = seen.per_minute
        buckets[minute] = buckets.get(minute, 0) + 1
        if len(buckets) > DAY / BUCKET + 1:  # keep a day back from the newest minute
            oldest = max(buckets) - int(DAY // BUCKET)
            for old in [m for m in buckets if m < oldest]:
                del buckets[old]

    def note_updates(self, pairs: Iterable[tuple[Event, Update]]) -> None:
        """The ledger's new (event, update) pairs, successes and failures alike."""
        for event, update in pairs:
            if not update.maxima or update.kind is Kind.IGNORED:
                continue
            labels = update.maxima[-1][1]  # the mapping state's series (exporter/mapping.py)
            published = update.rank if update.rank is not None else update.maxima[-1][2]
            self.note(labels, event, update.kind is not Kind.SUCCESS, published)

    def get(self, labels: Labels) -> Seen | None:
        return self._seen.get(labels)

    def __len__(self) -> int:
        return len(self._seen)
