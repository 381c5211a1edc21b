"""Memory per series: ours against prometheus_client labelled children, in one run.

Each variant runs in a fresh Python process: it builds the label value strings first
(both sides share such strings with the rest of the process), reads its RSS, creates N
series of a three-label counter, renders /metrics once (ours keeps each series' text from
then on, so that is counted), collects garbage and reads its RSS again. The growth per
series is the claim. Ours is what the exporter holds per series: the value in
MetricState, its label-cap bookkeeping and the Exposition's cached text. Rounds
alternate; medians are reported.

Usage: python -m bench.memory [--series 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys

from bench.common import machine

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss() -> int:
    gc.collect()
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * PAGE


def label_values(count: int) -> list[tuple[str, str, str]]:
    apps = [f"Application {i}" for i in range(50)]
    groups = [f"Engineering group {i}" for i in range(max(1, count // (50 * 200)))]
    actors = [f"actor{i}@example.com" for i in range(200)]
    return [(a, g, u) for a in apps for g in groups for u in actors][:count]


def measure_children(count: int) -> float:
    from prometheus_client import (  # noqa: PLC0415 - each variant in its own process
        CollectorRegistry,
        Counter,
        disable_created_metrics,
    )
    from prometheus_client.exposition import generate_latest  # noqa: PLC0415

    from exporter import catalogue  # noqa: PLC0415

    disable_created_metrics()  # type: ignore[no-untyped-call]
    spec = catalogue.FAILURES
    values = label_values(count)
    registry = CollectorRegistry()
    counter = Counter(spec.family, spec.help, spec.labels, registry=registry)
    before = rss()
    for app, group, actor in values:
        counter.labels(app, group, actor).inc()
    generate_latest(registry)
    return (rss() - before) / count


def measure_ours(count: int) -> float:
    from prometheus_client import CollectorRegistry  # noqa: PLC0415

    from exporter import catalogue  # noqa: PLC0415
    from exporter.config import Config, LabelsSection  # noqa: PLC0415
    from exporter.counting.planner import limits  # noqa: PLC0415
    from exporter.counting.state import MetricState, Update  # noqa: PLC0415
    from exporter.ingest.classify import Kind  # noqa: PLC0415
    from exporter.metrics.exposition import Exposition, negotiate  # noqa: PLC0415

    name = catalogue.FAILURES.name
    values = label_values(count)
    config = Config(labels=LabelsSection(max_values=count, max_series=count + 10))
    state = MetricState(limits(config))
    exposition = Exposition(state, CollectorRegistry())
    before = rss()
    for app, group, actor in values:
        update = Update("u", Kind.TERMINAL_FAILURE, ((name, (app, group, actor)),))
        state.apply(update)
    exposition.render(negotiate(""))
    return (rss() - before) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--series", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variant", choices=["children", "ours"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant == "children":
        print(measure_children(args.series))
        return
    if args.variant == "ours":
        print(measure_ours(args.series))
        return
    per_series: dict[str, list[float]] = {"children": [], "ours": []}
    for round_no in range(args.rounds):
        for variant, results in per_series.items():
            command = [sys.executable, "-m", "bench.memory", f"--series={args.series}"]
            output = subprocess.run(
                [*command, f"--variant={variant}"], capture_output=True, text=True, check=True
            ).stdout
            results.append(float(output))
            print(f"round {round_no} {variant:8}: {results[-1]:6.0f} bytes/series")
    children = statistics.median(per_series["children"])
    ours = statistics.median(per_series["ours"])
    print(f"machine: {machine()}")
    print(
        f"median RSS growth per series ({args.series} series): prometheus_client children "
        f"{children:.0f} B, ours {ours:.0f} B; ratio {ours / children:.2f} (target <= 0.50)"
    )


if __name__ == "__main__":
    main()
