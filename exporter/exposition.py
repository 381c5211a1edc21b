"""`/metrics` rendering: the event-derived state plus the exporter's own registry."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from exporter import catalogue, mapping
from exporter.catalogue import MetricSpec, MetricType
from exporter.state import Labels, MetricState


def family(spec: MetricSpec, values: Mapping[Labels, float]) -> Metric:
    """One family named by the catalogue, with a sample per label values."""
    metric: Metric
    if spec.type is MetricType.COUNTER:
        metric = CounterMetricFamily(spec.family, spec.help, labels=spec.labels)
    else:
        metric = GaugeMetricFamily(spec.family, spec.help, labels=spec.labels)
    for labels, value in values.items():
        metric.add_metric(list(labels), value)
    return metric


class StateCollector(Collector):
    """Exposes MetricState's series as families named by the catalogue."""

    def __init__(self, state: MetricState) -> None:
        self._state = state

    def collect(self) -> Iterator[Metric]:
        for spec in catalogue.EVENT_METRICS:
            yield family(spec, self._state.series(spec.name))
        # Derived from state stored in another form (System Log poller issue).
        states = self._state.series(mapping.STATE_SERIES)
        yield family(catalogue.MAPPING_FAILING, mapping.failing(states))


def render(registry: CollectorRegistry, accept: str | None) -> tuple[bytes, str]:
    """The exposition in the format the scraper asked for: (body, content type)."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type
