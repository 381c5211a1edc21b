"""What an event costs in the ledger, part by part, in one process.

The same 50,000 distinct events (50-event hook bodies, as bench/ingest.py makes them) are
parsed once, then recorded by ledgers built with parts left out: the exemplars, the
/status page's recent record, the exposition's change tracking, all three, and the
`records.Tallies` optimisation (the metric state and the memory store then apply every
update at once). Each variant runs in turn, `--rounds` times; the best CPU time
(`time.process_time`, so that the machine's neighbours count less) per event is printed,
with `orjson.loads` and our parse of the same bodies for scale.

Usage: python -m bench.ledger_parts [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from collections.abc import Callable, Iterable, Sequence

import orjson
from prometheus_client import CollectorRegistry

from bench.common import machine
from bench.ingest import bodies
from exporter.config import Config, label_policy
from exporter.counting.exemplars import Exemplars
from exporter.counting.ledger import Ledger
from exporter.counting.planner import limits
from exporter.counting.recent import Recent
from exporter.counting.state import MetricState
from exporter.ingest.events import Event
from exporter.ingest.hookbody import parse_hook_body
from exporter.metrics.exposition import Exposition
from exporter.metrics.health import Health
from exporter.metrics.selfmetrics import SelfMetrics
from exporter.records import Update, apply
from exporter.store.memory import MemoryStore

EVENTS = 50_000


class AtOnceState(MetricState):
    """The metric state without `Tallies`: every update applies when it comes."""

    def apply_all(self, updates: Iterable[Update]) -> None:
        for update in updates:
            self._apply_now(update)


class AtOnceStore(MemoryStore):
    """The memory store without `Tallies`."""

    def _apply(self, updates: Sequence[Update]) -> None:
        for update in updates:
            apply(self._values, update)


def ledger_cost(
    batches: list[tuple[Event, ...]],
    *,
    exemplars: bool = True,
    recent: bool = True,
    watch: bool = True,
    tallies: bool = True,
) -> float:
    """CPU seconds per event to record `batches` with a fresh ledger built so."""
    config = Config()
    registry = CollectorRegistry()
    metrics = SelfMetrics(registry)
    state = (MetricState if tallies else AtOnceState)(limits(config))
    if watch:
        Exposition(state, registry)
    store = (MemoryStore if tallies else AtOnceStore)(config.storage.dedup_window)
    ledger = Ledger(
        store,
        state,
        metrics,
        Health(metrics),
        time.time,
        policy=label_policy(config),
        exemplars=Exemplars() if exemplars else None,
        recent=Recent() if recent else None,
    )

    async def run() -> float:
        started = time.process_time()
        for events in batches:
            await ledger.record(events, "event_hook")
        return time.process_time() - started

    return asyncio.run(run()) / EVENTS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    payloads = bodies(EVENTS, 50)
    batches = [parse_hook_body(body).events for body in payloads]

    def timed(work: Callable[[bytes], object]) -> float:
        started = time.process_time()
        for body in payloads:
            work(body)
        return (time.process_time() - started) / EVENTS

    variants: dict[str, Callable[[], float]] = {
        "orjson.loads": lambda: timed(orjson.loads),
        "parse_hook_body": lambda: timed(parse_hook_body),
        "ledger as in the app": lambda: ledger_cost(batches),
        "  without exemplars": lambda: ledger_cost(batches, exemplars=False),
        "  without recent record": lambda: ledger_cost(batches, recent=False),
        "  without change tracking": lambda: ledger_cost(batches, watch=False),
        "  without all three": lambda: ledger_cost(
            batches, exemplars=False, recent=False, watch=False
        ),
        "  without Tallies": lambda: ledger_cost(batches, tallies=False),
    }
    best = dict.fromkeys(variants, float("inf"))
    for _ in range(args.rounds):
        for name, run in variants.items():
            gc.collect()
            best[name] = min(best[name], run())
    print(f"machine: {machine()}")
    for name, seconds in best.items():
        print(f"{name:28} {seconds * 1e6:5.2f} us per event (best of {args.rounds})")


if __name__ == "__main__":
    main()
