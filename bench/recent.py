"""What feeding the /status page's recent record costs the ledger, per event.

The same 50-event hook bodies as bench/ingest.py (parsed beforehand), recorded by a
ledger on the in-memory store without a recent record and with one, alternating rounds;
the minimum of each is the claim, with `Recent.note_batch` alone timed on the same
planned batches.

Usage: python -m bench.recent [--events 50000] [--batch 50] [--rounds 7]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time

from prometheus_client import CollectorRegistry

from bench.common import machine
from bench.ingest import bodies
from exporter.config import Config, label_policy
from exporter.counting.ledger import Ledger
from exporter.counting.planner import Planner, limits
from exporter.counting.recent import Recent
from exporter.counting.state import MetricState, Update
from exporter.ingest.classify import classify
from exporter.ingest.events import Event
from exporter.ingest.hookbody import parse_hook_body
from exporter.metrics.exposition import Exposition
from exporter.metrics.health import Health
from exporter.metrics.selfmetrics import SelfMetrics
from exporter.store.memory import MemoryStore


def record(batches: list[list[Event]], recent: Recent | None) -> float:
    config = Config()
    registry = CollectorRegistry()
    metrics = SelfMetrics(registry)
    state = MetricState(limits(config))
    Exposition(state, registry)
    ledger = Ledger(
        MemoryStore(config.storage.dedup_window),
        state,
        metrics,
        Health(metrics),
        time.time,
        policy=label_policy(config),
        recent=recent,
    )

    async def run() -> float:
        started = time.perf_counter()
        for events in batches:
            await ledger.record(events, "event_hook")
        return time.perf_counter() - started

    return asyncio.run(run())


def feed(planned: list[tuple[list[Event], list[Update]]]) -> float:
    recent = Recent()
    started = time.perf_counter()
    for events, updates in planned:
        recent.note_batch(events, updates)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    batches = [list(parse_hook_body(body).events) for body in bodies(args.events, args.batch)]
    planner = Planner(label_policy(Config()))
    planned = [
        (events, [planner(e, classify(e.event_type, e.outcome), 0.0) for e in events])
        for events in batches
    ]
    without, with_recent, alone = [], [], []
    for _ in range(args.rounds):
        gc.collect()
        without.append(record(batches, None))
        gc.collect()
        with_recent.append(record(batches, Recent()))
        alone.append(feed(planned))
    per_event = 1e6 / args.events
    base, fed, note = min(without) * per_event, min(with_recent) * per_event, min(alone) * per_event
    print(f"machine: {machine()}")
    print(
        f"ledger.record us/event: without {base:.2f}, with the recent record {fed:.2f} "
        f"(+{fed / base - 1:.0%}); note_batch alone {note:.2f} us/event"
    )


if __name__ == "__main__":
    main()
