"""The Grafana dashboard, its grafana.com import variant and the provisioning files.

The dashboard is built with Grafana's own dashboards-as-code library, grafana-foundation-sdk
(https://github.com/grafana/grafana-foundation-sdk): typed builders for the dashboard, its
panels, Prometheus queries and variables, so a misspelt option is a type error rather than a
setting Grafana silently ignores. This module chooses what to show; the SDK says how Grafana
spells it.

Queries follow three rules. Counters go through `new_increase`, so a failure that creates
its series is counted (plain `increase()` drops it). Event-derived series are folded with
`max without (instance)` before any sum, because replicas sharing a store expose the same
totals. Windows are `$__range` (totals for the picked time range) or `$__rate_interval`
(per-point increases); none is hard-coded.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any, Protocol, Self, TypeVar

from grafana_foundation_sdk.builders import bargauge, piechart, prometheus, stat, table
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.builders import timeseries as timeseries_builders
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.variants import Dataquery
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as models
from grafana_foundation_sdk.models.piechart import PieChartLegendValues, PieChartType
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from grafana.mixin import metrics as m
from grafana.mixin.config import MixinConfig
from grafana.mixin.promql import indent, new_increase, selector
from grafana.mixin.rules import Names

DATASOURCE: dict[str, str] = {"type": "prometheus", "uid": "${datasource}"}
_DATASOURCE_REF = models.DataSourceRef(type_val=DATASOURCE["type"], uid=DATASOURCE["uid"])
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

# A panel under construction: any of the SDK's panel builders.
PanelBuilder = Builder[models.Panel]
Query = prometheus.Dataquery


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


# The Okta links of a mapping (issue 17), from its info series: one per mapping and
# replica, all replicas alike, so one is kept per mapping before the join.
LINK_LABELS = ("admin_url", "system_log_url")


def with_links(expr: str) -> str:
    """`expr` (by job, application and group) with the mapping's Okta links as labels.

    Rows of mappings without an info series are kept, without links: the `or` adds every
    series of `expr` whose mapping the join did not match.
    """
    info = selector(m.MAPPING_INFO, JOB, APPLICATION, GROUP)
    return (
        f"(\n{indent(expr)}\n)\n"
        f"* on (job, application, group) group_left ({', '.join(LINK_LABELS)})\n"
        f"topk by (job, application, group) (1, max without (instance) ({info}))\n"
        f"or on (job, application, group)\n"
        f"(\n{indent(expr)}\n)"
    )


def target(
    expr: str,
    legend: str = "",
    *,
    instant: bool = False,
    table: bool = False,
    exemplar: bool = False,
) -> Query:
    """A Prometheus query; `exemplar` asks Grafana to show the exemplars of its series."""
    query = (
        prometheus.Dataquery()
        .datasource(DATASOURCE)
        .expr(expr)
        .legend_format(legend or "__auto")
        .exemplar(exemplar)
    )
    query = query.instant() if instant else query.range()
    if table:
        query = query.format(PromQueryFormat.TABLE)
    return query


class _Targeted(Protocol):
    """A panel builder: it takes queries."""

    def with_target(self, target: Builder[Dataquery]) -> Self: ...


_Panel = TypeVar("_Panel", bound=_Targeted)


def _with_targets(panel: _Panel, targets: list[Query]) -> _Panel:
    """`panel` with `targets`, lettered A, B, … in order (Grafana's `refId`)."""
    for index, query in enumerate(targets):
        panel = panel.with_target(query.ref_id(chr(ord("A") + index)))
    return panel


def _thresholds(*steps: tuple[float | None, str]) -> dashboard_builders.ThresholdsConfig:
    return (
        dashboard_builders.ThresholdsConfig()
        .mode(models.ThresholdsMode.ABSOLUTE)
        .steps([models.Threshold(value=value, color=color) for value, color in steps])
    )


def _reduce_last() -> common_builders.ReduceDataOptions:
    return common_builders.ReduceDataOptions().calcs(["lastNotNull"]).fields("").values(False)


def stat_panel(
    title: str,
    description: str,
    targets: list[Query],
    *,
    unit: str = "short",
    thresholds: dashboard_builders.ThresholdsConfig | None = None,
    no_value: str = "",
    decimals: int | None = 0,
) -> stat.Panel:
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .unit(unit)
        .color_scheme(dashboard_builders.FieldColor().mode(models.FieldColorModeId.THRESHOLDS))
        .thresholds(thresholds or _thresholds((None, "text")))
        .reduce_options(_reduce_last())
        .color_mode(common.BigValueColorMode.VALUE)
        .graph_mode(common.BigValueGraphMode.NONE)
        .justify_mode(common.BigValueJustifyMode.AUTO)
        .orientation(common.VizOrientation.AUTO)
        .text_mode(
            common.BigValueTextMode.VALUE_AND_NAME
            if len(targets) > 1
            else common.BigValueTextMode.VALUE
        )
    )
    if decimals is not None:
        panel = panel.decimals(decimals)
    if no_value:
        panel = panel.no_value(no_value)
    return _with_targets(panel, targets)


def _property(key: str, value: Any) -> models.DynamicConfigValue:
    return models.DynamicConfigValue(id_val=key, value=value)


@dataclass(frozen=True)
class Override:
    """Field options for the fields a matcher picks: by name, or by regular expression."""

    name: str
    properties: tuple[tuple[str, Any], ...]
    regexp: bool = False

    def apply(self, panel: Any) -> Any:
        properties = [_property(key, value) for key, value in self.properties]
        if self.regexp:
            return panel.override_by_regexp(self.name, properties)
        return panel.override_by_name(self.name, properties)


def _override(name: str, *properties: tuple[str, Any]) -> Override:
    return Override(name, properties)


def _override_regexp(pattern: str, *properties: tuple[str, Any]) -> Override:
    return Override(pattern, properties, regexp=True)


def timeseries(
    title: str,
    description: str,
    targets: list[Query],
    *,
    unit: str = "short",
    stacked: bool = False,
    bars: bool = False,
    links: list[Builder[models.DashboardLink]] | None = None,
    overrides: list[Override] | None = None,
) -> timeseries_builders.Panel:
    panel = (
        timeseries_builders.Panel()
        .title(title)
        .description(description)
        .unit(unit)
        .min(0)
        .color_scheme(dashboard_builders.FieldColor().mode(models.FieldColorModeId.PALETTE_CLASSIC))
        .draw_style(common.GraphDrawStyle.BARS if bars else common.GraphDrawStyle.LINE)
        .fill_opacity(60 if bars else 10)
        .line_width(1)
        .show_points(common.VisibilityMode.NEVER)
        .span_nulls(False)
        .stacking(
            common_builders.StackingConfig()
            .mode(common.StackingMode.NORMAL if stacked else common.StackingMode.NONE)
            .group("A")
        )
        .data_links(links or [])
        .legend(
            common_builders.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.TABLE)
            .placement(common.LegendPlacement.RIGHT)
            .show_legend(True)
            .calcs(["sum"])
        )
        .tooltip(
            common_builders.VizTooltipOptions()
            .mode(common.TooltipDisplayMode.MULTI)
            .sort(common.SortOrder.DESCENDING)
        )
    )
    for override in overrides or []:
        panel = override.apply(panel)
    return _with_targets(panel, targets)


def table_panel(
    title: str,
    description: str,
    targets: list[Query],
    *,
    rename: dict[str, str],
    overrides: list[Override],
    sort_by: str,
    hide: tuple[str, ...] = (),
) -> table.Panel:
    panel = (
        table.Panel()
        .title(title)
        .description(description)
        .show_header(True)
        .sort_by([common_builders.TableSortByFieldState().display_name(sort_by).desc(True)])
        .with_transformation(models.DataTransformerConfig(id_val="merge", options={}))
        .with_transformation(
            models.DataTransformerConfig(
                id_val="organize",
                options={
                    "excludeByName": {name: True for name in ("Time", "__name__", "job", *hide)},
                    "renameByName": rename,
                },
            )
        )
    )
    for override in overrides:
        panel = override.apply(panel)
    return _with_targets(panel, targets)


def _link(title: str, url: str, *, new_tab: bool = False) -> dict[str, Any]:
    """A data link, as a field option's value (Grafana's `links` property)."""
    return {"title": title, "url": url, "targetBlank": new_tab}


def _drill_down_url(cfg: MixinConfig, value: str) -> str:
    return (
        f"/d/{cfg.dashboard_uid}/{cfg.dashboard_uid}?${{__url_time_range}}"
        f"&${{datasource:queryparam}}&${{job:queryparam}}&var-application={value}"
    )


def _drill_down(cfg: MixinConfig, value: str) -> dict[str, Any]:
    """A link back into this dashboard with the application variable set to `value`."""
    return _link(f"Groups of {value}", _drill_down_url(cfg, value))


def _drill_down_builder(cfg: MixinConfig, value: str) -> Builder[models.DashboardLink]:
    """The same link, for a panel's default data links (the SDK's link builder)."""
    return (
        dashboard_builders.DashboardLink(f"Groups of {value}")
        .url(_drill_down_url(cfg, value))
        .target_blank(False)
    )


def _group_link(cfg: MixinConfig) -> dict[str, Any]:
    return _link(
        "Only this group",
        f"/d/{cfg.dashboard_uid}/{cfg.dashboard_uid}?${{__url_time_range}}"
        "&${datasource:queryparam}&${job:queryparam}"
        "&var-application=${__data.fields.application}&var-group=${__data.fields.group}",
    )


# The link columns of the tables of failing mappings: the value is the URL (from the info
# series), shown as a short text and opened in a new tab; empty where there is no info.
LINK_COLUMNS = {"admin_url": "Okta Admin Console", "system_log_url": "Okta System Log"}
_LINK_TEXT = {"admin_url": "Push Groups", "system_log_url": "Search"}


def _link_column_overrides() -> list[Override]:
    return [
        _override(
            column,
            ("links", [_link(f"Open the {column} page", "${__value.raw}", new_tab=True)]),
            (
                "mappings",
                [
                    {
                        "type": "regex",
                        "options": {"pattern": "https://.+", "result": {"text": _LINK_TEXT[label]}},
                    }
                ],
            ),
        )
        for label, column in LINK_COLUMNS.items()
    ]


@dataclass
class _Layout:
    """Places panels left to right, 24 columns wide, and numbers them."""

    panels: list[PanelBuilder | dashboard_builders.Row] = field(default_factory=list)
    x: int = 0
    y: int = 0
    line_height: int = 0

    def _newline(self) -> None:
        self.y += self.line_height
        self.x = 0
        self.line_height = 0

    def _grid(self, width: int, height: int) -> models.GridPos:
        if self.x + width > 24:
            self._newline()
        grid = models.GridPos(h=height, w=width, x=self.x, y=self.y)
        self.x += width
        self.line_height = max(self.line_height, height)
        return grid

    def row(self, title: str) -> None:
        if self.x:
            self._newline()
        row = dashboard_builders.Row(title).collapsed(False).id(len(self.panels) + 1)
        self.panels.append(row.grid_pos(self._grid(24, 1)))
        self._newline()

    def place(self, panel: Any, width: int, height: int) -> None:
        panel = panel.id(len(self.panels) + 1).datasource(_DATASOURCE_REF)
        self.panels.append(panel.grid_pos(self._grid(width, height)))


def _variable(
    name: str, label: str, query: str, description: str
) -> dashboard_builders.QueryVariable:
    return (
        dashboard_builders.QueryVariable(name)
        # Grafana keys a dashboard's variables by id: unique, as Grafana itself writes it.
        .id(name)
        .label(label)
        .description(description)
        .datasource(_DATASOURCE_REF)
        .query(query)
        .refresh(models.VariableRefresh.ON_TIME_RANGE_CHANGED)  # new values appear
        .regex("")
        .sort(models.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        # Not Grafana's default alternation of every value: a value appearing after the
        # dashboard loaded is still matched.
        .all_value(".*")
        .current(models.VariableOption(selected=True, text=["All"], value=["$__all"]))
        .options([])
        .hide(models.VariableHide.DONT_HIDE)
    )


def templating() -> list[Builder[models.VariableModel]]:
    failures = m.FAILURES
    return [
        dashboard_builders.DatasourceVariable("datasource")
        .id("datasource")
        .label("Data source")
        .type("prometheus")
        .hide(models.VariableHide.DONT_HIDE),
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


def panels(cfg: MixinConfig) -> list[PanelBuilder | dashboard_builders.Row]:
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
        stat_panel(
            "Failures",
            "Distinct group push failure events in the time range, every kind.",
            [target(f"{_fn('round', _sum('', failures_range))}\nor vector(0)", instant=True)],
            thresholds=_thresholds((None, "green"), (1, "orange")),
        ),
        5,
        4,
    )
    layout.place(
        stat_panel(
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
        stat_panel(
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
        stat_panel(
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
        stat_panel(
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
            [target(_sum("application", failures_rate), "{{application}}", exemplar=True)],
            stacked=True,
            bars=True,
            links=[_drill_down_builder(cfg, "${__field.labels.application}")],
        ),
        12,
        8,
    )
    layout.place(
        timeseries(
            "Failures by group",
            "New failure events per interval and group; pick an application to narrow it.",
            [
                target(
                    _sum("application, group", failures_rate),
                    "{{application}} / {{group}}",
                    exemplar=True,
                )
            ],
            stacked=True,
            bars=True,
        ),
        12,
        8,
    )
    layout.place(
        table_panel(
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
        _with_targets(
            bargauge.Panel()
            .title("Top actors")
            .description("Who or what triggered the pushes that failed, in the time range.")
            .unit("short")
            .decimals(0)
            .color_scheme(
                dashboard_builders.FieldColor().mode(models.FieldColorModeId.CONTINUOUS_YL_RD)
            )
            .orientation(common.VizOrientation.HORIZONTAL)
            .display_mode(common.BarGaugeDisplayMode.GRADIENT)
            .show_unfilled(True)
            .reduce_options(_reduce_last()),
            [
                target(
                    _fn("topk", _fn("round", _sum("actor", failures_range)) + " > 0", "10,"),
                    "{{actor}}",
                    instant=True,
                )
            ],
        ),
        6,
        9,
    )
    reasons = _ni(m.FAILURE_REASONS, RANGE, JOB, APPLICATION)
    layout.place(
        _with_targets(
            piechart.Panel()
            .title("Failure reasons")
            .description(
                "Why pushes failed (credentials, permission, rate_limited, not_found, "
                "duplicate, validation, network, other), from the System Log poller. "
                "Not filtered by group or actor."
            )
            .unit("short")
            .decimals(0)
            .pie_type(PieChartType.DONUT)
            .legend(
                piechart.PieChartLegendOptions()
                .display_mode(common.LegendDisplayMode.TABLE)
                .placement(common.LegendPlacement.RIGHT)
                .show_legend(True)
                .values([PieChartLegendValues.VALUE])
            )
            .reduce_options(_reduce_last()),
            [target(_fn("round", _sum("reason", reasons)) + " > 0", "{{reason}}", instant=True)],
        ),
        6,
        9,
    )
    layout.place(
        timeseries(
            "Terminal and retried failures",
            "New failure events per interval by kind. Not filtered by group or actor.",
            [
                target(
                    _sum("kind", _ni(m.FAILURES_BY_KIND, RATE, JOB, APPLICATION)),
                    "{{kind}}",
                    exemplar=True,
                ),
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
                _override_regexp(
                    ".* spike threshold", ("custom.lineStyle", {"fill": "dash", "dash": [10, 10]})
                )
            ],
        ),
        12,
        8,
    )
    layout.place(
        table_panel(
            "Failing mappings",
            "Application and group pairs failing now (see Mappings failing now), when "
            "Okta published their newest failure, and links to the application's Push Groups "
            "tab in the Okta Admin Console and to the System Log search for the mapping.",
            [
                target(with_links(f"{mapping_state} == 1"), instant=True, table=True),
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
                **LINK_COLUMNS,
                "Value #B": "Last failure",
            },
            overrides=[
                _override("Last failure", ("unit", "dateTimeFromNow")),
                _override(
                    "Application", ("links", [_drill_down(cfg, "${__data.fields.application}")])
                ),
                _override("Group", ("links", [_group_link(cfg)])),
                *_link_column_overrides(),
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
        table_panel(
            "Broken now",
            "Group push mappings in ERROR by Okta's Group Push Mapping API, as of the "
            "exporter's last reading: the category of Okta's error summary and when Okta "
            "last pushed the group, with links to the application's Push Groups tab in the "
            "Okta Admin Console and to the System Log search for the mapping. Empty without "
            "the reconciler (--okta.mappings-interval).",
            [
                target(
                    with_links(
                        f"max without (instance) "
                        f"({selector(m.MAPPING_ERROR_REASON, JOB, APPLICATION, GROUP)})\n"
                        f"and on (job, application, group)\n({error_now})"
                    ),
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
                **LINK_COLUMNS,
                "Value #B": "Last push",
            },
            overrides=[
                _override("Last push", ("unit", "dateTimeFromNow")),
                _override(
                    "Application", ("links", [_drill_down(cfg, "${__data.fields.application}")])
                ),
                _override("Group", ("links", [_group_link(cfg)])),
                *_link_column_overrides(),
            ],
            sort_by="Last push",
            hide=("Value #A",),
        ),
        18,
        7,
    )
    statuses = selector(m.MAPPING_STATUS, JOB, APPLICATION, GROUP)
    layout.place(
        stat_panel(
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
                _override_regexp(
                    "Okta API up.*", ("unit", "none"), ("custom.axisPlacement", "right")
                ),
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
                _override_regexp(
                    "overflow .*", ("custom.axisPlacement", "right"), ("custom.drawStyle", "bars")
                )
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
        table_panel(
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


def dashboard_builder(cfg: MixinConfig) -> dashboard_builders.Dashboard:
    """The dashboard for provisioning, as the SDK's builder."""
    builder = (
        dashboard_builders.Dashboard(cfg.dashboard_title)
        .uid(cfg.dashboard_uid)
        .description(
            "Okta Group Push failures by application, group and actor, from "
            "okta-group-push-exporter."
        )
        .tags(list(cfg.dashboard_tags))
        .timezone("")
        .editable()
        .tooltip(models.DashboardCursorSync.CROSSHAIR)
        .fiscal_year_start_month(0)
        .live_now(False)
        .refresh(cfg.dashboard_refresh)
        .version(1)
        .week_start("")
        .time(cfg.dashboard_time_from, "now")
        # No annotation list: Grafana adds its built-in "Annotations & Alerts" itself.
        .link(
            dashboard_builders.DashboardLink("Runbooks")
            .type(models.DashboardLinkType.LINK)
            .url(cfg.runbook_url)
            .icon("doc")
            .target_blank(True)
            .as_dropdown(False)
            .include_vars(False)
            .keep_time(False)
            .tags([])
            .tooltip("What each alert means and how to fix it")
        )
        .variables(templating())
    )
    for panel in panels(cfg):
        if isinstance(panel, dashboard_builders.Row):
            builder = builder.with_row(panel)
        else:
            builder = builder.with_panel(panel)
    return builder


def dashboard(cfg: MixinConfig) -> dict[str, Any]:
    """The dashboard for provisioning: its datasource is the `datasource` variable."""
    board = dashboard_builder(cfg).build()
    # The SDK targets a newer schema; Grafana migrates ours (cfg.grafana_min_version on).
    board.schema_version = cfg.schema_version
    document: dict[str, Any] = json.loads(json.dumps(board, cls=JSONEncoder))
    return document


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
