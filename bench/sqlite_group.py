"""Where one SQLite group commit's time goes: the steps of `write_group`, timed apart.

Groups of 16 deliveries of 50 distinct events (as bench/durability.py's 50-event case
makes them when 16 connections post at once), written to a fresh state.db with the
store's own connection, pragmas and statements. Each step of exporter/store/
sqlitegroup.py's `write_group` is timed on its own, with the functions and statements it
uses (keep the two in step): the look-up of known uuids, summing the group in Python,
the `seen` inserts, the two series upserts, and the COMMIT (WAL write and fsync). Beside
them, as the store did before: the group summed one update at a time, and the `seen`
rows inserted with `executemany` (into a twin table). The uuids are time-based, as
Okta's are (bench/common.py). The fsync of a 4 KiB write to the same directory is timed
alone for scale.

Usage: python -m bench.sqlite_group [--groups 60]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import machine
from bench.ingest import bodies
from exporter.config import Config, label_policy
from exporter.counting.planner import Planner
from exporter.ingest.classify import classify
from exporter.ingest.hookbody import parse_hook_body
from exporter.records import Update
from exporter.store import sqlite, sqlitegroup
from exporter.store.base import encode_series

DELIVERIES = 16


def planned_groups(groups: int) -> list[list[Update]]:
    planner = Planner(label_policy(Config()))
    deliveries = [
        [planner(e, classify(e.event_type, e.outcome), 0.0) for e in parse_hook_body(b).events]
        for b in bodies(groups * DELIVERIES * 50, 50)
    ]
    return [
        [u for delivery in deliveries[g * DELIVERIES : (g + 1) * DELIVERIES] for u in delivery]
        for g in range(groups)
    ]


def sum_by_update(updates: list[Update]) -> None:
    """`sqlitegroup.summed` as it was before it summed per shape: every update's series."""
    increments: dict[object, int] = {}
    maxima: dict[object, float] = {}
    for update in updates:
        for series in update.increments:
            increments[series] = increments.get(series, 0) + 1
        for name, labels, value in update.maxima:
            if value > maxima.get((name, labels), -math.inf):
                maxima[(name, labels)] = value


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--groups", type=int, default=60)
    args = parser.parse_args()
    groups = planned_groups(args.groups)
    steps: dict[str, list[float]] = {
        k: []
        for k in (
            "known uuids",
            "sum",
            "insert seen",
            "upserts",
            "commit",
            "total",
            "sum by update",
            "insert seen, executemany",
        )
    }
    with tempfile.TemporaryDirectory() as tmp:
        store = sqlite.SqliteStore(Path(tmp))
        await store.open()
        conn = store._connection()
        # The baseline for "insert seen": the same rows, one statement step each, into a
        # table made as `seen` is.
        conn.execute(
            "CREATE TABLE seen_baseline (uuid TEXT PRIMARY KEY, seen_at REAL NOT NULL)"
            " WITHOUT ROWID"
        )
        conn.execute("CREATE INDEX seen_baseline_by_time ON seen_baseline (seen_at)")
        for group in groups:
            t0 = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            sqlitegroup.known(conn, [u.uuid for u in group])
            t1 = time.perf_counter()
            increments, maxima = sqlitegroup.summed(group)
            t2 = time.perf_counter()
            sqlitegroup.insert_rows(conn, sqlitegroup.INSERT_SEEN, [(u.uuid, 1.0) for u in group])
            t3 = time.perf_counter()
            added = [(encode_series(*s), n) for s, n in increments.items()]
            raised = [(encode_series(*s), v) for s, v in maxima.items()]
            sqlitegroup.insert_rows(conn, sqlitegroup.ADD, added)
            sqlitegroup.insert_rows(conn, sqlitegroup.RAISE, raised)
            t4 = time.perf_counter()
            conn.execute("COMMIT")
            t5 = time.perf_counter()
            t6 = time.perf_counter()
            sum_by_update(group)  # the baseline for "sum": each update's series one by one
            steps["sum by update"].append(time.perf_counter() - t6)
            conn.execute("BEGIN IMMEDIATE")
            t7 = time.perf_counter()
            conn.executemany(
                "INSERT OR IGNORE INTO seen_baseline (uuid, seen_at) VALUES (?, ?)",
                [(u.uuid, 1.0) for u in group],
            )
            steps["insert seen, executemany"].append(time.perf_counter() - t7)
            conn.execute("COMMIT")
            for name, start, end in (("known uuids", t0, t1), ("sum", t1, t2),
                                     ("insert seen", t2, t3), ("upserts", t3, t4),
                                     ("commit", t4, t5), ("total", t0, t5)):  # fmt: skip
                steps[name].append(end - start)
        await store.close()
        fsyncs = []
        descriptor = os.open(Path(tmp) / "fsync.probe", os.O_CREAT | os.O_WRONLY, 0o600)
        for _ in range(200):
            os.write(descriptor, b"x" * 4096)
            started = time.perf_counter()
            os.fsync(descriptor)
            fsyncs.append(time.perf_counter() - started)
        os.close(descriptor)
    print(f"machine: {machine()}")
    print(f"{args.groups} groups of {DELIVERIES} x 50 events; medians per group:")
    for name, times in steps.items():
        print(f"  {name:25} {statistics.median(times) * 1000:6.2f} ms")
    print(f"fsync of a 4 KiB write alone: {statistics.median(fsyncs) * 1000:.2f} ms")


if __name__ == "__main__":
    asyncio.run(main())
