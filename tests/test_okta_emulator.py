"""The emulator follows Okta's documented behaviour, and refuses what Okta refuses.

The poller's tests are only as good as the emulator, so its own rules are pinned here:
filters, both query kinds, and every check of the token endpoint and DPoP proofs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from exporter.ingest.classify import Kind, classify
from exporter.okta.auth import OAuthAuth
from exporter.okta.errors import ApiError
from exporter.okta.query import bounded_url, iso, log_filter, polling_url
from tests.conftest import NOW, FakeTime, payload
from tests.okta_emulator import RESET, Emulator, FilterError, log_event, parse_filter

MEMBERSHIP = "application.provision.group_membership.add"


def test_the_exporters_filter_keeps_exactly_what_it_classifies() -> None:
    """Every catalogue type, with either outcome: asked for exactly when it is not ignored."""
    keep = parse_filter(log_filter())
    catalogue = payload("okta-event-types_group-push-subset.json")["eventTypes"]
    for event_type in [entry["id"] for entry in catalogue]:
        for outcome in ("SUCCESS", "FAILURE"):
            # Okta's filter has no `ne` (its operators: eq, co, sw, pr, gt, ge, lt, le), so
            # a type that counts with a non-FAILURE outcome comes with all its outcomes;
            # the rare FAILURE of a success type is then ignored by the classification.
            kinds = {classify(event_type, outcome), classify(event_type, "")}
            wanted = kinds != {Kind.IGNORED}
            assert keep(log_event("u", event_type, NOW, outcome=outcome)) is wanted, event_type
    assert keep(log_event("u", MEMBERSHIP, NOW, outcome="FAILURE"))
    assert not keep(log_event("u", MEMBERSHIP, NOW, outcome="SUCCESS"))
    assert not keep(log_event("u", "application.provision.group.import", NOW, outcome="FAILURE"))
    assert keep(log_event("u", "event_hook.delivery", NOW, outcome="FAILURE"))
    assert not keep(log_event("u", "user.session.start", NOW))


def test_and_binds_tighter_than_or_and_bad_filters_are_refused() -> None:
    keep = parse_filter('eventType eq "a" or eventType eq "b" and outcome.result eq "FAILURE"')
    assert keep(log_event("u", "a", NOW, outcome="SUCCESS"))
    assert not keep(log_event("u", "b", NOW, outcome="SUCCESS"))
    for bad in ('eventType eqq "a"', 'published gt "x"', 'eventType eq "a" or', "(eventType"):
        with pytest.raises(FilterError):
            parse_filter(bad)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers={"Authorization": "SSWS test-api-token"}) as s:
        yield s


async def test_a_polling_query_always_has_a_next_link_a_bounded_one_ends(
    org_url: str, emulator: Emulator, session: aiohttp.ClientSession
) -> None:
    emulator.add(log_event("late", "application.provision.group_push.pushed", NOW - 500))
    emulator.add(log_event("early", "application.provision.group_push.pushed", NOW - 900))
    async with session.get(polling_url(org_url, NOW - 3600)) as first:
        assert [e["uuid"] for e in await first.json()] == ["late", "early"]  # persistence order
        following = first.links["next"]["url"]
    async with session.get(following) as empty:
        assert await empty.json() == [] and "next" in empty.links
    async with session.get(bounded_url(org_url, NOW - 3600, NOW)) as bounded:
        assert [e["uuid"] for e in await bounded.json()] == ["early", "late"]  # by published
        assert "next" not in bounded.links
    rate = first.headers
    assert rate["X-Rate-Limit-Limit"] == "600" and int(rate["X-Rate-Limit-Reset"]) > NOW


async def test_invalid_queries_get_okta_error_codes(
    org_url: str, session: aiohttp.ClientSession
) -> None:
    too_old = polling_url(org_url, NOW - 181 * 86400)
    async with session.get(too_old) as answer:
        assert answer.status == 400 and (await answer.json())["errorCode"] == "E0000053"
    async with session.get(f"{org_url}/api/v1/logs?filter=eventType+eqq+%22x%22") as answer:
        assert answer.status == 400
    async with session.get(f"{org_url}/api/v1/logs?since={iso(NOW)}&after=abc") as answer:
        assert answer.status == 400


async def test_dpop_proofs_that_okta_would_refuse_are_refused(
    org_url: str, emulator: Emulator, fake_time: FakeTime, rsa_key: rsa.RSAPrivateKey
) -> None:
    emulator.public_key = rsa_key.public_key()
    auth = OAuthAuth(org_url, emulator.client_id, rsa_key, clock=fake_time.clock)
    url = polling_url(org_url, NOW - 3600)
    async with aiohttp.ClientSession() as session:
        headers = await auth.authorize(session, "GET", url)
        token = headers["Authorization"].removeprefix("DPoP ")
        other_key = OAuthAuth(org_url, emulator.client_id, rsa_key, clock=fake_time.clock)
        cases = {
            "replayed proof": headers,
            "proof for another URL": {
                **headers, "DPoP": auth.proof("GET", f"{org_url}/api/v1/users", access_token=token)
            },
            "proof for another method": {
                **headers, "DPoP": auth.proof("POST", url, access_token=token)
            },
            "proof without ath": {**headers, "DPoP": auth.proof("GET", url)},
            "proof by another key": {
                **headers, "DPoP": other_key.proof("GET", url, access_token=token)
            },
            "token as Bearer": {**headers, "Authorization": f"Bearer {token}"},
        }  # fmt: skip
        async with session.get(url, headers=headers) as answer:
            assert answer.status == 200
        for case, sent in cases.items():
            async with session.get(url, headers=sent) as answer:
                assert answer.status == 401, case
        fake_time.now -= 120
        stale = auth.proof("GET", url, access_token=token)  # made two minutes ago
        fake_time.now += 120
        async with session.get(url, headers={**headers, "DPoP": stale}) as answer:
            assert answer.status == 401


# --- apps, group push mappings, groups ---------------------------------------------------------


async def test_apps_mappings_and_groups_answer_as_okta_documents(
    org_url: str, emulator: Emulator, session: aiohttp.ClientSession
) -> None:
    slack, wiki = emulator.add_app("Slack"), emulator.add_app("Wiki", group_push=False)
    group = emulator.add_group("Engineering")
    emulator.add_mapping(slack, group, status="ERROR", error_summary="Bad Gateway")
    emulator.add_mapping(slack, group, last_push=NOW - 60)
    async with session.get(f"{org_url}/api/v1/apps?limit=1") as first:
        assert [a["id"] for a in await first.json()] == [slack]
        assert "GROUP_PUSH" in (await first.json())[0]["features"]
        following = first.links["next"]["url"]
    async with session.get(following) as last:
        assert [a["id"] for a in await last.json()] == [wiki] and "next" not in last.links
    mappings = f"{org_url}/api/v1/apps/{slack}/group-push/mappings"
    async with session.get(f"{mappings}?status=ERROR") as only_errors:
        (broken,) = await only_errors.json()
        assert (broken["status"], broken["errorSummary"]) == ("ERROR", "Bad Gateway")
        assert broken["id"].startswith("gPm") and broken["sourceGroupId"] == group
    async with session.get(mappings) as every:
        assert [m["status"] for m in await every.json()] == ["ERROR", "ACTIVE"]
        assert (await every.json())[1]["lastPush"].endswith("Z")
    async with session.get(f"{org_url}/api/v1/groups/{group}") as found:
        assert (await found.json())["profile"]["name"] == "Engineering"
    for path, status, code in (
        ("/api/v1/groups/00gnope", 404, "E0000007"),
        ("/api/v1/apps/0oanope/group-push/mappings", 404, "E0000007"),
        (f"/api/v1/apps/{slack}/group-push/mappings?limit=1001", 400, "E0000001"),
        ("/api/v1/apps?filter=features%20eq%20%22GROUP_PUSH%22", 400, "E0000031"),
    ):
        async with session.get(f"{org_url}{path}") as refused:
            assert refused.status == status and (await refused.json())["errorCode"] == code


async def test_each_bucket_has_its_own_rate_limit(
    org_url: str, emulator: Emulator, session: aiohttp.ClientSession
) -> None:
    emulator.bucket_limits = {"apps": 2, "groups": 5}
    group = emulator.add_group("Engineering")
    statuses = []
    for _ in range(3):
        async with session.get(f"{org_url}/api/v1/apps") as answer:
            statuses.append(answer.status)
            limit = answer.headers["X-Rate-Limit-Limit"]
    assert statuses == [200, 200, 429] and limit == "2"
    async with session.get(f"{org_url}/api/v1/groups/{group}") as other_bucket:
        assert other_bucket.status == 200
        assert other_bucket.headers["X-Rate-Limit-Remaining"] == "4"
    async with session.get(polling_url(org_url, NOW - 60)) as logs:
        assert logs.status == 200 and logs.headers["X-Rate-Limit-Limit"] == "600"


async def test_a_token_without_the_scope_is_refused_403(
    org_url: str, emulator: Emulator, fake_time: FakeTime, rsa_key: rsa.RSAPrivateKey
) -> None:
    emulator.public_key = rsa_key.public_key()
    auth = OAuthAuth(org_url, emulator.client_id, rsa_key, clock=fake_time.clock)  # logs only
    async with aiohttp.ClientSession() as plain:
        url = f"{org_url}/api/v1/apps"
        headers = await auth.authorize(plain, "GET", url)
        async with plain.get(url, headers=headers) as refused:
            assert refused.status == 403
            assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
        emulator.granted_scopes = {"okta.logs.read"}
        more = OAuthAuth(org_url, emulator.client_id, rsa_key, clock=fake_time.clock,
                         scopes="okta.apps.read")  # fmt: skip
        with pytest.raises(ApiError, match=r"invalid_scope.*grant okta\.apps\.read"):
            await more.authorize(plain, "GET", url)


async def test_a_flaky_org_fails_every_nth_request_of_any_api(
    org_url: str, emulator: Emulator, session: aiohttp.ClientSession
) -> None:
    group = emulator.add_group("Engineering")
    emulator.flaky(3)
    urls = [f"{org_url}/api/v1/apps", f"{org_url}/api/v1/groups/{group}"] * 2
    urls += [polling_url(org_url, NOW - 60)] * 2
    statuses, bodies = [], []
    for url in urls:
        async with session.get(url) as answer:
            statuses.append(answer.status)
            bodies.append(await answer.json())
    assert statuses == [200, 200, 500, 200, 200, 500]  # counted across the APIs
    assert bodies[2]["errorCode"] == bodies[5]["errorCode"] == "E0000009"


async def test_a_reset_drops_the_connection_and_aiohttps_own_retry_of_it(
    org_url: str, emulator: Emulator, session: aiohttp.ClientSession
) -> None:
    emulator.flaky(3, RESET)
    for _ in range(2):
        async with session.get(f"{org_url}/api/v1/apps") as answer:
            assert answer.status == 200
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await session.get(f"{org_url}/api/v1/apps")  # no answer: dropped, then its retry too
    async with session.get(f"{org_url}/api/v1/apps") as answer:
        assert answer.status == 200
    assert [r.status for r in emulator.api_requests] == [200, 200, RESET, RESET, 200]
