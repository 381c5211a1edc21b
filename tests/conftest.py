"""Shared fixtures: payload files, a configured app on a fresh registry, a test client."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from exporter.app import make_app
from exporter.appkeys import STATE
from exporter.config import Config
from exporter.exposition import StateCollector
from exporter.store.memory import MemoryStore

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
    return Config(storage_path=tmp_path, hook_secrets=(SECRET, ROTATED), max_body_bytes=64 * 1024)


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def app(config: Config, registry: CollectorRegistry) -> web.Application:
    app = make_app(config, MemoryStore(config.dedup_window), clock=lambda: NOW, registry=registry)
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
