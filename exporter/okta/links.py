"""Links into the Okta Admin Console for one group push mapping. Pure.

Two links per mapping, built from `--okta.org-url` and Okta ids only (no API call, so they
work with no credentials set):

- the app's page in the Admin Console:
  `https://{org}-admin.okta.com/admin/app/{appName}/instance/{appId}/`. Okta does not
  document its Admin Console's URLs; its own guides have admins copy "the Okta instance
  URL" of an app from the address bar (okta/okta-developer-docs pull request 2137), and
  the copies public repositories hold have this form (`.../admin/app/oidc_client/
  instance/0oa.../#tab-general`, `#tab-assignments`, `#tab-signon`,
  `#tab-user-management`, found with the code search). `appName` is the app's `name` in Okta's Apps
  API ("the `name` of the app, as distinct from the `label`", okta/okta-developer-docs
  pull request 5092); events do not carry it, so without it the link goes to the Admin
  Console's application list (`/admin/apps/active`), where the app is one search away.
  Okta documents no anchor for the Push Groups tab (help.okta.com "Configure settings for
  app integrations" only says the tabs depend on the app), so the link opens the app's
  page as it is, without guessing one.
- a System Log search for the app's and the group's events:
  `https://{org}-admin.okta.com/report/system_log_2?search={expression}` with
  `target.id eq "{appId}" and target.id eq "{groupId}"`, optionally `fromTime`. The
  Admin Console's own "View Logs" links take the same `search` parameter with a System
  Log filter expression (`actor.id eq "..."`), and the expression syntax is the System
  Log API's (developer.okta.com/docs/reference/system-log-query). Both targets must be
  there, so the search shows the mapping's group push and membership events only.

The Admin Console lives on the org's `-admin` host: `acme.okta.com` gives
`acme-admin.okta.com`, and so for `oktapreview.com` and `okta-emea.com` orgs (the `-admin`
host is what every copied Admin Console URL above shows). For a custom domain
(`login.acme.com`) nothing found says where the Admin Console is, and the Okta subdomain
behind it cannot be derived; other domains Okta may run are not listed for want of a
source. Either way there are no links (`admin_origin` returns None) rather than guessed
ones.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from exporter.config import ADMIN_SUFFIX, OKTA_DOMAINS  # one list of Okta's own domains

APPS_LIST_PATH: Final = "/admin/apps/active"
SYSTEM_LOG_PATH: Final = "/report/system_log_2"


def admin_origin(org_url: str) -> str | None:
    """The Admin Console's origin for an org URL, or None when it cannot be derived."""
    parts = urllib.parse.urlsplit(org_url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or parts.port is not None:
        return None
    for domain in OKTA_DOMAINS:
        subdomain = host.removesuffix("." + domain)
        if subdomain == host or not subdomain or "." in subdomain:
            continue
        if not subdomain.endswith(ADMIN_SUFFIX):
            subdomain += ADMIN_SUFFIX
        return f"https://{subdomain}.{domain}"
    return None


def _segment(text: str) -> str:
    """One path segment: every character that could end or leave it is escaped."""
    return urllib.parse.quote(text, safe="")


def _quoted(text: str) -> str:
    """A string literal of a System Log filter expression."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True)
class MappingLinks:
    """Where to look at one mapping in Okta; empty strings when not known."""

    admin: str
    system_log: str


@dataclass(frozen=True, slots=True)
class OktaLinks:
    """Builds links for one org's Admin Console (`origin`, see `admin_origin`)."""

    origin: str

    @classmethod
    def for_org(cls, org_url: str | None) -> OktaLinks | None:
        """The links of `--okta.org-url`, or None without one or without a derivable host."""
        if org_url is None:
            return None
        origin = admin_origin(org_url)
        return cls(origin) if origin is not None else None

    def app_page(self, app_id: str, app_name: str = "") -> str:
        """The app's page (the application list when its `name` is not known)."""
        if not app_id or not app_name:
            return self.origin + APPS_LIST_PATH
        return f"{self.origin}/admin/app/{_segment(app_name)}/instance/{_segment(app_id)}/"

    def system_log(self, app_id: str, group_id: str = "", since: float | None = None) -> str:
        """A System Log search for the events that name the app (and the group, if known)."""
        terms = [f"target.id eq {_quoted(i)}" for i in (app_id, group_id) if i]
        query = {"search": " and ".join(terms)}
        if since is not None:
            when = datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            query["fromTime"] = when
        return f"{self.origin}{SYSTEM_LOG_PATH}?{urllib.parse.urlencode(query)}"

    def mapping(
        self, app_id: str, group_id: str, app_name: str = "", since: float | None = None
    ) -> MappingLinks:
        """Both links of one mapping; none when the app's id is not known."""
        if not app_id:
            return MappingLinks("", "")
        admin = self.app_page(app_id, app_name)
        return MappingLinks(admin, self.system_log(app_id, group_id, since))


class InfoLinks:
    """The `admin_url` and `system_log_url` labels of `okta_group_push_mapping_info`.

    Built from the Okta ids alone, so they stay the same from scrape to scrape; the app's
    page needs the app's `name`, which only the reconciler's reading of the Apps API knows
    (`follow`). Until then, or without a reconciler, the admin link is the app list.
    """

    def __init__(self, links: OktaLinks | None) -> None:
        self._links = links
        self._names: Callable[[], Mapping[str, str]] = dict

    def follow(self, names: Callable[[], Mapping[str, str]]) -> None:
        """Take app names (by app instance id) from `names` from now on."""
        self._names = names

    def __call__(self, application_id: str, group_id: str) -> tuple[str, str]:
        if self._links is None or not application_id:
            return "", ""
        found = self._links.mapping(application_id, group_id, self._names().get(application_id, ""))
        return found.admin, found.system_log
