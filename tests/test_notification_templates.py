"""The Alertmanager notification templates (grafana/alertmanager/templates/), rendered by amtool.

`amtool template render` runs Alertmanager's own template code on notification data shaped as
Alertmanager passes it to a receiver; tests/test_alerting_e2e.py renders them through a real
Alertmanager as well.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from grafana.mixin import ALERTMANAGER
from grafana.mixin.alertmanager import TEMPLATES
from tests.services import require_binary

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_FILE = ROOT / "grafana/alertmanager/templates/okta-group-push.tmpl"
ADMIN_URL = "https://acme-admin.okta.com/admin/app/slack/instance/0oa1slack/#tab-group-push"
SYSTEM_LOG_URL = "https://acme-admin.okta.com/report/system_log_2?search=0oa1slack&group=00g1"
RUNBOOK = "https://example.org/docs/runbooks.md#oktagrouppushterminalfailure"


def failure_alert(group: str = "Engineering", status: str = "firing") -> dict[str, Any]:
    return {
        "status": status,
        "labels": {
            "alertname": "OktaGroupPushTerminalFailure",
            "severity": "warning",
            "job": "okta-group-push-exporter",
            "application": "Slack",
            "group": group,
        },
        "annotations": {
            "summary": "Okta failed to push a group and will not retry.",
            "description": f"Okta failed to push group {group} to Slack.",
            "reason": "credentials",
            "admin_url": ADMIN_URL,
            "system_log_url": SYSTEM_LOG_URL,
            "runbook_url": RUNBOOK,
        },
        # An hour east of UTC: the notification says the time in UTC.
        "startsAt": "2026-12-03T22:04:05.123+01:00",
        "endsAt": "0001-01-01T00:00:00Z",
    }


def exporter_alert() -> dict[str, Any]:
    """An alert on the exporter itself: no application, group, reason or Okta links."""
    return {
        "status": "firing",
        "labels": {"alertname": "OktaGroupPushExporterDown", "severity": "critical", "job": "j"},
        "annotations": {
            "summary": "The Okta group push exporter is down.",
            "description": "No instance of j has answered a scrape for 5m.",
            "runbook_url": "https://example.org/docs/runbooks.md#oktagrouppushexporterdown",
        },
        "startsAt": "2026-12-03T21:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
    }


def render(tmp_path: Path, name: str, *alerts: dict[str, Any], html: bool = False) -> str:
    """`okta_group_push.<name>` rendered by amtool on a notification holding `alerts`."""
    common = {"alertname": alerts[0]["labels"]["alertname"]}
    if all("application" in a["labels"] for a in alerts):
        common["application"] = alerts[0]["labels"]["application"]
    data = {
        "receiver": "iam-team-chat",
        "status": "firing" if any(a["status"] == "firing" for a in alerts) else "resolved",
        "alerts": list(alerts),
        "groupLabels": common,
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example.invalid",
    }
    path = tmp_path / "data.json"
    path.write_text(json.dumps(data))
    result = subprocess.run(
        [
            require_binary("amtool"),
            "template",
            "render",
            f"--template.glob={TEMPLATE_FILE}",
            f'--template.text={{{{ template "okta_group_push.{name}" . }}}}',
            f"--template.data={path}",
            f"--template.type={'html' if html else 'text'}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_slack_message_holds_application_group_reason_since_and_the_links(
    tmp_path: Path,
) -> None:
    assert render(tmp_path, "slack.title", failure_alert()) == (
        "[FIRING:1] OktaGroupPushTerminalFailure Slack"
    )
    assert render(tmp_path, "slack.text", failure_alert()) == (
        "*Okta failed to push a group and will not retry.*\n"
        "*Application:* Slack  *Group:* Engineering\n"
        "*Reason:* credentials\n"
        "*Since:* 2026-12-03 21:04:05 UTC\n"
        "Okta failed to push group Engineering to Slack.\n"
        f"<{ADMIN_URL}|Okta Admin Console: Push Groups>  "
        f"<{SYSTEM_LOG_URL}|Okta System Log>  <{RUNBOOK}|Runbook>"
    )


def test_slack_message_lists_every_alert_of_the_notification_and_marks_resolved_ones(
    tmp_path: Path,
) -> None:
    text = render(
        tmp_path, "slack.text", failure_alert("Engineering"), failure_alert("Sales", "resolved")
    )
    first, second = text.split("\n\n")
    assert "*Group:* Engineering" in first
    assert second.startswith("*Okta failed to push a group and will not retry.* (resolved)\n")
    assert "*Group:* Sales" in second
    assert render(tmp_path, "slack.title", failure_alert(), failure_alert("Sales")).startswith(
        "[FIRING:2] "
    )


def test_an_alert_without_reason_or_links_renders_without_empty_lines_or_links(
    tmp_path: Path,
) -> None:
    text = render(tmp_path, "slack.text", exporter_alert())
    assert text == (
        "*The Okta group push exporter is down.*\n\n"
        "*Since:* 2026-12-03 21:00:00 UTC\n"
        "No instance of j has answered a scrape for 5m.\n"
        "<https://example.org/docs/runbooks.md#oktagrouppushexporterdown|Runbook>"
    )
    mail = render(tmp_path, "email.text", exporter_alert())
    assert "Reason" not in mail and "Okta Admin Console" not in mail
    assert render(tmp_path, "slack.title", exporter_alert()) == (
        "[FIRING:1] OktaGroupPushExporterDown"
    )


def test_email_text_holds_application_group_reason_since_and_the_links(tmp_path: Path) -> None:
    assert render(tmp_path, "email.subject", failure_alert()) == (
        "[FIRING:1] OktaGroupPushTerminalFailure Slack"
    )
    assert render(tmp_path, "email.text", failure_alert()) == (
        "Okta failed to push a group and will not retry.\n"
        "Application: Slack\n"
        "Group: Engineering\n"
        "Reason: credentials\n"
        "Since: 2026-12-03 21:04:05 UTC\n"
        "Okta failed to push group Engineering to Slack.\n"
        f"Okta Admin Console: {ADMIN_URL}\n"
        f"Okta System Log: {SYSTEM_LOG_URL}\n"
        f"Runbook: {RUNBOOK}\n\n"
    )


def test_email_html_escapes_names_and_links_each_url(tmp_path: Path) -> None:
    html = render(tmp_path, "email.html", failure_alert("R&D <core>"), html=True)
    assert "<td>R&amp;D &lt;core&gt;</td>" in html
    assert "<core>" not in html
    assert '<tr><th align="left">Reason</th><td>credentials</td></tr>' in html
    assert "<td>2026-12-03 21:04:05 UTC</td>" in html
    assert f'<a href="{ADMIN_URL}">Okta Admin Console: Push Groups</a>' in html
    assert f'<a href="{SYSTEM_LOG_URL.replace("&", "&amp;")}">Okta System Log</a>' in html
    assert f'<a href="{RUNBOOK}">Runbook</a>' in html


def test_slack_text_escapes_ampersands_and_angle_brackets_in_names(tmp_path: Path) -> None:
    """Slack reads &, < and > as markup: a group named "R&D <core>" must not open a link."""
    text = render(tmp_path, "slack.text", failure_alert("R&D <core>"))
    assert "*Group:* R&amp;D &lt;core&gt;" in text
    assert "<core>" not in text


def test_the_example_loads_the_templates_and_uses_only_templates_they_define() -> None:
    config: dict[str, Any] = yaml.safe_load((ROOT / ALERTMANAGER).read_text())
    assert config["templates"] == [TEMPLATES]
    assert list((ROOT / ALERTMANAGER).parent.glob(TEMPLATES)) == [TEMPLATE_FILE]
    defined = set(re.findall(r'{{-? define "([^"]+)" -?}}', TEMPLATE_FILE.read_text()))
    used = set(re.findall(r'{{ template "([^"]+)" \. }}', (ROOT / ALERTMANAGER).read_text()))
    assert used, "the example's receivers use none of the templates"
    assert used <= defined, used - defined
    chat = next(r for r in config["receivers"] if r["name"] == "iam-team-chat")
    assert chat["slack_configs"][0]["text"] == '{{ template "okta_group_push.slack.text" . }}'
    assert chat["email_configs"][0]["html"] == '{{ template "okta_group_push.email.html" . }}'
    pager = next(r for r in config["receivers"] if r["name"] == "iam-oncall-pager")
    details = pager["pagerduty_configs"][0]["details"]
    assert details["okta_admin_console"] == "{{ (index .Alerts 0).Annotations.admin_url }}"
    assert details["okta_system_log"] == "{{ (index .Alerts 0).Annotations.system_log_url }}"
    assert details["reason"] == "{{ (index .Alerts 0).Annotations.reason }}"
