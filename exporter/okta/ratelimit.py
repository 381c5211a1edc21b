"""Okta's rate-limit headers, the pause they ask for, and backoff after failures. Pure.

Okta's rl2-monitor page: `X-Rate-Limit-Limit` is the bucket's size per window,
`X-Rate-Limit-Remaining` what is left of it, `X-Rate-Limit-Reset` the UTC epoch second at
which it refills. By default one API token or OAuth app may use half of a bucket
(rl2-token-oauth), and the System Log bucket is shared with everything else reading the
log, so the poller keeps at most `share` of it in use.
"""

from __future__ import annotations

import email.utils
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from exporter.okta.errors import OktaError, RateLimited

MAX_WAIT: Final = 300.0  # never trust a reset further away than this (clock skew, bad data)
RESET_MARGIN: Final = 1.0  # Okta's reset is a whole second: wait into the next one
BACKOFF_BASE: Final = 1.0
BACKOFF_CAP: Final = 300.0


def _number(headers: Mapping[str, str], name: str) -> float | None:
    try:
        return float(headers[name])
    except (KeyError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class RateLimit:
    """One answer's X-Rate-Limit-* headers, and Okta's clock (its Date header)."""

    limit: float | None = None
    remaining: float | None = None
    reset: float | None = None
    server_time: float | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimit:
        """Read the headers leniently: a missing or garbled one is None."""
        server_time = None
        if "Date" in headers:
            try:
                server_time = email.utils.parsedate_to_datetime(headers["Date"]).timestamp()
            except (TypeError, ValueError):
                server_time = None
        return cls(
            limit=_number(headers, "X-Rate-Limit-Limit"),
            remaining=_number(headers, "X-Rate-Limit-Remaining"),
            reset=_number(headers, "X-Rate-Limit-Reset"),
            server_time=server_time,
        )

    def until_reset(self, now: float) -> float | None:
        """Seconds until the bucket refills, by Okta's clock when it sent one."""
        if self.reset is None:
            return None
        clock = self.server_time if self.server_time is not None else now
        return min(MAX_WAIT, max(0.0, self.reset - clock) + RESET_MARGIN)


def pace(rate: RateLimit, share: float, now: float) -> float:
    """The pause before the next request that keeps this client within `share` of the bucket.

    What is left above the reserve (the other `1 - share` of the bucket) is spread evenly
    over the time to the reset; with nothing left, wait for the reset.
    """
    if rate.limit is None or rate.remaining is None:
        return 0.0
    until_reset = rate.until_reset(now)
    if until_reset is None:
        return 0.0
    allowance = rate.remaining - rate.limit * (1.0 - share)
    if allowance < 1:
        return until_reset
    return until_reset / allowance


def backoff(failures: int, rng: random.Random) -> float:
    """Exponential backoff with jitter after `failures` failures in a row (1, 2, 4... s).

    Half of the delay is fixed and half random, so replicas and restarts spread out but
    never hammer Okta with a zero wait.
    """
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** max(0, failures - 1))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def retry_delay(error: OktaError, failures: int, rng: random.Random) -> float:
    """How long to wait after `error`: Okta's reset for a 429, else backoff."""
    if isinstance(error, RateLimited):
        return error.retry_in
    return backoff(failures, rng)


class FailureStreak:
    """The failures in a row of one job: the wait before each next try, and the log.

    Each kind of failure is logged when it starts and the streak when it ends, never at
    every retry.
    """

    def __init__(self, job: str, logger: logging.Logger, rng: random.Random) -> None:
        self.job = job
        self.count = 0
        self._log = logger
        self._rng = rng
        self._kind: str | None = None  # the kind last logged, until recovery

    def failed(self, kind: str, message: str, level: int, error: OktaError | None = None) -> float:
        """One more failure; returns the seconds to wait before trying again."""
        self.count += 1
        if error is not None:
            delay = retry_delay(error, self.count, self._rng)
        else:
            delay = backoff(self.count, self._rng)
        if kind != self._kind:
            self._log.log(
                level,
                f"{self.job} failing",
                extra={"fields": {"error": message, "retry_in_s": round(delay, 3)}},
            )
            self._kind = kind
        return delay

    def recovered(self) -> None:
        """A success: the streak, if any, is over."""
        if self._kind is not None:
            self._log.warning(
                f"{self.job} recovered",
                extra={"fields": {"after": self._kind, "failures": self.count}},
            )
        self._kind = None
        self.count = 0


class RateBudget:
    """What Okta's answers said of each rate-limit bucket, shared by every client of one org.

    Both the System Log poller and the mapping reconciler report every answer here, by
    bucket (exporter/okta/endpoints.py). The poller paces itself from its own answers; the
    reconciler asks `delay` before each request, which keeps it within its share of its
    bucket and holds it back while the poller is being refused: Okta's concurrency limit is
    per org (its 429 can come on any endpoint, rl2-monitor), so a 429 to the poller means
    "everyone, slow down", and the poller goes first.
    """

    def __init__(self) -> None:
        self._rates: dict[str, tuple[RateLimit, float]] = {}  # bucket -> (headers, seen at)
        self._blocked: dict[str, float] = {}  # bucket -> refused until (epoch seconds)

    def observe(self, bucket: str, status: str, rate: RateLimit | None, now: float) -> None:
        """One answer from Okta (rate is None when no answer came: timeout, network)."""
        if rate is not None and rate.limit is not None and rate.remaining is not None:
            self._rates[bucket] = (rate, now)
        if status == "429":
            wait = rate.until_reset(now) if rate is not None else None
            self._blocked[bucket] = now + (wait if wait is not None else 60.0)

    def blocked(self, bucket: str, now: float) -> float:
        """Seconds until a 429 on `bucket` has run its course (0 when it has)."""
        return max(0.0, self._blocked.get(bucket, 0.0) - now)

    def delay(
        self, bucket: str, share: float, now: float, *, behind: tuple[str, ...] = ()
    ) -> float:
        """The pause before the next request to `bucket`.

        The longest of: the pacing that keeps this client within `share` of the bucket,
        as of its last answer (less the time since); a 429 on it; a 429 on any bucket of
        `behind` (the clients that go first).
        """
        waits = [self.blocked(b, now) for b in (bucket, *behind)]
        seen = self._rates.get(bucket)
        if seen is not None:
            rate, at = seen
            waits.append(pace(rate, share, at) - (now - at))
        return max(0.0, *waits)
