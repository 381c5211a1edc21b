"""Pacing, backoff and the query URLs: pure functions of Okta's headers and our settings."""

from __future__ import annotations

import random
import urllib.parse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.okta import endpoints
from exporter.okta.endpoints import endpoint_of
from exporter.okta.errors import RateLimited, TransientError
from exporter.okta.query import bounded_url, iso, polling_url, same_origin
from exporter.okta.ratelimit import MAX_WAIT, RateBudget, RateLimit, backoff, pace, retry_delay

NOW = 1_795_000_000.0


def test_pacing_spreads_the_allowance_over_the_window() -> None:
    # Bucket 120, half for us: 60 held back; 80 left -> 20 for us over the 30 s to the reset.
    rate = RateLimit(limit=120, remaining=80, reset=NOW + 29)
    assert pace(rate, share=0.5, now=NOW) == pytest.approx(30 / 20)


def test_pacing_waits_for_the_reset_once_our_share_is_used() -> None:
    rate = RateLimit(limit=120, remaining=60, reset=NOW + 29)
    assert pace(rate, share=0.5, now=NOW) == 30  # the reset, plus a second's margin
    assert pace(rate, share=1.0, now=NOW) == pytest.approx(30 / 60)


def test_okta_clock_decides_and_waits_are_bounded() -> None:
    ahead = RateLimit(limit=10, remaining=0, reset=NOW + 1010, server_time=NOW + 1000)
    assert ahead.until_reset(NOW) == 11
    absurd = RateLimit(limit=10, remaining=0, reset=NOW + 10**6)
    assert absurd.until_reset(NOW) == MAX_WAIT
    assert RateLimit(limit=10, remaining=0, reset=NOW - 50).until_reset(NOW) == 1.0


def test_without_headers_there_is_no_pause() -> None:
    assert pace(RateLimit(), 0.5, NOW) == 0
    assert pace(RateLimit(limit=10, remaining=1), 0.5, NOW) == 0


@given(st.integers(min_value=1, max_value=40), st.integers(min_value=0, max_value=2**32))
def test_backoff_doubles_with_jitter_up_to_the_cap(failures: int, seed: int) -> None:
    delay = backoff(failures, random.Random(seed))
    ceiling = min(300.0, 2.0 ** (failures - 1))
    assert ceiling / 2 <= delay <= ceiling


def test_a_429_waits_its_reset_anything_else_backs_off() -> None:
    rng = random.Random(1)
    assert retry_delay(RateLimited("429", "429", 42.0), 5, rng) == 42.0
    assert 8 <= retry_delay(TransientError("503", "503"), 5, rng) <= 16


def test_query_urls() -> None:
    org = "https://example.okta.com"
    polling = urllib.parse.parse_qs(urllib.parse.urlsplit(polling_url(org, NOW)).query)
    assert polling["since"] == ["2026-11-18T11:06:40.000Z"] == [iso(NOW)]
    assert polling["sortOrder"] == ["ASCENDING"] and polling["limit"] == ["1000"]
    assert "until" not in polling
    bounded = urllib.parse.parse_qs(urllib.parse.urlsplit(bounded_url(org, NOW, NOW + 60)).query)
    assert bounded["until"] == [iso(NOW + 60)] and bounded["filter"] == polling["filter"]
    assert same_origin(f"{org}/api/v1/logs?after=x", "https://EXAMPLE.okta.com")
    assert not same_origin("https://example.okta.com.evil/api", org)
    assert not same_origin("http://example.okta.com/api", org)


# --- the budget the poller and the reconciler share -------------------------------------------


def test_the_budget_paces_a_bucket_from_its_last_answer_less_the_time_since() -> None:
    budget = RateBudget()
    assert budget.delay("apps", 0.5, NOW) == 0  # nothing known yet
    budget.observe("apps", "200", RateLimit(limit=100, remaining=60, reset=NOW + 29), NOW)
    assert budget.delay("apps", 0.5, NOW) == pytest.approx(30 / 10)
    assert budget.delay("apps", 0.5, NOW + 1) == pytest.approx(2)
    budget.observe("apps", "200", RateLimit(limit=100, remaining=50, reset=NOW + 29), NOW)
    assert budget.delay("apps", 0.5, NOW) == 30  # our half is used: wait for the reset
    assert budget.delay("apps", 0.5, NOW + 31) == 0  # the bucket refilled
    assert budget.delay("logs", 0.5, NOW) == 0  # another bucket: another count


def test_a_429_to_the_poller_holds_back_whoever_goes_behind_it() -> None:
    budget = RateBudget()
    budget.observe("logs", "429", RateLimit(limit=120, remaining=0, reset=NOW + 19), NOW)
    assert budget.delay("apps", 1.0, NOW, behind=("logs",)) == 20
    assert budget.delay("apps", 1.0, NOW + 5, behind=("logs",)) == 15
    assert budget.delay("apps", 1.0, NOW + 21, behind=("logs",)) == 0
    assert budget.delay("apps", 1.0, NOW) == 0  # not behind the poller: not held back
    budget.observe("groups", "429", None, NOW)  # a 429 without headers: a minute
    assert budget.blocked("groups", NOW) == 60
    assert budget.blocked("logs", NOW) == 20  # the groups bucket never holds the poller


@pytest.mark.parametrize(
    ("path", "endpoint"),
    [
        ("/api/v1/logs?after=x", endpoints.LOGS),
        ("/api/v1/apps?limit=200", endpoints.APPS),
        ("/api/v1/apps/0oa1/group-push/mappings?limit=1000", endpoints.MAPPINGS),
        ("/api/v1/apps/0oa1", endpoints.APPS),
        ("/api/v1/groups/00g1", endpoints.GROUPS),
        ("/api/v1/groups?q=x", endpoints.OTHER),
    ],
)
def test_each_url_belongs_to_its_endpoint_and_bucket(
    path: str, endpoint: endpoints.Endpoint
) -> None:
    assert endpoint_of(f"https://example.okta.com{path}") == endpoint
    assert endpoints.MAPPINGS.bucket == endpoints.APPS.bucket  # Okta counts /apps/* together


def test_hints_name_the_scopes_each_endpoint_needs() -> None:
    assert "okta.logs.read scope " in endpoints.LOGS.hint(403)
    assert "okta.apps.read and okta.groups.read scopes" in endpoints.MAPPINGS.hint(403)
    assert "check --okta.org-url" in endpoints.LOGS.hint(404) == endpoints.APPS.hint(404)
    assert endpoints.GROUPS.hint(404) == ""  # a group that is gone is an answer, not an error
