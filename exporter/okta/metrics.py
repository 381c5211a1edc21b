"""The poller's own health metrics, named by the catalogue.

Only the replica that holds the poll lease talks to Okta, so only it exposes the gauges:
a standby replica shows its request counter and nothing else, rather than an
`okta_api_up 0` that would read as an outage. Dashboards take `max without (instance)`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from exporter import catalogue
from exporter.catalogue import MetricSpec
from exporter.okta.ratelimit import RateLimit


def _gauge(spec: MetricSpec, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(spec.family, spec.help, value=value)


class PollMetrics(Collector):
    """Requests by status, last success, lag, Okta's rate limit and whether its API is up."""

    def __init__(
        self, registry: CollectorRegistry | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.requests: dict[str, float] = {}
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
