"""The System Log requests the exporter makes: URLs and the event filter. Pure.

Okta's system-log-query page: a *polling* request has no `until` and sorts ASCENDING; it is
ordered by persistence time and its `next` link never ends. A *bounded* request has both
`since` and `until`; it is ordered by `published` and its last page has no `next` link.
"""

from __future__ import annotations

import urllib.parse
from datetime import UTC, datetime
from typing import Final

from exporter.ingest.classify import FAILURE_OUTCOME, failure_only_types, subscribed_types

LOGS_PATH: Final = "/api/v1/logs"
PAGE_LIMIT: Final = 1000  # the most Okta gives per page


def log_filter() -> str:
    """The SCIM filter for exactly the event types the exporter classifies (ingest/classify.py).

    The group and membership provisioning types also log successes (many of them), so
    they are asked for with `outcome.result eq "FAILURE"` only. `event_hook.delivery` is
    among the others: Okta logs it when it could not deliver to an event hook.
    """
    terms = [f'eventType eq "{event_type}"' for event_type in subscribed_types()]
    provisioning = " or ".join(
        f'eventType eq "{event_type}"' for event_type in failure_only_types()
    )
    terms.append(f'(outcome.result eq "{FAILURE_OUTCOME}" and ({provisioning}))')
    return " or ".join(terms)


def iso(epoch: float) -> str:
    """Epoch seconds as the ISO 8601 text Okta reads, in UTC with milliseconds."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _url(org_url: str, params: dict[str, str]) -> str:
    return f"{org_url}{LOGS_PATH}?{urllib.parse.urlencode(params)}"


def polling_url(org_url: str, since: float) -> str:
    """The first request of the never-ending polling query, from `since`."""
    params = {"filter": log_filter(), "since": iso(since), "limit": str(PAGE_LIMIT)}
    return _url(org_url, {**params, "sortOrder": "ASCENDING"})


def bounded_url(org_url: str, since: float, until: float) -> str:
    """The first request of a finite query over published times [since, until)."""
    params = {"filter": log_filter(), "since": iso(since), "until": iso(until)}
    return _url(org_url, {**params, "limit": str(PAGE_LIMIT), "sortOrder": "ASCENDING"})


def same_origin(url: str, org_url: str) -> bool:
    """True when `url` is on the org (a next link elsewhere must not get our token)."""
    one, other = urllib.parse.urlsplit(url), urllib.parse.urlsplit(org_url)
    return (one.scheme, one.netloc.lower()) == (other.scheme, other.netloc.lower())
