"""How long one reading of every group push mapping takes within Okta's rate limits.

The reconciler reads an emulated org (tests/okta_emulator.py) with Okta's Workforce
buckets: 100 requests a minute for /api/v1/apps and /api/v1/apps/*, 1,000 for
/api/v1/groups/{id}. Time is the emulator's, moved only by the reconciler's own pacing, so
a reading's duration is what it would take against Okta; the wall time is our CPU cost.
The baseline is the steady pace the rate-limit share allows: each bucket's requests at
`share` of its limit per minute, the buckets in turn (a reading that starts inside a
minute gets that minute's whole share sooner, so it can come in under 1). A first reading
asks every group's name; a second one finds them cached.

The same readings run twice, side by side: against a healthy org, and against one that
answers every `--flaky`-th request with a 500 (tests/okta_emulator.py `flaky`), which the
reconciler tries again request by request (exporter/okta/retry.py). "flaky/healthy" is
the paced duration's ratio to the healthy org's.

Usage: python -m bench.reconcile [--apps 100] [--mappings 10] [--share 0.5] [--flaky 5]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from dataclasses import dataclass

from aiohttp.test_utils import TestServer

from bench.common import machine
from exporter.counting.state import MetricState
from exporter.okta.auth import SswsAuth
from exporter.okta.client import OktaClient
from exporter.okta.metrics import ReconcileMetrics, RetryMetrics
from exporter.okta.reconciler import Reconciler, ReconcileSettings
from exporter.store.memory import MemoryStore
from tests.okta_emulator import Emulator

START = 1_795_000_000.0


class Clock:
    """Time that moves only when the reconciler waits."""

    def __init__(self) -> None:
        self.now = START

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


@dataclass(frozen=True)
class Reading:
    """One reading as measured: its requests, failures, retries and durations."""

    name: str
    requests: int
    refused: int  # 429s
    failed: int  # the injected 500s
    retries: float
    paced: float  # Okta time: what the reading would take against Okta
    steady: float  # the steady pace the share allows for these requests
    wall: float
    mappings: int  # the status series that are 1: mappings exported


async def readings(apps: int, mappings: int, share: float, flaky: int) -> list[Reading]:
    """A first and a second reading of a fresh org; every `flaky`-th request a 500 (0: none)."""
    clock = Clock()
    org = Emulator(clock=clock.time)
    for a in range(apps):
        app = org.add_app(f"App {a}")
        for m in range(mappings):
            org.add_mapping(app, org.add_group(f"Group {a}-{m}"), status="ACTIVE")
    org.flaky(flaky)
    server = TestServer(org.app())
    await server.start_server()
    url = str(server.make_url("")).rstrip("/")
    store = MemoryStore(dedup_window=86400)
    await store.open()
    client = OktaClient(url, SswsAuth(org.api_token), clock=clock.time)
    metrics, retries = ReconcileMetrics(), RetryMetrics()
    reconciler = Reconciler(
        client, store, MetricState(), metrics,
        ReconcileSettings(org_url=url, rate_share=share),
        clock=clock.time, sleep=clock.sleep, rng=random.Random(1), retries=retries,
    )  # fmt: skip
    results = []
    try:
        for name in ("first (names asked)", "second (names cached)"):
            before, started, wall = len(org.api_requests), clock.now, time.perf_counter()
            retried = sum(retries.retries.values())
            await reconciler.step()
            wall = time.perf_counter() - wall
            made = org.api_requests[before:]
            by_bucket = {"apps": 0, "groups": 0}
            for request in made:
                by_bucket["groups" if request.path.startswith("/api/v1/groups/") else "apps"] += 1
            results.append(
                Reading(
                    name=name,
                    requests=len(made),
                    refused=sum(r.status == 429 for r in made),
                    failed=sum(r.status == 500 for r in made),
                    retries=sum(retries.retries.values()) - retried,
                    paced=clock.now - started,
                    steady=sum(
                        60.0 * n / (share * org.bucket_limits[b]) for b, n in by_bucket.items()
                    ),
                    wall=wall,
                    mappings=round(sum(metrics.series.status.values())),
                )
            )
    finally:
        await client.close()
        await store.close()
        await server.close()
    return results


async def run(apps: int, mappings: int, share: float, flaky: int) -> None:
    print(f"Machine: {machine()}")
    print(f"{apps} apps x {mappings} mappings, share {share:g}, fault: every {flaky}th a 500\n")
    print(
        "| reading | Okta | requests | 500s | retries | 429s | mappings read | paced (Okta time)"
        " | steady pace | paced/steady | flaky/healthy | wall |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    healthy = await readings(apps, mappings, share, 0)
    faulty = await readings(apps, mappings, share, flaky)
    for good, bad in zip(healthy, faulty, strict=True):
        for label, r in (("healthy", good), (f"every {flaky}th a 500", bad)):
            print(
                f"| {r.name} | {label} | {r.requests:,} | {r.failed} | {r.retries:.0f} |"
                f" {r.refused} | {r.mappings:,} | {r.paced:.0f} s | {r.steady:.0f} s |"
                f" {r.paced / r.steady:.2f} | {r.paced / good.paced:.2f} | {r.wall:.1f} s |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--apps", type=int, default=100)
    parser.add_argument("--mappings", type=int, default=10)
    parser.add_argument("--share", type=float, default=0.5)
    parser.add_argument("--flaky", type=int, default=5, help="every Nth request a 500")
    args = parser.parse_args()
    asyncio.run(run(args.apps, args.mappings, args.share, args.flaky))


if __name__ == "__main__":
    main()
