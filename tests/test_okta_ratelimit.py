"""Pacing, backoff and the query URLs: pure functions of Okta's headers and our settings."""

from __future__ import annotations

import random
import urllib.parse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.okta.errors import RateLimited, TransientError
from exporter.okta.query import bounded_url, iso, polling_url, same_origin
from exporter.okta.ratelimit import MAX_WAIT, RateLimit, backoff, pace, retry_delay

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
