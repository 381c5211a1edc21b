"""The Okta endpoints the exporter calls: what each is called, its scopes, its rate-limit bucket.

Pure. Okta's management rate-limit page (developer.okta.com/docs/reference/rl-global-mgmt)
counts requests per endpoint bucket: `/api/v1/logs` has its own; `/api/v1/apps` and every
`/api/v1/apps/{id}/...` path (the Group Push Mapping API among them) share one; a single
group by id, `/api/v1/groups/{id}`, has another. The X-Rate-Limit-* headers of an answer
describe the bucket of the request that got it, so they are kept per bucket.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One Okta API the exporter reads."""

    name: str  # short, for metric labels and logs
    title: str  # for messages a person reads
    bucket: str  # Okta's rate-limit bucket
    scopes: tuple[str, ...]  # the OAuth scopes a service app needs for it

    def hint(self, status: int) -> str:
        """The usual cause of an error answer, as something to do; "" when none is known."""
        if status == 401:
            return "check the API token or the OAuth app's client id and key"
        if status == 403:
            return (
                f"grant the {' and '.join(self.scopes)} scope{'s' if len(self.scopes) > 1 else ''}"
                " and an admin role (e.g. Read-only Admin) to the app"
            )
        if status == 404 and self in (LOGS, APPS):  # they always exist: the URL is wrong
            return "check --okta.org-url"
        return ""


LOGS: Final = Endpoint("logs", "System Log", "/api/v1/logs", ("okta.logs.read",))
APPS: Final = Endpoint("apps", "Apps API", "/api/v1/apps", ("okta.apps.read",))
MAPPINGS: Final = Endpoint(
    "mappings", "Group Push Mapping API", "/api/v1/apps", ("okta.apps.read", "okta.groups.read")
)
GROUPS: Final = Endpoint("groups", "Groups API", "/api/v1/groups/{id}", ("okta.groups.read",))
OTHER: Final = Endpoint("other", "Okta API", "/api/v1", ())

_MAPPINGS_PATH: Final = re.compile(r"/api/v1/apps/[^/]+/group-push/mappings/?")
_GROUP_PATH: Final = re.compile(r"/api/v1/groups/[^/]+/?")


def endpoint_of(url: str) -> Endpoint:
    """The endpoint a URL of the org belongs to."""
    path = urllib.parse.urlsplit(url).path
    if path.rstrip("/") == "/api/v1/logs":
        return LOGS
    if _MAPPINGS_PATH.fullmatch(path):
        return MAPPINGS
    if path.rstrip("/") == "/api/v1/apps" or path.startswith("/api/v1/apps/"):
        return APPS
    if _GROUP_PATH.fullmatch(path):
        return GROUPS
    return OTHER
