"""The embedded default store: one SQLite file in WAL mode, written by one thread.

Durability: a commit returns only after SQLite's COMMIT with `synchronous=FULL`, so an
acknowledged event survives `kill -9` and power loss. Concurrent deliveries share one
transaction (group commit): while one COMMIT is in flight, the next deliveries queue up
and go together in the next one, so fsync cost is paid per group, not per delivery. All
SQLite calls run on a single worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Final, TypeVar

from exporter.records import Labels, Update, Values
from exporter.store.base import (
    Lease,
    StoreError,
    Summary,
    encode_series,
    lease_key,
    values_from_rows,
)
from exporter.store.private import make_private
from exporter.store.sqlitegroup import known, transaction, write_group

DB_FILE: Final = "state.db"
T = TypeVar("T")

# Each entry moves the schema one version up; never edit a released entry, add one.
MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        "CREATE TABLE seen (uuid TEXT PRIMARY KEY, seen_at REAL NOT NULL) WITHOUT ROWID",
        "CREATE INDEX seen_by_time ON seen (seen_at)",
        "CREATE TABLE series (key TEXT PRIMARY KEY, value REAL NOT NULL) WITHOUT ROWID",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    ),
)
SCHEMA_VERSION: Final = len(MIGRATIONS)

_DROP: Final = "DELETE FROM series WHERE key = ? AND value = ?"
_INSERT_META: Final = "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)"
_REPLACE_META: Final = "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)"

Pending = tuple[Sequence[Update], float, "asyncio.Future[list[bool]]"]


log = logging.getLogger(__name__)
WAL_FILES: Final = ("-wal", "-shm")


class SqliteStore:
    """State in `<directory>/state.db`; see the module docstring for the guarantees."""

    # `backfill` and `replay` may write the same file from another process while `serve`
    # runs: the server re-reads the totals when `generation` says someone else committed.
    shared = True

    def __init__(
        self, directory: Path, *, max_size: int | None = None, busy_timeout: float = 1.0
    ) -> None:
        self.path = directory / DB_FILE
        self._max_size = max_size
        # Short: a locked database must become a 503 well inside Okta's 3 s timeout.
        self._busy_timeout_ms = int(busy_timeout * 1000)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._conn: sqlite3.Connection | None = None
        self._pending: list[Pending] = []
        self._wakeup = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._generation = 0  # changes seen by other connections (see `generation`)
        self.transactions = 0  # write transactions committed (groups of commits)
        self._reconnected = False
        self._data_version: int | None = None

    # --- running SQLite work on the store's thread --------------------------------------

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._guarded, work)

    def _guarded(self, work: Callable[[sqlite3.Connection], T]) -> T:
        try:
            return work(self._connection())
        except sqlite3.Error as exc:
            # Reconnect next time: after a read-only or full filesystem recovers, a fresh
            # connection sees it, where an old one may keep its error state.
            self._disconnect()
            raise StoreError(f"SQLite {self.path}: {exc}") from exc
        except OSError as exc:
            self._disconnect()
            raise StoreError(f"SQLite {self.path}: {exc.strerror or exc}") from exc

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    def _disconnect(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None
            # data_version only compares within one connection: after a reconnect, what
            # other processes wrote meanwhile is unknown, so `generation` reports a change.
            self._data_version = None
            self._reconnected = True

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Created private before SQLite touches it: it holds the generated hook secret and
        # the actor-hash key. SQLite gives the -wal and -shm files the same mode.
        make_private(self.path.parent, 0o700)
        for path in (self.path, *(self.path.with_name(self.path.name + s) for s in WAL_FILES)):
            make_private(path, 0o600, create=path == self.path)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=0)
        conn.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        if self._max_size is not None:
            page_size = conn.execute("PRAGMA page_size").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {max(1, self._max_size // page_size)}")
        self._migrate(conn)
        return conn

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
            current = row[0] or 0
            if current > SCHEMA_VERSION:
                raise sqlite3.DatabaseError(
                    f"schema version {current} is newer than this exporter knows "
                    f"({SCHEMA_VERSION}); upgrade the exporter"
                )
            for version in range(current, SCHEMA_VERSION):
                for statement in MIGRATIONS[version]:
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version + 1,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    # --- the Store interface -------------------------------------------------------------

    async def open(self) -> Values:
        # The baseline first: a commit by another process during the read shows as a change.
        self._generation, self._data_version = 0, await self._data_version_now()
        self._reconnected = False
        values = await self.values()
        self._writer = asyncio.create_task(self._write_loop(), name="sqlite-group-commit")
        return values

    async def commit(self, updates: Sequence[Update], now: float) -> list[bool]:
        if self._writer is None:
            raise StoreError("SQLite store is not open")
        future: asyncio.Future[list[bool]] = asyncio.get_running_loop().create_future()
        self._pending.append((updates, now, future))
        self._wakeup.set()
        return await future

    async def _write_loop(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                group, self._pending = self._pending, []
                try:
                    deliveries = [(updates, now) for updates, now, _ in group]
                    results = await self._run(partial(write_group, deliveries=deliveries))
                except Exception as exc:  # no waiter may hang on a bug either
                    error = exc if isinstance(exc, StoreError) else StoreError(f"SQLite: {exc!r}")
                    for _, _, future in group:
                        if not future.done():
                            future.set_exception(error)
                else:
                    self.transactions += 1
                    for (_, _, future), result in zip(group, results, strict=True):
                        if not future.done():
                            future.set_result(result)

    async def values(self) -> Values:
        rows = await self._run(
            lambda conn: conn.execute("SELECT key, value FROM series").fetchall()
        )
        return values_from_rows(rows)

    async def generation(self) -> int:
        # SQLite's data_version changes when another connection, here another process,
        # has committed (https://sqlite.org/pragma.html#pragma_data_version).
        version = await self._data_version_now()
        if self._reconnected or (self._data_version is not None and version != self._data_version):
            self._reconnected = False
            self._generation += 1
        self._data_version = version
        return self._generation

    async def _data_version_now(self) -> int:
        return await self._run(lambda conn: int(conn.execute("PRAGMA data_version").fetchone()[0]))

    async def get_meta(self, key: str) -> str | None:
        def read(conn: sqlite3.Connection) -> str | None:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            return None if row is None else str(row[0])

        return await self._run(read)

    async def set_meta(self, key: str, value: str, *, only_if_absent: bool = False) -> bool:
        statement = _INSERT_META if only_if_absent else _REPLACE_META

        def write(conn: sqlite3.Connection) -> bool:
            return conn.execute(statement, (key, value)).rowcount == 1

        return await self._run(write)

    async def drop(self, series: Sequence[tuple[str, Labels, float]]) -> int:
        rows = [(encode_series(name, labels), value) for name, labels, value in series]

        def delete(conn: sqlite3.Connection) -> int:
            with transaction(conn):  # one fsync for the lot, not one per row
                return sum(conn.execute(_DROP, row).rowcount for row in rows)

        return await self._run(delete)

    async def prune(self, now: float, window: float) -> int:
        def delete(conn: sqlite3.Connection) -> int:
            return conn.execute("DELETE FROM seen WHERE seen_at < ?", (now - window,)).rowcount

        return await self._run(delete)

    async def probe(self) -> None:
        await self.set_meta("probe", str(time.time()))

    async def summary(self) -> Summary:
        def read(conn: sqlite3.Connection) -> tuple[int, int, float | None]:
            series = conn.execute("SELECT count(*) FROM series").fetchone()[0]
            entries, oldest = conn.execute("SELECT count(*), min(seen_at) FROM seen").fetchone()
            return series, entries, oldest

        series, entries, oldest = await self._run(read)
        size = sum(
            p.stat().st_size
            for p in (self.path, self.path.with_name(DB_FILE + "-wal"))
            if p.exists()
        )
        return Summary("sqlite", str(self.path), series, entries, oldest, size)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None
        for _, _, future in self._pending:
            if not future.done():
                future.set_exception(StoreError("SQLite store closed"))
        self._pending = []
        await asyncio.get_running_loop().run_in_executor(self._executor, self._disconnect)
        self._executor.shutdown(wait=True)

    # --- leases and read-only look-ups (System Log poller, backfill, replay) --------------

    async def acquire_lease(
        self, name: str, owner: str, ttl: float, now: float, *, replacing: str | None = None
    ) -> bool:
        key = lease_key(name)

        def take(conn: sqlite3.Connection) -> bool:
            with transaction(conn):
                row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
                if row is not None and not Lease.decode(row[0]).may_take(owner, now, replacing):
                    return False
                conn.execute(_REPLACE_META, (key, Lease(owner, now + ttl).encode()))
                return True

        return await self._run(take)

    async def lease_holder(self, name: str, now: float) -> str | None:
        text = await self.get_meta(lease_key(name))
        held = Lease.decode(text) if text is not None else None
        return held.owner if held is not None and held.expires > now else None

    async def release_lease(self, name: str, owner: str) -> None:
        key = lease_key(name)

        def give_up(conn: sqlite3.Connection) -> None:
            with transaction(conn):
                row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
                if row is not None and Lease.decode(row[0]).owner == owner:
                    conn.execute("DELETE FROM meta WHERE key = ?", (key,))

        await self._run(give_up)

    async def seen(self, uuids: Sequence[str]) -> list[bool]:
        found = await self._run(partial(known, uuids=uuids))
        return [uuid in found for uuid in uuids]
