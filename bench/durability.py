"""Durable SQLite against the in-memory store: hook deliveries of unique events.

Both servers run side by side in one run, in alternating rounds, on the same machine;
the result is their ratio. Usage:
python -m bench.durability [--seconds 10] [--rounds 3] [--concurrency 64] [--events 1]
(`--events 50 --concurrency 16`: 50-event deliveries from 16 connections.)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from pathlib import Path

import orjson

from bench.common import LoadResult, UniqueBodies, exporter, failure_event, machine, post_load


def envelope() -> bytes:
    return orjson.dumps({"eventType": "com.okta.event_hook", "data": {"events": [failure_event()]}})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--events", type=int, default=1, help="events per delivery")
    args = parser.parse_args()
    results: dict[str, list[LoadResult]] = {"memory": [], "sqlite": []}
    with tempfile.TemporaryDirectory() as tmp:
        for round_no in range(args.rounds):
            for backend in ("memory", "sqlite"):
                workdir = Path(tmp) / f"{backend}-{round_no}"
                bodies = envelope if args.events == 1 else UniqueBodies(args.events)
                with exporter(workdir, f"--storage.backend={backend}") as running:
                    result = asyncio.run(
                        post_load(f"{running.url}/hooks/okta", bodies,
                                  concurrency=args.concurrency, seconds=args.seconds)
                    )  # fmt: skip
                results[backend].append(result)
                print(
                    f"round {round_no} {backend:6}: {result.rps:8.0f} req/s "
                    f"({result.rps * args.events:8.0f} events/s)  "
                    f"p50 {result.percentile(0.5) * 1000:6.1f} ms  "
                    f"p99 {result.percentile(0.99) * 1000:6.1f} ms  errors {result.errors}"
                )
    memory = statistics.median(r.rps for r in results["memory"])
    sqlite = statistics.median(r.rps for r in results["sqlite"])
    p99 = statistics.median(r.percentile(0.99) for r in results["sqlite"]) * 1000
    print(f"machine: {machine()}")
    print(
        f"{args.events} event(s) per delivery, {args.concurrency} connections; "
        f"median req/s: memory {memory:.0f}, sqlite {sqlite:.0f}; ratio sqlite/memory "
        f"{sqlite / memory:.2f} (target >= 0.50); sqlite p99 {p99:.1f} ms (target < 50)"
    )


if __name__ == "__main__":
    main()
