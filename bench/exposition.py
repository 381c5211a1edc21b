"""`/metrics` rendering with 100,000 series: ours against prometheus_client, in one run.

Series: okta_group_push_failures_total{application, group, actor}, 50 applications x
10 groups x 200 actors by default, each with a count. Baselines, on the same series:
prometheus_client `generate_latest` of a Counter with labelled children (the usual way,
`_created` series disabled as the exporter disables them), and of a custom collector
over the same MetricState (exporter.metrics.exposition.StateCollector). Ours: the Exposition the
exporter serves, a cold scrape (every line rendered) and warm scrapes (lines cached,
the state changed a little in between, as between two real scrapes). "Longest step" is
the longest time between two points where the /metrics handler gives the event loop
back. Rounds alternate; medians are reported.

Usage: python -m bench.exposition [--series 100000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
import zlib
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, disable_created_metrics
from prometheus_client.exposition import generate_latest

from bench.common import machine
from exporter import catalogue
from exporter.counting.state import MetricState, Update, Values
from exporter.ingest.classify import Kind
from exporter.metrics.exposition import Exposition, Format, StateCollector, negotiate
from exporter.web.pages import GZIP_LEVEL, GZIP_WBITS

FAILURES = catalogue.FAILURES


def label_sets(count: int) -> list[tuple[str, str, str]]:
    apps = [f"Application {i}" for i in range(50)]
    groups = [f"Engineering group {i}" for i in range(max(1, count // (50 * 200)))]
    actors = [f"actor{i}@example.com" for i in range(200)]
    sets = [(a, g, u) for a in apps for g in groups for u in actors]
    return sets[:count]


def children(sets: list[tuple[str, str, str]]) -> CollectorRegistry:
    registry = CollectorRegistry()
    counter = Counter(FAILURES.family, FAILURES.help, FAILURES.labels, registry=registry)
    for i, labels in enumerate(sets):
        counter.labels(*labels).inc(1 + i % 7)
    return registry


def state(sets: list[tuple[str, str, str]]) -> MetricState:
    values: Values = {FAILURES.name: {labels: float(1 + i % 7) for i, labels in enumerate(sets)}}
    filled = MetricState()
    filled.merge(values)
    return filled


def timed(work: Callable[[], object]) -> float:
    gc.collect()
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def stepped(pieces: Iterator[bytes], gzip: bool) -> tuple[float, float, int]:
    """(total seconds, longest step, bytes) of one scrape as the handler runs it."""
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, GZIP_WBITS) if gzip else None
    total = longest = 0.0
    size = 0
    gc.collect()
    while True:
        started = time.perf_counter()
        piece = next(pieces, None)
        if piece is not None and compressor is not None:
            piece = compressor.compress(piece)
        elif piece is None and compressor is not None:
            piece = compressor.flush()
            compressor = None
        step = time.perf_counter() - started
        total += step
        longest = max(longest, step)
        if piece is None:
            return total, longest, size
        size += len(piece)


def nudge(filled: MetricState, sets: list[tuple[str, str, str]], round_no: int) -> None:
    """A few increments between two scrapes, as live traffic makes."""
    for labels in sets[round_no :: max(1, len(sets) // 20)]:
        filled.apply(Update(f"n{round_no}", Kind.TERMINAL_FAILURE, ((FAILURES.name, labels),)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--series", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    disable_created_metrics()  # type: ignore[no-untyped-call]
    sets = label_sets(args.series)
    baseline = children(sets)
    filled = state(sets)
    reference = CollectorRegistry()
    reference.register(StateCollector(filled))
    exposition = Exposition(filled, CollectorRegistry())
    text: Format = negotiate("")
    openmetrics = negotiate("application/openmetrics-text; version=1.0.0")

    cold, cold_step, _ = stepped(exposition.slices(text), gzip=False)
    results: dict[str, list[float]] = {
        name: []
        for name in (
            "children",
            "collector",
            "children_om",
            "ours",
            "ours_step",
            "ours_om",
            "ours_gzip",
            "ours_gzip_step",
            "children_gzip",
        )
    }
    sizes: dict[str, int] = {}
    for round_no in range(args.rounds):
        nudge(filled, sets, round_no)
        results["children"].append(timed(lambda: generate_latest(baseline)))
        results["collector"].append(timed(lambda: generate_latest(reference)))
        results["children_om"].append(timed(lambda: openmetrics.encoder(baseline)))
        total, step, sizes["text"] = stepped(exposition.slices(text), gzip=False)
        results["ours"].append(total)
        results["ours_step"].append(step)
        results["ours_om"].append(stepped(exposition.slices(openmetrics), gzip=False)[0])
        total, step, sizes["gzip"] = stepped(exposition.slices(text), gzip=True)
        results["ours_gzip"].append(total)
        results["ours_gzip_step"].append(step)
        # prometheus_client's own servers gzip the whole body with gzip.compress.
        results["children_gzip"].append(
            timed(lambda: zlib.compress(generate_latest(baseline), 6, GZIP_WBITS))
        )
        print(
            f"round {round_no}: children {results['children'][-1] * 1000:7.1f} ms, "
            f"collector {results['collector'][-1] * 1000:7.1f} ms, "
            f"ours {results['ours'][-1] * 1000:6.1f} ms (longest step "
            f"{results['ours_step'][-1] * 1000:.2f} ms), ours+gzip "
            f"{results['ours_gzip'][-1] * 1000:6.1f} ms"
        )

    median = {name: statistics.median(values) * 1000 for name, values in results.items()}
    print(f"machine: {machine()}")
    print(
        f"series: {len(sets)}; body {sizes['text']} bytes, gzip level {GZIP_LEVEL} {sizes['gzip']}"
    )
    print(
        f"cold first scrape (every line rendered): {cold * 1000:.1f} ms, "
        f"longest step {cold_step * 1000:.2f} ms"
    )
    print("median ms over rounds:")
    for name, value in median.items():
        print(f"  {name:15} {value:9.2f}")
    print(
        f"ratio ours/children {median['ours'] / median['children']:.3f} (target <= 0.10); "
        f"ours/collector {median['ours'] / median['collector']:.3f}; "
        f"openmetrics ours/children {median['ours_om'] / median['children_om']:.3f}; "
        f"gzip ours/children {median['ours_gzip'] / median['children_gzip']:.3f}"
    )  # fmt: skip


if __name__ == "__main__":
    main()
