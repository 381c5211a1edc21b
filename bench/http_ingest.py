"""HTTP ingest of 50-event hook deliveries: the exporter against a bare aiohttp handler.

Both are processes on loopback, driven by the same aiohttp load generator (16
connections, closed loop) with bodies of 50 ~2 KB events whose uuids are never repeated.
Besides the rates, each round reads the server process's CPU time per request from /proc:
on a shared, noisy machine the rate of a round moves with the neighbours, while the CPU
a request costs the server moves much less, so its ratio is printed as a second figure.
The exporter runs as deployed (secret check, parse, classify, dedup, count with label
governance on, one JSON log line per delivery) with the in-memory store, so storage
fsyncs do not hide the rest (bench/durability.py measures SQLite); the baseline reads the
body and parses the JSON, nothing else. Rounds alternate; the median of the per-round
ratios is the claim (the ratio of the medians is printed too).

Usage: python -m bench.http_ingest [--seconds 10] [--rounds 3] [--events 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.common import (
    LoadResult,
    Running,
    UniqueBodies,
    cpu_seconds,
    exporter,
    free_port,
    listening,
    machine,
    post_load,
)


@contextmanager
def bare_server() -> Iterator[Running]:
    port = free_port()
    with listening([sys.executable, "-m", "bench.bare_server", f"--port={port}"], port) as bare:
        yield bare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    bodies = UniqueBodies(args.events)
    rates: dict[str, list[float]] = {"bare": [], "exporter": []}
    cpu: dict[str, list[float]] = {"bare": [], "exporter": []}  # server CPU s per request
    with tempfile.TemporaryDirectory() as tmp:
        for round_no in range(args.rounds):
            for name, results in rates.items():
                if name == "bare":
                    server = bare_server()
                else:
                    # Log lines go nowhere, but are formatted as in production (info).
                    server = exporter_process(Path(tmp) / f"r{round_no}")
                with server as running:
                    before = cpu_seconds(running.pid)
                    result: LoadResult = asyncio.run(
                        post_load(f"{running.url}/hooks/okta", bodies,
                                  concurrency=args.concurrency, seconds=args.seconds)
                    )  # fmt: skip
                    cpu[name].append((cpu_seconds(running.pid) - before) / result.requests)
                rate = result.rps * args.events
                results.append(rate)
                print(
                    f"round {round_no} {name:8}: {rate:8.0f} events/s ({result.rps:6.0f} req/s, "
                    f"p99 {result.percentile(0.99) * 1000:6.1f} ms, errors {result.errors}, "
                    f"server CPU {cpu[name][-1] * 1e6:5.0f} us/request)"
                )
    bare = statistics.median(rates["bare"])
    ours = statistics.median(rates["exporter"])
    # Each round's pair ran back to back: its ratio is less exposed to the machine's drift.
    pairs = [mine / base for base, mine in zip(rates["bare"], rates["exporter"], strict=True)]
    print(f"machine: {machine()}")
    print(
        f"median events/s: bare handler {bare:.0f}, exporter {ours:.0f}; ratio {ours / bare:.2f}; "
        f"per-round ratios {', '.join(f'{r:.2f}' for r in pairs)}, median "
        f"{statistics.median(pairs):.2f} (target >= 0.70)"
    )
    bare_cpu, ours_cpu = statistics.median(cpu["bare"]), statistics.median(cpu["exporter"])
    print(
        f"median server CPU per request: bare handler {bare_cpu * 1e6:.0f} us, exporter "
        f"{ours_cpu * 1e6:.0f} us; bare/exporter {bare_cpu / ours_cpu:.2f}"
    )


@contextmanager
def exporter_process(workdir: Path) -> Iterator[Running]:
    flags = ["--storage.backend=memory", "--log.level=info", "--web.max-body-size=16MiB"]
    with exporter(workdir, *flags) as running:
        yield running


if __name__ == "__main__":
    main()
