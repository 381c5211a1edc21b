"""The /status page: the renderer, the adapter from the app's state, the route."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import bcrypt
from aiohttp import web
from prometheus_client import CollectorRegistry

from exporter.config import Config, OktaSection, StorageSection, WebSection
from exporter.ingest.events import Entity
from exporter.okta.disagreements import MappingState
from exporter.okta.grouppush import ACTIVE, ERROR, App, PushMapping
from exporter.store.memory import MemoryStore
from exporter.web.access import Access
from exporter.web.app import make_app
from exporter.web.appkeys import STATUS
from exporter.web.basicauth import BasicAuth
from exporter.web.status import CSP, STYLE, StatusRow, render, worst_first
from exporter.web.statusrows import collect
from tests.builders import envelope, failure_event, okta_id
from tests.conftest import NOW, SECRET, Client, ReconcileRig, auth
from tests.okta_emulator import Emulator

EVIL = "<script>alert('x')</script> \"quoted\" & 'single'"
PUBLISHED = "2026-11-18T11:00:00.000Z"  # 6 min 40 s before NOW


def nasty_row(**overrides: object) -> StatusRow:
    values: dict[str, object] = {
        "application": EVIL,
        "group": EVIL,
        "application_id": '0oa"><script>',
        "failing_by_events": True,
        "reason": EVIL,
        "error_summary": EVIL,
        "detail": EVIL + " detail",
        "admin_url": 'https://acme-admin.okta.com/x"><script>alert(1)</script>',
        "system_log_url": "https://acme-admin.okta.com/report/system_log_2?search=a&b=<c>",
    }
    values.update(overrides)
    return StatusRow(**values)  # type: ignore[arg-type]


# --- the renderer -----------------------------------------------------------------------------


def test_empty_page_says_nothing_failing() -> None:
    page = render([], NOW)
    assert "Nothing failing" in page
    assert "failing now</p>" not in page


def test_every_value_is_escaped() -> None:
    page = render([nasty_row()], NOW)
    assert "<script" not in page
    assert "alert('x')" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &quot;quoted&quot; &amp;" in page
    assert 'href="https://acme-admin.okta.com/x&quot;&gt;&lt;script&gt;' in page
    assert 'href="https://acme-admin.okta.com/report/system_log_2?search=a&amp;b=&lt;c&gt;"' in page


def test_page_is_self_contained_for_a_strict_csp_and_a_phone() -> None:
    page = render([nasty_row()], NOW)
    assert '<meta name="viewport" content="width=device-width,initial-scale=1">' in page
    assert '<meta http-equiv="refresh" content="30">' in page
    assert not re.search(r"<script|<link|<img|<iframe|\sstyle=|\son\w+=", page)
    assert re.findall(r"(?:src|href)=\"(?!https://acme-admin|/\")", page) == []
    (style,) = re.findall(r"<style>(.*?)</style>", page, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert style == STYLE
    assert f"style-src 'sha256-{digest}'" in CSP
    assert CSP.startswith("default-src 'none';")


def test_rows_show_sources_since_reason_summary_counts_and_links() -> None:
    row = StatusRow(
        "Slack",
        "Finance",
        "0oaSLACK",
        "00gFIN",
        failing_by_events=True,
        failing_by_api=True,
        since=NOW - 3600,
        last_push=NOW - 7200,
        reason="credentials",
        error_summary="Invalid token",
        failures_hour=3,
        failures_day=12,
        admin_url="https://acme-admin.okta.com/admin/app/slack/instance/0oaSLACK/",
        system_log_url="https://acme-admin.okta.com/report/system_log_2?search=x",
    )
    page = render([row], NOW)
    assert "1 mapping failing now" in page
    assert "Failing, says events and Okta API" in page
    assert "2026-11-18 10:06 UTC (1 h ago)" in page
    assert "<dd>credentials</dd>" in page
    assert "<dd>Invalid token</dd>" in page
    assert "<dd>3 last hour, 12 last day</dd>" in page
    assert 'href="https://acme-admin.okta.com/admin/app/slack/instance/0oaSLACK/"' in page


def test_worst_first_both_sources_then_most_failures_then_longest() -> None:
    rows = [
        StatusRow("a", "quiet", failing_by_events=True, failures_hour=0, since=NOW - 10),
        StatusRow("b", "old", failing_by_events=True, failures_hour=0, since=NOW - 99),
        StatusRow("c", "busy", failing_by_api=True, failures_hour=7),
        StatusRow("d", "both", failing_by_events=True, failing_by_api=True),
    ]
    assert [r.group for r in worst_first(rows)] == ["both", "busy", "old", "quiet"]
    assert worst_first(rows) == worst_first(list(reversed(rows)))


# --- the adapter and the route ------------------------------------------------------------


def links_config(tmp_path: Path) -> Config:
    """An org URL and no credentials: links only, nothing polled."""
    return Config(
        storage=StorageSection(path=tmp_path),
        web=WebSection(hook_secrets=(SECRET,)),
        okta=OktaSection(org_url="https://acme.okta.com"),
    )


def status_app(config: Config, access: Access | None = None) -> web.Application:
    store = MemoryStore(config.storage.dedup_window)
    return make_app(config, store, clock=lambda: NOW, registry=CollectorRegistry(), access=access)


Factory = Callable[[web.Application], Awaitable[Client]]


def named_failure(app: str, group: str, uuid: str, published: str = PUBLISHED) -> object:
    event = failure_event(app, group, uuid=uuid, published=published)
    event["outcome"] = {"result": "FAILURE", "reason": "Invalid credentials <b>"}
    return event


def success(uuid: str, published: str) -> object:
    event = failure_event(
        uuid=uuid, published=published, event_type="application.provision.group_push.pushed"
    )
    event["outcome"] = {"result": "SUCCESS"}
    return event


async def test_a_posted_failure_shows_with_links_and_an_org_url_alone(
    aiohttp_client: Factory, tmp_path: Path
) -> None:
    client = await aiohttp_client(status_app(links_config(tmp_path)))
    assert (await client.get("/status")).status == 200
    assert "Nothing failing" in await (await client.get("/status")).text()
    body = envelope(named_failure(EVIL, "Fin'ance", "u1"), named_failure(EVIL, "Fin'ance", "u2"))
    assert (await client.post("/hooks/okta", json=body, headers=auth())).status == 204
    response = await client.get("/status")
    assert response.headers["Content-Security-Policy"] == CSP
    assert response.headers["Content-Type"].startswith("text/html")
    page = await response.text()
    assert "<script" not in page
    assert "Fin&#x27;ance" in page
    assert "Failing, says events<" in page
    assert "<dd>2 last hour, 2 last day</dd>" in page
    assert "Invalid credentials &lt;b&gt;" in page
    assert 'href="https://acme-admin.okta.com/admin/apps/active"' in page
    app_id, group_id = okta_id("0oa", EVIL), okta_id("00g", "Fin'ance")
    assert (
        f"system_log_2?search=target.id+eq+%22{app_id}%22+and+target.id+eq+%22{group_id}%22" in page
    )
    # Nothing asks Okta: no poller and no reconciler metrics exist.
    metrics = await (await client.get("/metrics")).text()
    assert "okta_group_push_exporter_poll_requests_total" not in metrics
    assert "okta_group_push_exporter_reconcile_errors_total" not in metrics


async def test_a_later_success_takes_the_mapping_off_the_page(
    aiohttp_client: Factory, tmp_path: Path
) -> None:
    client = await aiohttp_client(status_app(links_config(tmp_path)))
    await client.post(
        "/hooks/okta", json=envelope(named_failure("Slack", "Eng", "f")), headers=auth()
    )
    assert "1 mapping failing now" in await (await client.get("/status")).text()
    later = envelope(success("s", "2026-11-18T11:05:00.000Z"))
    assert (await client.post("/hooks/okta", json=later, headers=auth())).status == 204
    assert "Nothing failing" in await (await client.get("/status")).text()


async def test_api_only_failures_show_okta_error_summary_and_the_app_page(tmp_path: Path) -> None:
    app = status_app(links_config(tmp_path))
    slack = App("0oaSLACK", Entity("0oaSLACK", "AppInstance", "Slack", ""), "slack")

    def pushed(status: str, summary: str) -> tuple[PushMapping, MappingState]:
        push = PushMapping("gpm1", slack, "00gFIN", "t1", status, summary, NOW - 900)
        state = MappingState(
            "gpm1", "0oaSLACK", "00gFIN", "Slack", "Finance", status, summary, "credentials",
            NOW - 900,
        )  # fmt: skip
        return push, state

    sources = app[STATUS]
    sources.api = lambda: [pushed(ERROR, "Invalid <token>"), pushed(ACTIVE, "")]
    (row,) = collect(sources)
    assert (row.application, row.group, row.sources) == ("Slack", "Finance", ("Okta API",))
    assert row.error_summary == "Invalid <token>"
    assert row.reason == "credentials"
    assert row.last_push == NOW - 900
    assert row.admin_url == "https://acme-admin.okta.com/admin/app/slack/instance/0oaSLACK/"
    assert "00gFIN" in row.system_log_url
    assert "Invalid &lt;token&gt;" in render([row], NOW)


async def test_the_lease_holders_reading_gives_rows_with_the_app_page(
    org_url: str,
    emulator: Emulator,
    memory: MemoryStore,
    reconcile_rigs: Callable[..., ReconcileRig],
    tmp_path: Path,
) -> None:
    app_id = emulator.add_app("AWS IAM Identity Center")
    group_id = emulator.add_group("Engineering")
    emulator.add_mapping(app_id, group_id, status="ERROR", error_summary="Linked group missing")
    rig = reconcile_rigs(org_url, memory, owner="a")
    await rig.reconciler.step()
    sources = status_app(links_config(tmp_path))[STATUS]
    sources.api = lambda: rig.reconciler.latest
    (row,) = collect(sources)
    assert (row.application, row.group) == ("AWS IAM Identity Center", "Engineering")
    assert (row.application_id, row.group_id) == (app_id, group_id)
    assert row.error_summary == "Linked group missing"
    assert row.admin_url == (
        f"https://acme-admin.okta.com/admin/app/aws_iam_identity_center/instance/{app_id}/"
    )
    standby = reconcile_rigs(org_url, memory, owner="b")
    await standby.reconciler.step()
    assert standby.reconciler.latest == ()  # only the lease holder reads
    await rig.reconciler.close()  # gives the lease up: its reading is no longer shown
    assert collect(sources) == []
    sources.api = lambda: standby.reconciler.latest
    await standby.reconciler.step()
    assert [r.application_id for r in collect(sources)] == [app_id]


async def test_status_is_behind_the_same_basic_auth_as_the_landing_page(
    aiohttp_client: Factory, tmp_path: Path
) -> None:
    hashed = bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4))
    access = Access(BasicAuth({"ada": hashed}))
    client = await aiohttp_client(status_app(links_config(tmp_path), access))
    for path in ("/", "/status"):
        assert (await client.get(path)).status == 401
    good = {"Authorization": "Basic " + base64.b64encode(b"ada:pw").decode()}
    assert (await client.get("/status", headers=good)).status == 200
    landing = await (await client.get("/", headers=good)).text()
    assert '<a href="/status">' in landing
