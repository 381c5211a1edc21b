"""Hook latency while /metrics with 100,000 series is scraped every second, against none.

Setup: a SQLite state holding N series of okta_group_push_failures_total (50 applications
x 10 groups x 200 actors by default), written through the exporter's own store. Each
round copies it, starts the exporter on the copy (the default SQLite store, fsync on every
commit), scrapes once so every line is rendered (as Prometheus does from the start), then
sends hook deliveries of 10 unique events at a fixed rate for the round's duration, open
loop: each delivery leaves on its schedule whatever the previous ones took. With scrapes,
a separate process GETs /metrics every second with the Accept and Accept-Encoding headers
Prometheus 3 sends, reading the whole (gzip) body. Conditions alternate round by round on
the same machine; the p99 of each is the claim.

Usage: python -m bench.scrape_latency [--series 100000] [--seconds 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import orjson

from bench.common import SECRET, UniqueBodies, exporter, machine
from exporter import catalogue
from exporter.counting.state import Update
from exporter.ingest.classify import Kind
from exporter.store.sqlite import SqliteStore

PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,"
    "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
)


async def seed(directory: Path, series: int) -> None:
    """`series` counted label sets in a SQLite state, as the exporter would have written."""
    store = SqliteStore(directory)
    await store.open()
    name = catalogue.FAILURES.name
    updates = [
        Update(f"seed-{i}", Kind.TERMINAL_FAILURE, ((name, labels),))
        for i, labels in enumerate(
            (f"App {a}", f"Group {g}", f"actor{u}@example.com")
            for a in range(50)
            for g in range(max(1, series // (50 * 200)))
            for u in range(200)
        )
    ][:series]
    for start in range(0, len(updates), 5000):
        await store.commit(updates[start : start + 5000], time.time())
    await store.close()


async def hooks(url: str, rate: float, seconds: float, events: int) -> list[float]:
    """Deliveries at `rate` per second for `seconds`; their latencies in seconds."""
    bodies = UniqueBodies(events, apps=50, groups=10)
    headers = {"Authorization": SECRET, "Content-Type": "application/json"}
    latencies: list[float] = []
    failures = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def deliver(body: bytes) -> None:
            nonlocal failures
            started = time.perf_counter()
            async with session.post(f"{url}/hooks/okta", data=body, headers=headers) as response:
                await response.read()
                failures += response.status != 204
            latencies.append(time.perf_counter() - started)

        tasks = []
        begin = time.perf_counter()
        for n in range(int(rate * seconds)):
            body = bodies()
            delay = begin + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(deliver(body)))
        await asyncio.gather(*tasks)
    if failures:
        raise RuntimeError(f"{failures} deliveries failed")
    return latencies


async def scrape_loop(url: str, seconds: float) -> list[float]:
    """GET /metrics every second as Prometheus does; the scrape durations in seconds."""
    headers = {"Accept": PROMETHEUS_ACCEPT, "Accept-Encoding": "gzip"}
    durations = []
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        end = time.perf_counter() + seconds
        while (now := time.perf_counter()) < end:
            async with session.get(f"{url}/metrics", headers=headers) as response:
                await response.read()
            durations.append(time.perf_counter() - now)
            await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - now)))
    return durations


def scrape_once(url: str) -> float:
    started = time.perf_counter()

    async def get() -> None:
        async with aiohttp.ClientSession() as session, session.get(f"{url}/metrics") as response:
            await response.read()

    asyncio.run(get())
    return time.perf_counter() - started


def round_of(
    state: Path, workdir: Path, args: argparse.Namespace, *, scrapes: bool
) -> dict[str, list[float]]:
    shutil.copytree(state, workdir)
    flags = ["--labels.max-series=200000", "--labels.max-values=100000", "--log.level=info"]
    with exporter(workdir, *flags) as running:
        first = scrape_once(running.url)  # wait for the store to load; render every line
        scraper = None
        if scrapes:
            argv = [sys.executable, "-m", "bench.scrape_latency", "--scraper", running.url,
                    f"--seconds={args.seconds + 1}"]  # fmt: skip
            scraper = subprocess.Popen(argv, stdout=subprocess.PIPE)
            time.sleep(0.5)  # the first scrape is under way when the deliveries start
        latencies = asyncio.run(hooks(running.url, args.rate, args.seconds, args.events))
        durations = orjson.loads(scraper.communicate()[0]) if scraper is not None else []
    return {"latencies": latencies, "scrapes": durations, "first": [first]}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--series", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=20.0, help="deliveries per second")
    parser.add_argument("--events", type=int, default=10, help="events per delivery")
    parser.add_argument("--scraper", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scraper:
        sys.stdout.write(
            orjson.dumps(asyncio.run(scrape_loop(args.scraper, args.seconds))).decode()
        )
        return
    p99: dict[str, list[float]] = {"no scrapes": [], "scraped every 1 s": []}
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "seed"
        asyncio.run(seed(state, args.series))
        for round_no in range(args.rounds):
            for condition, results in p99.items():
                scrapes = condition != "no scrapes"
                workdir = Path(tmp) / f"{round_no}-{scrapes}"
                run = round_of(state, workdir, args, scrapes=scrapes)
                latencies = run["latencies"]
                results.append(percentile(latencies, 0.99))
                scraped = (
                    f", {len(run['scrapes'])} scrapes, median "
                    f"{statistics.median(run['scrapes']) * 1000:.0f} ms"
                    if run["scrapes"]
                    else ""
                )
                print(
                    f"round {round_no} {condition:17}: {len(latencies)} deliveries, "
                    f"p50 {percentile(latencies, 0.5) * 1000:6.1f} ms, "
                    f"p99 {results[-1] * 1000:6.1f} ms, max {max(latencies) * 1000:6.1f} ms"
                    f"{scraped} (first scrape {run['first'][0] * 1000:.0f} ms)"
                )
    quiet = statistics.median(p99["no scrapes"]) * 1000
    busy = statistics.median(p99["scraped every 1 s"]) * 1000
    pairs = [b / q for q, b in zip(p99["no scrapes"], p99["scraped every 1 s"], strict=True)]
    print(f"machine: {machine()}")
    print(
        f"{args.series} series; median p99: no scrapes {quiet:.1f} ms, scraped every 1 s "
        f"{busy:.1f} ms; ratio {busy / quiet:.2f}; per-round ratios "
        f"{', '.join(f'{r:.2f}' for r in pairs)} (targets: under 100 ms, ratio <= 2)"
    )


if __name__ == "__main__":
    main()
