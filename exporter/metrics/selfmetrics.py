"""The exporter's own health metrics, registered from the catalogue into one registry."""

from __future__ import annotations

import platform

from prometheus_client import CollectorRegistry, Counter, Gauge

from exporter import __version__, catalogue
from exporter.catalogue import MetricSpec, MetricType

# Counters' `_created` series double the exposition and no dashboard uses them.
try:
    from prometheus_client import disable_created_metrics

    disable_created_metrics()  # type: ignore[no-untyped-call]
except ImportError:  # pragma: no cover - prometheus_client older than 0.18
    pass


def _make(spec: MetricSpec, registry: CollectorRegistry) -> Counter | Gauge:
    cls = Counter if spec.type is MetricType.COUNTER else Gauge
    return cls(spec.family, spec.help, spec.labels, registry=registry)


class _Children:
    """A labelled metric's children by label values, for the ones counted per request.

    `labels()` checks and locks on every call (about 2 us): once per child is enough.
    Bounded, in case a caller passes values from outside.
    """

    def __init__(self, metric: Counter | Gauge, size: int = 256) -> None:
        self._metric = metric
        self._size = size
        self._known: dict[tuple[str, ...], Counter | Gauge] = {}

    def __call__(self, *values: str) -> Counter | Gauge:
        child = self._known.get(values)
        if child is None:
            child = self._metric.labels(*values)
            if len(self._known) < self._size:
                self._known[values] = child
        return child


class SelfMetrics:
    """Per-process counters: what this exporter received, rejected and skipped."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self._deliveries = _Children(_make(catalogue.DELIVERIES, registry))
        self._received = _Children(_make(catalogue.EVENTS_RECEIVED, registry))
        self._duplicates = _make(catalogue.DUPLICATES, registry)
        self._invalid = _make(catalogue.INVALID_EVENTS, registry)
        self._storage_errors = _make(catalogue.STORAGE_ERRORS, registry)
        self.ready = Gauge(catalogue.READY.family, catalogue.READY.help, registry=registry)
        build = catalogue.BUILD_INFO
        Gauge(build.family, build.help, build.labels, registry=registry).labels(
            __version__, platform.python_version()
        ).set(1)

    def delivery(self, endpoint: str, code: int) -> None:
        self._deliveries(endpoint, str(code)).inc()

    def event_received(self, source: str, kind: str, count: int = 1) -> None:
        self._received(source, kind).inc(count)

    def duplicates(self, source: str, count: int) -> None:
        self._duplicates.labels(source).inc(count)

    def invalid_event(self, source: str, reason: str) -> None:
        self._invalid.labels(source, reason).inc()

    def storage_error(self, operation: str) -> None:
        self._storage_errors.labels(operation).inc()
