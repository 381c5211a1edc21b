"""The System Log poller: follows Okta's polling query forever, into the same ledger as hooks.

Okta's system-log-query page prescribes the loop: start at `since`, then follow the
`rel="next"` link of every page, forever (it never ends); on an empty page, wait and ask
the same link again; checkpoint the next link, never a `published` time (checkpointing a
time re-reads or skips events, research/okta.md section 6). So:

- the next link is the cursor, stored in the store's meta only after the page's events
  are committed: a crash re-reads at most one page, which the uuid dedup absorbs, and a
  failed request or commit never moves it;
- only the replica holding the `poller` lease polls; it renews the lease while it waits
  and gives it up on shutdown, so a standby takes over within one lease period;
- a 5xx, timeout or connection error is tried again at once within the step, the same
  next link, after a full-jitter backoff within the rate budget (exporter/okta/retry.py,
  up to `retry.ATTEMPTS` tries): a flaky Okta costs a few seconds, not a failed poll;
- a request that still fails, a 429 and a 4xx end the step and decide the wait before the
  next one (Okta's reset, or a backoff up to 5 minutes), and each kind of failure is
  logged when it starts and when it ends, not per retry.

`step` does one request and says how long to wait; `run` loops it. Tests drive `step`
directly, with the clock and sleep injected.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

import msgspec

from exporter.config import Config, OktaSection, PollSince
from exporter.counting.ledger import Ledger
from exporter.ingest.events import parse_log_events
from exporter.ingest.jsontext import DECODER, NOT_JSON
from exporter.metrics.selfmetrics import SelfMetrics
from exporter.okta import endpoints
from exporter.okta.client import OktaClient, Page, make_client
from exporter.okta.errors import ApiError, OktaError
from exporter.okta.hookdelivery import ours
from exporter.okta.lease import LEASE_TTL, Lease, process_id
from exporter.okta.metrics import PollMetrics, RetryMetrics
from exporter.okta.query import PAGE_LIMIT, log_filter, polling_url, same_origin
from exporter.okta.ratelimit import FailureStreak, RateBudget, pace
from exporter.okta.retry import Retries
from exporter.store.base import Store, StoreError

log = logging.getLogger(__name__)

SOURCE: Final = "poller"
COMPONENT: Final = "poller"  # the retry counter's component label
CURSOR_KEY: Final = "poller.cursor"
LEASE_NAME: Final = "poller"
# After an upgrade changes the filter, the old cursor cannot be reused: start a new query
# a little before the old one stopped (the overlap is deduplicated).
FILTER_CHANGE_OVERLAP: Final = 300.0


def filter_fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the polling query goes on: Okta's next link, and for which org and filter."""

    next: str
    org: str
    filter: str  # fingerprint of the filter the link was made with
    saved_at: float
    newest: float | None  # published time of the newest event read so far

    def encode(self) -> str:
        return msgspec.json.encode(
            {
                "next": self.next,
                "org": self.org,
                "filter": self.filter,
                "saved_at": self.saved_at,
                "newest": self.newest,
            }
        ).decode()

    @classmethod
    def decode(cls, text: str) -> Cursor | None:
        """A stored cursor, or None when it is unreadable (then polling starts afresh)."""
        try:
            doc = DECODER.decode(text)
            newest = doc.get("newest")
            return cls(
                next=str(doc["next"]),
                org=str(doc["org"]),
                filter=str(doc["filter"]),
                saved_at=float(doc["saved_at"]),
                newest=None if newest is None else float(newest),
            )
        # OverflowError: an integer past float's range, which msgspec decodes exactly
        # where orjson refused the text. Unreadable either way.
        except (*NOT_JSON, KeyError, TypeError, ValueError, AttributeError, OverflowError):
            return None


@dataclass(frozen=True, slots=True)
class PollSettings:
    """What the poller needs from the configuration."""

    org_url: str
    since: PollSince = OktaSection.poll_since
    interval: float = 30.0
    rate_share: float = 0.5
    lease_ttl: float = LEASE_TTL
    event_hook_id: str | None = None  # whose event_hook.delivery failures count (None: all)


class Poller:
    """Reads the System Log into the ledger, one page per `step`."""

    def __init__(
        self,
        client: OktaClient,
        store: Store,
        ledger: Ledger,
        metrics: PollMetrics,
        settings: PollSettings,
        *,
        self_metrics: SelfMetrics | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        owner: str | None = None,
        retries: RetryMetrics | None = None,
    ) -> None:
        self.client = client
        self.metrics = metrics
        self.retries = retries if retries is not None else RetryMetrics()
        self._store = store
        self._ledger = ledger
        self._settings = settings
        self._self_metrics = self_metrics
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not secrets
        self.owner = owner or process_id()
        self._lease = Lease(store, LEASE_NAME, self.owner, settings.lease_ttl)
        self._filter = filter_fingerprint(log_filter())
        self._cursor: Cursor | None = None
        self._streak = FailureStreak("System Log polling", log, self._rng)

    @classmethod
    def from_config(
        cls,
        config: Config,
        store: Store,
        ledger: Ledger,
        metrics: PollMetrics,
        *,
        self_metrics: SelfMetrics | None = None,
        clock: Callable[[], float] = time.time,
        budget: RateBudget | None = None,
        retries: RetryMetrics | None = None,
    ) -> Poller:
        """The poller `serve` runs when --okta.org-url is set."""
        if config.okta.org_url is None:
            raise ValueError("--okta.org-url is not set")
        client = make_client(config, observe=metrics.request, clock=clock, budget=budget)
        settings = PollSettings(
            org_url=config.okta.org_url,
            since=config.okta.poll_since,
            interval=config.okta.poll_interval,
            rate_share=config.okta.rate_limit_share,
            event_hook_id=config.okta.event_hook_id,
        )
        return cls(
            client, store, ledger, metrics, settings,
            self_metrics=self_metrics, clock=clock, retries=retries,
        )  # fmt: skip

    # --- one request ------------------------------------------------------------------------

    async def step(self) -> float:
        """Ask Okta for the next page and commit it; return the seconds to wait before the next."""
        now = self._clock()
        try:
            if not await self._hold_lease(now):
                return self._settings.lease_ttl / 3
            url = await self._next_url(now)
        except StoreError as exc:
            return self._failed("storage", f"storage: {exc}", logging.ERROR)
        try:
            page = await self._get_page(url)
        except OktaError as exc:
            level = logging.ERROR if isinstance(exc, ApiError) else logging.WARNING
            return self._failed(f"{type(exc).__name__}:{exc.status}", str(exc), level, exc)
        except StoreError as exc:  # renewing the lease between tries
            return self._failed("storage", f"storage: {exc}", logging.ERROR)
        if page is None:  # the lease was lost while waiting to try again
            self._held(False)
            return self._settings.lease_ttl / 3
        self.metrics.up = 1.0
        batch = parse_log_events(ours(page.items, self._settings.event_hook_id))
        if self._self_metrics is not None:
            for skipped in batch.skipped:
                self._self_metrics.invalid_event(SOURCE, skipped.reason)
        published = [e.published for e in batch.events if e.published is not None]
        newest = max(published, default=None)
        try:
            recorded = await self._ledger.record(batch.events, SOURCE)
            await self._save_cursor(self._checked_link(page.next_url, url), newest, now)
        except StoreError as exc:
            return self._failed("storage", f"storage: {exc}", logging.ERROR)
        self.metrics.succeeded(now, newest)
        self.metrics.hook_delivery_failures += recorded.hook_delivery_failures
        self._streak.recovered()
        if batch.events or batch.skipped:
            log.info(
                "system log page",
                extra={
                    "fields": {
                        "source": SOURCE,
                        "events": len(batch.events),
                        "counted": recorded.counted,
                        "duplicates": recorded.duplicates,
                        "ignored": recorded.ignored,
                        "skipped": len(batch.skipped),
                        "hook_delivery_failures": recorded.hook_delivery_failures,
                    }
                },
            )
        paced = pace(page.rate, self._settings.rate_share, now)
        if len(page.items) < PAGE_LIMIT:
            return max(self._settings.interval, paced)  # caught up: wait for new events
        return paced

    async def _get_page(self, url: str) -> Page | None:
        """The page at `url`, the same link tried again after a transient failure.

        Each retry waits a full-jitter backoff, or longer if the budget asks (the failed
        answer's rate-limit headers count too), and goes only if the lease is still ours
        (renewed as usual, once a third of its life has passed). None when it is not.
        """
        tries = Retries(self._rng)
        bucket = endpoints.LOGS.bucket
        while True:
            try:
                return await self.client.get_page(url)
            except OktaError as exc:
                backoff = tries.after(exc)
                if backoff is None:
                    raise
            self.retries.retried(COMPONENT, endpoints.LOGS.name)
            budget = self.client.budget.delay(bucket, self._settings.rate_share, self._clock())
            await self._lease.wait(max(backoff, budget), self._sleep, self._clock)
            if not await self._lease.hold(self._clock()):
                return None

    # --- the lease --------------------------------------------------------------------------

    async def _hold_lease(self, now: float) -> bool:
        """Take or renew the lease; say so when that changes."""
        self._held(await self._lease.hold(now))
        return self._lease.held

    def _held(self, held: bool) -> None:
        if held and not self.metrics.active:
            log.info("polling the Okta System Log", extra={"fields": self._describe()})
            self._cursor = None  # another replica may have moved it while we stood by
        elif not held and self.metrics.active:
            log.warning("another replica polls the System Log now; standing by")
        self.metrics.active = held

    def _describe(self) -> dict[str, object]:
        return {
            "org": self._settings.org_url,
            "auth": self.client.auth.description,
            "interval_s": self._settings.interval,
            "owner": self.owner,
        }

    # --- the cursor -------------------------------------------------------------------------

    async def _next_url(self, now: float) -> str:
        if self._cursor is not None:
            return self._cursor.next
        text = await self._store.get_meta(CURSOR_KEY)
        stored = Cursor.decode(text) if text else None
        org = self._settings.org_url
        if stored is not None and stored.org == org and stored.filter == self._filter:
            self._cursor = stored
            self.metrics.newest_published = stored.newest
            return stored.next
        if stored is not None and stored.org == org:
            since = stored.saved_at - FILTER_CHANGE_OVERLAP
            log.info(
                "the event filter changed: starting a new System Log query",
                extra={"fields": {"since": since}},
            )
        else:
            if stored is not None:
                log.warning(
                    "stored cursor is for another org; starting afresh",
                    extra={"fields": {"stored_org": stored.org, "org": org}},
                )
            since = self._settings.since.resolve(now)
        url = polling_url(org, since)
        self._cursor = Cursor(url, org, self._filter, now, None)
        return url

    def _checked_link(self, next_url: str | None, url: str) -> str:
        """The page's next link, or `url` again when there is none or it leaves the org.

        Checked before it becomes the cursor: a stored link off the org would be refused
        on every later poll, across restarts, and polling would stay stuck.
        """
        if next_url is None:
            return url
        if not same_origin(next_url, self._settings.org_url):
            log.warning(
                "refusing a System Log next link off the org; the cursor stays where it was",
                extra={"fields": {"org": self._settings.org_url, "link": next_url}},
            )
            return url
        return next_url

    async def _save_cursor(self, next_url: str, newest: float | None, now: float) -> None:
        """Store the next link (after the page is committed), if anything changed."""
        current = self._cursor
        if current is not None and current.newest is not None:
            newest = current.newest if newest is None else max(newest, current.newest)
        cursor = Cursor(next_url, self._settings.org_url, self._filter, now, newest)
        if current is not None and (current.next, current.newest) == (next_url, newest):
            return  # an empty page that gave the same link: nothing to write
        await self._store.set_meta(CURSOR_KEY, cursor.encode())
        self._cursor = cursor

    # --- failures, logged once per state change -----------------------------------------

    def _failed(self, kind: str, message: str, level: int, error: OktaError | None = None) -> float:
        if error is not None:
            self.metrics.failed()  # Okta's API is down for us; a storage fault is not that
        return self._streak.failed(kind, message, level, error)

    # --- the loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Poll until cancelled; no failure ends the loop."""
        await self.client.open()
        while True:
            try:
                delay = await self.step()
            except Exception:  # a bug must not silently stop polling
                log.exception("System Log poller step failed")
                delay = self._failed("bug", "unexpected error", logging.ERROR)
            await self._wait(delay)

    async def _wait(self, delay: float) -> None:
        """Sleep `delay` seconds, renewing the lease on the way if it is ours."""
        await self._lease.wait(delay, self._sleep, self._clock)
        self._held(self._lease.held)

    async def close(self) -> None:
        """Give the lease up (a standby takes over at once) and close the HTTP session."""
        await self._lease.release()
        self.metrics.active = False
        await self.client.close()
