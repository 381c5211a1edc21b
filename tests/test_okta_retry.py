"""Which failures are tried again, how long between tries, and how many tries in all."""

from __future__ import annotations

import random

import pytest

from exporter.okta.errors import ApiError, OktaError, RateLimited, TransientError
from exporter.okta.retry import ATTEMPTS, CAP, Retries, backoff, transient


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (TransientError("System Log answered 500", "500"), True),
        (TransientError("timed out", "timeout"), True),
        (TransientError("connection reset", "network_error"), True),
        (RateLimited("429", "429", 10.0), False),  # waited out until the reset, elsewhere
        (ApiError("403", "403"), False),
        (ApiError("404", "404"), False),
    ],
)
def test_only_failures_that_pass_are_tried_again(error: OktaError, expected: bool) -> None:
    assert transient(error) is expected


def test_backoff_is_full_jitter_doubling_up_to_the_cap() -> None:
    rng = random.Random(1)
    for retry in range(1, 12):
        window = min(CAP, 2.0 ** (retry - 1))
        waits = [backoff(retry, rng) for _ in range(200)]
        assert all(0 <= w <= window for w in waits)
        assert min(waits) < window / 4 and max(waits) > window * 3 / 4  # the whole window


def test_a_request_is_tried_at_most_attempts_times() -> None:
    tries = Retries(random.Random(1))
    error = TransientError("500", "500")
    waits = [tries.after(error) for _ in range(ATTEMPTS)]
    assert all(w is not None for w in waits[:-1])
    assert waits[-1] is None  # the sixth failure is given up on
    assert Retries(random.Random(1)).after(ApiError("401", "401")) is None
