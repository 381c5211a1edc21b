"""The alert rules and the Alertmanager example: valid, unit-tested, in the house style.

promtool and amtool check the files as Prometheus and Alertmanager will read them; the
unit tests in grafana/alerts/tests/ pin when each alert fires and when it stays silent.
"""

from __future__ import annotations

import functools
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporter import catalogue
from grafana.mixin import ALERTMANAGER, RULES, metrics
from grafana.mixin.config import CONFIG
from grafana.mixin.rules import SEVERITIES, Alert, alerts, recording_rules
from tests.services import require_binary

ROOT = Path(__file__).resolve().parents[1]
RULE_FILE = ROOT / RULES
UNIT_TESTS = sorted((ROOT / "grafana/alerts/tests").glob("*.yml"))
ALERTMANAGER_FILE = ROOT / ALERTMANAGER
RUNBOOKS = ROOT / "docs/runbooks.md"
NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
RECORDED = re.compile(r"[a-z_]+:okta_group_push_[a-z0-9_]+:[a-z0-9_]+")


def rule_file() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(RULE_FILE.read_text())
    return document


def alert_rules() -> list[dict[str, Any]]:
    return [r for g in rule_file()["groups"] for r in g["rules"] if "alert" in r]


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, cwd=ROOT)


# --- promtool ----------------------------------------------------------------------------


@pytest.mark.integration
def test_promtool_accepts_the_rule_file() -> None:
    result = run(require_binary("promtool"), "check", "rules", str(RULE_FILE))
    assert result.returncode == 0, result.stdout + result.stderr
    expected = len(recording_rules(CONFIG)) + len(alerts(CONFIG))
    assert f"SUCCESS: {expected} rules found" in result.stdout


@pytest.mark.integration
def test_promtool_unit_tests_pass() -> None:
    assert UNIT_TESTS, "no promtool unit tests found"
    result = run(require_binary("promtool"), "test", "rules", *map(str, UNIT_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


@functools.cache
def unit_test_cases() -> list[tuple[str, bool]]:
    """(alertname, whether it must fire) for every alert_rule_test of every unit test."""
    cases = []
    for path in UNIT_TESTS:
        document = yaml.safe_load(path.read_text())
        assert document["rule_files"] == ["../okta-group-push.rules.yml"], path
        for test in document["tests"]:
            for case in test.get("alert_rule_test", []):
                cases.append((case["alertname"], bool(case["exp_alerts"])))
    return cases


@pytest.mark.parametrize("alert", [a.name for a in alerts(CONFIG)])
def test_every_alert_has_cases_that_fire_and_cases_that_stay_silent(alert: str) -> None:
    cases = unit_test_cases()
    assert (alert, True) in cases, f"no promtool test makes {alert} fire"
    assert (alert, False) in cases, f"no promtool test keeps {alert} silent"


# --- style (STYLE 12) --------------------------------------------------------------------


def test_alert_names_are_camel_case_with_one_prefix() -> None:
    names = [rule["alert"] for rule in alert_rules()]
    assert len(names) == len(set(names))
    for name in names:
        assert re.fullmatch(r"OktaGroupPush(?:[A-Z][a-z0-9]+)+", name), name


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda r: str(r["alert"]))
def test_alert_has_severity_static_summary_templated_description_and_runbook(
    rule: dict[str, Any],
) -> None:
    assert rule["labels"] == {"severity": rule["labels"]["severity"]}
    assert rule["labels"]["severity"] in SEVERITIES
    annotations = rule["annotations"]
    assert set(annotations) - FIX_ANNOTATIONS == {"summary", "description", "runbook_url"}
    assert list(annotations)[-1] == "runbook_url"
    summary, description = annotations["summary"], annotations["description"]
    assert "{{" not in summary and summary.endswith("."), summary
    assert "{{" in description, "the description must say what is failing"
    # Every description names the application and group concerned (failure alerts, below),
    # or says which applications and groups go unseen (alerts on the exporter itself).
    assert "application" in description
    assert "group" in description
    assert annotations["runbook_url"] == f"{CONFIG.runbook_url}#{rule['alert'].lower()}"


@pytest.mark.parametrize("name", [a.name for a in alerts(CONFIG) if a.failure])
def test_failure_alerts_name_the_application_and_group(name: str) -> None:
    rule = next(r for r in alert_rules() if r["alert"] == name)
    description = rule["annotations"]["description"]
    assert "$labels.application" in description
    assert "$labels.group" in description or ".Labels.group" in description


FIX_ANNOTATIONS = {"reason", "admin_url", "system_log_url"}
# The alerts on one mapping, and the one on an application (its Admin Console page is the
# application's; the System Log link is a mapping's).
PER_MAPPING = {
    "OktaGroupPushTerminalFailure",
    "OktaGroupPushMappingStuck",
    "OktaGroupPushMappingError",
}


@pytest.mark.parametrize("name", [a.name for a in alerts(CONFIG) if a.failure])
def test_failure_alerts_carry_the_reason_and_the_okta_links_from_the_info_series(
    name: str,
) -> None:
    annotations = next(r for r in alert_rules() if r["alert"] == name)["annotations"]
    expected = FIX_ANNOTATIONS if name in PER_MAPPING else {"reason", "admin_url"}
    assert FIX_ANNOTATIONS & set(annotations) == expected
    for link in expected - {"reason"}:
        template = annotations[link]
        # Read from the info series at evaluation time, never joined into the expression:
        # the alert fires with or without it, and its labels do not change with a link.
        assert "okta_group_push_mapping_info{" in template, template
        assert f'label "{link}"' in template, template
        assert (
            "okta_group_push_mapping_info"
            not in next(r for r in alert_rules() if r["alert"] == name)["expr"]
        )


@pytest.mark.parametrize("name", sorted(PER_MAPPING))
def test_promtool_tests_render_the_links_of_every_per_mapping_alert(name: str) -> None:
    """Some case fires the alert with its links rendered, some with the info series absent."""
    rendered, absent = False, False
    for path in UNIT_TESTS:
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                if case["alertname"] != name:
                    continue
                for alert in case["exp_alerts"]:
                    links = alert["exp_annotations"]["admin_url"]
                    rendered |= links.startswith("https://")
                    absent |= links == ""
    assert rendered and absent


def runbook_sections() -> dict[str, str]:
    """Runbook sections by GitHub anchor (a `## Heading` lower-cased)."""
    text = RUNBOOKS.read_text()
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return {
        re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-"): body
        for heading, body in zip(parts[1::2], parts[2::2], strict=True)
    }


def test_runbooks_have_one_complete_section_per_alert() -> None:
    sections = runbook_sections()
    anchors = {rule["alert"].lower() for rule in alert_rules()}
    assert set(sections) == anchors
    for anchor, body in sections.items():
        for part in ("**What it means.**", "**What to check in Okta.**", "**How to fix.**"):
            assert part in body, f"runbook section {anchor} lacks {part}"


def test_recording_rule_names_follow_level_metric_operations() -> None:
    for rule in recording_rules(CONFIG):
        level, metric, operations = rule.record.split(":")
        assert level and operations
        assert metric.startswith("okta_group_push_"), rule.record


def test_rules_read_only_metrics_the_exporter_exposes_or_will_expose() -> None:
    known = {spec.name for spec in catalogue.ALL_METRICS} | set(metrics.PLANNED)
    recorded = {rule.record for rule in recording_rules(CONFIG)}
    text = RULE_FILE.read_text()
    for rule in alert_rules() + [{"expr": r.expr} for r in recording_rules(CONFIG)]:
        for name in NAME.findall(rule["expr"] + str(rule.get("annotations", ""))):
            if name.startswith("okta_group_push_"):
                assert name in known, f"{name} is neither in the catalogue nor planned"
            if RECORDED.fullmatch(name):
                assert name in recorded, f"{name} is not a recording rule"
    assert 'job="okta-group-push-exporter"' in text


# --- Alertmanager ------------------------------------------------------------------------


def alertmanager_config() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(ALERTMANAGER_FILE.read_text())
    return document


@pytest.mark.integration
def test_amtool_accepts_the_alertmanager_example() -> None:
    result = run(require_binary("amtool"), "check-config", str(ALERTMANAGER_FILE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def route(alertname: str, severity: str) -> str:
    """The receiver amtool says the example routes an alert to."""
    result = run(
        require_binary("amtool"),
        "config",
        "routes",
        "test",
        f"--config.file={ALERTMANAGER_FILE}",
        f"alertname={alertname}",
        f"severity={severity}",
        "application=Slack",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


@pytest.mark.integration
@pytest.mark.parametrize("alert", alerts(CONFIG), ids=lambda a: a.name)
def test_alerts_are_routed_by_severity(alert: Alert) -> None:
    expected = {"critical": "iam-oncall-pager", "warning": "iam-team-chat"}
    assert route(alert.name, alert.severity) == expected[alert.severity]


@pytest.mark.integration
def test_info_alerts_go_to_tickets_and_foreign_alerts_to_the_default() -> None:
    assert route("OktaGroupPushSomethingNew", "info") == "iam-team-tickets"
    assert route("NodeFilesystemAlmostFull", "critical") == "iam-team-chat"


def test_alerts_are_grouped_by_alertname_and_application() -> None:
    route = alertmanager_config()["route"]
    assert route["group_by"] == ["alertname", "application"]
    assert all(sub["group_by"] == ["alertname", "application"] for sub in route["routes"])


def matcher_regex(matcher: str) -> re.Pattern[str]:
    match = re.fullmatch(r'alertname(=~|=)"(.+)"', matcher)
    assert match, matcher
    return re.compile(match.group(2) if match.group(1) == "=~" else re.escape(match.group(2)))


def test_exporter_down_or_absent_inhibits_every_failure_alert() -> None:
    rules = alertmanager_config()["inhibit_rules"]
    failure = {a.name for a in alerts(CONFIG) if a.failure}
    assert failure == {
        "OktaGroupPushTerminalFailure",
        "OktaGroupPushFailureSpike",
        "OktaGroupPushMappingStuck",
        "OktaGroupPushMappingError",
    }
    for source in ("OktaGroupPushExporterDown", "OktaGroupPushExporterAbsent"):
        inhibited = {
            name
            for rule in rules
            if all(matcher_regex(m).fullmatch(source) for m in rule["source_matchers"])
            for name in {a.name for a in alerts(CONFIG)}
            if all(matcher_regex(m).fullmatch(name) for m in rule["target_matchers"])
            and rule["equal"] == ["job"]
        }
        assert failure <= inhibited, source
        assert source not in inhibited
        assert "OktaGroupPushHookAuthFailures" not in inhibited
