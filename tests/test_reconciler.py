"""The Group Push Mapping API reconciler against an emulated Okta org, on fake time.

The emulator (tests/okta_emulator.py) and the reconciler share one clock; the tests drive
`Reconciler.step`, one complete reading of every mapping per call.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric import rsa

from exporter.config import Config, OktaSection, StorageSection, WebSection
from exporter.counting import mapping
from exporter.counting.state import MetricState, Update
from exporter.ingest.classify import Kind
from exporter.okta.auth import OAuthAuth, SswsAuth
from exporter.okta.ratelimit import RateBudget
from exporter.okta.reconciler import LEASE_NAME, SCOPES
from exporter.okta.retry import ATTEMPTS
from exporter.store.memory import MemoryStore
from exporter.web.app import make_app
from exporter.web.appkeys import REGISTRY
from tests.conftest import NOW, SECRET, Client, FakeTime, ReconcileRig, RigFactory, wait_for
from tests.okta_emulator import RESET, Emulator

STATUS = "okta_group_push_mapping_status"
REASON = "okta_group_push_mapping_error_reason"
LAST_PUSH = "okta_group_push_mapping_last_push_timestamp_seconds"
LAST_SUCCESS = "okta_group_push_exporter_reconcile_last_success_timestamp_seconds"
DURATION = "okta_group_push_exporter_reconcile_duration_seconds"
ERRORS = "okta_group_push_exporter_reconcile_errors_total"
DISAGREEMENTS = "okta_group_push_exporter_state_disagreements_total"
RETRIES = "okta_group_push_exporter_okta_retries_total"
MISSING = "Linked group is missing in AWS IAM Identity Center. Change the linked group."

ReconcileFactory = Callable[..., ReconcileRig]


@dataclass
class Org:
    """An emulated org on fake time, a store, and reconcilers reading it."""

    url: str
    emulator: Emulator
    time: FakeTime
    store: MemoryStore
    rigs: ReconcileFactory

    def rig(self, **options: Any) -> ReconcileRig:
        return self.rigs(self.url, self.store, **options)

    def requests(self, path_part: str) -> list[Any]:
        return [r for r in self.emulator.api_requests if path_part in r.path]


@pytest.fixture
def org(
    org_url: str,
    emulator: Emulator,
    fake_time: FakeTime,
    memory: MemoryStore,
    reconcile_rigs: ReconcileFactory,
) -> Org:
    return Org(org_url, emulator, fake_time, memory, reconcile_rigs)


def statuses(rig: ReconcileRig) -> dict[tuple[str, str], str]:
    """(application, group) -> the status whose series is 1."""
    return {(a, g): s for (a, g, s), value in rig.family(STATUS).items() if value == 1}


def events_say(
    state: MetricState,
    ids: tuple[str, str],
    names: tuple[str, str],
    failing: bool,
    published: float = NOW - 600,
) -> None:
    """The event-derived state of a mapping (by its Okta ids), as the ledger leaves it
    after an event that named it `names`."""
    newest = (mapping.STATE_SERIES, ids, mapping.encode(published, failing))
    named = (mapping.NAMES_SERIES, (*ids, *names), published)
    state.apply(Update(uuid="-", kind=Kind.SUCCESS, maxima=(named, newest)))


# --- reading every mapping ------------------------------------------------------------------


async def test_statuses_reasons_and_names_are_read_from_every_page(org: Org) -> None:
    e = org.emulator
    e.apps_page_size = e.mappings_page_size = 2  # every listing takes several pages
    aws, slack, zoom = e.add_app("AWS IAM Identity Center"), e.add_app("Slack"), e.add_app("Zoom")
    sso_only = e.add_app("Wiki", group_push=False)
    retired = e.add_app("Old Slack", status="INACTIVE")
    eng, sales, ops = e.add_group("Engineering"), e.add_group("Sales"), e.add_group("Ops")
    e.add_mapping(aws, eng, status="ERROR", error_summary=MISSING, last_push=NOW - 7200)
    e.add_mapping(aws, sales, last_push=NOW - 60)
    e.add_mapping(aws, ops, status="INACTIVE")
    e.add_mapping(slack, eng, last_push=NOW - 30)
    e.add_mapping(retired, eng, status="ERROR", error_summary="401 Unauthorized")
    rig = org.rig()
    wait = await rig.reconciler.step()
    duration = org.time.now - NOW  # the fake clock moved by the pacing waits alone
    assert wait == pytest.approx(300.0 - duration)  # the next reading an interval after

    assert statuses(rig) == {
        ("AWS IAM Identity Center", "Engineering"): "ERROR",
        ("AWS IAM Identity Center", "Sales"): "ACTIVE",
        ("AWS IAM Identity Center", "Ops"): "INACTIVE",
        ("Slack", "Engineering"): "ACTIVE",
    }
    assert len(rig.family(STATUS)) == 4 * 3  # every status of every mapping, 0 or 1
    assert rig.family(REASON) == {("AWS IAM Identity Center", "Engineering", "not_found"): 1}
    assert rig.family(LAST_PUSH) == {
        ("AWS IAM Identity Center", "Engineering"): NOW - 7200,
        ("AWS IAM Identity Center", "Sales"): NOW - 60,
        ("Slack", "Engineering"): NOW - 30,
    }
    assert rig.sample(LAST_SUCCESS) == org.time.now
    assert rig.sample(DURATION) == pytest.approx(duration)

    apps = org.requests("/api/v1/apps")
    listings = [r for r in apps if r.path == "/api/v1/apps"]
    assert listings[0].query == {"filter": 'status eq "ACTIVE"', "limit": "200"}
    assert [r.items for r in listings] == [2, 2]  # four active apps, two pages
    read = {r.path.split("/")[4] for r in apps if r.path.endswith("/group-push/mappings")}
    assert read == {aws, slack, zoom}  # not the app without GROUP_PUSH, not the inactive one
    assert sso_only not in read and retired not in read
    aws_pages = [r for r in apps if r.path == f"/api/v1/apps/{aws}/group-push/mappings"]
    assert [r.items for r in aws_pages] == [2, 1] and aws_pages[0].query == {"limit": "1000"}
    assert sorted(r.path for r in org.requests("/api/v1/groups/")) == sorted(
        f"/api/v1/groups/{g}" for g in (eng, sales, ops)
    )
    assert all(r.status == 200 for r in org.emulator.api_requests)


async def test_a_mapping_that_recovers_goes_back_to_active(org: Org) -> None:
    e = org.emulator
    app, group = e.add_app("AWS IAM Identity Center"), e.add_group("Engineering")
    pushed = e.add_mapping(app, group, status="ERROR", error_summary=MISSING)
    rig = org.rig()
    await rig.reconciler.step()
    labels = {"application": "AWS IAM Identity Center", "group": "Engineering"}
    assert rig.sample(STATUS, {**labels, "status": "ERROR"}) == 1
    e.update_mapping(pushed, status="ACTIVE", last_push=NOW)
    await rig.reconciler.step()
    assert rig.sample(STATUS, {**labels, "status": "ERROR"}) == 0
    assert rig.sample(STATUS, {**labels, "status": "ACTIVE"}) == 1
    assert rig.family(REASON) == {}  # no reason once the push works
    assert rig.sample(LAST_PUSH, labels) == NOW


async def test_a_deleted_mapping_or_app_stops_being_exported(org: Org) -> None:
    e = org.emulator
    slack, zoom = e.add_app("Slack"), e.add_app("Zoom")
    eng, sales = e.add_group("Engineering"), e.add_group("Sales")
    gone = e.add_mapping(slack, eng, status="ERROR", error_summary="403 Forbidden")
    e.add_mapping(slack, sales)
    e.add_mapping(zoom, eng)
    rig = org.rig()
    await rig.reconciler.step()
    assert len(statuses(rig)) == 3
    e.delete_mapping(gone)
    del e.apps[zoom]
    await rig.reconciler.step()
    assert statuses(rig) == {("Slack", "Sales"): "ACTIVE"}
    assert {labels[:2] for labels in rig.family(STATUS)} == {("Slack", "Sales")}
    assert rig.family(REASON) == {}


async def test_group_names_are_cached_and_refreshed_rarely(org: Org) -> None:
    e = org.emulator
    app = e.add_app("Slack")
    eng, doomed = e.add_group("Engineering"), e.add_group("Temporary")
    e.add_mapping(app, eng)
    e.add_mapping(app, doomed)
    del e.groups[doomed]  # deleted in Okta, its mapping not yet: labelled by its id
    rig = org.rig(group_name_ttl=3600.0)
    await rig.reconciler.step()
    assert set(statuses(rig)) == {("Slack", "Engineering"), ("Slack", doomed)}
    assert len(org.requests("/api/v1/groups/")) == 2
    e.groups[eng]["profile"]["name"] = "Platform Engineering"  # renamed
    org.time.now += 1800
    await rig.reconciler.step()
    assert len(org.requests("/api/v1/groups/")) == 2  # cached: no request, the old name
    assert ("Slack", "Engineering") in statuses(rig)
    org.time.now += 1800
    await rig.reconciler.step()
    assert len(org.requests("/api/v1/groups/")) == 4  # both refreshed after the TTL
    assert ("Slack", "Platform Engineering") in statuses(rig)


async def test_labels_are_cleaned_like_the_failure_counters(org: Org) -> None:
    e = org.emulator
    app = e.add_app("Slack\x00\n" + "x" * 300)
    e.add_mapping(app, e.add_group("Eng\x7fineering"))
    rig = org.rig()
    await rig.reconciler.step()
    ((application, group),) = statuses(rig)
    assert application == ("Slack" + "x" * 300)[:128] and group == "Engineering"


# --- failures and rate limits ---------------------------------------------------------------


@pytest.mark.parametrize("fault", [500, RESET], ids=["500", "reset"])
async def test_a_reading_completes_when_every_fifth_request_fails(org: Org, fault: int) -> None:
    """Each failed request alone is tried again: every mapping is read, nothing twice."""
    e = org.emulator
    for a in range(20):
        app = e.add_app(f"App {a}")
        for m in range(5):
            e.add_mapping(
                app, e.add_group(f"Group {a}-{m}"), status="ERROR" if m == 0 else "ACTIVE"
            )
    e.apps_page_size = 5  # the listing takes pages: a failed page is not the whole listing
    e.flaky(5, fault)
    rig = org.rig()
    await rig.reconciler.step()
    assert rig.sample(LAST_SUCCESS) == org.time.now
    found = statuses(rig)
    assert len(found) == 100
    assert sum(status == "ERROR" for status in found.values()) == 20
    failed = [r for r in e.api_requests if r.status == fault]
    # A reset drops aiohttp's own silent retry too (see Emulator.flaky): the client sees one.
    seen = len(failed) if fault == 500 else len(failed) // 2
    assert seen > 20
    answered = [(r.path, tuple(sorted(r.query.items()))) for r in e.api_requests if r.status == 200]
    assert len(answered) == len(set(answered))  # nothing read twice: no reading started over
    assert sum(rig.family(RETRIES).values()) == seen
    status = "500" if fault == 500 else "network_error"
    assert sum(v for (_, s), v in rig.family(ERRORS).items() if s == status) == seen
    by_endpoint = {endpoint: v for (component, endpoint), v in rig.family(RETRIES).items()}
    assert by_endpoint["groups"] > 0 and by_endpoint["mappings"] > 0


async def test_a_retry_waits_a_jittered_backoff_and_then_asks_the_rate_budget(org: Org) -> None:
    e = org.emulator
    e.add_mapping(e.add_app("Slack"), e.add_group("Engineering"))
    e.fail_api_next(500, times=3)
    rig = org.rig()
    await rig.reconciler.step()
    assert [r.status for r in e.api_requests[:4]] == [500, 500, 500, 200]
    gaps = [b.at - a.at for a, b in itertools.pairwise(e.api_requests[:4])]
    assert 0 <= gaps[0] <= 1 and 0 <= gaps[1] <= 2 and 0 <= gaps[2] <= 4  # full jitter
    assert len(set(gaps)) == 3  # drawn, not fixed
    assert rig.sample(RETRIES, {"component": "reconciler", "endpoint": "apps"}) == 3

    # The failed answer said the bucket is down to the reserve: the retry waits for its reset.
    again = org.rig(owner="again")
    await rig.reconciler.close()
    e.use_quota(e.bucket_limits["apps"] // 2, bucket="apps")
    reset = (org.time.now // 60 + 1) * 60
    e.fail_api_next(503)
    before = len(e.api_requests)
    await again.reconciler.step()
    failed, retry = e.api_requests[before : before + 2]
    assert failed.status == 503 and retry.status == 200 and retry.at >= reset


async def test_a_4xx_is_not_tried_again(org: Org) -> None:
    org.emulator.add_app("Slack")
    org.emulator.fail_api_next(404)
    rig = org.rig()
    await rig.reconciler.step()
    assert len(org.emulator.api_requests) == 1
    assert sum(rig.family(RETRIES).values()) == 0
    assert rig.sample(LAST_SUCCESS) == 0


async def test_a_reading_that_fails_for_good_keeps_the_last_one_and_backs_off(
    org: Org, caplog: pytest.LogCaptureFixture
) -> None:
    e = org.emulator
    e.add_mapping(e.add_app("Slack"), e.add_group("Engineering"), status="ERROR")
    rig = org.rig()
    await rig.reconciler.step()
    before, read_at = rig.family(STATUS), rig.sample(LAST_SUCCESS)
    reasons, pushes = rig.family(REASON), rig.family(LAST_PUSH)
    assert read_at is not None and before
    org.time.now += 300
    e.fail_api_next(503, times=2 * ATTEMPTS)  # two readings' worth: every try of the first request
    waits = []
    for _ in range(2):
        started = org.time.now
        waits.append(await rig.reconciler.step())
        assert org.time.now - started <= 31  # the retries' backoff, at most 1+2+4+8+16 s
    assert 0.5 <= waits[0] <= 1 and 1 <= waits[1] <= 2  # then the step's own backoff
    assert rig.sample(ERRORS, {"endpoint": "apps", "status": "503"}) == 2 * ATTEMPTS
    assert rig.sample(RETRIES, {"component": "reconciler", "endpoint": "apps"}) == 2 * (
        ATTEMPTS - 1
    )
    # The last complete reading stays exposed, and says how old it is.
    assert rig.family(STATUS) == before
    assert rig.family(REASON) == reasons and rig.family(LAST_PUSH) == pushes
    assert rig.sample(LAST_SUCCESS) == read_at
    await rig.reconciler.step()
    assert rig.sample(LAST_SUCCESS) == org.time.now > read_at
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("Group push mapping reconciliation failing") == 1
    assert messages.count("Group push mapping reconciliation recovered") == 1


async def test_a_replica_that_loses_the_lease_while_failing_stops_exposing_the_mappings(
    org: Org,
) -> None:
    e = org.emulator
    e.add_mapping(e.add_app("Slack"), e.add_group("Engineering"))
    rig = org.rig(owner="a")
    await rig.reconciler.step()
    e.fail_api_next(503, times=ATTEMPTS)
    await rig.reconciler.step()
    assert statuses(rig) == {("Slack", "Engineering"): "ACTIVE"}  # the last reading, kept
    org.time.now += 31  # the lease lapsed (a store outage, a paused process)
    assert await org.store.acquire_lease(LEASE_NAME, "b", 30.0, org.time.now)
    assert await rig.reconciler.step() == 10.0
    assert rig.family(STATUS) == {} and rig.sample(LAST_SUCCESS) is None


async def test_a_missing_scope_is_named_and_does_not_stop_the_poller(
    org: Org,
    rigs: RigFactory,
    rsa_key: rsa.RSAPrivateKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    org.emulator.public_key = rsa_key.public_key()
    org.emulator.granted_scopes = {"okta.logs.read"}  # only what the poller needs
    oauth = OAuthAuth(org.url, org.emulator.client_id, rsa_key, clock=org.time.clock, scopes=SCOPES)
    rig = org.rig(auth=oauth)
    assert await rig.reconciler.step() > 0
    assert rig.sample(ERRORS, {"endpoint": "apps", "status": "auth_error"}) == 1
    (error,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "okta.apps.read okta.groups.read" in str(error.__dict__["fields"]["error"])
    poller = rigs(
        org.url, org.store, auth=OAuthAuth(org.url, org.emulator.client_id, rsa_key,
                                           clock=org.time.clock)
    )  # fmt: skip
    await poller.poller.step()
    assert org.emulator.requests[-1].status == 200  # its own token, its own scope


async def test_a_429_from_the_token_endpoint_is_waited_out_too(
    org: Org, rsa_key: rsa.RSAPrivateKey
) -> None:
    e = org.emulator
    e.public_key = rsa_key.public_key()
    e.add_mapping(e.add_app("Slack"), e.add_group("Engineering"))
    e.token_busy_until = org.time.now + 20  # other clients of the app used its token bucket
    oauth = OAuthAuth(org.url, e.client_id, rsa_key, clock=org.time.clock, scopes=SCOPES)
    rig = org.rig(auth=oauth)
    await rig.reconciler.step()
    assert e.token_requests[0] == 429 and e.token_requests[-1] == 200
    assert e.api_requests[0].at >= NOW + 20  # asked again only after Okta's reset
    assert rig.sample(ERRORS, {"endpoint": "apps", "status": "auth_error"}) == 1
    assert statuses(rig) == {("Slack", "Engineering"): "ACTIVE"}


async def test_an_api_token_without_the_rights_gets_a_hint(
    org: Org, caplog: pytest.LogCaptureFixture
) -> None:
    org.emulator.add_app("Slack")
    org.emulator.fail_api_next(403)
    rig = org.rig(auth=SswsAuth("test-api-token"))
    await rig.reconciler.step()
    (error,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "Apps API answered 403" in str(error.__dict__["fields"]["error"])
    assert "grant the okta.apps.read scope" in str(error.__dict__["fields"]["error"])


async def test_a_429_is_waited_out_and_the_reading_completes(org: Org) -> None:
    e = org.emulator
    e.add_mapping(e.add_app("Slack"), e.add_group("Engineering"))
    e.use_quota(e.bucket_limits["apps"], bucket="apps")  # others used the whole bucket
    rig = org.rig()
    reset = (org.time.now // 60 + 1) * 60
    await rig.reconciler.step()
    first, *rest = org.emulator.api_requests
    assert first.status == 429 and rest[0].at >= reset  # asked again after the reset
    assert all(r.status == 200 for r in rest)
    assert rig.sample(ERRORS, {"endpoint": "apps", "status": "429"}) == 1
    assert statuses(rig) == {("Slack", "Engineering"): "ACTIVE"}


async def test_the_reconciler_keeps_within_its_share_of_each_bucket(org: Org) -> None:
    e = org.emulator
    e.bucket_limits = {"apps": 10, "groups": 6}
    e.apps_page_size = 4
    for n in range(12):
        e.add_mapping(e.add_app(f"App {n}"), e.add_group(f"Group {n}"))
    rig = org.rig(share=0.5)
    await rig.reconciler.step()
    assert all(r.status == 200 for r in e.api_requests)
    per_window: dict[tuple[str, float], int] = {}
    for request in e.api_requests:
        key = (request.path.split("/")[3], request.at // 60)
        per_window[key] = per_window.get(key, 0) + 1
    assert max(n for (bucket, _), n in per_window.items() if bucket == "apps") <= 5
    assert max(n for (bucket, _), n in per_window.items() if bucket == "groups") <= 3
    assert len(statuses(rig)) == 12
    assert rig.sample(DURATION) == org.time.now - NOW > 60  # paced over several windows


async def test_while_the_poller_is_refused_the_reconciler_waits(org: Org, rigs: RigFactory) -> None:
    """The poller goes first: a 429 to it holds the reconciler back until Okta's reset."""
    budget = RateBudget()
    e = org.emulator
    e.add_mapping(e.add_app("Slack"), e.add_group("Engineering"))
    poller = rigs(org.url, org.store, budget=budget)
    reconciler = org.rig(budget=budget)
    e.use_quota(e.rate_limit)  # the System Log bucket is used up by other integrations
    reset = (org.time.now // 60 + 1) * 60
    await poller.poller.step()
    assert e.requests[-1].status == 429
    await reconciler.reconciler.step()
    assert min(r.at for r in e.api_requests) >= reset  # nothing sent before the reset
    assert statuses(reconciler) == {("Slack", "Engineering"): "ACTIVE"}
    await poller.poller.step()
    assert e.requests[-1].status == 200


# --- disagreements with the events -----------------------------------------------------------


async def test_disagreements_with_the_events_are_counted_and_logged_once_each(
    org: Org, caplog: pytest.LogCaptureFixture
) -> None:
    e = org.emulator
    app = e.add_app("Slack")
    groups = {name: e.add_group(name) for name in ("Fine", "Missed", "Unseen", "Healed", "Agree")}
    e.add_mapping(app, groups["Fine"], status="ERROR", error_summary="Bad Gateway")
    e.add_mapping(app, groups["Unseen"], status="ERROR", error_summary="409 already exists")
    healed = e.add_mapping(app, groups["Healed"])
    e.add_mapping(app, groups["Agree"], status="ERROR")
    state = MetricState()

    def said(
        group: str, failing: bool, published: float = NOW - 600, app_name: str = "Slack"
    ) -> None:
        ids = (app, groups.get(group, "00g" + group))
        events_say(state, ids, (app_name, group), failing, published)

    said("Fine", failing=False)  # the failure event was missed
    # The success event was missed. The events name the app otherwise than the API (an
    # older label): the ids join them all the same, one disagreement, not two.
    said("Healed", failing=True, app_name="Slack (old label)")
    said("Agree", failing=True)
    said("Deleted", failing=True)  # no such mapping (any more)
    events_say(state, ("0oaZoom", "00gOther"), ("Zoom", "Other"), failing=True)  # not listed
    rig = org.rig(state=state)
    caplog.set_level(logging.INFO, logger="exporter.okta.reconciler")

    await rig.reconciler.step()  # seen once: might be an event still on its way
    assert all(value == 0 for value in rig.family(DISAGREEMENTS).values())
    await rig.reconciler.step()
    await rig.reconciler.step()  # still there: not counted again
    assert rig.family(DISAGREEMENTS) == {
        ("api_error_events_ok",): 1,
        ("api_error_no_events",): 1,
        ("api_active_events_failing",): 1,
        ("api_inactive_events_failing",): 0,
        ("events_failing_no_mapping",): 1,
    }
    logged = [r for r in caplog.records if "disagree" in r.getMessage()]
    assert len(logged) == 4
    by_group = {r.__dict__["fields"]["group"]: r.__dict__["fields"] for r in logged}
    assert by_group["Fine"]["error_summary"] == "Bad Gateway"
    assert by_group["Fine"]["newest_event"] == "success"
    assert by_group["Deleted"]["okta_status"] == "no such mapping"

    # The disagreement ends (the events catch up), then comes back: counted again.
    said("Healed", failing=False, published=NOW - 300)
    await rig.reconciler.step()
    e.update_mapping(healed, status="INACTIVE", last_push=None)
    said("Healed", failing=True, published=NOW)  # a later failure
    await rig.reconciler.step()
    await rig.reconciler.step()
    assert rig.sample(DISAGREEMENTS, {"kind": "api_inactive_events_failing"}) == 1
    assert rig.sample(DISAGREEMENTS, {"kind": "api_active_events_failing"}) == 1


# --- one replica reads ------------------------------------------------------------------------


async def test_only_the_lease_holder_reads_and_exposes_the_mappings(org: Org) -> None:
    e = org.emulator
    e.add_mapping(e.add_app("Slack"), e.add_group("Engineering"))
    # The poller's lease belongs to another replica: a separate lease, no matter.
    assert await org.store.acquire_lease("poller", "someone else", 60.0, org.time.now)
    leader, standby = org.rig(owner="a"), org.rig(owner="b")
    await leader.reconciler.step()
    assert await standby.reconciler.step() == 10.0  # a third of the lease: ask again then
    assert len(e.api_requests) == 3  # apps, mappings, the group: the leader's only
    assert statuses(leader) == {("Slack", "Engineering"): "ACTIVE"}
    assert standby.family(STATUS) == {} and standby.sample(LAST_SUCCESS) is None
    assert standby.family(DISAGREEMENTS)  # its counters are there, from 0
    await leader.reconciler.close()  # gives the lease up: the standby takes over at once
    assert leader.family(STATUS) == {}
    await standby.reconciler.step()
    assert statuses(standby) == {("Slack", "Engineering"): "ACTIVE"}
    assert await org.store.lease_holder(LEASE_NAME, org.time.now) == "b"


# --- inside serve ------------------------------------------------------------------------------


@pytest.mark.parametrize("interval", [0.05, 0.0])
async def test_serve_reconciles_when_configured_and_stops_cleanly(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
    tmp_path: Path,
    interval: float,
) -> None:
    emulator = Emulator(clock=time.time)
    slack, engineering = emulator.add_app("Slack"), emulator.add_group("Engineering")
    emulator.add_mapping(slack, engineering, status="ERROR")
    url = str((await aiohttp_server(emulator.app())).make_url("")).rstrip("/")
    config = Config(
        storage=StorageSection(path=tmp_path),
        web=WebSection(hook_secrets=(SECRET,)),
        okta=OktaSection(org_url=url, api_token="test-api-token", mappings_interval=interval),
    )
    store = MemoryStore(config.storage.dedup_window)
    app = make_app(config, store)
    client = await aiohttp_client(app)
    registry = app[REGISTRY]
    labels = {"application": "Slack", "group": "Engineering", "status": "ERROR"}
    if interval:
        await wait_for(lambda: registry.get_sample_value(STATUS, labels) == 1, "a reading")
        body = await (await client.get("/metrics")).text()
        assert 'okta_group_push_mapping_status{application="Slack"' in body
        # A mapping only the API knows is in mapping_info too, with its Okta ids.
        info = (
            f'okta_group_push_mapping_info{{admin_url="",application="Slack",'
            f'application_id="{slack}",group="Engineering",group_id="{engineering}",'
            f'system_log_url=""}} 1.0'
        )
        assert info in body
    else:  # off: no reader, no metrics, not a request
        await wait_for(lambda: bool(emulator.requests), "the poller's first request")
        assert registry.get_sample_value(DISAGREEMENTS, {"kind": "api_error_no_events"}) is None
        assert emulator.api_requests == []
    await client.close()
    names = {task.get_name() for task in asyncio.all_tasks()}
    assert "okta-group-push-reconciler" not in names
    assert await store.acquire_lease(LEASE_NAME, "next", 60.0, time.time())
