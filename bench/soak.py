"""Soak: a steady hook delivery rate with unique events, sampling RSS, fds and latency.

Usage: python -m bench.soak --minutes 30 --rate 100 [--events 5] [--interval 60]
Prints one line per interval and a summary: memory is "flat" when the RSS of the last
third of the run grew less than 5% over the first sample after warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
import orjson

from bench.common import SECRET, exporter, failure_event, machine


def sample(pid: int) -> tuple[int, int]:
    """(RSS in KiB, open file descriptors) of `pid`."""
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


async def soak(url: str, pid: int, args: argparse.Namespace) -> list[tuple[float, int, int, float]]:
    rows: list[tuple[float, int, int, float]] = []
    headers = {"Authorization": SECRET, "Content-Type": "application/json"}
    latencies: list[float] = []
    errors = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=32)) as session:

        async def deliver(apps: int) -> None:
            nonlocal errors
            events = [failure_event(app=apps % 20, group=apps % 50) for _ in range(args.events)]
            body = orjson.dumps({"eventType": "com.okta.event_hook", "data": {"events": events}})
            started = time.perf_counter()
            async with session.post(f"{url}/hooks/okta", data=body, headers=headers) as response:
                await response.read()
                errors += response.status != 204
            latencies.append(time.perf_counter() - started)

        start = time.monotonic()
        end = start + args.minutes * 60
        next_sample = start + args.interval
        tick = 1 / args.rate
        sent = 0
        tasks: set[asyncio.Task[None]] = set()
        while (now := time.monotonic()) < end:
            due = int((now - start) / tick)
            while sent < due:
                task = asyncio.create_task(deliver(sent))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                sent += 1
            if now >= next_sample:
                rss, fds = sample(pid)
                ordered = sorted(latencies) or [float("nan")]
                p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000
                rows.append((now - start, rss, fds, p99))
                print(f"t={now - start:6.0f}s rss={rss / 1024:7.1f} MiB fds={fds:4d} "
                      f"p99={p99:6.1f} ms sent={sent} errors={errors}", flush=True)  # fmt: skip
                latencies.clear()
                next_sample += args.interval
            await asyncio.sleep(tick / 2)
        await asyncio.gather(*tasks)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--rate", type=float, default=100, help="deliveries per second")
    parser.add_argument("--events", type=int, default=5, help="events per delivery")
    parser.add_argument("--interval", type=float, default=60, help="seconds between samples")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, exporter(Path(tmp) / "state") as running:
        rows = asyncio.run(soak(running.url, running.pid, args))
    print(f"machine: {machine()}")
    warm = rows[max(1, len(rows) // 6)] if len(rows) > 1 else rows[0]
    tail = rows[-max(1, len(rows) // 3) :]
    growth = (statistics.mean(r[1] for r in tail) - warm[1]) / warm[1] * 100
    mean_tail = statistics.mean(r[1] for r in tail)
    print(
        f"rss after warm-up {warm[1] / 1024:.1f} MiB, last third mean {mean_tail / 1024:.1f} MiB "
        f"({growth:+.1f}%); fds {min(r[2] for r in rows)}..{max(r[2] for r in rows)}; "
        f"p99 max {max(r[3] for r in rows):.1f} ms; flat: {'yes' if growth < 5 else 'NO'}"
    )


if __name__ == "__main__":
    main()
