"""The depth scan on hostile and on ordinary bodies (issue 15, item 1).

Hostile: `[` x 33, then one unterminated string of escaped quotes, the body that made the
old scan quadratic; sizes from 20 KB to the default --web.max-body-size, with the largest
body decoded on the event loop (exporter/web/hooks.py THREAD_PARSE_BYTES) among them.
Ordinary: 50-event hook bodies, where the scan runs whenever a body takes the lenient
decoder. Each prints
the median of `--rounds` timings of `json_depth` and, for scale, of `orjson.loads` on a
valid body of the same size.

Usage: python -m bench.hostile [--rounds 5]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from collections.abc import Callable

import orjson

from bench.common import failure_event, machine
from exporter.ingest.jsontext import json_depth
from exporter.web.hooks import THREAD_PARSE_BYTES


def median_seconds(work: Callable[[], object], rounds: int) -> float:
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    print(machine())
    for size in (20_000, 160_000, THREAD_PARSE_BYTES, 4 * 1024 * 1024):
        hostile = b"[" * 33 + b'"' + b'\\"' * ((size - 34) // 2)
        valid = orjson.dumps(["x" * (size - 6)])
        scan = median_seconds(functools.partial(json_depth, hostile), rounds)
        decode = median_seconds(functools.partial(orjson.loads, valid), rounds)
        print(f"hostile {len(hostile):>9} B: json_depth {scan * 1e3:8.2f} ms, "
              f"orjson.loads (valid, same size) {decode * 1e3:7.2f} ms")  # fmt: skip
    events = [failure_event(app=i % 20, group=i % 100) for i in range(50)]
    ordinary = orjson.dumps({"eventType": "com.okta.event_hook", "data": {"events": events}})
    scan = median_seconds(lambda: [json_depth(ordinary) for _ in range(1000)], rounds) / 1000
    decode = median_seconds(lambda: [orjson.loads(ordinary) for _ in range(1000)], rounds) / 1000
    print(f"ordinary {len(ordinary):>8} B: json_depth {scan * 1e6:8.1f} us, "
          f"orjson.loads {decode * 1e6:7.1f} us")  # fmt: skip


if __name__ == "__main__":
    main()
