"""In-process ingest against `orjson.loads` alone, on the same 50-event hook bodies.

Ours: parse the envelope, classify, dedup (memory store) and count (label governance on,
default caps), as a hook delivery does minus HTTP. Baseline: `orjson.loads` of the same
bodies and nothing else. Every event has its own uuid; each round gets a fresh store, so
nothing is a duplicate. Rounds alternate; the ratio of the medians is the claim.

Usage: python -m bench.ingest [--events 50000] [--batch 50] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time

import orjson
from prometheus_client import CollectorRegistry

from bench.common import failure_event, machine
from exporter.config import Config, label_policy
from exporter.counting.exemplars import Exemplars
from exporter.counting.ledger import Ledger
from exporter.counting.planner import limits
from exporter.counting.recent import Recent
from exporter.counting.state import MetricState
from exporter.ingest.hookbody import parse_hook_body
from exporter.metrics.exposition import Exposition
from exporter.metrics.health import Health
from exporter.metrics.selfmetrics import SelfMetrics
from exporter.store.memory import MemoryStore


def bodies(events: int, batch: int) -> list[bytes]:
    """Hook envelopes of `batch` distinct ~2 KB events (20 apps x 100 groups)."""
    out = []
    for start in range(0, events, batch):
        items = [failure_event(app=i % 20, group=i % 100) for i in range(start, start + batch)]
        out.append(orjson.dumps({"eventType": "com.okta.event_hook", "data": {"events": items}}))
    return out


def baseline(payloads: list[bytes]) -> float:
    started = time.perf_counter()
    for body in payloads:
        orjson.loads(body)
    return time.perf_counter() - started


def ours(payloads: list[bytes]) -> float:
    config = Config()
    registry = CollectorRegistry()
    metrics = SelfMetrics(registry)
    state = MetricState(limits(config))
    Exposition(state, registry)  # as in the app: the state notes changes for /metrics
    ledger = Ledger(
        MemoryStore(config.storage.dedup_window),
        state,
        metrics,
        Health(metrics),
        time.time,
        policy=label_policy(config),
        exemplars=Exemplars(),  # as in the app: the newest event per failure counter
        recent=Recent(),  # as in the app: the /status page's record
    )

    async def run() -> float:
        started = time.perf_counter()
        for body in payloads:
            batch = parse_hook_body(body)
            await ledger.record(batch.events, "event_hook")
        return time.perf_counter() - started

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    payloads = bodies(args.events, args.batch)
    size = sum(map(len, payloads)) / args.events
    rates: dict[str, list[float]] = {"orjson.loads": [], "ours": []}
    for round_no in range(args.rounds):
        for name, run in (("orjson.loads", baseline), ("ours", ours)):
            gc.collect()
            rate = args.events / run(payloads)
            rates[name].append(rate)
            print(f"round {round_no} {name:12}: {rate:9.0f} events/s")
    base = statistics.median(rates["orjson.loads"])
    mine = statistics.median(rates["ours"])
    print(f"machine: {machine()}")
    print(f"events: {args.events} in {args.batch}-event bodies, {size:.0f} bytes/event")
    pairs = [o / b for b, o in zip(rates["orjson.loads"], rates["ours"], strict=True)]
    print(
        f"median events/s: orjson.loads {base:.0f}, ours {mine:.0f}; ratio {mine / base:.2f}; "
        f"per-round ratios {', '.join(f'{r:.2f}' for r in pairs)}, median "
        f"{statistics.median(pairs):.2f} (target >= 0.50)"
    )


if __name__ == "__main__":
    main()
