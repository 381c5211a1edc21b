"""Shared fixtures: payload files, a configured app on a fresh registry, a test client."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from prometheus_client import CollectorRegistry

from exporter.config import Config, StorageSection, WebSection
from exporter.counting.ledger import Ledger
from exporter.counting.state import MetricState
from exporter.metrics.exposition import StateCollector
from exporter.metrics.health import Health
from exporter.metrics.selfmetrics import SelfMetrics
from exporter.okta.auth import Auth, SswsAuth
from exporter.okta.client import OktaClient
from exporter.okta.metrics import PollMetrics, ReconcileMetrics, RetryMetrics
from exporter.okta.poller import Poller, PollSettings
from exporter.okta.ratelimit import RateBudget
from exporter.okta.reconciler import Reconciler, ReconcileSettings
from exporter.store.base import Store
from exporter.store.memory import MemoryStore
from exporter.web.app import make_app
from exporter.web.appkeys import STATE
from tests.okta_emulator import Emulator

PAYLOADS = Path(__file__).parent / "payloads"
SECRET = "s3cret-for-tests"
ROTATED = "older-secret-still-accepted"
NOW = 1_795_000_000.0  # a fixed clock: 2026-11-18


def payload(name: str) -> Any:
    """A payload file from tests/payloads, decoded (NDJSON gives a list)."""
    data = (PAYLOADS / name).read_bytes()
    if name.endswith(".ndjson"):
        return [orjson.loads(line) for line in data.splitlines() if line.strip()]
    return orjson.loads(data)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config(
        storage=StorageSection(path=tmp_path),
        web=WebSection(hook_secrets=(SECRET, ROTATED), max_body_bytes=64 * 1024),
    )


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def app(config: Config, registry: CollectorRegistry) -> web.Application:
    app = make_app(
        config, MemoryStore(config.storage.dedup_window), clock=lambda: NOW, registry=registry
    )
    # The event-derived series too, for get_sample_value (/metrics renders them from its
    # own cache and skips this reference view).
    registry.register(StateCollector(app[STATE]))
    return app


Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def client(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]], app: web.Application
) -> Client:
    return await aiohttp_client(app)


def auth(secret: str = SECRET) -> dict[str, str]:
    return {"Authorization": secret, "Content-Type": "application/json"}


# --- the System Log poller: fake time, an emulated Okta org, keys ----------------------------


class FakeTime:
    """A clock and a sleep that only move when the code under test sleeps."""

    def __init__(self, start: float = NOW) -> None:
        self.now = start
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


async def wait_for(condition: Callable[[], bool], what: str, seconds: float = 10.0) -> None:
    """Let the event loop run until `condition` holds; fail naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds}s waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
async def memory() -> AsyncIterator[MemoryStore]:
    """An opened memory store (a day's dedup window)."""
    store = MemoryStore(dedup_window=86400)
    await store.open()
    yield store
    await store.close()


@pytest.fixture
def emulator(fake_time: FakeTime) -> Emulator:
    return Emulator(clock=fake_time.clock)


@pytest.fixture
async def org_url(
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]], emulator: Emulator
) -> str:
    """The emulated org's base URL (http on loopback, as the config allows)."""
    server = await aiohttp_server(emulator.app())
    return str(server.make_url("")).rstrip("/")


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass
class Rig:
    """A poller wired to a fresh ledger and registry, as `serve` wires it."""

    poller: Poller
    store: Store
    state: MetricState
    registry: CollectorRegistry

    def sample(self, name: str, labels: dict[str, str] | None = None) -> float | None:
        return self.registry.get_sample_value(name, labels or {})

    def failures(self) -> dict[tuple[str, ...], float]:
        return dict(self.state.series("okta_group_push_failures_total"))


def make_rig(
    org: str,
    store: Store,
    fake_time: FakeTime,
    *,
    auth: Auth | None = None,
    interval: float = 30.0,
    share: float = 0.5,
    timeout: float = 5.0,
    owner: str | None = None,
    budget: RateBudget | None = None,
    event_hook_id: str | None = None,
) -> Rig:
    registry = CollectorRegistry()
    self_metrics = SelfMetrics(registry)
    state = MetricState()
    registry.register(StateCollector(state))
    ledger = Ledger(store, state, self_metrics, Health(self_metrics), fake_time.clock)
    metrics = PollMetrics(registry, fake_time.clock)
    client = OktaClient(
        org,
        auth or SswsAuth("test-api-token"),
        timeout=timeout,
        observe=metrics.request,
        clock=fake_time.clock,
        budget=budget,
    )
    settings = PollSettings(
        org_url=org, interval=interval, rate_share=share, event_hook_id=event_hook_id
    )
    poller = Poller(
        client, store, ledger, metrics, settings, self_metrics=self_metrics,
        clock=fake_time.clock, sleep=fake_time.sleep, rng=random.Random(7), owner=owner,
        retries=RetryMetrics(registry),
    )  # fmt: skip
    return Rig(poller, store, state, registry)


RigFactory = Callable[..., Rig]


@pytest.fixture
async def rigs(fake_time: FakeTime) -> AsyncIterator[RigFactory]:
    """`make_rig` on the test's fake time; their HTTP sessions are closed afterwards."""
    made: list[Rig] = []

    def factory(org: str, store: Store, **options: Any) -> Rig:
        made.append(make_rig(org, store, fake_time, **options))
        return made[-1]

    yield factory
    for rig in made:
        await rig.poller.client.close()


# --- the Group Push Mapping API reconciler, on the same fake time ----------------------------


@dataclass
class ReconcileRig:
    """A reconciler wired as `serve` wires it, with the event-derived state it compares with."""

    reconciler: Reconciler
    state: MetricState
    registry: CollectorRegistry

    def sample(self, name: str, labels: dict[str, str] | None = None) -> float | None:
        return self.registry.get_sample_value(name, labels or {})

    def family(self, name: str) -> dict[tuple[str, ...], float]:
        """Every sample named `name`, keyed by its label values in order."""
        return {
            tuple(sample.labels.values()): sample.value
            for metric in self.registry.collect()
            for sample in metric.samples
            if sample.name == name
        }


@pytest.fixture
async def reconcile_rigs(fake_time: FakeTime) -> AsyncIterator[Callable[..., ReconcileRig]]:
    """Reconcilers on the test's fake time; their HTTP sessions are closed afterwards."""
    made: list[ReconcileRig] = []

    def factory(
        org: str,
        store: Store,
        *,
        auth: Auth | None = None,
        state: MetricState | None = None,
        budget: RateBudget | None = None,
        interval: float = 300.0,
        share: float = 0.5,
        owner: str | None = None,
        group_name_ttl: float = 6 * 3600.0,
    ) -> ReconcileRig:
        registry = CollectorRegistry()
        metrics = ReconcileMetrics(registry)
        client = OktaClient(
            org, auth or SswsAuth("test-api-token"), timeout=5.0, clock=fake_time.clock,
            budget=budget,
        )  # fmt: skip
        settings = ReconcileSettings(
            org_url=org, interval=interval, rate_share=share, group_name_ttl=group_name_ttl
        )
        state = state if state is not None else MetricState()
        reconciler = Reconciler(
            client, store, state, metrics, settings,
            clock=fake_time.clock, sleep=fake_time.sleep, rng=random.Random(7), owner=owner,
            retries=RetryMetrics(registry),
        )  # fmt: skip
        made.append(ReconcileRig(reconciler, state, registry))
        return made[-1]

    yield factory
    for rig in made:
        await rig.reconciler.client.close()
