"""The System Log poller against an emulated Okta org: cursor, limits, failures, lease, lifecycle.

Time is fake (tests/conftest.py FakeTime): the emulator and the poller share one clock, and
the tests drive `Poller.step`, moving the clock by the wait each step asks for.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from exporter.config import Config, OktaSection, StorageSection, WebSection
from exporter.counting.state import Update
from exporter.okta.auth import SswsAuth
from exporter.okta.lease import gone, process_id
from exporter.okta.poller import CURSOR_KEY, LEASE_NAME, Cursor
from exporter.okta.query import iso
from exporter.okta.retry import ATTEMPTS
from exporter.store.base import StoreError
from exporter.store.memory import MemoryStore
from exporter.store.redis_store import RedisStore
from exporter.store.sqlite import SqliteStore
from exporter.web.app import make_app
from exporter.web.appkeys import REGISTRY
from tests.conftest import NOW, SECRET, FakeTime, Rig, RigFactory, auth, wait_for
from tests.okta_emulator import RESET, Emulator, ThreadedOrg, hook_delivery_event, log_event
from tests.services import Redis, Service, http_get, start_exporter, start_redis, wait_until

TERMINAL = "application.provision.group_push.mapping.update.or.delete.failed.with.error"
RETRIED = "application.provision.group_push.mapping.update.or.delete.failed"
PUSHED = "application.provision.group_push.pushed"
FAILURES = "okta_group_push_failures_total"
DUPLICATES = "okta_group_push_exporter_duplicate_events_total"
REQUESTS = "okta_group_push_exporter_poll_requests_total"
UP = "okta_group_push_exporter_okta_api_up"
RETRIES = "okta_group_push_exporter_okta_retries_total"


def failure(n: int, published: float | None = None, **fields: str) -> dict[str, object]:
    return log_event(
        f"f-{n}", TERMINAL, NOW - 600 + n if published is None else published, **fields
    )


async def drain(rig: Rig, emulator: Emulator, fake_time: FakeTime, steps: int = 60) -> None:
    """Step until the poller got an empty page (it has read everything there is)."""
    for _ in range(steps):
        fake_time.now += await rig.poller.step()
        last = emulator.requests[-1] if emulator.requests else None
        if last is not None and last.status == 200 and last.events == 0:
            return
    pytest.fail(f"the poller did not catch up in {steps} steps")


def total(values: dict[tuple[str, ...], float]) -> float:
    return sum(values.values())


@dataclass
class Setup:
    """An emulated org on fake time, a memory store, and rigs polling it."""

    url: str
    emulator: Emulator
    time: FakeTime
    store: MemoryStore
    rigs: RigFactory

    def rig(self, **options: Any) -> Rig:
        return self.rigs(self.url, self.store, **options)


@pytest.fixture
def okta(
    org_url: str, emulator: Emulator, fake_time: FakeTime, memory: MemoryStore, rigs: RigFactory
) -> Setup:
    return Setup(org_url, emulator, fake_time, memory, rigs)


# --- following the polling query -----------------------------------------------------------


async def test_first_poll_starts_at_since_and_follows_next_links(okta: Setup) -> None:
    okta.emulator.page_size = 2
    okta.emulator.add(failure(0), persisted=NOW - 7200)  # before --okta.poll-since (1h): not read
    okta.emulator.add(*(failure(n) for n in range(1, 6)))
    okta.emulator.add(log_event("other", "user.session.start", NOW - 10))  # filtered out by Okta
    rig = okta.rig()
    await drain(rig, okta.emulator, okta.time)
    first, *rest = okta.emulator.requests
    assert first.query["since"] == iso(NOW - 3600)
    assert first.query["sortOrder"] == "ASCENDING" and first.query["limit"] == "1000"
    assert 'eventType eq "application.provision.group_push.pushed"' in first.query["filter"]
    assert all("after" in r.query and "since" not in r.query for r in rest)
    assert [r.events for r in okta.emulator.requests] == [2, 2, 1, 0]
    assert rig.failures() == {("Slack", "Engineering", "Ada Admin"): 5.0}


async def test_an_empty_page_waits_the_interval_and_asks_the_same_link_again(okta: Setup) -> None:
    rig = okta.rig(interval=30.0)
    assert await rig.poller.step() == 30.0
    cursor = Cursor.decode(await okta.store.get_meta(CURSOR_KEY) or "")
    assert cursor is not None
    okta.time.now += 30
    okta.emulator.add(failure(1))  # persisted after the empty page: the same link finds it
    await rig.poller.step()
    assert okta.emulator.requests[1].events == 1
    assert rig.failures() == {("Slack", "Engineering", "Ada Admin"): 1.0}


async def test_restart_mid_stream_continues_from_the_cursor_without_gap_or_duplicate(
    rigs: RigFactory, org_url: str, emulator: Emulator, fake_time: FakeTime, tmp_path: Path
) -> None:
    emulator.page_size = 2
    emulator.add(*(failure(n) for n in range(5)))
    store = SqliteStore(tmp_path)
    await store.open()
    first = rigs(org_url, store, owner="first")
    for _ in range(2):  # two pages of two: four of the five events
        fake_time.now += await first.poller.step()
    await first.poller.close()
    await store.close()
    assert total(first.failures()) == 4

    # While it was down, Okta persisted more: one published before everything read so far.
    emulator.add(failure(10, published=NOW - 3000), failure(11), failure(12))
    seen_before = len(emulator.requests)
    store = SqliteStore(tmp_path)
    await store.open()
    second = rigs(org_url, store, owner="second")
    try:
        await drain(second, emulator, fake_time)
        restarted = emulator.requests[seen_before]
        assert "after" in restarted.query and "since" not in restarted.query
        assert sum(r.events for r in emulator.requests[seen_before:]) == 4  # 1 left + 3 new
        assert second.sample(DUPLICATES, {"source": "poller"}) is None
        values = await store.values()
        assert values[FAILURES] == {("Slack", "Engineering", "Ada Admin"): 8.0}
        assert (await store.summary()).dedup_entries == 8
    finally:
        await second.poller.close()
        await store.close()


class FlakyStore(MemoryStore):
    """A memory store whose next commit or cursor write fails."""

    fail_commit = False
    fail_meta = False

    async def commit(self, updates: Sequence[Update], now: float) -> list[bool]:
        if self.fail_commit:
            self.fail_commit = False
            raise StoreError("disk full")
        return await super().commit(updates, now)

    async def set_meta(self, key: str, value: str, *, only_if_absent: bool = False) -> bool:
        if self.fail_meta:
            self.fail_meta = False
            raise StoreError("read-only file system")
        return await super().set_meta(key, value, only_if_absent=only_if_absent)


async def test_the_cursor_never_moves_on_a_failed_commit_or_cursor_write(
    rigs: RigFactory, org_url: str, emulator: Emulator, fake_time: FakeTime
) -> None:
    emulator.add(failure(1), failure(2))
    store = FlakyStore(dedup_window=86400)
    rig = rigs(org_url, store)
    store.fail_commit = True
    assert 0 < await rig.poller.step() <= 1.0  # backoff after the first failure
    assert rig.failures() == {}
    assert rig.sample(UP) == 1  # Okta answered: the fault is ours, not the API's
    store.fail_meta = True  # the events commit, the cursor does not move
    await rig.poller.step()
    assert total(rig.failures()) == 2
    await rig.poller.step()  # the same page again: nothing counts twice
    queries = [r.query for r in emulator.requests]
    assert queries[0] == queries[1] == queries[2]
    assert total(rig.failures()) == 2
    assert rig.sample(DUPLICATES, {"source": "poller"}) == 2


# --- Okta's rate limits, 5xx and timeouts --------------------------------------------------


async def test_a_429_waits_until_the_reset_and_loses_nothing(okta: Setup) -> None:
    okta.emulator.page_size = 1
    okta.emulator.add(*(failure(n) for n in range(4)))
    rig = okta.rig(share=1.0)
    okta.time.now += await rig.poller.step()
    okta.emulator.use_quota(okta.emulator.rate_limit)  # another integration used up the bucket
    reset = (okta.time.now // 60 + 1) * 60
    wait = await rig.poller.step()
    assert okta.emulator.requests[-1].status == 429
    assert wait == pytest.approx(reset - okta.time.now + 1.0)
    assert rig.sample(REQUESTS, {"status": "429"}) == 1
    assert rig.sample(UP) == 0
    okta.time.now += wait
    await drain(rig, okta.emulator, okta.time)
    assert (
        okta.emulator.requests[2].query == okta.emulator.requests[1].query
    )  # the cursor waited too
    assert total(rig.failures()) == 4
    assert rig.sample(UP) == 1


async def test_the_poller_keeps_within_its_share_of_the_bucket(okta: Setup) -> None:
    okta.emulator.rate_limit = 10
    okta.emulator.page_size = 1
    okta.emulator.add(*(failure(n) for n in range(25)))
    rig = okta.rig(share=0.5, interval=0.0)
    await drain(rig, okta.emulator, okta.time, steps=100)
    per_window: dict[float, int] = {}
    for request in okta.emulator.requests:
        window = request.at // 60
        per_window[window] = per_window.get(window, 0) + 1
    assert all(r.status == 200 for r in okta.emulator.requests)
    assert max(per_window.values()) <= 5  # half of 10
    assert total(rig.failures()) == 25
    assert rig.sample("okta_group_push_exporter_okta_rate_limit_limit") == 10


async def test_a_5xx_is_tried_again_within_the_step_on_the_same_link(
    okta: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    """A short blip costs a few seconds of jittered backoff, not a failed poll."""
    okta.emulator.add(failure(1))
    okta.emulator.fail_next(503, times=3)
    rig = okta.rig()
    caplog.set_level(logging.INFO, logger="exporter.okta.poller")
    started = okta.time.now
    assert await rig.poller.step() == 30.0  # read: the interval until the next page
    waited = okta.time.now - started
    assert 0 < waited <= 1 + 2 + 4  # full jitter: at most 1, 2 and 4 s
    assert [r.status for r in okta.emulator.requests] == [503, 503, 503, 200]
    assert len({str(r.query) for r in okta.emulator.requests}) == 1  # the same link each time
    assert total(rig.failures()) == 1
    assert rig.sample(REQUESTS, {"status": "503"}) == 3
    assert rig.sample(RETRIES, {"component": "poller", "endpoint": "logs"}) == 3
    assert rig.sample(UP) == 1
    assert "System Log polling failing" not in [r.getMessage() for r in caplog.records]


async def test_5xx_past_the_retries_backs_off_exponentially_logs_once_and_loses_nothing(
    okta: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    okta.emulator.add(failure(1))
    okta.emulator.fail_next(503, times=3 * ATTEMPTS)
    rig = okta.rig()
    caplog.set_level(logging.INFO, logger="exporter.okta.poller")
    waits = [await rig.poller.step() for _ in range(3)]
    assert 0.5 <= waits[0] <= 1 and 1 <= waits[1] <= 2 and 2 <= waits[2] <= 4
    assert rig.sample(REQUESTS, {"status": "503"}) == 3 * ATTEMPTS
    assert rig.sample(RETRIES, {"component": "poller", "endpoint": "logs"}) == 3 * (ATTEMPTS - 1)
    assert rig.sample(UP) == 0
    assert rig.failures() == {}
    await rig.poller.step()
    assert total(rig.failures()) == 1
    assert len({str(r.query) for r in okta.emulator.requests}) == 1  # the same link each time
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("System Log polling failing") == 1
    assert messages.count("System Log polling recovered") == 1


async def test_a_poller_that_loses_the_lease_while_waiting_to_retry_stops_asking(
    okta: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_sleep = okta.time.sleep

    async def paused_and_overtaken(seconds: float) -> None:
        """The wait took long (a paused process): another replica took the lease meanwhile."""
        await fake_sleep(seconds)
        okta.time.now += 60
        await okta.store.release_lease(LEASE_NAME, "a")
        assert await okta.store.acquire_lease(LEASE_NAME, "b", 30.0, okta.time.now)

    monkeypatch.setattr(okta.time, "sleep", paused_and_overtaken)
    okta.emulator.add(failure(1))
    okta.emulator.fail_next(503)
    rig = okta.rig(owner="a")
    assert await rig.poller.step() == 10.0  # a third of the lease: ask for it again then
    assert [r.status for r in okta.emulator.requests] == [503]  # not tried again without it
    assert rig.sample(UP) is None  # a standby shows no gauges
    assert await okta.store.get_meta(CURSOR_KEY) is None


@pytest.mark.parametrize("fault", [500, RESET], ids=["500", "reset"])
async def test_a_flaky_org_is_read_whole_every_event_once_and_the_cursor_saved(
    okta: Setup, fault: int
) -> None:
    okta.emulator.page_size = 3
    okta.emulator.add(*(failure(n) for n in range(40)))
    okta.emulator.flaky(5, fault)
    rig = okta.rig()
    await drain(rig, okta.emulator, okta.time, steps=100)
    assert rig.failures() == {("Slack", "Engineering", "Ada Admin"): 40.0}
    assert rig.sample(DUPLICATES, {"source": "poller"}) is None  # no page was read twice
    requests = okta.emulator.requests
    assert sum(r.events for r in requests) == 40
    failed = [r for r in requests if r.status == fault]
    seen = len(failed) if fault == 500 else len(failed) // 2  # see Emulator.flaky
    assert seen >= 3
    assert rig.sample(RETRIES, {"component": "poller", "endpoint": "logs"}) == seen
    for failed_request in failed:  # each failed link was asked again, not skipped
        index = requests.index(failed_request)
        assert any(r.query == failed_request.query for r in requests[index + 1 :])
    assert rig.sample(UP) == 1
    # The saved cursor is right where the reading stopped: a restart reads the next event only.
    okta.emulator.flaky(0)
    okta.emulator.add(failure(40))
    again = okta.rig(owner="restarted")
    await rig.poller.close()
    await again.poller.step()
    assert okta.emulator.requests[-1].events == 1
    assert total(again.failures()) == 1


async def test_a_slow_answer_times_out_and_is_retried(okta: Setup) -> None:
    okta.emulator.add(failure(1))
    okta.emulator.slow_next()
    rig = okta.rig(timeout=0.2)
    assert await rig.poller.step() == 30.0  # tried again within the step, and read
    assert rig.sample(REQUESTS, {"status": "timeout"}) == 1
    assert rig.sample(RETRIES, {"component": "poller", "endpoint": "logs"}) == 1
    assert total(rig.failures()) == 1


async def test_wrong_credentials_are_an_error_with_a_hint_and_backoff(
    okta: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    rig = okta.rig(auth=SswsAuth("not-the-token"))
    assert await rig.poller.step() > 0
    assert rig.sample(REQUESTS, {"status": "401"}) == 1
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "check the API token" in str(errors[0].__dict__["fields"]["error"])
    assert "not-the-token" not in caplog.text


# --- what the events do ----------------------------------------------------------------------


async def test_mapping_state_flips_on_a_later_success_whatever_the_persistence_order(
    okta: Setup,
) -> None:
    rig = okta.rig()
    gauge = "okta_group_push_mapping_failing"
    eng = {"application": "Slack", "group": "Engineering"}
    sales = {"application": "Slack", "group": "Sales"}
    okta.emulator.add(failure(1, published=NOW - 500))
    await drain(rig, okta.emulator, okta.time)
    assert rig.sample(gauge, eng) == 1
    okta.emulator.add(log_event("s-1", PUSHED, NOW - 400, outcome="SUCCESS"))
    # Sales: the success is persisted first, but the failure was published after it.
    okta.emulator.add(log_event("s-2", PUSHED, NOW - 400, group="Sales", outcome="SUCCESS"))
    okta.emulator.add(failure(2, published=NOW - 450))  # Engineering, older than its success
    okta.emulator.add(failure(3, published=NOW - 300, group="Sales"))
    await drain(rig, okta.emulator, okta.time)
    assert rig.sample(gauge, eng) == 0
    assert rig.sample(gauge, sales) == 1
    assert total(rig.failures()) == 3


# --- Okta's catalogue, as real-shaped events through the poller (issue 14) -----------------

PP = "application.provision.group_push."
HOOK_FAILURES = "okta_group_push_exporter_okta_hook_delivery_failures_total"
FAILING = "okta_group_push_mapping_failing"


async def test_imports_are_not_failures_and_provisioning_counts_only_its_failures(
    okta: Setup,
) -> None:
    """Import failures never count nor set failing now; membership FAILURE does; a push
    type's own SUCCESS... and its FAILURE outcome (fetched: Okta's filter has no `ne`) not."""
    okta.emulator.add(
        log_event("imp-1", "application.provision.group.import", NOW - 500, group="Imported"),
        log_event("imp-2", "application.provision.group_membership.import", NOW - 500,
                  group="Imported"),
        log_event("mem-1", "application.provision.group_membership.add", NOW - 490),
        log_event("mem-ok", "application.provision.group_membership.add", NOW - 480,
                  outcome="SUCCESS", group="Sales"),
        log_event("push-odd", PUSHED, NOW - 470, group="Odd", outcome="FAILURE"),
    )  # fmt: skip
    rig = okta.rig()
    await drain(rig, okta.emulator, okta.time)
    assert rig.failures() == {("Slack", "Engineering", "Ada Admin"): 1.0}
    assert rig.sample(FAILING, {"application": "Slack", "group": "Engineering"}) == 1
    assert rig.sample(FAILING, {"application": "Slack", "group": "Imported"}) is None
    assert rig.sample(FAILING, {"application": "Slack", "group": "Odd"}) is None
    # Asked for by type, and then ignored: the filter cannot say "not FAILURE".
    ignored = {"source": "poller", "kind": "ignored"}
    assert rig.sample("okta_group_push_exporter_events_received_total", ignored) == 1


@pytest.mark.parametrize(
    "ended",
    [PP + "removed", PP + "delete_appgroup", PP + "deactivate_mapping",
     PP + "mapping.deactivated.source.group.renamed",
     PP + "mapping.and.groups.deleted.rule.deleted"],
)  # fmt: skip
async def test_the_end_of_a_mapping_clears_failing_now(okta: Setup, ended: str) -> None:
    """A retried delete that finally went through must not stay red forever."""
    okta.emulator.add(log_event("f-1", RETRIED, NOW - 500))
    okta.emulator.add(log_event("end-1", ended, NOW - 400, outcome="SUCCESS"))
    rig = okta.rig()
    await drain(rig, okta.emulator, okta.time)
    assert rig.sample(FAILING, {"application": "Slack", "group": "Engineering"}) == 0
    assert total(rig.failures()) == 1  # what failed stays counted


async def test_users_ignored_by_a_push_have_their_own_counter(okta: Setup) -> None:
    ignored = "app.user_management.grouppush.mapping.okta.users.ignored"
    okta.emulator.add(log_event("ui-1", ignored, NOW - 500, outcome="SUCCESS"))
    okta.emulator.add(log_event("ui-2", ignored, NOW - 400, outcome="SUCCESS"))
    rig = okta.rig()
    await drain(rig, okta.emulator, okta.time)
    labels = {"application": "Slack", "group": "Engineering"}
    assert rig.sample("okta_group_push_users_ignored_total", labels) == 2
    assert rig.failures() == {}  # not a failed push: no page
    assert rig.sample(FAILING, labels) is None


async def test_hook_delivery_failures_are_counted_once_per_uuid(okta: Setup) -> None:
    """Okta's event_hook.delivery, read through the filter; a re-read page counts nothing twice."""
    rig = okta.rig()
    assert rig.sample(HOOK_FAILURES) == 0  # exposed from the start: increase() sees the first
    okta.emulator.add(
        hook_delivery_event("hd-1", NOW - 500), hook_delivery_event("hd-2", NOW - 490)
    )
    await drain(rig, okta.emulator, okta.time)
    assert rig.sample(HOOK_FAILURES) == 2
    assert 'eventType eq "event_hook.delivery"' in okta.emulator.requests[0].query["filter"]
    # The same events again (a page read twice, after a crash before the cursor was saved).
    okta.emulator.add(hook_delivery_event("hd-1", NOW - 500), hook_delivery_event("hd-3", NOW - 5))
    await drain(rig, okta.emulator, okta.time)
    assert rig.sample(HOOK_FAILURES) == 3
    assert rig.failures() == {}


async def test_with_a_hook_id_only_our_hooks_delivery_failures_count(okta: Setup) -> None:
    ours, theirs = "who0urs0000000000001", "whoTheirs00000000001"
    unattributed = hook_delivery_event("hd-none", NOW - 480)
    unattributed["target"] = None  # names no hook: counted, rather than hidden
    okta.emulator.add(
        hook_delivery_event("hd-ours", NOW - 500, hook_id=ours),
        hook_delivery_event("hd-theirs", NOW - 490, hook_id=theirs, hook="SIEM"),
        unattributed,
    )
    rig = okta.rig(event_hook_id=ours)
    await drain(rig, okta.emulator, okta.time)
    assert rig.sample(HOOK_FAILURES) == 2


async def test_reasons_lag_and_last_success_are_exposed(okta: Setup) -> None:
    reason = "Linked group is missing in AWS IAM Identity Center."
    okta.emulator.add(failure(1, published=NOW - 100, application="AWS", reason=reason))
    rig = okta.rig()
    start = okta.time.now
    await rig.poller.step()
    labels = {"application": "AWS", "reason": "not_found"}
    assert rig.sample("okta_group_push_failure_reasons_total", labels) == 1
    assert rig.sample("okta_group_push_exporter_poll_last_success_timestamp_seconds") == start
    assert rig.sample("okta_group_push_exporter_poll_lag_seconds") == 100
    okta.time.now += 50  # the lag grows between polls
    assert rig.sample("okta_group_push_exporter_poll_lag_seconds") == 150


async def test_a_changed_filter_starts_a_new_query_just_before_the_old_one_stopped(
    okta: Setup,
) -> None:
    old = Cursor(f"{okta.url}/api/v1/logs?after=x", okta.url, "an-older-filter", NOW - 1000, None)
    await okta.store.set_meta(CURSOR_KEY, old.encode())
    await okta.rig().poller.step()
    assert okta.emulator.requests[0].query["since"] == iso(NOW - 1000 - 300)


@pytest.mark.parametrize("stored", ["not json", '{"next": 1}', "cursor of another org"])
async def test_an_unusable_cursor_starts_afresh_at_since(okta: Setup, stored: str) -> None:
    if stored == "cursor of another org":
        other = "https://other.okta.com"
        stored = Cursor(f"{other}/api/v1/logs?after=x", other, "f", NOW, None).encode()
    await okta.store.set_meta(CURSOR_KEY, stored)
    await okta.rig().poller.step()
    assert okta.emulator.requests[0].query["since"] == iso(NOW - 3600)


# --- one poller at a time --------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


async def test_only_the_lease_holder_polls_and_a_standby_takes_over_from_its_cursor(
    rigs: RigFactory, org_url: str, emulator: Emulator, fake_time: FakeTime, redis_server: Redis
) -> None:
    stores = [RedisStore(redis_server.url, prefix="lease-test:") for _ in range(2)]
    for store in stores:
        await store.open()
    leader, standby = (
        rigs(org_url, store, owner=name) for store, name in zip(stores, ("a", "b"), strict=True)
    )
    try:
        emulator.page_size = 2
        emulator.add(*(failure(n) for n in range(3)))
        await leader.poller.step()
        assert await standby.poller.step() == 10.0  # a third of the lease: ask again then
        assert len(emulator.requests) == 1
        assert leader.sample(UP) == 1
        assert standby.sample(UP) is None  # a standby shows no Okta health at all
        await leader.poller.close()  # gives the lease up: no need to wait for expiry
        await drain(standby, emulator, fake_time)
        assert "after" in emulator.requests[1].query  # went on from the leader's cursor
        values = await stores[1].values()
        assert values[FAILURES] == {("Slack", "Engineering", "Ada Admin"): 3.0}
        assert standby.sample(DUPLICATES, {"source": "poller"}) is None
    finally:
        await standby.poller.close()
        for store in stores:
            await store.close()


async def test_the_lease_is_renewed_while_waiting(okta: Setup) -> None:
    rig = okta.rig()
    await rig.poller.step()
    await rig.poller._wait(300.0)  # a long backoff: ten lease periods
    assert okta.time.slept == [10.0] * 30
    assert not await okta.store.acquire_lease(LEASE_NAME, "someone else", 60.0, okta.time.now)


# --- inside serve: hooks and polling together ------------------------------------------------


@pytest.fixture
async def live_org(
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
) -> tuple[Emulator, str]:
    """An emulated org on the real clock, for an exporter that polls it by itself."""
    emulator = Emulator(clock=time.time)
    server = await aiohttp_server(emulator.app())
    return emulator, str(server.make_url("")).rstrip("/")


async def test_serve_polls_and_an_event_from_hook_and_poll_counts_once(
    aiohttp_client: Callable[
        [web.Application], Awaitable[TestClient[web.Request, web.Application]]
    ],
    live_org: tuple[Emulator, str],
    tmp_path: Path,
) -> None:
    emulator, url = live_org
    config = Config(
        storage=StorageSection(path=tmp_path),
        web=WebSection(hook_secrets=(SECRET,)),
        okta=OktaSection(org_url=url, api_token="test-api-token", poll_interval=0.05),
    )
    store = MemoryStore(config.storage.dedup_window)
    app = make_app(config, store)
    client = await aiohttp_client(app)
    registry = app[REGISTRY]
    event = log_event("both-ways", TERMINAL, time.time() - 60)
    envelope = {"eventType": "com.okta.event_hook", "data": {"events": [event]}}
    assert (await client.post("/hooks/okta", json=envelope, headers=auth())).status == 204
    emulator.add(event, log_event("later-success", PUSHED, time.time(), outcome="SUCCESS"))

    def polled() -> bool:
        labels = {"source": "poller", "kind": "success"}
        return (
            registry.get_sample_value("okta_group_push_exporter_events_received_total", labels) == 1
        )

    await wait_for(polled, "the poller to read both events")
    assert registry.get_sample_value(DUPLICATES, {"source": "poller"}) == 1
    # The event-derived series as /metrics serves them (its cached exposition).
    body = await (await client.get("/metrics")).text()
    served = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }
    labels = {"application": "Slack", "group": "Engineering", "actor": "Ada Admin"}
    assert served[FAILURES, tuple(sorted(labels.items()))] == 1
    mapping_labels = (("application", "Slack"), ("group", "Engineering"))
    assert served["okta_group_push_mapping_failing", mapping_labels] == 0
    reason_labels = (("application", "Slack"), ("reason", "other"))
    assert served["okta_group_push_failure_reasons_total", reason_labels] == 1
    assert "okta_group_push_exporter_okta_api_up 1.0" in body

    await client.close()  # shutdown: the poller task is cancelled, awaited, its lease given up
    names = {task.get_name() for task in asyncio.all_tasks()}
    assert "okta-system-log-poller" not in names
    assert await store.acquire_lease(LEASE_NAME, "next", 60.0, time.time())


# --- a real exporter process, killed mid-stream -----------------------------------------------


def failures_scraped(exporter: Service) -> float | None:
    status, body = http_get(exporter.url + "/metrics", timeout=2)
    if status != 200:
        return None
    return sum(
        sample.value
        for family in text_string_to_metric_families(body.decode())
        if family.name == "okta_group_push_failures"
        for sample in family.samples
    )


@pytest.mark.integration
def test_kill_9_mid_stream_then_restart_counts_every_event_exactly_once(tmp_path: Path) -> None:
    emulator = Emulator(clock=time.time, page_size=5)
    now = time.time()
    events = [log_event(f"k-{n}", TERMINAL, now - 900 + n, group=f"g{n % 4}") for n in range(150)]
    with ThreadedOrg(emulator) as url:
        emulator_add = emulator.add
        args = (f"--okta.org-url={url}", "--okta.poll-interval=20ms")
        env = {"OKTA_API_TOKEN": "test-api-token"}
        first = start_exporter(tmp_path, *args, env=env)
        try:
            emulator_add(*events[:100])
            wait_until(lambda: len(emulator.requests) >= 8, 20, "the poller to read some pages")
            first.process.send_signal(signal.SIGKILL)
            first.process.wait(timeout=10)
        finally:
            first.stop()
        read_before = sum(r.events for r in emulator.requests)
        assert 0 < read_before < 100  # killed mid-stream
        emulator_add(*events[100:])  # and Okta went on while it was down
        second = start_exporter(tmp_path, *args, env=env)
        try:
            wait_until(lambda: failures_scraped(second) == 150, 30, "all 150 events counted")
            wait_until(lambda: emulator.requests[-1].events == 0, 10, "the poller to catch up")
            assert failures_scraped(second) == 150
            after_restart = [r for r in emulator.requests if "since" in r.query]
            assert len(after_restart) == 1  # only the very first request started at `since`
        finally:
            second.stop()


def test_a_lease_holder_is_gone_only_if_it_ran_here_and_runs_no_more() -> None:
    dead = {4242}

    def alive(pid: int) -> bool:
        return pid not in dead

    me = "host-a:100:aaaa"
    assert gone("host-a:4242:bbbb", me, alive)  # crashed earlier run on this host
    assert gone("host-a:100:cccc", me, alive)  # this pid's earlier run (container pid 1)
    assert not gone("host-a:4343:bbbb", me, alive)  # another live process here
    assert not gone("host-b:4242:bbbb", me, alive)  # another host: only expiry tells
    assert not gone(me, me, alive)
    assert not gone("garbage", me, alive)


async def test_a_crashed_predecessor_lease_is_taken_over_at_once(okta: Setup) -> None:
    dead_pid = 2**22 + 12345  # above Linux's largest pid: never a running process
    crashed = f"{socket.gethostname()}:{dead_pid}:0000"
    assert await okta.store.acquire_lease(LEASE_NAME, crashed, 30.0, okta.time.now)
    rig = okta.rig(owner=process_id())
    await rig.poller.step()
    assert len(okta.emulator.requests) == 1
    assert await okta.store.lease_holder(LEASE_NAME, okta.time.now) == rig.poller.owner


async def test_a_leader_whose_lease_lapsed_stands_by(
    okta: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    leader, other = okta.rig(owner="a"), okta.rig(owner="b")
    await leader.poller.step()
    okta.time.now += 31  # the leader stalled past its lease; the other replica took it
    assert await okta.store.acquire_lease(LEASE_NAME, "b", 30.0, okta.time.now)
    assert await leader.poller.step() == 10.0
    assert leader.sample(UP) is None
    assert "standing by" in caplog.text
    assert other.sample(UP) is None  # b holds the lease but has not polled yet


async def test_a_next_link_off_the_org_is_refused_before_it_becomes_the_cursor(
    okta: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    """The page counts; the cursor keeps the last link on the org, so a restart or the
    next poll asks Okta again instead of being stuck on a link it refuses (issue 15, item 9)."""
    okta.emulator.page_size = 1
    okta.emulator.add(failure(1), failure(2))
    okta.emulator.next_link_origin = "http://evil.test:1"
    rig = okta.rig()
    with caplog.at_level(logging.WARNING):
        await rig.poller.step()
    cursor = Cursor.decode(await okta.store.get_meta(CURSOR_KEY) or "")
    assert cursor is not None
    assert cursor.next.startswith(okta.url)
    assert "evil.test" not in cursor.next
    assert "refusing a System Log next link off the org" in caplog.text
    assert rig.failures() == {("Slack", "Engineering", "Ada Admin"): 1.0}
    okta.emulator.next_link_origin = None  # the link is fixed: polling goes on from there
    await drain(rig, okta.emulator, okta.time)
    assert rig.failures() == {("Slack", "Engineering", "Ada Admin"): 2.0}


def test_a_cursor_encodes_as_stored_cursors_were_written() -> None:
    """The text orjson, the encoder before msgspec, wrote; and unreadable ones are None."""
    cursor = Cursor(
        "https://o.example/api/v1/logs?after=1", "https://o.example", "f1", 1764324000.5, None
    )
    text = (
        '{"next":"https://o.example/api/v1/logs?after=1","org":"https://o.example",'
        '"filter":"f1","saved_at":1764324000.5,"newest":null}'
    )
    assert cursor.encode() == text
    assert Cursor.decode(text) == cursor
    assert Cursor.decode(text.replace("1764324000.5", "1" + "0" * 400)) is None
    assert Cursor.decode("[" * 100_000 + "]" * 100_000) is None
    assert Cursor.decode("{not json") is None
