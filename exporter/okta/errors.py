"""What a System Log request that gave no page means for the next one."""

from __future__ import annotations


class OktaError(Exception):
    """A request to Okta that gave no page. `status` is the `poll_requests_total` label.

    The message is one line a person can act on; it never holds a token or a key.
    """

    def __init__(self, message: str, status: str) -> None:
        super().__init__(message)
        self.status = status


class TransientError(OktaError):
    """Likely to work if tried again later: 5xx, timeouts, connection errors."""


class RateLimited(TransientError):
    """Okta answered 429: wait `retry_in` seconds (until its X-Rate-Limit-Reset)."""

    def __init__(self, message: str, status: str, retry_in: float) -> None:
        super().__init__(message, status)
        self.retry_in = retry_in


class ApiError(OktaError):
    """Will fail again until someone changes something: credentials, scopes, the URL."""
