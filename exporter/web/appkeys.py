"""Typed keys for what the aiohttp application carries (STYLE 5)."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CollectorRegistry

from exporter.config import Config
from exporter.counting.ledger import Ledger
from exporter.counting.state import MetricState
from exporter.metrics.exposition import Exposition
from exporter.metrics.health import Health
from exporter.metrics.selfmetrics import SelfMetrics
from exporter.web.statusrows import StatusSources


@dataclass
class HookAuth:
    """The accepted hook secrets: configured, or generated and stored on first start."""

    secrets: tuple[str, ...] = field(default=(), repr=False)


CONFIG = web.AppKey("config", Config)
LEDGER = web.AppKey("ledger", Ledger)
SELF_METRICS = web.AppKey("self_metrics", SelfMetrics)
REGISTRY = web.AppKey("registry", CollectorRegistry)
HEALTH = web.AppKey("health", Health)
AUTH = web.AppKey("auth", HookAuth)
EXPOSITION = web.AppKey("exposition", Exposition)
STATE = web.AppKey("state", MetricState)
STATUS = web.AppKey("status", StatusSources)
