"""MetricState reads exactly what a plain dict of counters and maxima would.

A Hypothesis state machine drives the in-process metric state (updates one by one and in
batches, merges and loads of a store's snapshot, drops, change tracking for the exposition,
and, with per-series times on, expiry by an injected clock) next to a model made of plain
dicts, and compares every read after each step. Whatever the state keeps to go fast (its
journal of pending updates, its change tables), no read may tell it from the model.
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from exporter.counting.state import Labels, MetricState, Series, Update
from exporter.ingest.classify import Kind

NAMES = ("counter", "gauge")
LABELS = (("a",), ("b",), ("c",))
# Update shapes as the ledger's planner makes them: events with the same labels share one
# `written` tuple (the state tallies such updates together), counters first, then maxima.
SHAPES: tuple[tuple[tuple[Series, ...], tuple[Series, ...]], ...] = tuple(
    ((("counter", labels),), (("gauge", labels),)) for labels in LABELS
)
ALL_SERIES = [series for increments, maxima in SHAPES for series in increments + maxima]
values = st.floats(min_value=0.0, max_value=1000.0, allow_nan=False).map(round)


class MetricStateModel(RuleBasedStateMachine):
    """The state against dicts: counters add 1, gauges keep the maximum, drops remember."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.model: dict[Series, float] = {}
        self.touched: dict[Series, float] = {}
        self.tombstones: dict[Series, float] = {}
        self.changed: dict[str, set[Labels]] = {name: set() for name in NAMES}
        self.state = MetricState()
        self.uuid = 0

    @initialize(expiry=st.booleans())
    def start(self, expiry: bool) -> None:
        """With series expiry on, every write stamps a time; off, updates may be tallied."""
        self.state = MetricState(clock=lambda: self.now, track_updates=expiry)
        self.expiry = expiry
        self.state.watch()

    def _mark(self, series: Series) -> None:
        self.changed[series[0]].add(series[1])
        self.touched[series] = self.now

    def _update(self, shape: int, value: float) -> Update:
        increments, maxima = SHAPES[shape]
        self.uuid += 1
        return Update(
            uuid=str(self.uuid),
            kind=Kind.TERMINAL_FAILURE,
            increments=increments,
            maxima=tuple((name, labels, value) for name, labels in maxima),
            written=(*increments, *maxima),  # a new tuple: shared only within one batch
            rank=value,
        )

    def _model_apply(self, shape: int, value: float) -> None:
        increments, maxima = SHAPES[shape]
        for series in increments:
            self.model[series] = self.model.get(series, 0.0) + 1.0
            self._mark(series)
        for series in maxima:
            self.model[series] = max(self.model.get(series, value), value)
            self._mark(series)

    @rule(shape=st.integers(0, len(SHAPES) - 1), value=values)
    def apply_one(self, shape: int, value: float) -> None:
        self.state.apply(self._update(shape, value))
        self._model_apply(shape, value)

    @rule(batch=st.lists(st.tuples(st.integers(0, len(SHAPES) - 1), values), max_size=8))
    def apply_a_batch_sharing_shapes(self, batch: list[tuple[int, float]]) -> None:
        """Updates of one shape share their `written` tuple, as the planner's do."""
        shared: dict[int, tuple[Series, ...]] = {}
        updates = []
        for shape, value in batch:
            update = self._update(shape, value)
            written = shared.setdefault(shape, update.written)
            updates.append(
                Update(
                    update.uuid,
                    update.kind,
                    update.increments,
                    update.maxima,
                    written=written,
                    rank=value,
                )
            )
            self._model_apply(shape, value)
        self.state.apply_all(updates)

    @rule(snapshot=st.dictionaries(st.sampled_from(ALL_SERIES), values, max_size=4))
    def merge_a_store_snapshot(self, snapshot: dict[Series, float]) -> None:
        """A refresh from the shared store: each series rises to at least the stored value,
        and a series this process just dropped stays gone unless the store moved past it."""
        for series, value in snapshot.items():
            current = self.model.get(series)
            if current is not None and value <= current:
                continue
            if current is None and value <= self.tombstones.get(series, float("-inf")):
                continue
            self.model[series] = value
            self._mark(series)
        self.state.merge(_by_name(snapshot))

    @rule(picks=st.lists(st.integers(0, 20), max_size=3), wrong=st.booleans())
    def drop_some(self, picks: list[int], wrong: bool) -> None:
        """Drop series holding the given value; a value that moved on keeps the series."""
        live = sorted(self.model)
        chosen = {live[i % len(live)] for i in picks} if live else set()
        request = [(s[0], s[1], self.model[s] + (1.0 if wrong else 0.0)) for s in chosen]
        self.tombstones = {}
        expected = 0
        if not wrong:
            for series in chosen:
                self.tombstones[series] = self.model.pop(series)
                self.touched.pop(series, None)
                self.changed[series[0]].add(series[1])
                expected += 1
        assert self.state.drop(request) == expected

    @rule(seconds=st.integers(1, 100))
    def time_passes(self, seconds: int) -> None:
        self.now += seconds

    @rule(age=st.integers(0, 200))
    def stale_series_are_the_ones_not_written_since(self, age: int) -> None:
        before = self.now - age
        got = {(name, labels): value for name, labels, value in self.state.stale(before)}
        if not self.expiry:
            assert got == {}
            return
        expected = {s: self.model[s] for s, at in self.touched.items() if at < before}
        assert got == expected

    @rule(name=st.sampled_from(NAMES), most=st.integers(1, 4))
    def changed_series_are_taken_once(self, name: str, most: int) -> None:
        taken = self.state.changed(name, most)
        assert len(taken) == len(set(taken)) <= most
        assert set(taken) <= self.changed[name]
        self.changed[name] -= set(taken)

    @invariant()
    def every_read_agrees_with_the_model(self) -> None:
        by_name = _by_name(self.model)
        assert {n: s for n, s in self.state.values().items() if s} == by_name
        for name in NAMES:
            assert self.state.series(name) == by_name.get(name, {})
        assert self.state.count() == len(self.model)


def _by_name(flat: dict[Series, float]) -> dict[str, dict[Labels, float]]:
    out: dict[str, dict[Labels, float]] = {}
    for (name, labels), value in flat.items():
        out.setdefault(name, {})[labels] = value
    return out


MetricStateModel.TestCase.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None
)
test_metric_state_reads_like_plain_dicts = MetricStateModel.TestCase
