"""The reconciler: every group push mapping's status, read from Okta's Group Push Mapping API.

Events say what went wrong, but they can be missed, and a mapping can stay broken long
after its last event. Okta's Group Push Mapping API says, per mapping, whether it is broken
now and why. Every `--okta.mappings-interval` the reconciler:

1. lists the org's active apps (`GET /api/v1/apps`, paged) and keeps those with the
   `GROUP_PUSH` feature;
2. lists each one's mappings (`GET /api/v1/apps/{id}/group-push/mappings`, paged with
   `limit` and the next link);
3. names each mapping's source group (`GET /api/v1/groups/{id}`, cached for hours: group
   names rarely change, and the cache keeps a restart of the cycle cheap);
4. replaces the exported mapping series with what it read, so a mapping that is gone stops
   being exported, and compares them with the event-derived state (okta/disagreements.py).

Rate limits: the reconciler's requests count in other buckets than the poller's, but they
come from the same token and org. Before each request it asks the org's shared
`RateBudget`, which keeps it within `--okta.rate-limit-share` of its bucket and holds it
back while the poller is being refused (a 429 to the poller: the poller goes first). It
sends one request at a time. A 429 of its own is waited out and the request tried again.

A 5xx, timeout or connection error is tried again too, that request alone (exporter/okta/
retry.py: up to `retry.ATTEMPTS` tries with full-jitter backoff, each asking the budget
again): what the reading fetched so far, and the group names cached, are kept. A request
that still fails, or fails in a way a retry cannot fix (a 4xx), ends the reading: the
series keep the last complete reading (their age is
`okta_group_push_exporter_reconcile_last_success_timestamp_seconds`) and the next try comes
after a backoff. Only the replica holding the `reconciler` lease reads the mappings and
exposes them: one that loses the lease stops exposing them at once, whatever it read.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Final, TypeVar

from exporter.config import Config, label_policy
from exporter.counting import mapping
from exporter.counting.state import MetricState
from exporter.ingest.events import Entity
from exporter.ingest.labels import DEFAULT_POLICY, LabelPolicy
from exporter.okta import endpoints
from exporter.okta.client import OktaClient, make_client
from exporter.okta.disagreements import (
    Disagreement,
    MappingState,
    Tracker,
    describe,
    disagreements,
    keys,
    series,
)
from exporter.okta.endpoints import endpoint_of
from exporter.okta.errors import ApiError, OktaError, RateLimited
from exporter.okta.grouppush import (
    ERROR,
    STATUSES,
    PushMapping,
    apps_url,
    group_entity,
    group_url,
    mappings_url,
    parse_apps,
    parse_mappings,
)
from exporter.okta.lease import LEASE_TTL, Lease, process_id
from exporter.okta.metrics import ReconcileMetrics, RetryMetrics
from exporter.okta.ratelimit import FailureStreak, RateBudget
from exporter.okta.retry import Retries
from exporter.store.base import Store, StoreError

log = logging.getLogger(__name__)
T = TypeVar("T")

COMPONENT: Final = "reconciler"  # the retry counter's component label
LEASE_NAME: Final = "reconciler"
SCOPES: Final = " ".join(dict.fromkeys(endpoints.APPS.scopes + endpoints.MAPPINGS.scopes))
GROUP_NAME_TTL: Final = 6 * 3600.0
MAX_PAGES: Final = 10_000  # of one listing: past it, the next links are going round
RATE_LIMIT_RETRIES: Final = 5  # 429s in a row on one request before the reading fails
BEHIND: Final = (endpoints.LOGS.bucket,)  # the reconciler waits while the poller is refused
MIN_WAIT: Final = 0.001  # a shorter wait is none (and epoch floats cannot count it anyway)


@dataclass(frozen=True, slots=True)
class ReconcileSettings:
    """What the reconciler needs from the configuration."""

    org_url: str
    interval: float = 300.0
    rate_share: float = 0.5
    lease_ttl: float = LEASE_TTL
    group_name_ttl: float = GROUP_NAME_TTL
    labels: LabelPolicy = DEFAULT_POLICY  # the events' label rules (README "Label governance")


class LeaseLost(Exception):
    """Another replica holds the lease now: stop reading."""


class GroupNames:
    """Okta groups by id, each kept for about `ttl` seconds (jittered, so they expire apart)."""

    def __init__(self, ttl: float, rng: random.Random) -> None:
        self._ttl = ttl
        self._rng = rng
        self._groups: dict[str, tuple[Entity, float]] = {}  # id -> (group, expires)

    def due(self, ids: Iterable[str], now: float) -> list[str]:
        """The ids to fetch: unknown or expired. Forgets groups no longer asked for."""
        wanted = set(ids)
        self._groups = {k: v for k, v in self._groups.items() if k in wanted}
        return sorted(i for i in wanted if i not in self._groups or self._groups[i][1] <= now)

    def put(self, group: Entity, now: float) -> None:
        self._groups[group.id] = (group, now + self._ttl * self._rng.uniform(0.75, 1.0))

    def get(self, group_id: str) -> Entity:
        known = self._groups.get(group_id)
        return known[0] if known is not None else Entity(group_id, "UserGroup")


class Reconciler:
    """Reads every group push mapping, one complete reading per `step`."""

    def __init__(
        self,
        client: OktaClient,
        store: Store,
        state: MetricState,
        metrics: ReconcileMetrics,
        settings: ReconcileSettings,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        owner: str | None = None,
        retries: RetryMetrics | None = None,
    ) -> None:
        self.client = client
        self.metrics = metrics
        self.retries = retries if retries is not None else RetryMetrics()
        self._state = state
        self._settings = settings
        self._clock = clock
        self._sleep = sleep
        self._rng = rng = rng or random.Random()  # noqa: S311 - jitter, not secrets
        self.owner = owner or process_id()
        self._lease = Lease(store, LEASE_NAME, self.owner, settings.lease_ttl)
        self._groups = GroupNames(settings.group_name_ttl, rng)
        self._tracker = Tracker()
        self._streak = FailureStreak("Group push mapping reconciliation", log, rng)
        # The last complete reading, each mapping with what is exported of it (/status).
        self.latest: tuple[tuple[PushMapping, MappingState], ...] = ()

    @classmethod
    def from_config(
        cls,
        config: Config,
        store: Store,
        state: MetricState,
        metrics: ReconcileMetrics,
        *,
        clock: Callable[[], float] = time.time,
        budget: RateBudget | None = None,
        retries: RetryMetrics | None = None,
    ) -> Reconciler:
        """The reconciler `serve` runs with --okta.org-url and a --okta.mappings-interval."""
        if config.okta.org_url is None:
            raise ValueError("--okta.org-url is not set")
        client = make_client(config, clock=clock, budget=budget, scopes=SCOPES)
        settings = ReconcileSettings(
            org_url=config.okta.org_url,
            interval=config.okta.mappings_interval,
            rate_share=config.okta.rate_limit_share,
            labels=label_policy(config),
        )
        return cls(client, store, state, metrics, settings, clock=clock, retries=retries)

    # --- one reading ------------------------------------------------------------------------

    async def step(self) -> float:
        """Read every mapping and publish them; return the seconds to wait before the next."""
        started = self._clock()
        try:
            if not await self._hold_lease(started):
                return self._settings.lease_ttl / 3
            states = await self._read()
        except LeaseLost:
            self._standby()
            return self._settings.lease_ttl / 3
        except StoreError as exc:
            return self._streak.failed("storage", f"storage: {exc}", logging.ERROR)
        except OktaError as exc:
            level = logging.ERROR if isinstance(exc, ApiError) else logging.WARNING
            return self._streak.failed(f"{type(exc).__name__}:{exc.status}", str(exc), level, exc)
        now = self._clock()
        duration = now - started
        shown = self._shown(states)
        self.metrics.succeeded(now, duration, series(states, shown))
        self._streak.recovered()
        self._compare(states, shown)
        counts = {status.lower(): sum(s.status == status for s in states) for status in STATUSES}
        log.info(
            "group push mappings read",
            extra={"fields": {"mappings": len(states), **counts, "duration_s": round(duration, 3)}},
        )
        return max(self._settings.interval - duration, self._settings.interval / 10)

    async def _read(self) -> list[MappingState]:
        org = self._settings.org_url
        apps = parse_apps(await self._list(apps_url(org)))
        pushes: list[PushMapping] = []
        for app in apps:
            try:
                pushes += parse_mappings(await self._list(mappings_url(org, app.id)), app)
            except ApiError as exc:
                if exc.status != "404":
                    raise
                # The app was deleted since it was listed: it has no mappings now.
        sources = {push.source_group_id for push in pushes if push.source_group_id}
        for group_id in self._groups.due(sources, self._clock()):
            try:
                document = await self._request(group_url(org, group_id), self.client.get_object)
            except ApiError as exc:
                if exc.status != "404":
                    raise
                document = None  # a deleted group: its id is its label
            self._groups.put(group_entity(group_id, document), self._clock())
        policy = self._settings.labels
        states = [describe(push, self._groups.get(push.source_group_id), policy) for push in pushes]
        self.latest = tuple(zip(pushes, states, strict=True))
        return states

    async def _list(self, url: str) -> list[object]:
        """Every item of a paged listing, following its next links to the end."""
        items: list[object] = []
        seen: set[str] = set()
        next_url: str | None = url
        while next_url is not None:
            if next_url in seen or len(seen) >= MAX_PAGES:
                raise ApiError(
                    f"{endpoint_of(url).title}: the next links go round ({next_url})", "bad_link"
                )
            seen.add(next_url)
            page = await self._request(next_url, self.client.get_page)
            items += page.items
            next_url = page.next_url
        return items

    async def _request(self, url: str, fetch: Callable[[str], Awaitable[T]]) -> T:
        """One request when the budget allows it, tried again after a 429 or a transient failure.

        A 429 is waited out until Okta's reset (also one of the token endpoint, which the
        budget does not see); a 5xx, timeout or network error after a full-jitter backoff.
        Each try asks the budget first: a retry is a request like any other.
        """
        endpoint = endpoint_of(url)
        refused = 0
        tries = Retries(self._rng)
        while True:
            await self._when_allowed(endpoint.bucket)
            try:
                return await fetch(url)
            except OktaError as exc:
                self.metrics.error(endpoint.name, exc.status)
                if isinstance(exc, RateLimited) and refused < RATE_LIMIT_RETRIES:
                    refused += 1
                    delay = exc.retry_in
                elif (backoff := tries.after(exc)) is not None:
                    self.retries.retried(COMPONENT, endpoint.name)
                    delay = backoff
                else:
                    raise
            await self._lease.wait(delay, self._sleep, self._clock)

    async def _when_allowed(self, bucket: str) -> None:
        """Wait until the budget allows a request to `bucket`, holding the lease meanwhile."""
        budget = self.client.budget
        while True:
            if not await self._lease.hold(self._clock()):
                raise LeaseLost
            delay = budget.delay(bucket, self._settings.rate_share, self._clock(), behind=BEHIND)
            if delay < MIN_WAIT:
                return
            await self._lease.wait(delay, self._sleep, self._clock)

    # --- what the events say ----------------------------------------------------------------

    def _shown(self, states: list[MappingState]) -> dict[mapping.Pair, mapping.Pair]:
        """The names each mapping is shown under, by Okta ids: the newest event's, else
        the API's, as every mapping family (exporter/counting/mapping.py `shown_names`)."""
        api = {keys(state): (state.application, state.group) for state in states}
        return mapping.shown_names(self._state.series(mapping.NAMES_SERIES), api)

    def _compare(self, states: list[MappingState], shown: dict[mapping.Pair, mapping.Pair]) -> None:
        """Count and log the disagreements with the events that lasted two readings."""
        found = disagreements(states, self._state.series(mapping.STATE_SERIES), shown)
        for item in self._tracker.update(found):
            self.metrics.disagreement(item.kind)
            log.warning("group push mapping: Okta's API and the events disagree",
                        extra={"fields": _fields(item, states)})  # fmt: skip

    # --- the lease --------------------------------------------------------------------------

    async def _hold_lease(self, now: float) -> bool:
        held = await self._lease.hold(now)
        if held and not self.metrics.active:
            log.info(
                "reading group push mappings from Okta",
                extra={"fields": {"org": self._settings.org_url, "owner": self.owner,
                                  "interval_s": self._settings.interval}},
            )  # fmt: skip
            self._tracker = Tracker()  # what another replica saw meanwhile is not known here
            self.metrics.active = True
        elif not held:
            self._standby()
        return held

    def _standby(self) -> None:
        self.latest = ()
        if self.metrics.active:
            log.warning("another replica reads group push mappings now; standing by")
        self.metrics.standby()

    # --- the loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Read the mappings until cancelled; no failure ends the loop."""
        await self.client.open()
        while True:
            try:
                delay = await self.step()
            except Exception:  # a bug must not silently stop the reconciler
                log.exception("group push mapping reconciler step failed")
                delay = self._streak.failed("bug", "unexpected error", logging.ERROR)
            await self._lease.wait(delay, self._sleep, self._clock)

    async def close(self) -> None:
        """Give the lease up (a standby takes over at once) and close the HTTP session."""
        await self._lease.release()
        self.latest = ()
        self.metrics.standby()
        await self.client.close()


def _fields(item: Disagreement, states: list[MappingState]) -> dict[str, object]:
    """What a person needs to look the mapping up, for the disagreement's log line."""
    fields: dict[str, object] = {
        "kind": item.kind,
        "application": item.application,
        "group": item.group,
        "okta_status": item.api_status or "no such mapping",
        "newest_event": {None: "none", True: "failure", False: "success"}[item.event_failing],
        "newest_event_published": item.event_published,
    }
    if item.key[0] == "mapping":
        fields["mapping_id"] = item.key[1]
        state = next((s for s in states if s.id == item.key[1]), None)
        if state is not None:
            fields["application_id"] = mapping.okta_id(state.application_key)
            fields["group_id"] = mapping.okta_id(state.group_key)
            if item.api_status == ERROR and state.error_summary:
                fields["error_summary"] = state.error_summary
    else:  # ("ids", app key, group key): events only
        fields["application_id"] = mapping.okta_id(item.key[1])
        fields["group_id"] = mapping.okta_id(item.key[2])
    return fields
