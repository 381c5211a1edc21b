"""`backfill` and `replay`: past events into the same ledger as live ones.

Hooks lose what Okta sent while the exporter was down, and the poller starts at
`--okta.poll-since`. `backfill --since --until` reads a bounded System Log query (ordered by
`published`, finite pages) and `replay FILE...` reads exported LogEvents; both go through
the ledger with their own source name, so whatever was already counted, by any path,
counts once. `--dry-run` tallies against the store without writing: which failures there
are per application and group, and how many of them would be new.
"""

from __future__ import annotations

import asyncio
import gzip
import random
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, TextIO

from prometheus_client import CollectorRegistry

from exporter.config import Config, PollSince, label_policy
from exporter.counting.ledger import Ledger
from exporter.counting.planner import limits
from exporter.counting.state import MetricState
from exporter.ingest.classify import Kind, classify_event
from exporter.ingest.events import Batch, Event, parse_log_events
from exporter.ingest.exports import export_items, parse_item
from exporter.metrics.health import Health
from exporter.metrics.selfmetrics import SelfMetrics
from exporter.okta.client import OktaClient, make_client
from exporter.okta.errors import ApiError, OktaError
from exporter.okta.progress import BarFactory, terminal_bar
from exporter.okta.query import bounded_url, iso
from exporter.okta.ratelimit import pace, retry_delay
from exporter.store import make_store
from exporter.store.base import Store, StoreError
from exporter.store.memory import MemoryStore
from exporter.store.sqlite import SqliteStore

BACKFILL_SOURCE: Final = "backfill"
REPLAY_SOURCE: Final = "replay"
CHUNK: Final = 1000  # events per ledger batch (one transaction each)
MAX_ATTEMPTS: Final = 8  # transient failures in a row before a backfill gives up

Mapping = tuple[str, str]  # (application, group) label values


@dataclass
class Tally:
    """What an import read and what became of it."""

    events: int = 0
    pages: int = 0
    new_failures: int = 0
    new_successes: int = 0
    duplicates: int = 0
    ignored: int = 0
    skipped: int = 0
    failures: Counter[Mapping] = field(default_factory=Counter)  # every failure read
    new: Counter[Mapping] = field(default_factory=Counter)  # dry run: the ones not counted yet


class Importer:
    """Feeds batches to the ledger; with `dry_run`, only asks the store what is new."""

    def __init__(self, ledger: Ledger, store: Store, source: str, *, dry_run: bool) -> None:
        self.tally = Tally()
        self.source = source
        self.dry_run = dry_run
        self._ledger = ledger
        self._store = store
        self._this_run: set[str] = set()  # dry run: uuids already tallied as new

    async def add(self, batch: Batch) -> None:
        """Record (or, dry, tally) one batch."""
        tally = self.tally
        tally.events += len(batch.events)
        tally.skipped += len(batch.skipped)
        for event in batch.events:
            if classify_event(event).is_failure:
                # Named as the series name it: the label policy's values.
                tally.failures[self._ledger.policy.mapping(event)] += 1
        for start in range(0, len(batch.events), CHUNK):
            chunk = batch.events[start : start + CHUNK]
            if self.dry_run:
                await self._tally(chunk)
            else:
                recorded = await self._ledger.record(chunk, self.source)
                tally.new_failures += recorded.failures
                tally.new_successes += recorded.counted - recorded.failures
                tally.duplicates += recorded.duplicates
                tally.ignored += recorded.ignored

    async def _tally(self, events: Sequence[Event]) -> None:
        relevant = [(e, kind) for e in events if (kind := classify_event(e)) is not Kind.IGNORED]
        self.tally.ignored += len(events) - len(relevant)
        known = await self._store.seen([event.uuid for event, _ in relevant])
        for (event, kind), counted in zip(relevant, known, strict=True):
            if counted or event.uuid in self._this_run:
                self.tally.duplicates += 1
                continue
            self._this_run.add(event.uuid)
            if kind.is_failure:
                self.tally.new_failures += 1
                self.tally.new[self._ledger.policy.mapping(event)] += 1
            else:
                self.tally.new_successes += 1

    def summary(self) -> list[str]:
        """The closing lines: what was read and what was (or would be) counted."""
        t = self.tally
        verb = "would count" if self.dry_run else "counted"
        lines = [
            f"read {t.events:,} events" + (f" in {t.pages:,} pages" if t.pages else ""),
            f"{verb} {t.new_failures:,} new failures and {t.new_successes:,} new successes; "
            f"{t.duplicates:,} already counted, {t.ignored:,} not group push, "
            f"{t.skipped:,} invalid items skipped",
        ]
        if self.dry_run:
            lines.append("dry run: nothing was written")
        return lines

    def table(self) -> list[str]:
        """Failures per application and group, most first (and, dry, how many are new)."""
        rows = sorted(self.tally.failures.items(), key=lambda item: (-item[1], item[0]))
        header = ["application", "group", "failures"] + (["new"] if self.dry_run else [])
        body = [
            [app, group, str(count)] + ([str(self.tally.new[(app, group)])] if self.dry_run else [])
            for (app, group), count in rows
        ]
        return format_table(header, body) if body else ["no group push failures in range"]


def format_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Plain aligned columns: text left, numbers right."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    numeric = [all(row[i].isdigit() for row in rows) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.rjust(width) if right else cell.ljust(width)
            for cell, width, right in zip(cells, widths, numeric, strict=True)
        ).rstrip()

    return [line(header), *(line(row) for row in rows)]


# --- backfill -------------------------------------------------------------------------------


async def run_backfill(
    client: OktaClient,
    importer: Importer,
    since: float,
    until: float,
    *,
    bar: BarFactory = terminal_bar,
    rate_share: float = 0.5,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rng: random.Random | None = None,
) -> None:
    """Read published times [since, until) page by page into the importer.

    Waits out 429s and backs off on 5xx and timeouts like the poller; gives up after
    MAX_ATTEMPTS failures in a row, or at once on an error that needs a person (ApiError).
    """
    rng = rng or random.Random()  # noqa: S311 - jitter
    url: str | None = bounded_url(client.org_url, since, until)
    failures = 0
    with bar(until - since, f"backfill {iso(since)[:16]}") as progress:
        while url is not None:
            try:
                page = await client.get_page(url)
            except ApiError:
                raise
            except OktaError as exc:
                failures += 1
                if failures >= MAX_ATTEMPTS:
                    raise
                await sleep(retry_delay(exc, failures, rng))
                continue
            failures = 0
            batch = parse_log_events(page.items)
            await importer.add(batch)
            importer.tally.pages += 1
            published = [e.published for e in batch.events if e.published is not None]
            if published:
                progress.n = min(until, max(published)) - since
            progress.set_postfix_str(f"{importer.tally.events:,} events", refresh=True)
            # A bounded query's last page has no next link; an empty page ends it too.
            url = page.next_url if page.items else None
            if url is not None:
                await sleep(pace(page.rate, rate_share, clock()))
        progress.n = until - since
        progress.refresh()


# --- replay ---------------------------------------------------------------------------------


def read_file(path: Path) -> bytes:
    """A file's bytes, decompressed when it is gzip; OSError when unreadable."""
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


async def run_replay(
    paths: Sequence[Path], importer: Importer, *, bar: BarFactory = terminal_bar
) -> None:
    """Every event of every file, in order, into the importer, a chunk at a time.

    One file is in memory at a time, and of an NDJSON file only a chunk of its events:
    exports of millions of events replay in bounded memory.
    """
    for path in paths:
        total, items = export_items(read_file(path))
        with bar(total, f"replay {path.name}") as progress:
            chunk: list[Event] = []
            for item in items:
                batch = parse_item(item)
                importer.tally.skipped += len(batch.skipped)
                chunk.extend(batch.events)
                progress.update(1)
                if len(chunk) >= CHUNK:
                    await importer.add(Batch(events=tuple(chunk)))
                    chunk = []
                    progress.set_postfix_str(f"{importer.tally.events:,} events", refresh=False)
            if chunk:
                await importer.add(Batch(events=tuple(chunk)))
            progress.n = total
            progress.set_postfix_str(f"{importer.tally.events:,} events", refresh=True)


# --- the commands ---------------------------------------------------------------------------


def _store_for(config: Config, dry_run: bool) -> Store:
    """The configured store; a dry run on SQLite state that does not exist yet gets an
    empty one in memory instead of creating the file (it writes nothing)."""
    if dry_run and config.storage.backend == "sqlite":
        if not (config.storage.path / "state.db").exists():
            return MemoryStore(config.storage.dedup_window)
        return SqliteStore(config.storage.path)
    return make_store(config)


async def _import(
    config: Config,
    source: str,
    dry_run: bool,
    work: Callable[[Importer], Awaitable[None]],
    out: TextIO | None,
) -> int:
    out = out or sys.stdout
    store = _store_for(config, dry_run)
    metrics = SelfMetrics(CollectorRegistry())
    # The same label policy and caps as serve: what an import stores is what serve would
    # have stored, and the caps count the series already in the store.
    state = MetricState(limits(config))
    policy = label_policy(config)
    ledger = Ledger(store, state, metrics, Health(metrics), time.time, policy=policy)
    importer = Importer(ledger, store, source, dry_run=dry_run)
    try:
        state.load(await store.open())
        if not dry_run:  # a dry run writes nothing, not even the actor hash key
            await ledger.prepare()
        await work(importer)
    except (StoreError, OktaError, OSError) as exc:
        print(f"okta-group-push-exporter: {source} stopped: {_reason(exc)}", file=sys.stderr)
        for line in importer.summary():
            print(f"  so far: {line}", file=sys.stderr)
        return 1
    finally:
        await store.close()
    if dry_run:
        for line in importer.table():
            print(line, file=out)
        print(file=out)
    for line in importer.summary():
        print(line, file=out)
    return 0


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return str(exc)


async def backfill_command(
    config: Config,
    since: PollSince,
    until: PollSince | None,
    *,
    dry_run: bool = False,
    bar: BarFactory = terminal_bar,
    out: TextIO | None = None,
) -> int:
    """`okta-group-push-exporter backfill`: exit status 0, or 1 with the reason on stderr."""
    now = time.time()
    start = since.resolve(now)
    end = until.resolve(now) if until is not None else now
    if config.okta.org_url is None:
        print("okta-group-push-exporter: backfill needs --okta.org-url", file=sys.stderr)
        return 1
    if end <= start:
        print("okta-group-push-exporter: --until must be later than --since", file=sys.stderr)
        return 1
    if start < now - config.storage.dedup_window:
        print(
            f"okta-group-push-exporter: warning: --since is older than --storage.dedup-window "
            f"({config.storage.dedup_window / 86400:g} days): failures counted that long ago are "
            "no longer remembered and would count again",
            file=sys.stderr,
        )
    client = make_client(config)

    async def work(importer: Importer) -> None:
        try:
            await run_backfill(
                client, importer, start, end, bar=bar, rate_share=config.okta.rate_limit_share
            )
        finally:
            await client.close()

    print(f"backfill {iso(start)} .. {iso(end)} from {config.okta.org_url}", file=out or sys.stdout)
    return await _import(config, BACKFILL_SOURCE, dry_run, work, out)


async def replay_command(
    config: Config,
    paths: Sequence[Path],
    *,
    dry_run: bool = False,
    bar: BarFactory = terminal_bar,
    out: TextIO | None = None,
) -> int:
    """`okta-group-push-exporter replay FILE...`: exit status 0, or 1 with the reason."""

    async def work(importer: Importer) -> None:
        await run_replay(paths, importer, bar=bar)

    return await _import(config, REPLAY_SOURCE, dry_run, work, out)
