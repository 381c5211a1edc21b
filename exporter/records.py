"""Shared record types: what store/, counting/ and metrics/ all import.

`Update` is what one event does to the values and `apply` is how: every store that keeps
values itself (memory) and the metric state (counting/state.py) agree on it here.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

import msgspec

Labels = tuple[str, ...]
Values = dict[str, dict[Labels, float]]
Series = tuple[str, Labels]  # (metric name, label values)


class Kind(enum.Enum):
    """What an event means for the exporter; its value is the `kind` label's."""

    # value, then what differs from the defaults of `__new__`
    TERMINAL_FAILURE = "terminal", True  # a failure Okta will not retry: an admin must act
    RETRIED_FAILURE = "retried", True  # a failure Okta retries by itself
    SUCCESS = "success", False, True  # clears "failing now"
    MAPPING_ENDED = "ended", False, True  # removed or deactivated: clears "failing now"
    USERS_IGNORED = "users_ignored"  # Okta skipped some users while pushing the group
    HOOK_DELIVERY_FAILED = "hook_delivery_failed"  # Okta could not deliver to an event hook
    IGNORED = "ignored", False, False, False  # not group push: not counted at all

    # Plain attributes, set once per member: asked per event, where a property or a
    # member lookup (`Kind.IGNORED`, a descriptor on Python 3.11) costs a Python call.
    is_failure: bool
    clears_failing: bool
    counted: bool

    # The planner's memo key holds a Kind, hashed per event: Enum's __hash__ is a Python
    # call, 76 ns against 28 for the identity hash (`python -m timeit`, BENCHMARKS.md). A
    # member equals only itself, so the identity hash is as good.
    __hash__ = object.__hash__

    def __new__(
        cls,
        value: str,
        is_failure: bool = False,
        clears_failing: bool = False,
        counted: bool = True,
    ) -> Kind:
        member = object.__new__(cls)
        member._value_ = value
        member.is_failure = is_failure
        member.clears_failing = clears_failing
        member.counted = counted
        return member


# A frozen msgspec Struct, like the Event it comes from: one per event, built cheaply.
class Update(msgspec.Struct, frozen=True):
    """What one distinct event does to the state, applied only if its uuid is new."""

    uuid: str
    kind: Kind
    increments: tuple[tuple[str, Labels], ...] = ()  # (metric name, label values) += 1
    maxima: tuple[tuple[str, Labels, float], ...] = ()  # gauge = max(gauge, value)
    overflow: tuple[str, ...] = ()  # labels whose value a cap replaced with __other__
    reserved: tuple[Series, ...] = ()  # new series held in the state until released
    # Every series the update writes, as one tuple that events with the same labels share
    # (the ledger's planner keeps it): updates that share the tuple write the same series,
    # so the state tallies them together (see apply_all).
    written: tuple[Series, ...] = ()
    # Orders the updates that share `written`: of two, the one with the larger rank has
    # every maximum at least as large (the planner's is the event time, which each of its
    # maxima grows with). The state then keeps one update per tally instead of comparing
    # every maximum of every event. None: no such order, so the update applies at once.
    rank: float | None = None


def apply(values: Values, update: Update) -> None:
    """Add one to each incremented series and raise each maximum (a new series starts there)."""
    for name, labels in update.increments:
        series = values.setdefault(name, {})
        series[labels] = series.get(labels, 0.0) + 1.0
    for name, labels, value in update.maxima:
        series = values.setdefault(name, {})
        current = series.get(labels)
        if current is None or value > current:
            series[labels] = value


class _Tally:
    """Updates that share one `written` tuple: how many, and the one of highest rank."""

    __slots__ = ("count", "rank", "top")

    def __init__(self, update: Update, rank: float) -> None:
        self.count = 1
        self.rank = rank
        self.top = update  # also keeps `written` alive, so its id is not reused meanwhile


class Tallies:
    """Ranked updates held back, to apply later in one step per shape. An optimisation.

    The ledger's planner hands every event with the same labels the same `written`
    tuple, so updates that share it write the same series: `count` of them add `count` to
    each counter, and the one of highest `rank` leaves every maximum where all of them
    would (see `Update.rank`). Holding one costs a dict operation per event instead of
    one per series and its bookkeeping. Whoever holds updates must `fold` them into the
    values before reading those, and when `full`.

    Measured (BENCHMARKS.md, "Every target, re-measured after the batch loops"): the
    ledger costs 2.34 us an event with it and 5.13 without it in the metric state and the
    memory store (`python -m bench.ledger_parts`); without it in-process ingest would fall
    from 0.55 to 0.35 of `orjson.loads` by best CPU times (target 0.50).
    """

    __slots__ = ("_held", "_most")

    def __init__(self, most: int = 4096) -> None:
        self._held: dict[int, _Tally] = {}
        self._most = most

    def hold_all(
        self, updates: Iterable[Update], *, unranked: float | None = None, start: bool = True
    ) -> list[Update]:
        """Hold each update in turn, of its rank, or of `unranked` when it has none; returns
        those it did not hold, in order, to apply now: the ones without a rank (and no
        `unranked`) or without a shape, and with `start` False those of a shape not held.

        A batch in one loop, where a call per update and user (the metric state, the
        memory store, the exemplars) cost as much as the holding: the ledger went from
        2.67 to 2.52 us an event (`python -m bench.ledger_parts`, side by side).
        """
        held = self._held
        rest: list[Update] = []
        for update in updates:
            rank = update.rank if update.rank is not None else unranked
            written = update.written
            if rank is None or not written:  # every empty tuple is the same object
                rest.append(update)
                continue
            tally = held.get(id(written))
            if tally is not None:
                tally.count += 1
                if rank >= tally.rank:  # of equal ranks the later, as if applied in turn
                    tally.rank = rank
                    tally.top = update
            elif start:
                held[id(written)] = _Tally(update, rank)
            else:
                rest.append(update)
        return rest

    def add(self, update: Update, rank: float) -> bool:
        """Hold an update (of rank `rank`) if its shape is held already; False when not."""
        tally = self._held.get(id(update.written)) if update.written else None
        if tally is None:
            return False
        tally.count += 1
        if rank >= tally.rank:  # of equal ranks the later, as if applied in turn
            tally.rank = rank
            tally.top = update
        return True

    def start(self, update: Update, rank: float) -> None:
        """Hold an update (of rank `rank`) of a shape not held yet (`written` not empty:
        every empty tuple is the same object)."""
        self._held[id(update.written)] = _Tally(update, rank)

    @property
    def full(self) -> bool:
        """Holding more shapes than it should: fold now, so that memory stays bounded."""
        return len(self._held) > self._most

    def take(self) -> list[tuple[int, float, Update]]:
        """Per shape held: how many updates, the highest rank, its update. Holds none after."""
        if not self._held:
            return []
        held, self._held = self._held, {}
        return [(tally.count, tally.rank, tally.top) for tally in held.values()]

    def fold(self, values: Values) -> list[tuple[Series, ...]]:
        """Apply what is held to `values`; returns the shapes it wrote."""
        taken = self.take()
        for count, _, update in taken:
            for name, labels in update.increments:
                series = values.setdefault(name, {})
                series[labels] = series.get(labels, 0.0) + count
            for name, labels, value in update.maxima:
                series = values.setdefault(name, {})
                current = series.get(labels)
                if current is None or value > current:
                    series[labels] = value
        return [update.written for _, _, update in taken]

    def __len__(self) -> int:
        return len(self._held)
