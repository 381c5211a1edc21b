"""One group commit of the SQLite store: the SQL a group of deliveries runs together.

exporter/store/sqlite.py queues deliveries and hands each group to `write_group` on the
store's one thread. Everything here runs on that thread with the GIL held but for
SQLite's own work, so the event loop waits for its Python: the group is summed per shape
and its rows are written a few hundred to a statement (BENCHMARKS.md, "Durable state").
"""

from __future__ import annotations

import contextlib
import itertools
import math
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Final

from exporter.records import Series, Tallies, Update
from exporter.store.base import encode_series

# `{rows}` stands for ROWS_PER_STATEMENT or fewer "(?, ?)" (see `insert_rows`).
INSERT_SEEN: Final = "INSERT OR IGNORE INTO seen (uuid, seen_at) VALUES {rows}"
ADD: Final = (
    "INSERT INTO series (key, value) VALUES {rows} "
    "ON CONFLICT (key) DO UPDATE SET value = value + excluded.value"
)
RAISE: Final = (
    "INSERT INTO series (key, value) VALUES {rows} "
    "ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)"
)
ROWS_PER_STATEMENT: Final = 400  # 800 parameters: below SQLite's oldest default limit (999)

_LOOKUP_CHUNK: Final = 500  # below SQLite's default limit of host parameters


def write_group(
    conn: sqlite3.Connection, deliveries: Sequence[tuple[Sequence[Update], float]]
) -> list[list[bool]]:
    """One transaction for a group of deliveries: dedup each uuid, then count the new ones.

    The group's effect is summed in Python first (increments added up, maxima kept, per
    series) and written as one row per distinct series, not one per event and series,
    up to ROWS_PER_STATEMENT rows to a statement (`insert_rows`): a group of 16
    deliveries of 50 events writes a few statements instead of thousands
    (BENCHMARKS.md, "Durable state", 50-event deliveries). BEGIN
    IMMEDIATE holds the write lock from the look-up to the COMMIT, so no other process
    can record a uuid in between.
    """
    results: list[list[bool]] = []
    with transaction(conn):
        seen_before = known(conn, [update.uuid for updates, _ in deliveries for update in updates])
        seen: list[tuple[str, float]] = []
        new: list[Update] = []
        for updates, now in deliveries:
            applied: list[bool] = []
            for update in updates:
                is_new = update.uuid not in seen_before
                if is_new:
                    seen_before.add(update.uuid)  # a redelivery later in the same group is old
                    seen.append((update.uuid, now))
                    new.append(update)
                applied.append(is_new)
            results.append(applied)
        increments, maxima = summed(new)
        insert_rows(conn, INSERT_SEEN, seen)
        insert_rows(conn, ADD, [(encode_series(*s), n) for s, n in increments.items()])
        insert_rows(conn, RAISE, [(encode_series(*s), v) for s, v in maxima.items()])
    return results


def insert_rows(
    conn: sqlite3.Connection, statement: str, rows: Sequence[tuple[object, object]]
) -> None:
    """Run `statement` for pairs of values, ROWS_PER_STATEMENT rows to a statement.

    Not `executemany`, which steps the statement once per row: this runs on the store's
    thread, beside the event loop, and costs less than half the CPU time for the `seen`
    rows of a group (`python -m bench.sqlite_group`).
    """
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[start : start + ROWS_PER_STATEMENT]
        marks = ",".join(["(?, ?)"] * len(chunk))
        conn.execute(statement.format(rows=marks), list(itertools.chain.from_iterable(chunk)))


def summed(updates: Sequence[Update]) -> tuple[dict[Series, int], dict[Series, float]]:
    """What `updates` do together: each series' increments added up, its maxima kept.

    Updates of one shape are summed once per shape (records.Tallies): this runs on the
    store's thread with the GIL, so every microsecond here is one the event loop waits
    (BENCHMARKS.md, "Durable state"). It relies, as the metric state and the memory
    store do, on what `Update.rank` promises: of two updates that share `written`, the
    one of higher rank has every maximum at least as large (the planner's do).
    """
    increments: dict[Series, int] = {}
    maxima: dict[Series, float] = {}
    held = Tallies()
    shapes = [(1, update) for update in held.hold_all(updates)]  # no rank or no shape
    shapes.extend((count, update) for count, _, update in held.take())
    for count, update in shapes:
        for series in update.increments:
            increments[series] = increments.get(series, 0) + count
        for name, labels, value in update.maxima:
            if value > maxima.get((name, labels), -math.inf):
                maxima[(name, labels)] = value
    return increments, maxima


def known(conn: sqlite3.Connection, uuids: Sequence[str]) -> set[str]:
    """Which of `uuids` are recorded already."""
    found: set[str] = set()
    for start in range(0, len(uuids), _LOOKUP_CHUNK):
        chunk = list(uuids[start : start + _LOOKUP_CHUNK])
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(f"SELECT uuid FROM seen WHERE uuid IN ({marks})", chunk)  # noqa: S608 - only placeholders
        found.update(row[0] for row in rows)
    return found


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK when the block raises."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
