"""Links into the Okta Admin Console: hosts, URL forms, encoding."""

from __future__ import annotations

import urllib.parse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.oktalinks import OktaLinks, admin_origin

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
