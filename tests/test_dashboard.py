"""The Grafana dashboard: generated from grafana/mixin, well-formed, and its queries work.

Grafana itself is not installable here, so the dashboard is checked through its JSON and
through its queries, run with the variables filled in against a real Prometheus that
scrapes a real exporter and evaluates the bundled rules.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporter import catalogue
from grafana.mixin import (
    DASHBOARD_PROVISIONING,
    DATASOURCE_PROVISIONING,
    build,
    metrics,
    stale,
)
from grafana.mixin.config import CONFIG
from grafana.mixin.dashboard import DATASOURCE, IMPORT_INPUT
from grafana.mixin.rules import recording_rules
from tests.builders import RETRIED, envelope, failure_event, okta_id
from tests.grafana_dashboard import (
    BUILTINS,
    ROOT,
    Query,
    load,
    load_import,
    panels,
    queries,
    referenced_variables,
    substitute,
    variables,
    walk,
)
from tests.okta_emulator import Emulator, ThreadedOrg
from tests.services import (
    Prometheus,
    Service,
    http_get,
    post_json,
    require_binary,
    start_exporter,
    start_prometheus,
    wait_until,
)

FILTER_VARIABLES = ("job", "instance", "application", "group", "actor")
NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


# --- one source --------------------------------------------------------------------------


def test_generated_files_are_up_to_date() -> None:
    """Dashboards, provisioning, rules and routing are what grafana/mixin generates now."""
    assert stale() == [], "out of date: run `python -m grafana.mixin` and commit the result"


def test_generation_is_deterministic() -> None:
    assert build() == build()


# --- structure ---------------------------------------------------------------------------


def test_dashboard_identity_is_stable() -> None:
    board = load()
    assert "id" not in board, "Grafana assigns the id; a fixed one clashes between instances"
    assert board["uid"] == CONFIG.dashboard_uid
    assert re.fullmatch(r"[a-zA-Z0-9_-]{1,40}", board["uid"])
    assert board["schemaVersion"] == CONFIG.schema_version == 37
    assert board["tags"] == list(CONFIG.dashboard_tags)
    assert board["refresh"] == "30s"
    assert board["title"] == "Okta Group Push"


def test_every_query_uses_the_datasource_variable() -> None:
    board = load()
    datasource = variables(board)["datasource"]
    assert datasource["type"] == "datasource"
    assert datasource["query"] == "prometheus"
    assert "current" not in datasource, "the provisioned dashboard picks no datasource"
    for panel in panels(board):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], panel["title"]
        assert all(t["datasource"] == DATASOURCE for t in panel["targets"]), panel["title"]
    for name in FILTER_VARIABLES:
        assert variables(board)[name]["datasource"] == DATASOURCE
    # No datasource is named by uid anywhere (Grafana's built-in annotation aside).
    for key, value in walk(board):
        if key == "datasource" and value != DATASOURCE:
            assert value == {"type": "grafana", "uid": "-- Grafana --"}, value
    assert "${DS_" not in json.dumps(board)


def test_panel_ids_are_unique_and_the_layout_does_not_overlap() -> None:
    board = load()
    ids = [p["id"] for p in panels(board)]
    assert len(ids) == len(set(ids))
    assert all(isinstance(i, int) and i > 0 for i in ids)
    cells: dict[tuple[int, int], str] = {}
    for panel in panels(board):
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]


def test_panels_have_unique_ref_ids_and_a_description() -> None:
    for panel in panels(load()):
        if panel["type"] == "row":
            continue
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]
        assert panel["description"], panel["title"]


def test_filter_variables_are_multi_select_with_all_from_label_values() -> None:
    by_name = variables(load())
    assert list(by_name) == ["datasource", *FILTER_VARIABLES]
    # Grafana keys variables by id: one each, as Grafana writes them (the name).
    assert [v["id"] for v in by_name.values()] == list(by_name)
    for name in FILTER_VARIABLES:
        variable = by_name[name]
        assert variable["type"] == "query"
        assert variable["multi"] is True and variable["includeAll"] is True
        assert variable["allValue"] == ".*"
        assert re.fullmatch(rf"label_values\(.+, {name}\)", variable["query"]), variable
        assert variable["refresh"] == 2, "new applications and groups appear"


def test_every_variable_is_used_and_every_used_variable_is_defined() -> None:
    board = load()
    defined = set(variables(board))
    used: set[str] = set()
    for panel in panels(board):
        used |= referenced_variables(json.dumps(panel))
    for variable in variables(board).values():
        used |= referenced_variables(
            variable.get("query", "") if variable["type"] == "query" else ""
        )
    assert used - BUILTINS <= defined, used - BUILTINS - defined
    # The datasource variable is used by every panel; the others by queries or other variables.
    assert defined - {"datasource"} <= used, (defined - {"datasource"}) - used
    assert "datasource" in used


def test_queries_take_their_windows_from_grafana() -> None:
    """No fixed `[5m]`: `$__rate_interval` per point, `$__range` for time range totals."""
    for query in queries(load()):
        for window in re.findall(r"\[([^\]]+)\]", query.expr):
            assert window in ("$__rate_interval", "$__range"), (query.panel, window)


def test_counters_count_series_born_in_the_window() -> None:
    """Every increase() comes with the born-series term (see grafana/mixin/promql.py)."""
    for query in queries(load()):
        increases = query.expr.count("increase(")
        assert query.expr.count("count_over_time(") == increases, query.panel
        scrapes = re.findall(r"sum_over_time\((\w+)\{", query.expr)
        assert len(scrapes) == increases, query.panel
        assert set(scrapes) <= {"up", "okta_group_push_exporter_ready"}, query.panel


def test_event_derived_metrics_are_folded_across_replicas() -> None:
    event_derived = metrics.EVENT_DERIVED
    for query in queries(load()):
        names = set(NAME.findall(query.expr))
        if names & event_derived:
            assert "max without (instance)" in query.expr, (query.panel, query.expr)


def test_queries_read_only_known_metrics_and_recording_rules() -> None:
    known = {spec.name for spec in catalogue.ALL_METRICS} | set(metrics.PLANNED) | {"up"}
    recorded = {r.record for r in recording_rules(CONFIG)}
    used_recordings = set()
    board = load()
    texts = [q.expr for q in queries(board)] + [
        v["query"] for v in variables(board).values() if v["type"] == "query"
    ]
    for text in texts:
        for name in NAME.findall(text):
            if name.startswith("okta_group_push_"):
                assert name in known, name
            if name.count(":") == 2:
                assert name in recorded, name
                used_recordings.add(name)
    assert used_recordings, "the dashboard should use the recording rules it documents"


def test_planned_metrics_match_the_catalogue_once_they_land() -> None:
    for spec in catalogue.ALL_METRICS:
        if spec.name in metrics.PLANNED:
            assert spec.labels == metrics.PLANNED[spec.name], spec.name


def test_overview_and_health_rows_hold_the_panels_the_issue_lists() -> None:
    titles = [p["title"] for p in panels(load())]
    rows = [p["title"] for p in panels(load()) if p["type"] == "row"]
    assert rows == ["Overview", "Failures by application, group and actor", "Exporter health"]
    overview = titles[titles.index(rows[0]) + 1 : titles.index(rows[1])]
    assert overview == [
        "Failures",
        "Terminal / retried",
        "Mappings failing now",
        "Since last failure",
        "Exporter up",
    ]
    for title in (
        "Failures by application",
        "Failures by group",
        "Top groups",
        "Top actors",
        "Failure reasons",
        "Hook requests by outcome",
        "Events: received, duplicate, invalid",
        "Rejected hook requests",
        "System Log poller lag",
        "Okta API budget",
        "Series and label overflow",
    ):
        assert title in titles[titles.index(rows[1]) :]


def test_an_application_drills_down_to_its_groups() -> None:
    board = load()
    by_title = {p["title"]: p for p in panels(board)}
    links = by_title["Failures by application"]["fieldConfig"]["defaults"]["links"]
    assert any(
        f"/d/{CONFIG.dashboard_uid}/" in link["url"]
        and "var-application=${__field.labels.application}" in link["url"]
        for link in links
    )
    overrides = by_title["Top groups"]["fieldConfig"]["overrides"]
    application = next(o for o in overrides if o["matcher"]["options"] == "Application")
    assert "var-application=${__data.fields.application}" in json.dumps(application)


def test_import_variant_is_the_dashboard_plus_inputs() -> None:
    board, imported = load(), load_import()
    assert [i["name"] for i in imported["__inputs"]] == [IMPORT_INPUT]
    assert imported["__inputs"][0]["pluginId"] == "prometheus"
    required = {(r["type"], r["id"]) for r in imported["__requires"]}
    used_panels = {p["type"] for p in panels(board) if p["type"] != "row"}
    assert {("panel", t) for t in used_panels} | {("datasource", "prometheus")} <= required
    datasource = variables(imported)["datasource"]
    assert datasource["current"]["value"] == f"${{{IMPORT_INPUT}}}"
    stripped = {k: v for k, v in imported.items() if not k.startswith("__")}
    expected = copy.deepcopy(board)
    variables(expected)["datasource"]["current"] = datasource["current"]
    assert stripped == expected


def test_provisioning_points_grafana_at_prometheus_and_the_dashboards() -> None:
    datasources = yaml.safe_load((ROOT / DATASOURCE_PROVISIONING).read_text())
    assert datasources["apiVersion"] == 1
    (source,) = datasources["datasources"]
    assert source["type"] == "prometheus" and source["uid"] == CONFIG.datasource_uid
    assert source["jsonData"]["timeInterval"] == CONFIG.scrape_interval
    providers = yaml.safe_load((ROOT / DASHBOARD_PROVISIONING).read_text())
    (provider,) = providers["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == CONFIG.dashboards_path


EXEMPLAR_PANELS = ("Failures by application", "Failures by group", "Terminal and retried failures")


def test_failure_panels_show_exemplars_and_no_other_query_asks_for_them() -> None:
    """Exemplars (the uuid of the Okta event behind a failure) on the failure time series;
    an instant or health query has none to show."""
    for panel in panels(load()):
        for target in panel.get("targets", []):
            assert target["exemplar"] is (panel["title"] in EXEMPLAR_PANELS), panel["title"]
            if target["exemplar"]:
                assert target["range"] and not target["instant"], panel["title"]
                assert "okta_group_push_failures" in target["expr"], panel["title"]


LINK_TABLES = ("Failing mappings", "Broken now")


@pytest.mark.parametrize("title", LINK_TABLES)
def test_tables_of_failing_mappings_link_each_one_to_okta(title: str) -> None:
    """Link columns from the info series' admin_url and system_log_url: the cell shows a
    short text and opens the URL it holds in a new tab."""
    panel = next(p for p in panels(load()) if p["title"] == title)
    expr = panel["targets"][0]["expr"]
    assert "group_left (admin_url, system_log_url)" in expr
    assert "okta_group_push_mapping_info{" in expr
    organize = next(t for t in panel["transformations"] if t["id"] == "organize")["options"]
    assert organize["renameByName"]["admin_url"] == "Okta Admin Console"
    assert organize["renameByName"]["system_log_url"] == "Okta System Log"
    for column in ("Okta Admin Console", "Okta System Log"):
        override = next(
            o for o in panel["fieldConfig"]["overrides"] if o["matcher"]["options"] == column
        )
        properties = {p["id"]: p["value"] for p in override["properties"]}
        ((link),) = properties["links"]
        assert link["url"] == "${__value.raw}" and link["targetBlank"] is True
        ((mapping),) = properties["mappings"]
        assert mapping["type"] == "regex" and mapping["options"]["result"]["text"]


def _series(metric: str, values: str = "1x10", **labels: str) -> dict[str, str]:
    matchers = ", ".join(f"{k}={json.dumps(v)}" for k, v in labels.items())
    return {"series": f"{metric}{{{matchers}}}", "values": values}


@pytest.mark.integration
def test_link_columns_join_the_info_series_and_keep_mappings_without_one(
    tmp_path: Path,
) -> None:
    """The tables' queries, run by Prometheus's engine (promtool): a mapping with an info
    series gets its links once however many replicas export it; one without keeps its row."""
    job = {"job": "okta-group-push-exporter"}
    admin = "https://acme-admin.okta.com/admin/app/slack/instance/0oa1/#tab-group-push"
    log = "https://acme-admin.okta.com/report/system_log_2?search=0oa1+00g2"
    zoom_admin = "https://acme-admin.okta.com/admin/app/zoomus/instance/0oa2/#tab-group-push"
    zoom_log = "https://acme-admin.okta.com/report/system_log_2?search=0oa2+00g3"

    def info(instance: str, app: str, group: str, admin_url: str, log_url: str) -> Any:
        return _series(
            metrics.MAPPING_INFO, **job, instance=instance, application=app, group=group,
            application_id="x", group_id="y", admin_url=admin_url, system_log_url=log_url,
        )  # fmt: skip

    failing = "application_group:okta_group_push_mapping_failing:max"
    input_series = [
        _series(failing, **job, application="Slack", group="Sales"),
        _series(failing, **job, application=AWS, group="Finance\\Ops"),
        _series(failing, "0x10", **job, application="Slack", group="Engineering"),
        # Two replicas export the same info; a healthy mapping's info adds no row.
        info("a:9947", "Slack", "Sales", admin, log),
        info("b:9947", "Slack", "Sales", admin, log),
        info("a:9947", "Slack", "Engineering", admin, log + "x"),
        info("a:9947", "Zoom", "Marketing", zoom_admin, zoom_log),
        _series(
            "okta_group_push_mapping_status",
            **job,
            instance="a:9947",
            application="Zoom",
            group="Marketing",
            status="ERROR",
        ),
        _series(
            "okta_group_push_mapping_error_reason",
            **job,
            instance="a:9947",
            application="Zoom",
            group="Marketing",
            reason="credentials",
        ),
    ]
    by_title = {q.panel: q for q in queries(load()) if q.ref == "A"}

    def labels(name: str = "", **values: str) -> str:
        return name + "{" + ", ".join(f"{k}={json.dumps(v)}" for k, v in values.items()) + "}"

    expected = {
        "Failing mappings": [
            labels(**job, application="Slack", group="Sales", admin_url=admin, system_log_url=log),
            labels(failing, **job, application=AWS, group="Finance\\Ops"),
        ],
        "Broken now": [
            labels(
                **job,
                application="Zoom",
                group="Marketing",
                reason="credentials",
                admin_url=zoom_admin,
                system_log_url=zoom_log,
            ),
        ],
    }
    document = {
        "rule_files": [],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": input_series,
                "promql_expr_test": [
                    {
                        "expr": substitute(by_title[title].expr, ALL, rate="1m", range_="10m"),
                        "eval_time": "5m",
                        "exp_samples": [{"labels": row, "value": 1} for row in rows],
                    }
                    for title, rows in expected.items()
                ],
            }
        ],
    }
    path = tmp_path / "links.test.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    result = subprocess.run(
        [require_binary("promtool"), "test", "rules", str(path)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


# --- the queries against a real Prometheus -----------------------------------------------


def now() -> str:
    """The current time as Okta writes `published`."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


AWS = 'AWS "IAM" Identity Center'
EVENTS = [
    *(failure_event("Slack", "Engineering", "Ada", published=now()) for _ in range(3)),
    failure_event("Slack", "Sales", "Okta System", event_type=RETRIED, published=now()),
    failure_event(AWS, "Finance\\Ops", "Bob", published=now()),
]


def query_range(prometheus: Prometheus, promql: str, seconds: int) -> list[dict[str, Any]]:
    """A range query over the last `seconds`, one point a second; fails on an API error."""
    end = time.time()
    url = f"{prometheus.url}/api/v1/query_range?" + urllib.parse.urlencode(
        {"query": promql, "start": end - seconds, "end": end, "step": 1}
    )
    status, body = http_get(url)
    document = json.loads(body or b"{}")
    if status != 200 or document.get("status") != "success":
        pytest.fail(f"range query {promql!r} failed ({status}): {body[:500]!r}")
    result: list[dict[str, Any]] = document["data"]["result"]
    return result


LAST_PUSH = time.time() - 3600


def emulated_org() -> Emulator:
    """What Okta's Group Push Mapping API says: Slack/Engineering works again (the events
    say failing), Zoom/Marketing is in ERROR (no event ever said so)."""
    org = Emulator(clock=time.time)
    # The ids of the events' apps and groups (tests/builders.py): the API and the events
    # meet by ids.
    slack = org.add_app("Slack", app_id=okta_id("0oa", "Slack"))
    zoom = org.add_app("Zoom", app_id=okta_id("0oa", "Zoom"))
    engineering = org.add_group("Engineering", okta_id("00g", "Engineering"))
    org.add_mapping(slack, engineering, last_push=time.time() - 60)
    org.add_mapping(
        zoom, org.add_group("Marketing"), status="ERROR",
        error_summary="Invalid credentials: the token expired", last_push=LAST_PUSH,
    )  # fmt: skip
    return org


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    """A Prometheus with our rules that has seen EVENTS, one rejected delivery, and what an
    emulated Okta org's Group Push Mapping API says."""
    workdir: Path = tmp_path_factory.mktemp("dashboard")
    okta = ThreadedOrg(emulated_org())
    okta_url = okta.__enter__()
    exporter: Service = start_exporter(
        workdir,
        f"--okta.org-url={okta_url}",
        "--okta.mappings-interval=1s",
        env={"OKTA_API_TOKEN": "test-api-token"},
    )
    server = None
    try:
        server = start_prometheus(
            workdir,
            [f"127.0.0.1:{exporter.port}"],
            rule_files=[ROOT / "grafana/alerts/okta-group-push.rules.yml"],
        )
        up = 'up{job="okta-group-push-exporter"} == 1'
        wait_until(lambda: bool(server and server.query(up)), 30, "a first scrape")
        delivery = envelope(*EVENTS, delivery_id="d1")
        assert post_json(f"{exporter.url}/hooks/okta", delivery) == 204
        assert post_json(f"{exporter.url}/hooks/okta", delivery, "wrong secret") == 401
        ready = [
            "sum(okta_group_push_failures_total) == 5",
            'okta_group_push_exporter_deliveries_total{code="401"}',
            # Okta's fresh ACTIVE wins over the events for Slack/Engineering; its ERROR
            # counts for Zoom/Marketing: 3 failing by the events, 3 - 1 + 1 in all.
            "count(application_group:okta_group_push_mapping_failing:max == 1) == 3",
            'application_group:okta_group_push_mapping_failing:max{group="Engineering"} == 0',
            'okta_group_push_exporter_state_disagreements_total{kind="api_active_events_failing"}'
            " == 1",
        ]
        wait_until(
            lambda: all(server and server.query(q) for q in ready),
            30,
            "the events, the rejection and the recording rules in Prometheus",
        )
        yield server
    finally:
        if server is not None:
            server.stop()
        exporter.stop()
        okta.__exit__(None, None, None)


ALL = dict.fromkeys(FILTER_VARIABLES, ".*")


def run(prometheus: Prometheus, query: Query, values: dict[str, str]) -> list[dict[str, Any]]:
    promql = substitute(query.expr, values, rate="1m", range_="10m")
    if query.instant:
        return prometheus.query(promql)
    return query_range(prometheus, promql, 30)


def values_by(results: list[dict[str, Any]], *labels: str) -> dict[tuple[str, ...], float]:
    """Instant results keyed by label values."""
    return {
        tuple(r["metric"].get(label, "") for label in labels): float(r["value"][1]) for r in results
    }


def last_by(results: list[dict[str, Any]], *labels: str) -> dict[tuple[str, ...], float]:
    """Range results keyed by label values, each with its last point."""
    return {
        tuple(r["metric"].get(label, "") for label in labels): float(r["values"][-1][1])
        for r in results
    }


@pytest.mark.integration
def test_every_query_runs_on_prometheus_with_every_variable_at_all(
    prometheus: Prometheus,
) -> None:
    for query in queries(load()):
        run(prometheus, query, ALL)  # fails the test on any PromQL or API error


@pytest.mark.integration
def test_variable_queries_list_what_the_exporter_saw(prometheus: Prometheus) -> None:
    seen: dict[str, set[str]] = {}
    for name, variable in variables(load()).items():
        if variable["type"] != "query":
            continue
        match = re.fullmatch(r"label_values\((.+), (\w+)\)", variable["query"])
        assert match
        selector = substitute(match.group(1), ALL, rate="1m", range_="10m")
        url = f"{prometheus.url}/api/v1/label/{match.group(2)}/values?" + urllib.parse.urlencode(
            {"match[]": selector}
        )
        status, body = http_get(url)
        assert status == 200, body
        seen[name] = set(json.loads(body)["data"])
    assert seen["job"] == {"okta-group-push-exporter"}
    assert len(seen["instance"]) == 1
    assert seen["application"] == {"Slack", AWS}
    assert seen["group"] == {"Engineering", "Sales", "Finance\\Ops"}
    assert seen["actor"] == {"Ada", "Okta System", "Bob"}


@pytest.mark.integration
def test_core_panels_show_the_posted_failures(prometheus: Prometheus) -> None:
    board = load()
    by_panel: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for query in queries(board):
        by_panel.setdefault(query.panel, {})[query.ref] = run(prometheus, query, ALL)

    def single(panel: str, ref: str = "A") -> float:
        (result,) = by_panel[panel][ref]
        return float(result["value"][1])

    assert single("Failures") == 5
    assert single("Terminal / retried", "A") == 4
    assert single("Terminal / retried", "B") == 1
    assert single("Mappings failing now") == 3  # Slack/Engineering works, Zoom/Marketing not
    assert 0 <= single("Since last failure") < 300
    assert single("Exporter up") == 1
    top_groups = values_by(by_panel["Top groups"]["A"], "application", "group")
    assert top_groups == {
        ("Slack", "Engineering"): 3,
        ("Slack", "Sales"): 1,
        (AWS, "Finance\\Ops"): 1,
    }
    last_failure = values_by(by_panel["Top groups"]["B"], "application", "group")
    assert set(last_failure) == set(top_groups)
    assert all(abs(ms / 1000 - time.time()) < 300 for ms in last_failure.values())
    assert values_by(by_panel["Top actors"]["A"], "actor") == {
        ("Ada",): 3,
        ("Okta System",): 1,
        ("Bob",): 1,
    }
    # The posted events carry no outcome.reason text: all five fall in "other".
    assert values_by(by_panel["Failure reasons"]["A"], "reason") == {("other",): 5}
    by_application = last_by(by_panel["Failures by application"]["A"], "application")
    assert by_application == {("Slack",): 4, (AWS,): 1}
    assert last_by(by_panel["Terminal and retried failures"]["A"], "kind") == {
        ("terminal",): 4,
        ("retried",): 1,
    }
    spike = last_by(by_panel["Failures per 1h and spike threshold"]["A"], "application")
    assert spike == {("Slack",): 4, (AWS,): 1}
    failing = values_by(by_panel["Failing mappings"]["A"], "application", "group")
    assert set(failing) == set(top_groups) - {("Slack", "Engineering")} | {("Zoom", "Marketing")}
    broken = values_by(by_panel["Broken now"]["A"], "application", "group", "reason")
    assert broken == {("Zoom", "Marketing", "credentials"): 1}
    last_push = values_by(by_panel["Broken now"]["B"], "application", "group")
    assert last_push == {("Zoom", "Marketing"): pytest.approx(LAST_PUSH * 1000, abs=1000)}
    assert values_by(by_panel["Mappings by status"]["A"], "status") == {
        ("ACTIVE",): 1,
        ("ERROR",): 1,
        ("INACTIVE",): 0,
    }
    (since_reading, took) = by_panel["Group push mapping reconciler"].values()
    assert 0 <= float(since_reading[0]["values"][-1][1]) < 60
    assert 0 <= float(took[0]["values"][-1][1]) < 60
    outcomes = last_by(by_panel["Hook requests by outcome"]["A"], "endpoint", "code")
    assert outcomes == {("/hooks/okta", "204"): 1, ("/hooks/okta", "401"): 1}
    rejected = last_by(by_panel["Rejected hook requests"]["A"], "endpoint", "code")
    assert rejected == {("/hooks/okta", "401"): 1}
    received = last_by(by_panel["Events: received, duplicate, invalid"]["A"], "source", "kind")
    assert sum(received.values()) == 5
    (instance,) = by_panel["Instances"]["A"]
    assert instance["metric"]["version"]


@pytest.mark.integration
def test_picking_an_application_filters_the_failures(prometheus: Prometheus) -> None:
    board = load()
    (failures,) = [q for q in queries(board) if q.panel == "Failures"]
    (slack,) = run(prometheus, failures, {**ALL, "application": "Slack"})
    assert float(slack["value"][1]) == 4
    (one_group,) = run(prometheus, failures, {**ALL, "application": "Slack", "group": "Sales"})
    assert float(one_group["value"][1]) == 1
