"""The Alertmanager example: a routing subtree for our alerts, receivers and inhibitions.

Receivers are placeholders to replace (PagerDuty key, Slack webhook, ticket bridge URL);
the routing and inhibition are the part to keep. The failure alerts to inhibit come from
the alert list itself, so a new failure alert cannot be forgotten here.
"""

from __future__ import annotations

from typing import Any

from grafana.mixin.config import MixinConfig
from grafana.mixin.rules import CRITICAL, INFO, WARNING, alerts

PAGER = "iam-oncall-pager"
CHAT = "iam-team-chat"
TICKETS = "iam-team-tickets"

RECEIVER_BY_SEVERITY = {CRITICAL: PAGER, WARNING: CHAT, INFO: TICKETS}

# The notification templates (grafana/alertmanager/templates/okta-group-push.tmpl), as the
# example loads them: a path relative to alertmanager.yml, which Alertmanager resolves
# against the directory of its configuration file.
TEMPLATES = "templates/*.tmpl"


def _template(name: str) -> str:
    """A call of one of the bundled templates, on the notification's data."""
    return f'{{{{ template "okta_group_push.{name}" . }}}}'


def _alternation(names: list[str]) -> str:
    return "|".join(names)


def alertmanager_document(cfg: MixinConfig) -> dict[str, Any]:
    rules = alerts(cfg)
    failure_alerts = [a.name for a in rules if a.failure]
    down = [f"{cfg.alert_prefix}ExporterDown", f"{cfg.alert_prefix}ExporterAbsent"]
    return {
        "global": {"resolve_timeout": "5m"},
        "templates": [TEMPLATES],
        "route": {
            # Anything that is not ours: replace with the rest of your routing tree.
            "receiver": CHAT,
            "group_by": ["alertname", "application"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": [
                {
                    "matchers": [f'alertname=~"{cfg.alert_prefix}.+"'],
                    # One notification per alert and application: a spike of failures in
                    # one application is one page, not one per group.
                    "group_by": ["alertname", "application"],
                    "routes": [
                        {
                            "matchers": [f'severity="{severity}"'],
                            "receiver": receiver,
                            **({"repeat_interval": "1h"} if severity == CRITICAL else {}),
                        }
                        for severity, receiver in RECEIVER_BY_SEVERITY.items()
                    ],
                }
            ],
        },
        "inhibit_rules": [
            {
                # While the exporter is down or not scraped, failure alerts say nothing
                # reliable about Okta; the exporter alert is the one to act on.
                "source_matchers": [f'alertname=~"{_alternation(down)}"'],
                "target_matchers": [f'alertname=~"{_alternation(failure_alerts)}"'],
                "equal": ["job"],
            },
            {
                "source_matchers": [f'alertname="{cfg.alert_prefix}ExporterDown"'],
                "target_matchers": [f'alertname="{cfg.alert_prefix}ExporterInstanceDown"'],
                "equal": ["job"],
            },
        ],
        "receivers": [
            {
                "name": PAGER,
                "pagerduty_configs": [
                    {
                        "routing_key": "REPLACE-WITH-PAGERDUTY-EVENTS-V2-KEY",
                        "description": _template("title"),
                        "links": [
                            {
                                "href": "{{ (index .Alerts 0).Annotations.runbook_url }}",
                                "text": "Runbook",
                            }
                        ],
                        # The way to the fix, as the incident's details: Alertmanager adds
                        # its default ones (firing, resolved, num_firing, num_resolved) to
                        # these (PagerdutyConfig.UnmarshalYAML, config/notifiers.go). Not as
                        # links: the Okta links are empty for alerts that have none.
                        "details": {
                            key: f"{{{{ (index .Alerts 0).Annotations.{annotation} }}}}"
                            for key, annotation in (
                                ("reason", "reason"),
                                ("okta_admin_console", "admin_url"),
                                ("okta_system_log", "system_log_url"),
                            )
                        },
                    }
                ],
            },
            {
                "name": CHAT,
                "slack_configs": [
                    {
                        "api_url": "https://hooks.slack.com/services/REPLACE/WITH/WEBHOOK",
                        "channel": "#iam-alerts",
                        "send_resolved": True,
                        "title": _template("slack.title"),
                        "text": _template("slack.text"),
                    }
                ],
                "email_configs": [
                    {
                        "to": "iam-team@example.invalid",
                        "from": "alertmanager@example.invalid",
                        "smarthost": "smtp.example.invalid:587",
                        "send_resolved": True,
                        "headers": {"Subject": _template("email.subject")},
                        "html": _template("email.html"),
                        "text": _template("email.text"),
                    }
                ],
            },
            {
                "name": TICKETS,
                "webhook_configs": [
                    {"url": "https://tickets.example.invalid/alertmanager", "send_resolved": False}
                ],
            },
        ],
    }
