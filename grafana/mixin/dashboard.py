"""The Grafana dashboard, its grafana.com import variant and the provisioning files.

Queries follow three rules. Counters go through `new_increase`, so a failure that creates
its series is counted (plain `increase()` drops it). Event-derived series are folded with
`max without (instance)` before any sum, because replicas sharing a store expose the same
totals. Windows are `$__range` (totals for the picked time range) or `$__rate_interval`
(per-point increases); none is hard-coded.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from grafana.mixin import metrics as m
from grafana.mixin.config import MixinConfig
from grafana.mixin.promql import indent, new_increase, selector
from grafana.mixin.rules import Names

DATASOURCE: dict[str, str] = {"type": "prometheus", "uid": "${datasource}"}
IMPORT_INPUT = "DS_PROMETHEUS"

JOB = 'job=~"$job"'
INSTANCE = 'instance=~"$instance"'
APPLICATION = 'application=~"$application"'
GROUP = 'group=~"$group"'
ACTOR = 'actor=~"$actor"'
EVENT_FILTERS = (JOB, APPLICATION, GROUP, ACTOR)
HEALTH_FILTERS = (JOB, INSTANCE)
RANGE = "$__range"
RATE = "$__rate_interval"


def _ni(metric: str, window: str, *matchers: str) -> str:
    """new_increase of an event-derived counter, replicas folded."""
    return new_increase(selector(metric, *matchers), window, selector(m.READY, JOB))


def _ni_process(metric: str, window: str, *matchers: str) -> str:
    """new_increase of a per-process counter, one value per instance."""
    up = selector("up", *HEALTH_FILTERS)
    return new_increase(selector(metric, *matchers), window, up, replica_labels=None)


def _fn(name: str, inner: str, first: str = "") -> str:
    """`name(first inner)`, with `inner` indented on lines of its own."""
    return f"{name}({first}\n{indent(inner)}\n)"


def _sum(by: str, inner: str) -> str:
    return _fn(f"sum by ({by}) " if by else "sum ", inner)


def target(
    expr: str, legend: str = "", *, instant: bool = False, table: bool = False
) -> dict[str, Any]:
    t: dict[str, Any] = {
        "datasource": DATASOURCE,
        "expr": expr,
        "legendFormat": legend or "__auto",
        "range": not instant,
        "instant": instant,
    }
    if table:
        t["format"] = "table"
    return t


def _thresholds(*steps: tuple[float | None, str]) -> dict[str, Any]:
    return {
        "mode": "absolute",
        "steps": [{"color": color, "value": value} for value, color in steps],
    }


def stat(
    title: str,
    description: str,
    targets: list[dict[str, Any]],
    *,
    unit: str = "short",
    thresholds: dict[str, Any] | None = None,
    no_value: str = "",
    decimals: int | None = 0,
) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "unit": unit,
        "color": {"mode": "thresholds"},
        "thresholds": thresholds or _thresholds((None, "text")),
    }
    if decimals is not None:
        defaults["decimals"] = decimals
    if no_value:
        defaults["noValue"] = no_value
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value",
            "graphMode": "none",
            "justifyMode": "auto",
            "orientation": "auto",
            "textMode": "value_and_name" if len(targets) > 1 else "value",
        },
    }


def timeseries(
    title: str,
    description: str,
    targets: list[dict[str, Any]],
    *,
    unit: str = "short",
    stacked: bool = False,
    bars: bool = False,
    links: list[dict[str, Any]] | None = None,
    overrides: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    custom: dict[str, Any] = {
        "drawStyle": "bars" if bars else "line",
        "fillOpacity": 60 if bars else 10,
        "lineWidth": 1,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"mode": "normal" if stacked else "none", "group": "A"},
    }
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "targets": targets,
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "min": 0,
                "color": {"mode": "palette-classic"},
                "custom": custom,
                "links": links or [],
            },
            "overrides": overrides or [],
        },
        "options": {
            "legend": {"displayMode": "table", "placement": "right", "calcs": ["sum"]},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    }


def table(
    title: str,
    description: str,
    targets: list[dict[str, Any]],
    *,
    rename: dict[str, str],
    overrides: list[dict[str, Any]],
    sort_by: str,
    hide: tuple[str, ...] = (),
) -> dict[str, Any]:
    return {
        "type": "table",
        "title": title,
        "description": description,
        "targets": targets,
        "fieldConfig": {"defaults": {"custom": {"align": "auto"}}, "overrides": overrides},
        "options": {"showHeader": True, "sortBy": [{"displayName": sort_by, "desc": True}]},
        "transformations": [
            {"id": "merge", "options": {}},
            {
                "id": "organize",
                "options": {
                    "excludeByName": {name: True for name in ("Time", "job", *hide)},
                    "renameByName": rename,
                },
            },
        ],
    }


def _override(name: str, *properties: tuple[str, Any]) -> dict[str, Any]:
    return {
        "matcher": {"id": "byName", "options": name},
        "properties": [{"id": key, "value": value} for key, value in properties],
    }


def _drill_down(cfg: MixinConfig, value: str) -> dict[str, Any]:
    """A link back into this dashboard with the application variable set to `value`."""
    return {
        "title": f"Groups of {value}",
        "url": (
            f"/d/{cfg.dashboard_uid}/{cfg.dashboard_uid}?${{__url_time_range}}"
            f"&${{datasource:queryparam}}&${{job:queryparam}}&var-application={value}"
        ),
        "targetBlank": False,
    }


def _group_link(cfg: MixinConfig) -> dict[str, Any]:
    return {
        "title": "Only this group",
        "url": (
            f"/d/{cfg.dashboard_uid}/{cfg.dashboard_uid}?${{__url_time_range}}"
            "&${datasource:queryparam}&${job:queryparam}"
            "&var-application=${__data.fields.application}&var-group=${__data.fields.group}"
        ),
        "targetBlank": False,
    }


def _row(title: str) -> dict[str, Any]:
    return {"type": "row", "title": title, "collapsed": False, "panels": []}


@dataclass
class _Layout:
    """Places panels left to right, 24 columns wide, and numbers them."""

    panels: list[dict[str, Any]] = field(default_factory=list)
    x: int = 0
    y: int = 0
    line_height: int = 0

    def _newline(self) -> None:
        self.y += self.line_height
        self.x = 0
        self.line_height = 0

    def row(self, title: str) -> None:
        if self.x:
            self._newline()
        self.place(_row(title), 24, 1)
        self._newline()

    def place(self, panel: dict[str, Any], width: int, height: int) -> None:
        if self.x + width > 24:
            self._newline()
        panel = {"id": len(self.panels) + 1, **panel}
        if panel["type"] != "row":
            panel["datasource"] = DATASOURCE
            for index, query in enumerate(panel["targets"]):
                query["refId"] = chr(ord("A") + index)
        panel["gridPos"] = {"h": height, "w": width, "x": self.x, "y": self.y}
        self.panels.append(panel)
        self.x += width
        self.line_height = max(self.line_height, height)


def _variable(name: str, label: str, query: str, description: str) -> dict[str, Any]:
    return {
        "type": "query",
        "name": name,
        "label": label,
        "description": description,
        "datasource": DATASOURCE,
        "definition": query,
        "query": query,
        "refresh": 2,  # on time range change: new applications and groups appear
        "regex": "",
        "sort": 1,
        "multi": True,
        "includeAll": True,
        # Not Grafana's default alternation of every value: a value appearing after the
        # dashboard loaded is still matched.
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "options": [],
        "hide": 0,
    }


def templating() -> list[dict[str, Any]]:
    failures = m.FAILURES
    return [
        {
            "type": "datasource",
            "name": "datasource",
            "label": "Data source",
            "query": "prometheus",
            "regex": "",
            "current": {},
            "options": [],
            "hide": 0,
            "refresh": 1,
            "multi": False,
            "includeAll": False,
        },
        _variable(
            "job",
            "Job",
            f"label_values({m.BUILD_INFO}, job)",
            "Scrape jobs of the exporter.",
        ),
        _variable(
            "instance",
            "Instance",
            f"label_values({m.BUILD_INFO}{{{JOB}}}, instance)",
            "Exporter processes; filters the health row (failure counts are shared).",
        ),
        _variable(
            "application",
            "Application",
            f"label_values({failures}{{{JOB}}}, application)",
            "Okta applications (AppInstance display names) with failures.",
        ),
        _variable(
            "group",
            "Group",
            f"label_values({failures}{{{JOB}, {APPLICATION}}}, group)",
            "Okta groups pushed to the selected applications.",
        ),
        _variable(
            "actor",
            "Actor",
            f"label_values({failures}{{{JOB}, {APPLICATION}, {GROUP}}}, actor)",
            "Who or what triggered the failed pushes.",
        ),
    ]


def panels(cfg: MixinConfig) -> list[dict[str, Any]]:
    n = Names(cfg)
    layout = _Layout()
    failures_range = _ni(m.FAILURES, RANGE, *EVENT_FILTERS)
    failures_rate = _ni(m.FAILURES, RATE, *EVENT_FILTERS)
    mapping_state = selector(n.mapping_failing, JOB, APPLICATION, GROUP)
    last_failure = f"max without (instance) ({selector(m.LAST_FAILURE, JOB, APPLICATION, GROUP)})"

    top_groups = _fn("topk", _sum("job, application, group", failures_range) + " > 0", "25,")

    def by_kind(kind: str, window: str) -> str:
        return _ni(m.FAILURES_BY_KIND, window, JOB, APPLICATION, f'kind="{kind}"')

    layout.row("Overview")
    layout.place(
        stat(
            "Failures",
            "Distinct group push failure events in the time range, every kind.",
            [target(f"{_fn('round', _sum('', failures_range))}\nor vector(0)", instant=True)],
            thresholds=_thresholds((None, "green"), (1, "orange")),
        ),
        5,
        4,
    )
    layout.place(
        stat(
            "Terminal / retried",
            "Terminal failures need an admin: Okta will not retry them. Retried ones may fix "
            "themselves; they are only seen with the System Log poller. Not filtered by "
            "group or actor.",
            [
                target(
                    f"{_fn('round', _sum('', by_kind(m.TERMINAL_KIND, RANGE)))}\nor vector(0)",
                    "terminal",
                    instant=True,
                ),
                target(
                    f"{_fn('round', _sum('', by_kind(m.RETRIED_KIND, RANGE)))}\nor vector(0)",
                    "retried",
                    instant=True,
                ),
            ],
        ),
        5,
        4,
    )
    layout.place(
        stat(
            "Mappings failing now",
            "Application and group pairs failing now: Okta's Group Push Mapping API where "
            "its last reading is fresh (ERROR), else the System Log poller's mapping state "
            f"where it runs, otherwise a failure within the last {cfg.stuck_after}. Needs "
            "the bundled recording rules.",
            [target(f"count({mapping_state} == 1) or vector(0)", instant=True)],
            thresholds=_thresholds((None, "green"), (1, "red")),
        ),
        5,
        4,
    )
    layout.place(
        stat(
            "Since last failure",
            "Time since Okta published the newest failure of the selected applications and groups.",
            [target(f"time() - max({last_failure})", instant=True)],
            unit="s",
            no_value="never",
            decimals=None,
        ),
        5,
        4,
    )
    layout.place(
        stat(
            "Exporter up",
            "Exporter instances that answered their last scrape.",
            [target(f"sum({selector('up', *HEALTH_FILTERS)}) or vector(0)", instant=True)],
            thresholds=_thresholds((None, "red"), (1, "green")),
        ),
        4,
        4,
    )

    layout.row("Failures by application, group and actor")
    layout.place(
        timeseries(
            "Failures by application",
            "New failure events per interval. Click a series to see that application's groups.",
            [target(_sum("application", failures_rate), "{{application}}")],
            stacked=True,
            bars=True,
            links=[_drill_down(cfg, "${__field.labels.application}")],
        ),
        12,
        8,
    )
    layout.place(
        timeseries(
            "Failures by group",
            "New failure events per interval and group; pick an application to narrow it.",
            [target(_sum("application, group", failures_rate), "{{application}} / {{group}}")],
            stacked=True,
            bars=True,
        ),
        12,
        8,
    )
    layout.place(
        table(
            "Top groups",
            "Groups with the most failures in the time range and when Okta published the "
            "newest. Click an application to drill down.",
            [
                target(
                    top_groups,
                    instant=True,
                    table=True,
                ),
                target(
                    f"1000 * {last_failure}\nand on (job, application, group)\n{top_groups}",
                    instant=True,
                    table=True,
                ),
            ],
            rename={
                "application": "Application",
                "group": "Group",
                "Value #A": "Failures",
                "Value #B": "Last failure",
            },
            overrides=[
                _override("Failures", ("unit", "short"), ("decimals", 0)),
                _override("Last failure", ("unit", "dateTimeFromNow")),
                _override(
                    "Application", ("links", [_drill_down(cfg, "${__data.fields.application}")])
                ),
                _override("Group", ("links", [_group_link(cfg)])),
            ],
            sort_by="Failures",
        ),
        12,
        9,
    )
    layout.place(
        {
            "type": "bargauge",
            "title": "Top actors",
            "description": "Who or what triggered the pushes that failed, in the time range.",
            "targets": [
                target(
                    _fn("topk", _fn("round", _sum("actor", failures_range)) + " > 0", "10,"),
                    "{{actor}}",
                    instant=True,
                )
            ],
            "fieldConfig": {
                "defaults": {"unit": "short", "decimals": 0, "color": {"mode": "continuous-YlRd"}},
                "overrides": [],
            },
            "options": {
                "orientation": "horizontal",
                "displayMode": "gradient",
                "showUnfilled": True,
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            },
        },
        6,
        9,
    )
    reasons = _ni(m.FAILURE_REASONS, RANGE, JOB, APPLICATION)
    layout.place(
        {
            "type": "piechart",
            "title": "Failure reasons",
            "description": "Why pushes failed (credentials, permission, rate_limited, "
            "not_found, duplicate, validation, network, other), from the System Log poller. "
            "Not filtered by group or actor.",
            "targets": [
                target(_fn("round", _sum("reason", reasons)) + " > 0", "{{reason}}", instant=True)
            ],
            "fieldConfig": {"defaults": {"unit": "short", "decimals": 0}, "overrides": []},
            "options": {
                "pieType": "donut",
                "legend": {"displayMode": "table", "placement": "right", "values": ["value"]},
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            },
        },
        6,
        9,
    )
    layout.place(
        timeseries(
            "Terminal and retried failures",
            "New failure events per interval by kind. Not filtered by group or actor.",
            [
                target(_sum("kind", _ni(m.FAILURES_BY_KIND, RATE, JOB, APPLICATION)), "{{kind}}"),
            ],
            stacked=True,
            bars=True,
        ),
        12,
        8,
    )
    spike = selector(n.app_spike, JOB, APPLICATION)
    baseline = selector(n.app_baseline, JOB, APPLICATION)
    layout.place(
        timeseries(
            f"Failures per {cfg.spike_window} and spike threshold",
            f"Failures in the last {cfg.spike_window} by application, and the level above "
            f"which the spike alert fires: {cfg.spike_factor:g} times the mean of the previous "
            f"{cfg.spike_baseline}, at least {cfg.spike_floor}. Needs the bundled recording "
            "rules.",
            [
                target(f"sum by (application) ({spike})", "{{application}}"),
                target(
                    f"clamp_min(\n  {cfg.spike_factor:g} * sum by (application) "
                    f"({baseline} or {spike} * 0),\n  {cfg.spike_floor}\n)",
                    "{{application}} spike threshold",
                ),
            ],
            overrides=[
                {
                    "matcher": {"id": "byRegexp", "options": ".* spike threshold"},
                    "properties": [
                        {
                            "id": "custom.lineStyle",
                            "value": {"fill": "dash", "dash": [10, 10]},
                        }
                    ],
                }
            ],
        ),
        12,
        8,
    )
    layout.place(
        table(
            "Failing mappings",
            "Application and group pairs failing now (see Mappings failing now) and when "
            "Okta published their newest failure.",
            [
                target(f"{mapping_state} == 1", instant=True, table=True),
                target(
                    f"1000 * {last_failure}\nand on (job, application, group)\n"
                    f"({mapping_state} == 1)",
                    instant=True,
                    table=True,
                ),
            ],
            rename={
                "application": "Application",
                "group": "Group",
                "Value #B": "Last failure",
            },
            overrides=[
                _override("Last failure", ("unit", "dateTimeFromNow")),
                _override(
                    "Application", ("links", [_drill_down(cfg, "${__data.fields.application}")])
                ),
                _override("Group", ("links", [_group_link(cfg)])),
            ],
            sort_by="Last failure",
            hide=("Value #A",),
        ),
        24,
        7,
    )

    in_error = selector(m.MAPPING_STATUS, JOB, APPLICATION, GROUP, f'status="{m.ERROR_STATUS}"')
    error_now = f"max without (instance, status) ({in_error}) == 1"
    layout.place(
        table(
            "Broken now",
            "Group push mappings in ERROR by Okta's Group Push Mapping API, as of the "
            "exporter's last reading: the category of Okta's error summary and when Okta "
            "last pushed the group. Empty without the reconciler (--okta.mappings-interval).",
            [
                target(
                    f"max without (instance) "
                    f"({selector(m.MAPPING_ERROR_REASON, JOB, APPLICATION, GROUP)})\n"
                    f"and on (job, application, group)\n({error_now})",
                    instant=True,
                    table=True,
                ),
                target(
                    f"1000 * max without (instance) "
                    f"({selector(m.MAPPING_LAST_PUSH, JOB, APPLICATION, GROUP)})\n"
                    f"and on (job, application, group)\n({error_now})",
                    instant=True,
                    table=True,
                ),
            ],
            rename={
                "application": "Application",
                "group": "Group",
                "reason": "Error summary category",
                "Value #B": "Last push",
            },
            overrides=[
                _override("Last push", ("unit", "dateTimeFromNow")),
                _override(
                    "Application", ("links", [_drill_down(cfg, "${__data.fields.application}")])
                ),
                _override("Group", ("links", [_group_link(cfg)])),
            ],
            sort_by="Last push",
            hide=("Value #A",),
        ),
        18,
        7,
    )
    statuses = selector(m.MAPPING_STATUS, JOB, APPLICATION, GROUP)
    layout.place(
        stat(
            "Mappings by status",
            "Group push mappings of the selected applications and groups by Okta's status: "
            "ACTIVE, ERROR (Okta pushes nothing), INACTIVE (turned off).",
            [
                target(
                    f"sum by (status) (max without (instance) ({statuses}))",
                    "{{status}}",
                    instant=True,
                )
            ],
            thresholds=_thresholds((None, "text")),
        ),
        6,
        7,
    )

    ignored_users = _ni(m.USERS_IGNORED, RATE, JOB, APPLICATION, GROUP)
    layout.place(
        timeseries(
            "Users ignored while pushing",
            "Events in which Okta pushed the group but ignored some of its users "
            "(app.user_management.grouppush.mapping.okta.users.ignored): not a failed push, "
            "but members are missing downstream. From the System Log poller.",
            [target(_sum("application, group", ignored_users), "{{application}} / {{group}}")],
            stacked=True,
            bars=True,
        ),
        12,
        8,
    )

    layout.row("Exporter health")
    deliveries = _ni_process(m.DELIVERIES, RATE, *HEALTH_FILTERS)
    layout.place(
        timeseries(
            "Hook requests by outcome",
            "Requests to the hook endpoints by response code: 204 counted, 401 bad secret, "
            "400/413/415 bad request, 503 storage unavailable; and the deliveries Okta gave "
            "up on (event_hook.delivery in its System Log), which never arrived.",
            [
                target(_sum("endpoint, code", deliveries), "{{endpoint}} {{code}}"),
                target(
                    _sum("", _ni_process(m.HOOK_DELIVERY_FAILURES, RATE, *HEALTH_FILTERS)),
                    "Okta gave up",
                ),
            ],
            stacked=True,
            bars=True,
        ),
        8,
        8,
    )
    rejected = _ni_process(m.DELIVERIES, RATE, *HEALTH_FILTERS, 'code!~"2.."')
    layout.place(
        timeseries(
            "Rejected hook requests",
            "Every request not answered 2xx. Okta never retries a 4xx: a rejected delivery "
            "is lost.",
            [
                target(
                    _sum("instance, endpoint, code", rejected), "{{instance}} {{endpoint}} {{code}}"
                )
            ],
            bars=True,
        ),
        8,
        8,
    )
    layout.place(
        timeseries(
            "Events: received, duplicate, invalid",
            "Events read per source and kind (duplicates included), those not counted again "
            "because their uuid was already counted, and items skipped as invalid.",
            [
                target(
                    _sum("source, kind", _ni_process(m.EVENTS_RECEIVED, RATE, *HEALTH_FILTERS)),
                    "received {{source}} {{kind}}",
                ),
                target(
                    _sum("source", _ni_process(m.DUPLICATES, RATE, *HEALTH_FILTERS)),
                    "duplicate {{source}}",
                ),
                target(
                    _sum("source, reason", _ni_process(m.INVALID_EVENTS, RATE, *HEALTH_FILTERS)),
                    "invalid {{source}} {{reason}}",
                ),
            ],
        ),
        8,
        8,
    )
    layout.place(
        timeseries(
            "System Log poller lag",
            "How far the poller's cursor is behind now, and the time since its last "
            "successful poll.",
            [
                target(
                    f"max by (instance) ({selector(m.POLL_LAG, *HEALTH_FILTERS)})",
                    "cursor lag {{instance}}",
                ),
                target(
                    "time() - max by (instance) "
                    f"({selector(m.POLL_LAST_SUCCESS, *HEALTH_FILTERS)})",
                    "since last success {{instance}}",
                ),
            ],
            unit="s",
        ),
        8,
        8,
    )
    layout.place(
        timeseries(
            "Okta API budget",
            "Share of the System Log rate limit left, and whether Okta's API answers.",
            [
                target(
                    f"{selector(m.RATE_LIMIT_REMAINING, *HEALTH_FILTERS)}\n"
                    f"/ {selector(m.RATE_LIMIT_LIMIT, *HEALTH_FILTERS)}",
                    "budget left {{instance}}",
                ),
                target(f"{selector(m.OKTA_API_UP, *HEALTH_FILTERS)}", "Okta API up {{instance}}"),
            ],
            unit="percentunit",
            overrides=[
                {
                    "matcher": {"id": "byRegexp", "options": "Okta API up.*"},
                    "properties": [
                        {"id": "unit", "value": "none"},
                        {"id": "custom.axisPlacement", "value": "right"},
                    ],
                },
            ],
        ),
        8,
        8,
    )
    layout.place(
        timeseries(
            "Poll requests by status",
            "System Log requests by HTTP status; 429 means rate-limited.",
            [
                target(
                    _sum("status", _ni_process(m.POLL_REQUESTS, RATE, *HEALTH_FILTERS)),
                    "{{status}}",
                )
            ],
            stacked=True,
            bars=True,
        ),
        8,
        8,
    )
    layout.place(
        timeseries(
            "Group push mapping reconciler",
            "Time since the reconciler last read every mapping from Okta's Group Push "
            "Mapping API, and how long that reading took (paced within the rate-limit share).",
            [
                target(
                    "time() - max by (instance) "
                    f"({selector(m.RECONCILE_LAST_SUCCESS, *HEALTH_FILTERS)})",
                    "since last reading {{instance}}",
                ),
                target(
                    f"max by (instance) ({selector(m.RECONCILE_DURATION, *HEALTH_FILTERS)})",
                    "reading took {{instance}}",
                ),
            ],
            unit="s",
        ),
        8,
        8,
    )
    layout.place(
        timeseries(
            "Reconciler errors and disagreements",
            "Failed requests of the reconciler by endpoint and status, and mappings on which "
            "Okta's API and the events disagreed (a missed event, by kind).",
            [
                target(
                    _sum(
                        "endpoint, status",
                        _ni_process(m.RECONCILE_ERRORS, RATE, *HEALTH_FILTERS),
                    ),
                    "error {{endpoint}} {{status}}",
                ),
                target(
                    _sum("kind", _ni_process(m.STATE_DISAGREEMENTS, RATE, *HEALTH_FILTERS)),
                    "disagreement {{kind}}",
                ),
            ],
            bars=True,
        ),
        8,
        8,
    )
    layout.place(
        timeseries(
            "Series and label overflow",
            "Event-derived series the exporter holds, and label values folded into the "
            "overflow value because a label reached its cap.",
            [
                target(
                    f"max by (instance) ({selector(m.SERIES, *HEALTH_FILTERS)})",
                    "series {{instance}}",
                ),
                target(
                    _sum("label", _ni_process(m.LABEL_OVERFLOW, RATE, *HEALTH_FILTERS)),
                    "overflow {{label}}",
                ),
            ],
            overrides=[
                {
                    "matcher": {"id": "byRegexp", "options": "overflow .*"},
                    "properties": [
                        {"id": "custom.axisPlacement", "value": "right"},
                        {"id": "custom.drawStyle", "value": "bars"},
                    ],
                }
            ],
        ),
        8,
        8,
    )
    layout.place(
        timeseries(
            "Storage errors",
            "Failed reads and writes of the exporter's state; deliveries meanwhile get 503.",
            [
                target(
                    _sum(
                        "instance, operation",
                        _ni_process(m.STORAGE_ERRORS, RATE, *HEALTH_FILTERS),
                    ),
                    "{{instance}} {{operation}}",
                )
            ],
            bars=True,
        ),
        8,
        8,
    )
    layout.place(
        table(
            "Instances",
            "Exporter processes, their version and whether they answer.",
            [
                target(
                    f"max by (job, instance, version, python_version) "
                    f"({selector(m.BUILD_INFO, *HEALTH_FILTERS)})",
                    instant=True,
                    table=True,
                ),
                target(
                    f"max by (job, instance) ({selector('up', *HEALTH_FILTERS)})",
                    instant=True,
                    table=True,
                ),
            ],
            rename={
                "instance": "Instance",
                "version": "Version",
                "python_version": "Python",
                "Value #B": "Up",
            },
            overrides=[],
            sort_by="Instance",
            hide=("Value #A",),
        ),
        8,
        8,
    )
    return layout.panels


def dashboard(cfg: MixinConfig) -> dict[str, Any]:
    """The dashboard for provisioning: its datasource is the `datasource` variable."""
    return {
        "id": None,
        "uid": cfg.dashboard_uid,
        "title": cfg.dashboard_title,
        "description": "Okta Group Push failures by application, group and actor, from "
        "okta-group-push-exporter.",
        "tags": list(cfg.dashboard_tags),
        "timezone": "",
        "editable": True,
        "graphTooltip": 1,
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "refresh": cfg.dashboard_refresh,
        "schemaVersion": cfg.schema_version,
        "version": 1,
        "weekStart": "",
        "time": {"from": cfg.dashboard_time_from, "to": "now"},
        "timepicker": {},
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "links": [
            {
                "title": "Runbooks",
                "type": "link",
                "url": cfg.runbook_url,
                "icon": "doc",
                "targetBlank": True,
                "asDropdown": False,
                "includeVars": False,
                "keepTime": False,
                "tags": [],
                "tooltip": "What each alert means and how to fix it",
            }
        ],
        "templating": {"list": templating()},
        "panels": panels(cfg),
    }


def import_dashboard(cfg: MixinConfig) -> dict[str, Any]:
    """The grafana.com variant: the import dialog asks for a Prometheus datasource.

    `__inputs` are resolved only by Grafana's import dialog and API; a provisioned file with
    them fails with "Datasource ${DS_PROMETHEUS} was not found" (grafana/grafana#10786), so
    this is a separate file. The chosen datasource becomes the variable's default.
    """
    board = copy.deepcopy(dashboard(cfg))
    panel_types = sorted({p["type"] for p in board["panels"] if p["type"] != "row"})
    names = {
        "bargauge": "Bar gauge",
        "piechart": "Pie chart",
        "stat": "Stat",
        "table": "Table",
        "timeseries": "Time series",
    }
    variable = board["templating"]["list"][0]
    variable["current"] = {
        "selected": True,
        "text": f"${{{IMPORT_INPUT}}}",
        "value": f"${{{IMPORT_INPUT}}}",
    }
    return {
        "__inputs": [
            {
                "name": IMPORT_INPUT,
                "label": "Prometheus",
                "description": "The Prometheus that scrapes okta-group-push-exporter",
                "type": "datasource",
                "pluginId": "prometheus",
                "pluginName": "Prometheus",
            }
        ],
        "__elements": {},
        "__requires": [
            {
                "type": "grafana",
                "id": "grafana",
                "name": "Grafana",
                "version": cfg.grafana_min_version,
            },
            {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
            *({"type": "panel", "id": t, "name": names[t], "version": ""} for t in panel_types),
        ],
        **board,
    }


def datasource_provisioning(cfg: MixinConfig) -> dict[str, Any]:
    return {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "Prometheus",
                "type": "prometheus",
                "uid": cfg.datasource_uid,
                "access": "proxy",
                "url": cfg.datasource_url,
                "isDefault": True,
                # $__rate_interval is at least four scrape intervals: tell Grafana ours.
                "jsonData": {"timeInterval": cfg.scrape_interval, "httpMethod": "POST"},
                "editable": False,
            }
        ],
    }


def dashboard_provisioning(cfg: MixinConfig) -> dict[str, Any]:
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "okta-group-push",
                "orgId": 1,
                "folder": cfg.dashboards_folder,
                "type": "file",
                "disableDeletion": False,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 60,
                "options": {"path": cfg.dashboards_path, "foldersFromFilesStructure": False},
            }
        ],
    }
