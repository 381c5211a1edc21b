"""`/metrics` rendering: the event-derived state plus the exporter's own registry."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from exporter import catalogue, mapping
from exporter.catalogue import MetricType
from exporter.state import MetricState


class StateCollector(Collector):
    """Exposes MetricState's series as families named by the catalogue."""

    def __init__(self, state: MetricState) -> None:
        self._state = state

    def collect(self) -> Iterator[Metric]:
        for spec in catalogue.EVENT_METRICS:
            family: Metric
            if spec.type is MetricType.COUNTER:
                family = CounterMetricFamily(spec.family, spec.help, labels=spec.labels)
            else:
                family = GaugeMetricFamily(spec.family, spec.help, labels=spec.labels)
            for labels, value in self._state.series(spec.name).items():
                family.add_metric(list(labels), value)
            yield family
        # Derived from state stored in another form (System Log poller issue).
        spec = catalogue.MAPPING_FAILING
        gauge = GaugeMetricFamily(spec.family, spec.help, labels=spec.labels)
        for labels, value in mapping.failing(self._state.series(mapping.STATE_SERIES)).items():
            gauge.add_metric(list(labels), value)
        yield gauge


def render(registry: CollectorRegistry, accept: str | None) -> tuple[bytes, str]:
    """The exposition in the format the scraper asked for: (body, content type)."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type
