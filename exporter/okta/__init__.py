"""Okta's APIs: authentication, one rate-limited HTTP client, the poller and the reconciler.

- `endpoints`: which Okta API a URL is, its scopes and its rate-limit bucket (pure)
- `query`: the System Log URLs and the filter (pure)
- `grouppush`: the apps, group push mappings and groups URLs, and their parsing (pure)
- `ratelimit`: Okta's X-Rate-Limit-* headers, pacing, backoff, the shared budget (pure)
- `errors`: what a failed request means for the next one
- `auth`: SSWS API tokens, and OAuth 2.0 private_key_jwt with DPoP
- `client`: one page (or object) per call
- `lease`: one replica per job, through the store
- `poller`: follows the System Log polling query forever, behind a lease, into the ledger
- `reconciler`: reads every group push mapping's status, behind another lease
- `metrics`: the poller's and the reconciler's metrics
"""
