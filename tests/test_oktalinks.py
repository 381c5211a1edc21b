"""Links into the Okta Admin Console: hosts, URL forms, encoding."""

from __future__ import annotations

import urllib.parse

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from exporter.counting.planner import plan
from exporter.counting.state import MetricState
from exporter.ingest.classify import Kind
from exporter.ingest.events import parse_log_event
from exporter.metrics.exposition import Exposition, negotiate
from exporter.okta.links import InfoLinks, OktaLinks, admin_origin
from tests.builders import failure_event

ACME = OktaLinks("https://acme-admin.okta.com")


@pytest.mark.parametrize(
    ("org", "admin"),
    [
        ("https://acme.okta.com", "https://acme-admin.okta.com"),
        ("https://ACME.Okta.com", "https://acme-admin.okta.com"),
        ("https://acme-admin.okta.com", "https://acme-admin.okta.com"),
        ("https://dev-123.oktapreview.com", "https://dev-123-admin.oktapreview.com"),
        ("https://acme.okta-emea.com", "https://acme-admin.okta-emea.com"),
    ],
)
def test_admin_console_host_is_the_orgs_admin_subdomain(org: str, admin: str) -> None:
    assert admin_origin(org) == admin


@pytest.mark.parametrize(
    "org",
    [
        "https://login.acme.com",  # a custom domain: the Okta subdomain behind it is unknown
        "https://okta.com",
        "https://a.b.okta.com",
        "https://acme.okta.com.evil.test",
        "https://acme.okta.com:8443",
        "http://acme.okta.com",
        "http://127.0.0.1:8080",
    ],
)
def test_no_admin_host_where_it_cannot_be_derived(org: str) -> None:
    assert admin_origin(org) is None
    assert OktaLinks.for_org(org) is None


def test_no_links_without_an_org_url() -> None:
    assert OktaLinks.for_org(None) is None


def test_app_page_is_the_instance_page_when_the_apps_name_is_known() -> None:
    assert ACME.app_page("0oa1ab2cd", "slack") == (
        "https://acme-admin.okta.com/admin/app/slack/instance/0oa1ab2cd/"
    )


def test_app_page_falls_back_to_the_application_list_without_the_apps_name() -> None:
    assert ACME.app_page("0oa1ab2cd") == "https://acme-admin.okta.com/admin/apps/active"


def test_system_log_search_names_the_app_and_the_group() -> None:
    url = ACME.system_log("0oa1", "00g2", since=1_795_000_000.0)
    parts = urllib.parse.urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "https://acme-admin.okta.com/report/system_log_2"
    )
    assert urllib.parse.parse_qs(parts.query) == {
        "search": ['target.id eq "0oa1" and target.id eq "00g2"'],
        "fromTime": ["2026-11-18T11:06:40Z"],
    }


def test_mapping_has_no_links_without_the_apps_id() -> None:
    links = ACME.mapping("", "00g2")
    assert (links.admin, links.system_log) == ("", "")


def test_without_a_group_the_search_is_the_apps() -> None:
    query = urllib.parse.urlsplit(ACME.system_log("0oa1")).query
    assert urllib.parse.parse_qs(query) == {"search": ['target.id eq "0oa1"']}


ANY_TEXT = st.text(min_size=1, max_size=40)


@given(app_id=ANY_TEXT, group_id=ANY_TEXT, app_name=ANY_TEXT)
def test_ids_and_names_stay_inside_their_part_of_the_url(
    app_id: str, group_id: str, app_name: str
) -> None:
    """Whatever an id or a name holds, it cannot change the host, the path or add a query."""
    links = ACME.mapping(app_id, group_id, app_name)
    admin = urllib.parse.urlsplit(links.admin)
    assert (admin.scheme, admin.netloc, admin.query, admin.fragment) == (
        "https",
        "acme-admin.okta.com",
        "",
        "",
    )
    assert admin.path.split("/")[1:] == [
        "admin",
        "app",
        urllib.parse.quote(app_name, safe=""),
        "instance",
        urllib.parse.quote(app_id, safe=""),
        "",
    ]
    assert urllib.parse.unquote(admin.path.split("/")[5]) == app_id
    log = urllib.parse.urlsplit(links.system_log)
    assert (log.netloc, log.path, log.fragment) == (
        "acme-admin.okta.com",
        "/report/system_log_2",
        "",
    )
    (search,) = urllib.parse.parse_qs(log.query, keep_blank_values=True)["search"]
    escaped = [i.replace("\\", "\\\\").replace('"', '\\"') for i in (app_id, group_id)]
    assert search == f'target.id eq "{escaped[0]}" and target.id eq "{escaped[1]}"'
    for url in (links.admin, links.system_log):
        assert not set(url) & set(" \"'<>`\n\r\t")  # safe in an attribute and a label


@given(app_id=ANY_TEXT, group_id=ANY_TEXT, since=st.floats(0, 4e9))
def test_links_are_deterministic(app_id: str, group_id: str, since: float) -> None:
    assert ACME.mapping(app_id, group_id, "x", since) == ACME.mapping(app_id, group_id, "x", since)


def test_info_links_are_built_from_ids_and_use_the_app_name_once_the_api_gave_it() -> None:
    """The info series' admin_url and system_log_url: the app list until the reconciler
    read the app's `name`, then the app's own page; nothing without an org URL or an id."""
    info = InfoLinks(OktaLinks.for_org("https://acme.okta.com"))
    admin, system_log = info("0oa1", "00g1")
    assert admin == "https://acme-admin.okta.com/admin/apps/active"
    assert system_log.startswith("https://acme-admin.okta.com/report/system_log_2?search=")
    assert "0oa1" in system_log and "00g1" in system_log
    info.follow(lambda: {"0oa1": "slack"})
    assert info("0oa1", "00g1")[0] == "https://acme-admin.okta.com/admin/app/slack/instance/0oa1/"
    assert info("", "00g1") == ("", "")
    assert InfoLinks(None)("0oa1", "00g1") == ("", "")


def test_the_exposed_info_series_carries_the_links() -> None:
    """Through the exposition: one info series per mapping, with its two links."""
    state = MetricState()
    event = failure_event("Slack", "Eng", app_id="0oa1", group_id="00g1")
    state.apply(plan(parse_log_event(event), Kind.TERMINAL_FAILURE, 0.0))  # type: ignore[arg-type]
    links = InfoLinks(OktaLinks.for_org("https://acme.okta.com"))
    body = Exposition(state, CollectorRegistry(), links=links).render(negotiate("")).decode()
    (line,) = [row for row in body.splitlines() if row.startswith("okta_group_push_mapping_info")]
    assert 'admin_url="https://acme-admin.okta.com/admin/apps/active"' in line
    assert 'application_id="0oa1"' in line and 'system_log_url="https://acme-admin' in line
