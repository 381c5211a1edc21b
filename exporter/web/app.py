"""The aiohttp application: wiring and lifecycle in one place (STYLE 5)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

from aiohttp import web
from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector

from exporter.config import Config, label_policy
from exporter.counting.exemplars import Exemplars
from exporter.counting.ledger import Ledger
from exporter.counting.planner import limits
from exporter.counting.recent import Recent
from exporter.counting.state import MetricState
from exporter.metrics.exposition import Exposition, GovernanceCollector
from exporter.metrics.health import Health
from exporter.metrics.selfmetrics import SelfMetrics
from exporter.okta.links import InfoLinks, OktaLinks
from exporter.okta.metrics import PollMetrics, ReconcileMetrics, RetryMetrics
from exporter.okta.poller import Poller
from exporter.okta.ratelimit import RateBudget
from exporter.okta.reconciler import Reconciler
from exporter.store.base import Store, StoreError
from exporter.store.hooksecret import load_or_generate
from exporter.web import hooks, pages
from exporter.web.access import Access, headers_signal
from exporter.web.access import middleware as access_middleware
from exporter.web.appkeys import (
    AUTH,
    CONFIG,
    EXPOSITION,
    HEALTH,
    LEDGER,
    REGISTRY,
    SELF_METRICS,
    STATE,
    STATUS,
    HookAuth,
)
from exporter.web.basicauth import BasicAuth
from exporter.web.server import guards_middleware
from exporter.web.statusrows import StatusSources
from exporter.web.upkeep import StoreUpkeep, every, stop


def _application(config: Config, access: Access | None) -> web.Application:
    """The bare application: body cap, connection guards and access control."""
    if access is None:
        access = Access(BasicAuth(config.web.toolkit.users), config.web.toolkit.headers)
    # aiohttp refuses to buffer more than client_max_size: the hook body cap.
    app = web.Application(
        client_max_size=config.web.max_body_bytes,
        middlewares=[guards_middleware(list(access.guards)), access_middleware(access)],
    )
    app.on_response_prepare.append(headers_signal(access))
    return app


def make_app(  # noqa: PLR0915 - every part wired in one place (STYLE.md 5)
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
    state = MetricState(
        limits(config), clock=clock, track_updates=config.labels.series_ttl is not None
    )
    registry.register(GovernanceCollector(state))
    health = Health(self_metrics)
    self_metrics.ready.set_function(lambda: float(health.ready))

    app = _application(config, access)
    app[CONFIG] = config
    app[REGISTRY] = registry
    app[SELF_METRICS] = self_metrics
    app[HEALTH] = health
    app[AUTH] = auth = HookAuth(config.web.hook_secrets)
    app[STATE] = state
    newest = Exemplars()
    okta_links = OktaLinks.for_org(config.okta.org_url)
    info_links = InfoLinks(okta_links)
    app[EXPOSITION] = Exposition(state, registry, newest, info_links)
    recent = Recent()
    app[LEDGER] = ledger = Ledger(
        store,
        state,
        self_metrics,
        health,
        clock,
        policy=label_policy(config),
        series_ttl=config.labels.series_ttl,
        exemplars=newest,
        recent=recent,
    )

    async def load_secrets() -> None:
        if not auth.secrets:
            auth.secrets = await load_or_generate(
                store, config.web.hook_header, config.storage.path
            )
        await ledger.prepare()

    upkeep = StoreUpkeep(store, state, health, clock, config.storage.dedup_window, load_secrets)

    async def expire() -> None:
        await ledger.expire()

    poller, reconciler = _okta_jobs(
        config,
        store,
        ledger,
        state=state,
        registry=registry,
        self_metrics=self_metrics,
        clock=clock,
        exposition=app[EXPOSITION],
    )

    app[STATUS] = StatusSources(state, recent, okta_links, clock)
    if reconciler is not None:
        _follow(reconciler, info_links, app[STATUS])

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        with contextlib.suppress(StoreError):
            await upkeep.open()
        jobs = upkeep.start(probe_interval, refresh_interval)
        if poller is not None:
            jobs.append(asyncio.create_task(poller.run(), name="okta-system-log-poller"))
        if config.labels.series_ttl is not None:
            # A tenth of the TTL is precise enough for an expiry measured in days.
            interval = min(max(config.labels.series_ttl / 10, 10.0), 3600.0)
            jobs.append(asyncio.create_task(every(interval, expire)))
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
    pages.add_routes(app, config.web.telemetry_path)
    return app


def _okta_jobs(
    config: Config,
    store: Store,
    ledger: Ledger,
    *,
    state: MetricState,
    registry: CollectorRegistry,
    self_metrics: SelfMetrics,
    clock: Callable[[], float],
    exposition: Exposition,
) -> tuple[Poller | None, Reconciler | None]:
    """The System Log poller and the mapping reconciler, when Okta can be asked (with an
    org URL and credentials; an org URL alone only makes links)."""
    if config.okta.org_url is None or not config.okta.has_credentials:
        return None, None
    budget = RateBudget()  # one org: the jobs share what Okta says of its limits
    retries = RetryMetrics(registry)  # one family, counted by both jobs
    poll_metrics = PollMetrics(registry, clock)
    poller = Poller.from_config(
        config, store, ledger, poll_metrics,
        self_metrics=self_metrics, clock=clock, budget=budget, retries=retries,
    )  # fmt: skip
    reconciler = None
    if config.okta.mappings_interval > 0:
        metrics = ReconcileMetrics(registry)
        reconciler = Reconciler.from_config(
            config, store, state, metrics,
            clock=clock, budget=budget, retries=retries,
        )  # fmt: skip
        # okta_group_push_mapping_info also lists the mappings only Okta's API knows.
        exposition.follow_api(lambda: metrics.series.names)
    return poller, reconciler


def _follow(reconciler: Reconciler, links: InfoLinks, status: StatusSources) -> None:
    """Show what the reconciler read: app names in the links, failures on /status."""
    links.follow(_app_names(reconciler))
    status.api = lambda: reconciler.latest


def _app_names(reconciler: Reconciler) -> Callable[[], dict[str, str]]:
    """The app names (the Apps API's `name`, by app instance id) of the last reading."""
    cache: dict[int, dict[str, str]] = {}

    def names() -> dict[str, str]:
        reading = reconciler.latest
        if id(reading) not in cache:
            cache.clear()
            cache[id(reading)] = {push.app.id: push.app.name for push, _ in reading}
        return cache[id(reading)]

    return names
