"""The aiohttp application: wiring and lifecycle in one place (STYLE 5)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable

from aiohttp import web
from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector

from exporter import hooks
from exporter import web as pages
from exporter.appkeys import CONFIG, HEALTH, LEDGER, REGISTRY, SELF_METRICS, Health
from exporter.config import Config
from exporter.exposition import StateCollector
from exporter.ledger import Ledger
from exporter.selfmetrics import SelfMetrics
from exporter.state import MetricState
from exporter.store.base import Store


def make_app(
    config: Config,
    store: Store,
    *,
    clock: Callable[[], float] = time.time,
    registry: CollectorRegistry | None = None,
) -> web.Application:
    """An application serving hooks and metrics from `store`, opened on startup."""
    registry = registry if registry is not None else CollectorRegistry()
    self_metrics = SelfMetrics(registry)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    state = MetricState()
    registry.register(StateCollector(state))

    # aiohttp refuses to buffer more than client_max_size: the hook body cap.
    app = web.Application(client_max_size=config.max_body_bytes)
    app[CONFIG] = config
    app[REGISTRY] = registry
    app[SELF_METRICS] = self_metrics
    app[HEALTH] = health = Health()
    app[LEDGER] = Ledger(store, state, self_metrics, clock)

    async def storage(app: web.Application) -> AsyncIterator[None]:
        state.load(await store.open())
        health.ready, health.reason = True, ""
        yield
        health.ready, health.reason = False, "shutting down"
        await store.close()

    app.cleanup_ctx.append(storage)
    hooks.add_routes(app)
    pages.add_routes(app, config.telemetry_path)
    return app
