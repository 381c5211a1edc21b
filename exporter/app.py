"""The aiohttp application: wiring and lifecycle in one place (STYLE 5)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

from aiohttp import web
from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector

from exporter import hooks
from exporter import web as pages
from exporter.access import Access
from exporter.access import middleware as access_middleware
from exporter.appkeys import AUTH, CONFIG, HEALTH, LEDGER, REGISTRY, SELF_METRICS, HookAuth
from exporter.background import StoreUpkeep, stop
from exporter.basicauth import BasicAuth
from exporter.config import Config
from exporter.exposition import StateCollector
from exporter.health import Health
from exporter.hooksecret import load_or_generate
from exporter.ledger import Ledger
from exporter.okta.metrics import PollMetrics, ReconcileMetrics
from exporter.okta.poller import Poller
from exporter.okta.ratelimit import RateBudget
from exporter.okta.reconciler import Reconciler
from exporter.selfmetrics import SelfMetrics
from exporter.server import guards_middleware
from exporter.state import MetricState
from exporter.store.base import Store, StoreError


def make_app(
    config: Config,
    store: Store,
    *,
    clock: Callable[[], float] = time.time,
    registry: CollectorRegistry | None = None,
    access: Access | None = None,
    refresh_interval: float = 1.0,
    probe_interval: float = 2.0,
) -> web.Application:
    """An application serving hooks and metrics from `store`, opened on startup."""
    registry = registry if registry is not None else CollectorRegistry()
    self_metrics = SelfMetrics(registry)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    state = MetricState()
    registry.register(StateCollector(state))
    health = Health(self_metrics)
    self_metrics.ready.set_function(lambda: float(health.ready))

    access = (
        access if access is not None else Access(BasicAuth(config.web.users), config.web.headers)
    )
    # aiohttp refuses to buffer more than client_max_size: the hook body cap.
    app = web.Application(
        client_max_size=config.max_body_bytes,
        middlewares=[guards_middleware(list(access.guards)), access_middleware(access)],
    )
    app[CONFIG] = config
    app[REGISTRY] = registry
    app[SELF_METRICS] = self_metrics
    app[HEALTH] = health
    app[AUTH] = auth = HookAuth(config.hook_secrets)
    app[LEDGER] = Ledger(store, state, self_metrics, health, clock)

    async def load_secrets() -> None:
        if not auth.secrets:
            auth.secrets = await load_or_generate(store, config.hook_header, config.storage_path)

    upkeep = StoreUpkeep(store, state, health, clock, config.dedup_window, load_secrets)

    # --- the System Log poller and the mapping reconciler, when --okta.org-url is set ---
    poller = reconciler = None
    if config.okta_org_url is not None:
        budget = RateBudget()  # one org: the jobs share what Okta says of its limits
        poll_metrics = PollMetrics(registry, clock)
        poller = Poller.from_config(
            config, store, app[LEDGER], poll_metrics,
            self_metrics=self_metrics, clock=clock, budget=budget,
        )  # fmt: skip
        if config.okta_mappings_interval > 0:
            reconcile_metrics = ReconcileMetrics(registry)
            reconciler = Reconciler.from_config(
                config, store, state, reconcile_metrics, clock=clock, budget=budget
            )

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        with contextlib.suppress(StoreError):
            await upkeep.open()
        jobs = upkeep.start(probe_interval, refresh_interval)
        if poller is not None:
            jobs.append(asyncio.create_task(poller.run(), name="okta-system-log-poller"))
        if reconciler is not None:
            jobs.append(asyncio.create_task(reconciler.run(), name="okta-group-push-reconciler"))
        health.started = True
        yield
        health.started = False
        await stop(jobs)
        for job in (poller, reconciler):
            if job is not None:
                await job.close()
        await store.close()

    app.cleanup_ctx.append(lifecycle)
    hooks.add_routes(app)
    pages.add_routes(app, config.telemetry_path)
    return app
