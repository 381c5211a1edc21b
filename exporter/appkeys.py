"""Typed keys for what the aiohttp application carries (STYLE 5)."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CollectorRegistry

from exporter.config import Config
from exporter.ledger import Ledger
from exporter.selfmetrics import SelfMetrics


@dataclass
class Health:
    """Readiness as the landing page and `/-/ready` report it."""

    ready: bool = False
    reason: str = "starting"


CONFIG = web.AppKey("config", Config)
LEDGER = web.AppKey("ledger", Ledger)
SELF_METRICS = web.AppKey("self_metrics", SelfMetrics)
REGISTRY = web.AppKey("registry", CollectorRegistry)
HEALTH = web.AppKey("health", Health)
