"""Trying one Okta request again after a failure that passes: 5xx, timeouts, connection resets.

Pure. Okta answers an unexpected failure with `500 E0000009 Internal Server Error` (its
error-codes page, developer.okta.com/docs/reference/error-codes), and any request can time
out or lose its connection on the way. Such a failure says nothing about the request, so the
same request is tried again, alone: a reading of a thousand requests, or the poller's next
link, does not start over. What a retry cannot fix is not retried: a 4xx other than 429
(credentials, scopes, a wrong URL) fails at once, and a 429 is waited out until Okta's
reset by the caller, not here.

The wait before retry n is "full jitter" (uniform between 0 and min(CAP, BASE * 2**(n-1)),
AWS Architecture Blog, "Exponential Backoff And Jitter"): retries of replicas and requests
that failed together spread over the whole window instead of arriving in step. The caller
waits it through its lease and then asks the org's `RateBudget`, like any request.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final

from exporter.okta.errors import OktaError, RateLimited, TransientError

# Tries of one request in all (the first and 5 retries). At 20% of requests failing at
# random, a request fails 6 times in a row with probability 0.2**6 = 6.4e-5, so a reading of
# 1,100 requests (100 apps x 10 mappings) completes 93% of the time (4 tries: 17%; 5: 70%);
# and the waits add up to at most 1+2+4+8+16 = 31 s (about 15 s on average), so an outage
# fails the request within half a minute and the job's own backoff and staleness take over.
ATTEMPTS: Final = 6
BASE: Final = 1.0  # seconds: the first retry's window
CAP: Final = 30.0  # seconds: no single wait is longer (it binds only if ATTEMPTS grows past 6)


def transient(error: OktaError) -> bool:
    """True when trying the same request again may work: 5xx, timeout, network, a bad 200."""
    return isinstance(error, TransientError) and not isinstance(error, RateLimited)


def backoff(retry: int, rng: random.Random) -> float:
    """The full-jitter wait before retry number `retry` (1, 2, ...)."""
    return rng.uniform(0.0, min(CAP, BASE * 2.0 ** max(0, retry - 1)))


@dataclass(slots=True)
class Retries:
    """The failures of one request so far, and whether and when to try it again."""

    rng: random.Random
    attempts: int = ATTEMPTS
    failures: int = 0

    def after(self, error: OktaError) -> float | None:
        """The wait before trying again after `error`, or None: give up and raise it."""
        if not transient(error):
            return None
        self.failures += 1
        if self.failures >= self.attempts:
            return None
        return backoff(self.failures, self.rng)
