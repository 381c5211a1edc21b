"""PromQL building blocks shared by the rules and the dashboard.

The one subtle piece is `new_increase`. Our event-derived counters are sparse: a series is
born the moment the first failure of an application, group or actor arrives, already at 1.
`increase()` needs two samples of a series and so never sees that first failure
(prometheus/prometheus#1673): a plain `increase(x[15m]) > 0` misses the first failure of a
never-seen group, which is exactly the one nobody knows about yet.

A series was born inside a window when a scrape of its target in that window showed
everything the target had and not that series: fewer samples of the series than such
scrapes. Both carry the scrape's timestamp, so `count_over_time` of the series against
`sum_over_time` of a 0/1 series sampled at every scrape counts exactly that. For series
served from the exporter's store the 0/1 series is `okta_group_push_exporter_ready` (1 once
the store is open: before, the exporter serves without its persisted series); for the
exporter's per-process counters it is `up`. For born series the whole value is new; for the
others `increase()` is right. This stays quiet where the usual `x unless x offset w` trick
fires falsely:

- an exporter restart: the series and the ready/up samples are both missing for the failed
  scrapes, and a store that opens late reports ready 0 until its series are served;
- a fresh Prometheus: the first scrape that has the series is also the first ready sample;
- a new replica: its own samples start with its first scrape, which already has the series.

It reads every sample of the window once, as `increase()` itself does. A series born while
the exporter was not ready for the whole window before it is counted by `increase()` alone.
"""

from __future__ import annotations

from collections.abc import Sequence


def selector(metric: str, *matchers: str) -> str:
    """`metric{m1, m2}` (just `metric` without matchers)."""
    present = [m for m in matchers if m]
    return f"{metric}{{{', '.join(present)}}}" if present else metric


def without(labels: Sequence[str]) -> str:
    return ", ".join(labels)


def new_increase(
    series: str,
    window: str,
    scrapes: str,
    *,
    replica_labels: Sequence[str] | None = ("instance",),
    offset: str = "",
) -> str:
    """The increase of `series` over `window`, counting series born inside it from zero.

    `series` and `scrapes` (the 0/1 series described above) select the same targets. With
    `replica_labels`, replicas that share state (and so expose the same totals) are folded
    with `max without (...)`; pass None for per-process counters, which must not be folded.
    """
    at = f" offset {offset}" if offset else ""
    body = (
        f"  # a series born in the window: all of its value is new\n"
        f"  {series}{at}\n"
        f"and\n"
        f"  count_over_time({series}[{window}]{at})\n"
        f"    < on (job, instance) group_left ()\n"
        f"  sum_over_time({scrapes}[{window}]{at})\n"
        f"or\n"
        f"  increase({series}[{window}]{at})"
    )
    if replica_labels:
        return f"max without ({without(replica_labels)}) (\n{indent(body)}\n)"
    return f"(\n{indent(body)}\n)"


def indent(text: str, by: int = 2) -> str:
    pad = " " * by
    return "\n".join(pad + line if line else line for line in text.splitlines())
