"""End to end on loopback: one Okta failure becomes one notification, and nothing else does.

The exporter, a real Prometheus (scraping and evaluating every second, with the bundled rule
file) and a real Alertmanager (with the bundled routing, inhibition and notification
templates; only its receivers are pointed at a server this test runs) run as in production.
Each receiver gets a webhook, which carries the alerts as JSON, and the chat receiver keeps
the bundled Slack configuration with its `api_url` pointed at the same server: what arrives
there is the Slack message as Alertmanager rendered it from the bundled templates.

The exporter runs with `--okta.org-url` and no credentials: it polls nothing, and its own
`okta_group_push_mapping_info` series carries the links to Okta that the alerts join.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from grafana.mixin import ALERTMANAGER, RULES
from grafana.mixin.alertmanager import TEMPLATES
from grafana.mixin.config import CONFIG
from grafana.mixin.rules import alerts
from tests.builders import envelope, failure_event
from tests.services import (
    Prometheus,
    Service,
    http_get,
    post_json,
    start_alertmanager,
    start_exporter,
    start_prometheus,
    wait_until,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
JOB = "okta-group-push-exporter"
EVALUATION_INTERVAL = 1.0  # seconds: start_prometheus scrapes and evaluates every second


# The Okta ids of the failure the tests post, and the links the exporter's info series
# derives for its mapping from --okta.org-url (exporter/okta/links.py). With no reconciler
# the app's `name` is unknown, so the Admin Console link is the application list; the
# System Log search names both ids.
ORG_URL = "https://example.okta.com"
APP_ID = "0oa1"
GROUP_ID = "00g1"
ADMIN_URL = "https://example-admin.okta.com/admin/apps/active"
SYSTEM_LOG_URL = (
    "https://example-admin.okta.com/report/system_log_2?search="
    f"target.id+eq+%22{APP_ID}%22+and+target.id+eq+%22{GROUP_ID}%22"
)


class Webhook:
    """A loopback server for Alertmanager's receivers: it keeps every notification.

    Webhook notifications arrive at /<receiver>, Slack messages at /slack/<receiver>.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._posts: list[tuple[str, dict[str, Any]]] = []
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with webhook._lock:
                    webhook._posts.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def notifications(self) -> list[dict[str, Any]]:
        """The webhook notifications so far."""
        with self._lock:
            return [body for path, body in self._posts if not path.startswith("/slack/")]

    def slack_messages(self) -> list[tuple[str, dict[str, Any]]]:
        """(receiver, Slack message) for every Slack message so far."""
        with self._lock:
            return [
                (path.removeprefix("/slack/"), body)
                for path, body in self._posts
                if path.startswith("/slack/")
            ]

    def alerts(self) -> list[tuple[str, dict[str, Any]]]:
        """(receiver, alert) for every alert of every webhook notification so far."""
        return [(n["receiver"], a) for n in self.notifications() for a in n["alerts"]]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def alertmanager_config(webhook: Webhook) -> dict[str, Any]:
    """The bundled example with each receiver replaced by the test's webhook, and the chat
    receiver's Slack configuration (templates and all) posting to the test's server."""
    config: dict[str, Any] = yaml.safe_load((ROOT / ALERTMANAGER).read_text())
    # Relative to the bundled alertmanager.yml; the test's copy lives elsewhere.
    config["templates"] = [str((ROOT / ALERTMANAGER).parent / TEMPLATES)]
    receivers = []
    for r in config["receivers"]:
        receiver = {"name": r["name"], "webhook_configs": [{"url": f"{webhook.url}/{r['name']}"}]}
        if "slack_configs" in r:
            receiver["slack_configs"] = [
                {**slack, "api_url": f"{webhook.url}/slack/{r['name']}"}
                for slack in r["slack_configs"]
            ]
        receivers.append(receiver)
    config["receivers"] = receivers
    return config


@pytest.fixture(scope="module")
def webhook() -> Iterator[Webhook]:
    receiver = Webhook()
    yield receiver
    receiver.close()


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, webhook: Webhook
) -> Iterator[tuple[Service, Prometheus]]:
    workdir = tmp_path_factory.mktemp("alerting")
    alertmanager = start_alertmanager(workdir, alertmanager_config(webhook))
    exporter = None
    prometheus = None
    try:
        exporter = start_exporter(workdir, f"--okta.org-url={ORG_URL}")
        prometheus = start_prometheus(
            workdir,
            [f"127.0.0.1:{exporter.port}"],
            rule_files=[ROOT / RULES],
            alertmanagers=[f"127.0.0.1:{alertmanager.port}"],
        )
        yield exporter, prometheus
    finally:
        if prometheus is not None:
            prometheus.stop()
        if exporter is not None:
            exporter.stop()
        alertmanager.stop()


def api(prometheus: Prometheus, path: str) -> Any:
    status, body = http_get(f"{prometheus.url}{path}")
    assert status == 200, body
    return json.loads(body)["data"]


def every_rule_evaluated_cleanly(prometheus: Prometheus) -> bool:
    rules = [r for g in api(prometheus, "/api/v1/rules")["groups"] for r in g["rules"]]
    assert all(not r.get("lastError") for r in rules), [r["lastError"] for r in rules]
    return bool(rules) and all(r["health"] == "ok" for r in rules)


def sample_times(prometheus: Prometheus, selector: str) -> list[float]:
    """Timestamps of every sample of `selector` in the last 5 minutes."""
    return [float(t) for r in prometheus.query(f"{selector}[5m]") for t, _ in r["values"]]


def test_one_terminal_failure_notifies_naming_its_application_and_group(
    stack: tuple[Service, Prometheus], webhook: Webhook
) -> None:
    exporter, prometheus = stack
    # Before: Prometheus has scraped the exporter several times and evaluated every rule,
    # and nothing is pending, firing or notified.
    scrapes = f'count_over_time(up{{job="{JOB}"}}[1m]) >= 3'
    wait_until(lambda: bool(prometheus.query(scrapes)), 30, "three scrapes of the exporter")
    wait_until(lambda: every_rule_evaluated_cleanly(prometheus), 30, "every rule to evaluate")
    assert api(prometheus, "/api/v1/alerts")["alerts"] == []
    assert webhook.notifications() == []

    published = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    event = failure_event(
        "Slack", "Engineering", "Admin A", published=published, app_id=APP_ID, group_id=GROUP_ID
    )
    # The downstream app's error text, which the exporter classifies as `credentials`.
    event["outcome"] = {"result": "FAILURE", "reason": "Authentication failed: invalid API token"}
    delivery = envelope(event)
    assert post_json(f"{exporter.url}/hooks/okta", delivery) == 204

    def notified() -> bool:
        return any(
            a["labels"]["alertname"] == "OktaGroupPushTerminalFailure" for _, a in webhook.alerts()
        )

    wait_until(notified, 60, "a notification of OktaGroupPushTerminalFailure")

    ((receiver, alert),) = webhook.alerts()
    assert receiver == "iam-team-chat", "a warning goes to the team's chat, not the pager"
    assert alert["status"] == "firing"
    assert alert["labels"] == {
        "alertname": "OktaGroupPushTerminalFailure",
        "severity": "warning",
        "job": JOB,
        "application": "Slack",
        "group": "Engineering",
    }
    description = alert["annotations"]["description"]
    assert "group Engineering to Slack" in description, description
    assert "(1 failure(s) in the last 15m)" in description, description
    assert alert["annotations"]["runbook_url"].endswith(
        "docs/runbooks.md#oktagrouppushterminalfailure"
    )
    assert alert["annotations"]["reason"] == "credentials"
    assert alert["annotations"]["admin_url"] == ADMIN_URL
    assert alert["annotations"]["system_log_url"] == SYSTEM_LOG_URL

    # The same notification as Slack gets it, rendered by Alertmanager from the bundled
    # templates: application, group, reason, since when, and the links to the fix.
    wait_until(lambda: bool(webhook.slack_messages()), 30, "the Slack message")
    ((receiver, message),) = webhook.slack_messages()
    assert receiver == "iam-team-chat"
    (attachment,) = message["attachments"]
    assert attachment["title"] == "[FIRING:1] OktaGroupPushTerminalFailure Slack"
    text = attachment["text"]
    assert "*Application:* Slack  *Group:* Engineering\n" in text, text
    assert "*Reason:* credentials\n" in text, text
    since = datetime.fromisoformat(alert["startsAt"]).astimezone(UTC)
    assert f"*Since:* {since:%Y-%m-%d %H:%M:%S} UTC\n" in text, text
    assert f"<{ADMIN_URL}|Okta Admin Console: Push Groups>" in text, text
    assert APP_ID in SYSTEM_LOG_URL  # the link that names the app's Okta id
    assert f"<{SYSTEM_LOG_URL}|Okta System Log>" in text, text
    assert "docs/runbooks.md#oktagrouppushterminalfailure|Runbook>" in text, text

    # Prometheus fired it at most two evaluations after the scrape that first had the
    # failure, and no failure alert was pending or firing before that scrape. (Before the
    # first scrape of all, OktaGroupPushExporterAbsent is pending for a moment: no target yet.)
    first_scrape = min(
        sample_times(prometheus, 'okta_group_push_failures_total{application="Slack"}')
    )
    fired = sample_times(
        prometheus, 'ALERTS{alertname="OktaGroupPushTerminalFailure", alertstate="firing"}'
    )
    assert min(fired) - first_scrape <= 2 * EVALUATION_INTERVAL + 0.001, (min(fired), first_scrape)
    failure_alerts = "|".join(a.name for a in alerts(CONFIG) if a.failure)
    assert min(sample_times(prometheus, f'ALERTS{{alertname=~"{failure_alerts}"}}')) >= first_scrape
    active = {a["labels"]["alertname"] for a in api(prometheus, "/api/v1/alerts")["alerts"]}
    assert active == {"OktaGroupPushTerminalFailure"}


def test_while_the_exporter_is_down_failure_alerts_are_inhibited(tmp_path: Path) -> None:
    """The bundled inhibition, as a real Alertmanager applies it to alerts it receives."""
    webhook = Webhook()
    alertmanager = start_alertmanager(tmp_path, alertmanager_config(webhook))
    try:
        now = datetime.now(UTC).isoformat()

        def alert(name: str, severity: str, **labels: str) -> dict[str, Any]:
            return {
                "labels": {"alertname": name, "severity": severity, **labels},
                "annotations": {"summary": "test"},
                "startsAt": now,
            }

        posted = [
            alert("OktaGroupPushExporterDown", "critical", job=JOB),
            alert(
                "OktaGroupPushTerminalFailure", "warning", job=JOB, application="Slack", group="Eng"
            ),
            alert(
                "OktaGroupPushMappingStuck", "critical", job=JOB, application="Slack", group="Eng"
            ),
            alert(
                "OktaGroupPushTerminalFailure",
                "warning",
                job="other",
                application="Slack",
                group="Eng",
            ),
            alert(
                "OktaGroupPushHookAuthFailures",
                "warning",
                job=JOB,
                instance="a",
                endpoint="/hooks/okta",
            ),
        ]
        request = urllib.request.Request(  # noqa: S310 - loopback only
            f"{alertmanager.url}/api/v2/alerts",
            data=json.dumps(posted).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            assert response.status == 200

        def states() -> dict[tuple[str, str], str]:
            status, body = http_get(f"{alertmanager.url}/api/v2/alerts")
            assert status == 200, body
            return {
                (a["labels"]["alertname"], a["labels"]["job"]): a["status"]["state"]
                for a in json.loads(body)
            }

        expected = {
            ("OktaGroupPushExporterDown", JOB): "active",
            ("OktaGroupPushTerminalFailure", JOB): "suppressed",
            ("OktaGroupPushMappingStuck", JOB): "suppressed",
            ("OktaGroupPushTerminalFailure", "other"): "active",
            ("OktaGroupPushHookAuthFailures", JOB): "active",
        }
        wait_until(lambda: states() == expected, 15, f"Alertmanager to report {expected}")
    finally:
        alertmanager.stop()
        webhook.close()
