"""The metrics of the Okta API jobs, named by the catalogue: the poller's and the reconciler's.

Only the replica that holds a job's lease talks to Okta for it, so only it exposes the
job's gauges: a standby replica shows its counters and nothing else, rather than an
`okta_api_up 0` that would read as an outage, or mapping states it did not read.
Dashboards take `max without (instance)`. The retry counter is one family for both jobs,
so it is one collector that both report to.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Final

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from exporter import catalogue
from exporter.catalogue import MetricSpec
from exporter.metrics.exposition import family
from exporter.okta.disagreements import KINDS, Series
from exporter.okta.ratelimit import RateLimit


def _gauge(spec: MetricSpec, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(spec.family, spec.help, value=value)


class PollMetrics(Collector):
    """Requests by status, last success, lag, Okta's rate limit and whether its API is up."""

    def __init__(
        self, registry: CollectorRegistry | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.requests: dict[str, float] = {}
        # Okta's event_hook.delivery events read, each uuid once (the ledger's dedup).
        self.hook_delivery_failures = 0.0
        self.active = False  # holds the lease: polls Okta
        self.up = 0.0
        self.last_success = 0.0
        self.newest_published: float | None = None
        self.rate = RateLimit()
        self._clock = clock
        if registry is not None:
            registry.register(self)

    def request(self, status: str, rate: RateLimit | None) -> None:
        """One HTTP answer (or timeout, network or credentials failure) from Okta."""
        self.requests[status] = self.requests.get(status, 0.0) + 1
        if rate is not None and rate.limit is not None:
            self.rate = rate

    def succeeded(self, now: float, newest_published: float | None) -> None:
        """A page was read and committed."""
        self.last_success = now
        if newest_published is not None and (
            self.newest_published is None or newest_published > self.newest_published
        ):
            self.newest_published = newest_published

    def failed(self) -> None:
        self.up = 0.0

    def lag(self, now: float) -> float | None:
        """Now minus the published time of the newest event read, once one was read."""
        if self.newest_published is None:
            return None
        return max(0.0, now - self.newest_published)

    def collect(self) -> Iterator[Metric]:
        spec = catalogue.POLL_REQUESTS
        requests = CounterMetricFamily(spec.family, spec.help, labels=spec.labels)
        for status, count in sorted(self.requests.items()):
            requests.add_metric([status], count)
        yield requests
        spec = catalogue.HOOK_DELIVERY_FAILURES
        yield CounterMetricFamily(spec.family, spec.help, value=self.hook_delivery_failures)
        if not self.active:
            return
        yield _gauge(catalogue.OKTA_API_UP, self.up)
        yield _gauge(catalogue.POLL_LAST_SUCCESS, self.last_success)
        lag = self.lag(self._clock())
        if lag is not None:
            yield _gauge(catalogue.POLL_LAG, lag)
        if self.rate.remaining is not None:
            yield _gauge(catalogue.RATE_LIMIT_REMAINING, self.rate.remaining)
        if self.rate.limit is not None:
            yield _gauge(catalogue.RATE_LIMIT_LIMIT, self.rate.limit)


class ReconcileMetrics(Collector):
    """The mappings as Okta's API last said, and the reconciler's health."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.active = False  # holds the lease: reads the mappings
        self.last_success = 0.0
        self.duration: float | None = None
        self.series = Series()
        self.errors: dict[tuple[str, ...], float] = {}
        # Known in advance: every kind from 0, so that increase() sees the first one.
        self.disagreements: dict[tuple[str, ...], float] = {(kind,): 0.0 for kind in KINDS}
        if registry is not None:
            registry.register(self)

    def error(self, endpoint: str, status: str) -> None:
        """A request that got no usable answer."""
        key = (endpoint, status)
        self.errors[key] = self.errors.get(key, 0.0) + 1

    def disagreement(self, kind: str) -> None:
        self.disagreements[(kind,)] = self.disagreements.get((kind,), 0.0) + 1

    def succeeded(self, now: float, duration: float, series: Series) -> None:
        """Every mapping was read: these are the series now (a mapping not in them is gone)."""
        self.last_success = now
        self.duration = duration
        self.series = series

    def standby(self) -> None:
        """Another replica reads the mappings now: show none of them."""
        self.active = False
        self.series = Series()

    def collect(self) -> Iterator[Metric]:
        yield family(catalogue.RECONCILE_ERRORS, self.errors)
        yield family(catalogue.STATE_DISAGREEMENTS, self.disagreements)
        if not self.active:
            return
        yield _gauge(catalogue.RECONCILE_LAST_SUCCESS, self.last_success)
        if self.duration is not None:
            yield _gauge(catalogue.RECONCILE_DURATION, self.duration)
        yield family(catalogue.MAPPING_STATUS, self.series.status)
        yield family(catalogue.MAPPING_ERROR_REASON, self.series.reasons)
        yield family(catalogue.MAPPING_LAST_PUSH, self.series.last_push)


# Every (component, endpoint) a retry can be counted under: from 0, so increase() sees the first.
RETRY_KEYS: Final[tuple[tuple[str, str], ...]] = (
    ("poller", "logs"),
    ("reconciler", "apps"),
    ("reconciler", "mappings"),
    ("reconciler", "groups"),
)


class RetryMetrics(Collector):
    """Requests to Okta tried again after a transient failure, by component and endpoint."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.retries: dict[tuple[str, ...], float] = dict.fromkeys(RETRY_KEYS, 0.0)
        if registry is not None:
            registry.register(self)

    def retried(self, component: str, endpoint: str) -> None:
        key = (component, endpoint)
        self.retries[key] = self.retries.get(key, 0.0) + 1

    def collect(self) -> Iterator[Metric]:
        yield family(catalogue.OKTA_RETRIES, self.retries)
