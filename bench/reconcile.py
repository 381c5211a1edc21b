"""How long one reading of every group push mapping takes within Okta's rate limits.

The reconciler reads an emulated org (tests/okta_emulator.py) with Okta's Workforce
buckets: 100 requests a minute for /api/v1/apps and /api/v1/apps/*, 1,000 for
/api/v1/groups/{id}. Time is the emulator's, moved only by the reconciler's own pacing, so
a reading's duration is what it would take against Okta; the wall time is our CPU cost.
The baseline is the steady pace the rate-limit share allows: each bucket's requests at
`share` of its limit per minute, the buckets in turn (a reading that starts inside a
minute gets that minute's whole share sooner, so it can come in under 1). A first reading
asks every group's name; a second one finds them cached.

Usage: python -m bench.reconcile [--apps 100] [--mappings 10] [--share 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

from aiohttp.test_utils import TestServer

from bench.common import machine
from exporter.okta.auth import SswsAuth
from exporter.okta.client import OktaClient
from exporter.okta.metrics import ReconcileMetrics
from exporter.okta.reconciler import Reconciler, ReconcileSettings
from exporter.state import MetricState
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


async def run(apps: int, mappings: int, share: float) -> None:
    clock = Clock()
    org = Emulator(clock=clock.time)
    for a in range(apps):
        app = org.add_app(f"App {a}")
        for m in range(mappings):
            org.add_mapping(app, org.add_group(f"Group {a}-{m}"), status="ACTIVE")
    server = TestServer(org.app())
    await server.start_server()
    url = str(server.make_url("")).rstrip("/")
    store = MemoryStore(dedup_window=86400)
    await store.open()
    client = OktaClient(url, SswsAuth(org.api_token), clock=clock.time)
    reconciler = Reconciler(
        client, store, MetricState(), ReconcileMetrics(),
        ReconcileSettings(org_url=url, rate_share=share),
        clock=clock.time, sleep=clock.sleep, rng=random.Random(1),
    )  # fmt: skip
    print(f"Machine: {machine()}")
    print(f"{apps} apps x {mappings} mappings, share {share:g}\n")
    print("| reading | requests | 429s | paced (Okta time) | steady pace | ratio | wall |")
    print("|---|---|---|---|---|---|---|")
    try:
        for name in ("first (names asked)", "second (names cached)"):
            before, started, wall = len(org.api_requests), clock.now, time.perf_counter()
            await reconciler.step()
            wall = time.perf_counter() - wall
            made = org.api_requests[before:]
            by_bucket = {"apps": 0, "groups": 0}
            for request in made:
                by_bucket["groups" if request.path.startswith("/api/v1/groups/") else "apps"] += 1
            steady = sum(60.0 * n / (share * org.bucket_limits[b]) for b, n in by_bucket.items())
            paced = clock.now - started
            refused = sum(r.status == 429 for r in made)
            print(
                f"| {name} | {len(made):,} | {refused} | {paced:.0f} s | {steady:.0f} s |"
                f" {paced / steady:.2f} | {wall:.1f} s |"
            )
    finally:
        await client.close()
        await store.close()
        await server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--apps", type=int, default=100)
    parser.add_argument("--mappings", type=int, default=10)
    parser.add_argument("--share", type=float, default=0.5)
    args = parser.parse_args()
    asyncio.run(run(args.apps, args.mappings, args.share))


if __name__ == "__main__":
    main()
