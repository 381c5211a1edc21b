"""`/metrics` rendering: event-derived series from cached lines, the rest by prometheus_client.

prometheus_client's `generate_latest` formats every sample on every scrape: with 100,000
series that is seconds of the event loop that must answer Okta within 3 s. Here each
series' sample text after the metric name (`{labels} value`) is rendered once, when its
value changes, and a scrape joins ready bytes in slices, giving the loop back between
them, so no step holds it for more than about a millisecond.

prometheus_client stays the reference: content negotiation is its `choose_encoder`, names
are escaped by its functions, values formatted by its `floatToGoString`, the exporter's
own metrics rendered by its encoders, and the tests compare our output byte for byte with
what `StateCollector` (below) renders through a registry.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final, cast

from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.openmetrics.exposition import (
    UNDERSCORES,
    escape_label_name,
    escape_metric_name,
)
from prometheus_client.registry import Collector
from prometheus_client.samples import Exemplar as ClientExemplar
from prometheus_client.utils import floatToGoString

from exporter import catalogue
from exporter.catalogue import MetricSpec, MetricType
from exporter.counting import exemplars, mapping
from exporter.counting.exemplars import Exemplars
from exporter.counting.state import Labels, MetricState

# Lines joined per slice: about 250 KB of text, well under a millisecond to join and to
# gzip at level 1 on the project's machines; and series rendered per slice when many
# changed at once (the first scrape renders them all): about a millisecond too
# (BENCHMARKS.md, "/metrics").
SLICE_LINES: Final = 512
RENDER_LINES: Final = 384
_ESCAPING = re.compile(r";\s*escaping=([^;\s]+)")
# Go's float formatting, as prometheus_client writes every sample value. Counters hold
# small whole numbers, over and over: the bounded cache spares most of its Python work.
format_value = functools.lru_cache(maxsize=4096)(cast(Callable[[float], str], floatToGoString))


def _family(spec: MetricSpec) -> CounterMetricFamily | GaugeMetricFamily:
    if spec.type is MetricType.COUNTER:
        return CounterMetricFamily(spec.family, spec.help, labels=spec.labels)
    return GaugeMetricFamily(spec.family, spec.help, labels=spec.labels)


def family(
    spec: MetricSpec, values: Mapping[Labels, float], newest: Exemplars | None = None
) -> Metric:
    """One family named by the catalogue, with a sample per label values.

    For the families a collector on the registry renders (the reconciler's): the cached
    renderer below covers only the event-derived ones. With `newest`, failure counters
    carry their exemplars (exporter/counting/exemplars.py).
    """
    metric = _family(spec)
    for labels, value in values.items():
        held = newest.get(spec.name, labels) if newest is not None else None
        if held is not None and isinstance(metric, CounterMetricFamily):
            exemplar = ClientExemplar({exemplars.LABEL: held.uuid}, 1.0, held.published)
            metric.add_metric(list(labels), value, exemplar=exemplar)
        else:
            metric.add_metric(list(labels), value)
    return metric


# The stored series the mapping families are derived from (exporter/counting/mapping.py).
MAPPING_SOURCES: Final = (mapping.NAMES_SERIES, mapping.STATE_SERIES, mapping.LAST_FAILURE_SERIES)
ApiNames = Callable[[], Mapping[mapping.Pair, mapping.Pair]]


def _no_api() -> Mapping[mapping.Pair, mapping.Pair]:
    return {}


def mapping_families(
    state: MetricState, api: ApiNames = _no_api, links: mapping.Links = mapping.no_links
) -> dict[str, dict[Labels, float]]:
    """The derived mapping families: each mapping by Okta ids, under its newest names."""
    values = {name: state.series(name) for name in MAPPING_SOURCES}
    return mapping.families(values, api(), links)


class StateCollector(Collector):
    """MetricState's series as prometheus_client families: the reference rendering.

    Not served (it is the slow path); tests and benchmarks compare against it.
    """

    def __init__(
        self,
        state: MetricState,
        api: ApiNames = _no_api,
        newest: Exemplars | None = None,
        links: mapping.Links = mapping.no_links,
    ) -> None:
        self._state = state
        self._newest = newest
        self._api = api
        self._links = links

    def collect(self) -> Iterator[Metric]:
        for spec in catalogue.EVENT_METRICS:
            yield family(spec, self._state.series(spec.name), self._newest)
        derived = mapping_families(self._state, self._api, self._links)
        for spec in catalogue.DERIVED_METRICS:
            yield family(spec, derived[spec.name])


class GovernanceCollector(Collector):
    """Label overflow counts and series counts, from MetricState's bookkeeping."""

    def __init__(self, state: MetricState) -> None:
        self._state = state

    def collect(self) -> Iterator[Metric]:
        overflow = _family(catalogue.LABEL_OVERFLOW)
        for label, count in sorted(self._state.overflow().items()):
            overflow.add_metric([label], count)
        yield overflow
        series = _family(catalogue.SERIES)
        series.add_metric([], self._state.count())
        yield series


@dataclass(frozen=True, slots=True)
class Format:
    """What the scraper asked for, as prometheus_client's `choose_encoder` decided."""

    content_type: str
    openmetrics: bool
    escaping: str
    encoder: Callable[[Collector], bytes]


def negotiate(accept: str | None) -> Format:
    """The exposition format for an Accept header."""
    encoder, content_type = choose_encoder(accept or "")
    match = _ESCAPING.search(content_type)
    return Format(
        content_type=content_type,
        openmetrics=content_type.startswith("application/openmetrics-text"),
        escaping=match.group(1) if match else UNDERSCORES,
        encoder=encoder,
    )


def escape_value(value: str) -> str:
    """A label value as both text formats quote it."""
    if "\\" not in value and '"' not in value and "\n" not in value:
        return value
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _escape_help(text: str, openmetrics: bool) -> str:
    text = text.replace("\\", r"\\").replace("\n", r"\n")
    return text.replace('"', r"\"") if openmetrics else text


def header(spec: MetricSpec, fmt: Format) -> bytes:
    """The HELP and TYPE lines of one family."""
    # The text format names counters with `_total`; OpenMetrics names the family without.
    name = spec.family if fmt.openmetrics else spec.name
    name = escape_metric_name(name, fmt.escaping)
    help_text = _escape_help(spec.help, fmt.openmetrics)
    return f"# HELP {name} {help_text}\n# TYPE {name} {spec.type.value}\n".encode()


def sample_name(spec: MetricSpec, fmt: Format) -> str:
    """A family's sample name as prometheus_client's encoder for `fmt` writes it."""
    if fmt.openmetrics:
        # openmetrics.generate_latest escapes sample names as label names (no colons).
        return escape_label_name(spec.name, fmt.escaping)
    return escape_metric_name(spec.name, fmt.escaping)


def _label_renames(spec: MetricSpec, fmt: Format) -> list[tuple[bytes, bytes]]:
    """Byte replacements for label names the escaping scheme changes (`dots` only, here).

    Safe on rendered text: inside an escaped value every `"` follows a backslash, so
    `{name="` and `,name="` occur only where a label name starts.
    """
    renames: list[tuple[bytes, bytes]] = []
    for label in spec.labels:
        escaped = escape_label_name(label, fmt.escaping)
        if escaped != label:
            for before in (b"{", b","):
                renames.append((before + f'{label}="'.encode(), before + f'{escaped}="'.encode()))
    return renames


class _Without(Collector):
    """A registry's families except some: the event-derived ones are rendered from cache.

    So a family can never appear twice, even when a reference StateCollector (a test's
    view for `get_sample_value`) is registered too.
    """

    def __init__(self, registry: Collector, skip: Iterable[str]) -> None:
        self._registry = registry
        self._skip = frozenset(skip)

    def collect(self) -> Iterator[Metric]:
        return (m for m in self._registry.collect() if m.name not in self._skip)


class Exposition:
    """The whole `/metrics` body, as a sequence of slices (see the module docstring)."""

    def __init__(
        self,
        state: MetricState,
        registry: Collector,
        newest: Exemplars | None = None,
        links: mapping.Links = mapping.no_links,
    ) -> None:
        self._state = state
        self._newest = newest
        self._specs = catalogue.EVENT_METRICS + catalogue.DERIVED_METRICS
        self._registry = _Without(registry, (spec.family for spec in self._specs))
        # The mapping families join several stored series by Okta ids (counting/mapping.py):
        # the view keeps them, and says which of their rows a change touched.
        self._api: ApiNames = _no_api
        self._api_seen: object = None
        self._view = mapping.View(links)
        # prometheus_client writes labels sorted by name: so do we.
        self._order = {
            spec.name: sorted(range(len(spec.labels)), key=spec.labels.__getitem__)
            for spec in self._specs
        }
        self._rests: dict[str, dict[Labels, bytes]] = {spec.name: {} for spec in self._specs}
        # Failure counter lines with their exemplar, for OpenMetrics scrapes: rendered when
        # the series changes (an exemplar changes only with its counter), so a scrape stays
        # a join in either format. Only series this process saw an event for have one.
        self._exemplified: dict[str, dict[Labels, bytes]] = {
            name: {} for name in exemplars.METRICS if newest is not None
        }
        self._frozen: dict[tuple[str, bool], list[bytes]] = {}
        self._refreeze: set[str] = set()
        state.watch()

    def render(self, fmt: Format) -> bytes:
        """The whole body at once (tests, and callers that need no yielding)."""
        return b"".join(self.slices(fmt))

    def slices(self, fmt: Format) -> Generator[bytes, None, None]:
        """The body in pieces; between two the caller may give the event loop back.

        Each step does bounded work. The event-derived families come from one snapshot
        taken after the cached lines caught up, so they agree with each other.
        """
        while self._catch_up():
            yield b""
        om = fmt.openmetrics
        snapshot = {spec.name: self._snapshot(spec.name, om) for spec in self._specs}
        for spec in self._specs:
            yield header(spec, fmt)
            name = sample_name(spec, fmt).encode()
            renames = _label_renames(spec, fmt)
            lines = snapshot[spec.name]
            for start in range(0, len(lines), SLICE_LINES):
                text = name + name.join(lines[start : start + SLICE_LINES])
                for old, new in renames:
                    text = text.replace(old, new)
                yield text
        yield fmt.encoder(self._registry)

    def follow_api(self, api: ApiNames) -> None:
        """Also show the mappings Okta's API knows (`api`: their names, by id pair)."""
        self._api = api

    def _catch_up(self) -> bool:
        """Re-render up to RENDER_LINES changed series; True when more may be waiting."""
        budget = RENDER_LINES
        for spec in catalogue.EVENT_METRICS:
            changed = self._state.changed(spec.name, budget)
            if changed:
                self._rerender(spec, changed, self._state.series(spec.name))
                budget -= len(changed)
                if not budget:
                    return True
        return self._derive(budget)

    def _derive(self, budget: int) -> bool:
        """Re-render the mapping rows that changed stored series (or a reading) touched;
        True when more may be waiting."""
        api = self._api()
        taken = {name: self._state.changed(name, budget) for name in MAPPING_SOURCES}
        if api is self._api_seen and not any(taken.values()):
            return False
        self._api_seen = api
        values = {name: self._state.series(name) for name in MAPPING_SOURCES}
        keys = taken[mapping.STATE_SERIES] + taken[mapping.LAST_FAILURE_SERIES]
        rows, listed = self._view.update(values, taken[mapping.NAMES_SERIES], keys, api)
        failing: dict[Labels, float] = {}
        last: dict[Labels, float] = {}
        for shown in rows:
            row_failing, row_last = self._view.row(shown, values)
            if row_failing is not None:
                failing[shown] = row_failing
            if row_last is not None:
                last[shown] = row_last
        info = {labels: 1.0 for labels in listed if self._view.listed(labels)}
        self._rerender(catalogue.MAPPING_FAILING, rows, failing)
        self._rerender(catalogue.LAST_FAILURE, rows, last)
        self._rerender(catalogue.MAPPING_INFO, listed, info)
        return any(len(labels) == budget for labels in taken.values())

    def _rerender(
        self, spec: MetricSpec, changed: Iterable[Labels], values: Mapping[Labels, float]
    ) -> None:
        rests = self._rests[spec.name]
        exemplified = self._exemplified.get(spec.name)
        order = self._order[spec.name]
        names = spec.labels
        for labels in changed:
            value = values.get(labels)
            if value is None:
                rests.pop(labels, None)  # dropped by the series TTL, or a mapping renamed
                if exemplified is not None and self._newest is not None:
                    exemplified.pop(labels, None)
                    self._newest.forget(spec.name, labels)
                continue
            pairs = ",".join(f'{names[i]}="{escape_value(labels[i])}"' for i in order)
            rest = f"{{{pairs}}} {format_value(value)}"
            rests[labels] = f"{rest}\n".encode()
            if exemplified is not None and self._newest is not None:
                held = self._newest.get(spec.name, labels)
                if held is None:
                    exemplified.pop(labels, None)
                else:
                    exemplified[labels] = f"{rest}{held.text()}\n".encode()
        self._refreeze.add(spec.name)

    def _snapshot(self, name: str, openmetrics: bool) -> list[bytes]:
        """The family's lines as an immutable list, copied only after a change."""
        if name in self._refreeze:
            self._frozen[(name, False)] = list(self._rests[name].values())
            exemplified = self._exemplified.get(name)
            if exemplified is not None:
                self._frozen[(name, True)] = [
                    exemplified.get(labels, line) for labels, line in self._rests[name].items()
                ]
            self._refreeze.discard(name)
        if openmetrics and name in self._exemplified:
            return self._frozen.get((name, True), [])
        return self._frozen.get((name, False), [])
