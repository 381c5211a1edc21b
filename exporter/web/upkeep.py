"""Store upkeep that runs beside the HTTP server: pruning, fault probing, shared totals."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from exporter.counting.state import MetricState
from exporter.metrics.health import Health
from exporter.store.base import Store, StoreError

log = logging.getLogger(__name__)


async def every(seconds: float, job: Callable[[], Awaitable[None]]) -> None:
    """Run `job` every `seconds` until cancelled; a job's failure never ends the loop."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await job()
        except StoreError:
            pass  # the job reported it to Health already
        except Exception:
            log.exception("background job failed", extra={"fields": {"job": repr(job)}})


@dataclass
class StoreUpkeep:
    """The periodic jobs one store needs while the exporter serves."""

    store: Store
    state: MetricState
    health: Health
    clock: Callable[[], float]
    dedup_window: float
    on_open: Callable[[], Awaitable[None]]
    opened: bool = False
    last_generation: int = 0  # what the values loaded at open are (Store.generation)
    opens: int = 0  # how many times `open` loaded the values (see refresh)

    async def open(self) -> None:
        """Open the store and load its values; on failure the exporter serves unready.

        A read-only or unreachable store at start must not stop the process: hooks answer
        503 (Okta retries), and the probe opens the store once it works.
        """
        try:
            self.state.merge(await self.store.open())
            self.last_generation = 0  # a store's generation as of the values open returned
            self.opens += 1
            await self.on_open()
        except StoreError as exc:
            self.health.storage_failed("open", exc)
            raise
        self.opened = True
        self.health.storage_ok()

    async def prune(self) -> None:
        """Forget uuids older than the dedup window."""
        try:
            removed = await self.store.prune(self.clock(), self.dedup_window)
        except StoreError as exc:
            self.health.storage_failed("prune", exc)
            raise
        if removed:
            log.info("pruned dedup entries", extra={"fields": {"removed": removed}})

    async def probe(self) -> None:
        """While storage fails, a small write tells when it works again.

        So readiness returns without waiting for Okta's next delivery.
        """
        if not self.opened:
            await self.open()
            return
        if self.health.storage_error is None:
            return
        try:
            await self.store.probe()
        except StoreError as exc:
            self.health.storage_failed("probe", exc)
            raise
        self.health.storage_ok()

    async def refresh(self) -> None:
        """Fold in what other replicas counted, when the shared state changed.

        A max-merge, because counters and last-failure times only grow: a snapshot older
        than a local increment can never make a series go down.
        """
        opens = self.opens
        try:
            generation = await self.store.generation()
            if generation != self.last_generation:
                self.state.merge(await self.store.values())
                # An `open` meanwhile started the generation over: what was read before it
                # says nothing about the new count, so it is not recorded.
                if self.opens == opens:
                    self.last_generation = generation
        except StoreError as exc:
            self.health.storage_failed("refresh", exc)
            raise

    def start(self, probe_interval: float, refresh_interval: float) -> list[asyncio.Task[None]]:
        """The jobs as tasks; the caller cancels them with `stop`."""
        jobs = [
            asyncio.create_task(every(min(self.dedup_window / 10, 3600.0), self.prune)),
            asyncio.create_task(every(probe_interval, self.probe)),
        ]
        if self.store.shared:
            jobs.append(asyncio.create_task(every(refresh_interval, self.refresh)))
        return jobs


async def stop(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel and await every task."""
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
