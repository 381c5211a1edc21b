"""Okta's System Log API: authentication, one rate-limited HTTP client, and the poller.

- `query`: the URLs and the filter (pure)
- `ratelimit`: Okta's X-Rate-Limit-* headers, pacing and backoff (pure)
- `errors`: what a failed request means for the next one
- `auth`: SSWS API tokens, and OAuth 2.0 private_key_jwt with DPoP
- `client`: one System Log page per call
- `poller`: follows the polling query forever, behind a lease, into the ledger
- `metrics`: the poller's own health metrics
"""
