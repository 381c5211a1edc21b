"""Prometheus recording and alerting rules, as data.

One rule group holds the recording rules and, after them, the alerts that read them: rules
of a group run in order, so an alert sees the recording made in the same evaluation and
fires at the first evaluation after the scrape that shows a failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grafana.mixin import metrics as m
from grafana.mixin.config import MixinConfig
from grafana.mixin.promql import indent, new_increase, selector

CRITICAL = "critical"
WARNING = "warning"
INFO = "info"
SEVERITIES = (CRITICAL, WARNING, INFO)


@dataclass(frozen=True, slots=True)
class Recording:
    record: str
    expr: str


@dataclass(frozen=True, slots=True)
class Alert:
    """One alerting rule in the house style (STYLE 12)."""

    name: str
    expr: str
    severity: str
    summary: str  # static: the same words for every instance of the alert
    description: str  # templated: names what is failing
    for_: str = ""
    # A failure alert reports on Okta; the exporter being down makes it meaningless, so
    # Alertmanager inhibits it while the exporter is down or absent.
    failure: bool = False
    # The way to the fix, as annotations after the description: (name, template) pairs,
    # e.g. the reason and the Okta links. A template that finds nothing renders empty,
    # and Prometheus leaves an empty annotation out.
    fix: tuple[tuple[str, str], ...] = ()


class Names:
    """Recording rule names (`level:metric:operations`), shared with the dashboard."""

    def __init__(self, cfg: MixinConfig) -> None:
        self.terminal = (
            f"application:okta_group_push_terminal_failures:increase{cfg.terminal_window}"
        )
        self.group_recent = (
            f"application_group:okta_group_push_failures:increase{cfg.terminal_window}"
        )
        self.app_spike = f"application:okta_group_push_failures:increase{cfg.spike_window}"
        self.app_baseline = (
            f"application:okta_group_push_failures:increase{cfg.spike_window}"
            f"_avg{cfg.spike_baseline}"
        )
        self.group_hour = f"application_group:okta_group_push_failures:increase{cfg.stuck_after}"
        self.mapping_error = "application_group:okta_group_push_mapping_error:max"
        self.mapping_failing = "application_group:okta_group_push_mapping_failing:max"
        self.app_reasons = (
            f"application_reason:okta_group_push_failure_reasons:increase{cfg.stuck_after}"
        )


def _sel(cfg: MixinConfig, metric: str, *matchers: str) -> str:
    return selector(metric, cfg.job_selector, *matchers)


def _sum_without(labels: str, inner: str) -> str:
    return f"sum without ({labels}) (\n{indent(inner)}\n)"


def recording_rules(cfg: MixinConfig) -> list[Recording]:
    n = Names(cfg)
    ready = _sel(cfg, m.READY)
    failures = _sel(cfg, m.FAILURES)
    by_kind = _sel(cfg, m.FAILURES_BY_KIND)
    terminal = _sel(cfg, m.FAILURES_BY_KIND, f'kind="{m.TERMINAL_KIND}"')
    baseline = new_increase(by_kind, cfg.spike_baseline, ready, offset=cfg.spike_window)
    error_status = _sel(cfg, m.MAPPING_STATUS, f'status="{m.ERROR_STATUS}"')
    return [
        Recording(
            n.terminal,
            _sum_without("event_type, kind", new_increase(terminal, cfg.terminal_window, ready)),
        ),
        Recording(
            n.group_recent,
            _sum_without("actor", new_increase(failures, cfg.terminal_window, ready)),
        ),
        Recording(
            n.app_spike,
            _sum_without("event_type, kind", new_increase(by_kind, cfg.spike_window, ready)),
        ),
        Recording(
            n.app_baseline,
            f"{_sum_without('event_type, kind', baseline)}\n/ {cfg.spike_baseline_periods}",
        ),
        Recording(
            n.group_hour,
            _sum_without("actor", new_increase(failures, cfg.stuck_after, ready)),
        ),
        # Why an application's pushes failed lately, for the alerts' `reason` annotation.
        Recording(
            n.app_reasons,
            new_increase(_sel(cfg, m.FAILURE_REASONS), cfg.stuck_after, ready),
        ),
        # Okta's own answer: 1 while the Group Push Mapping API says ERROR, 0 for ACTIVE or
        # INACTIVE; only while its last complete reading is fresh.
        Recording(
            n.mapping_error,
            f"max without (instance, status) ({error_status})\n"
            f"and on (job)\n"
            f"time() - max without (instance) ({_sel(cfg, m.RECONCILE_LAST_SUCCESS)})\n"
            f"  < {cfg.mapping_api_fresh_seconds}",
        ),
        # "Failing now", what the dashboard and the stuck alert read: Okta's API where it
        # answers freshly for the mapping, else the events' state (the System Log poller's
        # where it has one), else "failed within the last hour" (event hooks report
        # failures, never successes).
        Recording(
            n.mapping_failing,
            f"{n.mapping_error}\n"
            f"or\n"
            f"max without (instance) ({_sel(cfg, m.MAPPING_FAILING)})\n"
            f"or\n"
            f"{n.group_hour} > bool 0",
        ),
    ]


_MAPPING_ARGS = "$labels.job $labels.application $labels.group"
_APP_ARGS = "$labels.job $labels.application"


def _first_label(query: str, args: str, label: str) -> str:
    """A template: `label` of the first series `query` (a printf format) returns, or nothing."""
    return (
        f'{{{{ with query (printf "{query}" {args}) }}}}'
        f'{{{{ . | first | label "{label}" }}}}{{{{ end }}}}'
    )


def _links(*, per_mapping: bool = True) -> tuple[tuple[str, str], ...]:
    """The Okta links of the alert's mapping (or application), read from the info series.

    A template query rather than a join in the alert's expression: the alert fires alike
    with or without the info series (an exporter that does not export it yet, a scrape that
    missed it), and its labels, which identify it in Alertmanager, do not change when a
    link does.
    """
    if per_mapping:
        info = f"{m.MAPPING_INFO}{{job=%q, application=%q, group=%q}}"
        return (
            ("admin_url", _first_label(info, _MAPPING_ARGS, "admin_url")),
            ("system_log_url", _first_label(info, _MAPPING_ARGS, "system_log_url")),
        )
    # The Admin Console page is the application's: any of its mappings carries it.
    info = f"{m.MAPPING_INFO}{{job=%q, application=%q}}"
    return (("admin_url", _first_label(info, _APP_ARGS, "admin_url")),)


def _reason(cfg: MixinConfig, *, per_mapping: bool = True) -> tuple[str, str]:
    """The `reason` annotation: Okta's own for the mapping (its Group Push Mapping API's
    errorSummary), else the most frequent reason of the application's recent failures."""
    n = Names(cfg)
    app_reason = _first_label(
        f"topk(1, {n.app_reasons}{{job=%q, application=%q}} > 0)", _APP_ARGS, "reason"
    )
    if not per_mapping:
        return ("reason", app_reason)
    mapping_reason = (
        f"max by (reason) ({m.MAPPING_ERROR_REASON}{{job=%q, application=%q, group=%q}} == 1)"
    )
    return (
        "reason",
        f'{{{{ with query (printf "{mapping_reason}" {_MAPPING_ARGS}) }}}}'
        f'{{{{ . | first | label "reason" }}}}{{{{ else }}}}{app_reason}{{{{ end }}}}',
    )


def alerts(cfg: MixinConfig) -> list[Alert]:
    n = Names(cfg)
    p = cfg.alert_prefix
    up = _sel(cfg, "up")
    rejected = _sel(cfg, m.DELIVERIES, 'code=~"401|403"')
    too_many = _sel(cfg, m.POLL_REQUESTS, 'status="429"')
    overflow = _sel(cfg, m.LABEL_OVERFLOW)
    storage = _sel(cfg, m.STORAGE_ERRORS)
    hook_delivery = _sel(cfg, m.HOOK_DELIVERY_FAILURES)
    top_groups = (
        "{{ range $i, $s := query (printf "
        f'"topk(5, {n.group_hour}{{job=%q, application=%q}} > 0)" '
        '$labels.job $labels.application) | sortByLabel "group" }}'
        '{{ if $i }}, {{ end }}{{ $s.Labels.group }} ({{ printf "%.0f" $s.Value }})'
        "{{ end }}"
    )
    poller_state = (
        f'{{{{ with query (printf "{n.mapping_error}{{job=%q, application=%q, group=%q}}" '
        "$labels.job $labels.application $labels.group) }}"
        "Okta's Group Push Mapping API reports it in ERROR{{ else }}"
        f'{{{{ with query (printf "{m.MAPPING_FAILING}{{job=%q, application=%q, group=%q}}" '
        "$labels.job $labels.application $labels.group) }}"
        "the System Log poller has seen no successful push in that time"
        "{{ else }}failures have kept arriving in that time (there is no System Log poller"
        " state for this mapping){{ end }}{{ end }}"
    )
    error_reason = (
        '{{ with query (printf "max by (reason) ('
        f'{m.MAPPING_ERROR_REASON}{{job=%q, application=%q, group=%q}})" '
        "$labels.job $labels.application $labels.group) }}"
        ' (reason: {{ . | first | label "reason" }}){{ end }}'
    )
    return [
        # The kind of a failure is known per application (failures_by_kind has no group
        # label) and the group per application and group (failures_total has no kind): a
        # group alerts when it failed while its application had a terminal failure.
        Alert(
            f"{p}TerminalFailure",
            f"{n.group_recent} > 0\nand ignoring (group)\n{n.terminal} > 0",
            WARNING,
            "Okta failed to push a group and will not retry.",
            f"Okta failed to push group {{{{ $labels.group }}}} to {{{{ $labels.application }}}}"
            f' ({{{{ printf "%.0f" $value }}}} failure(s) in the last {cfg.terminal_window}), and'
            f" {{{{ $labels.application }}}} had a failure Okta does not retry in that time:"
            f" the group's members in {{{{ $labels.application }}}} stay wrong until an admin"
            " fixes the cause and pushes the group again.",
            failure=True,
            fix=(_reason(cfg), *_links()),
        ),
        Alert(
            f"{p}FailureSpike",
            f"{n.app_spike} >= {cfg.spike_floor}\n"
            f"and\n{n.app_spike}\n"
            f"  > {cfg.spike_factor:g} * ({n.app_baseline} or {n.app_spike} * 0)",
            CRITICAL,
            "Group push failures of an application are far above their usual rate.",
            f'{{{{ $labels.application }}}} had {{{{ printf "%.0f" $value }}}} group push failures'
            f" in the last {cfg.spike_window}, more than {cfg.spike_factor:g} times its mean of"
            f" the previous {cfg.spike_baseline} and at least {cfg.spike_floor}."
            f" Groups failing most: {top_groups}.",
            failure=True,
            fix=(_reason(cfg, per_mapping=False), *_links(per_mapping=False)),
        ),
        Alert(
            f"{p}MappingStuck",
            f"min_over_time({n.mapping_failing}[{cfg.stuck_after}]) == 1\n"
            f"and\nlast_over_time({n.mapping_failing}[{cfg.stuck_lookback}]"
            f" offset {cfg.stuck_after}) == 1",
            CRITICAL,
            "A group push mapping has been failing for over an hour.",
            f"Group {{{{ $labels.group }}}} has not been pushed to {{{{ $labels.application }}}}"
            f" for over {cfg.stuck_after}: {poller_state}. Its members in"
            " {{ $labels.application }} are out of date.",
            failure=True,
            fix=(_reason(cfg), *_links()),
        ),
        Alert(
            f"{p}MappingError",
            # In ERROR at every reading for the whole time, and at one that old; and still
            # now: a reading gone stale (older than mapping_api_fresh_seconds) says nothing.
            f"min_over_time({n.mapping_error}[{cfg.mapping_error_for}]) == 1\n"
            f"and\nlast_over_time({n.mapping_error}[{cfg.stuck_lookback}]"
            f" offset {cfg.mapping_error_for}) == 1\n"
            f"and\nlast_over_time({n.mapping_error}[{cfg.mapping_error_gap}]) == 1",
            WARNING,
            "Okta reports a group push mapping in ERROR.",
            f"Okta's Group Push Mapping API has reported the push of group {{{{ $labels.group }}}}"
            f" to {{{{ $labels.application }}}} in ERROR for over {cfg.mapping_error_for}"
            f"{error_reason}: Okta pushes no membership changes to it until an admin fixes"
            " the cause and pushes the group again.",
            failure=True,
            fix=(_reason(cfg), *_links()),
        ),
        Alert(
            f"{p}ExporterDown",
            f"max without (instance) ({up}) == 0",
            CRITICAL,
            "The Okta group push exporter is down.",
            "No instance of {{ $labels.job }} has answered a scrape for"
            f" {cfg.exporter_down_for}: group push failures of every application and group go"
            " unseen, and Okta deliveries made meanwhile fail.",
            for_=cfg.exporter_down_for,
        ),
        Alert(
            f"{p}ExporterAbsent",
            f"absent({up})",
            CRITICAL,
            "Prometheus has no target for the Okta group push exporter.",
            "Prometheus has had no target in job {{ $labels.job }} for"
            f" {cfg.exporter_absent_for}: nothing scrapes the exporter, so group push failures"
            " of every application and group go unseen.",
            for_=cfg.exporter_absent_for,
        ),
        Alert(
            f"{p}ExporterInstanceDown",
            f"{up} == 0",
            WARNING,
            "An instance of the Okta group push exporter is down.",
            "{{ $labels.instance }} of {{ $labels.job }} has not answered a scrape for"
            f" {cfg.instance_down_for}. Okta deliveries routed to it fail; failures of every"
            " application and group are still counted only if other replicas share its state.",
            for_=cfg.instance_down_for,
        ),
        Alert(
            f"{p}HookAuthFailures",
            _sum_without("code", new_increase(rejected, cfg.auth_window, up, replica_labels=None))
            + " > 0",
            WARNING,
            "Hook requests are rejected for a missing or wrong secret.",
            '{{ $labels.instance }} rejected {{ printf "%.0f" $value }} request(s) to'
            f" {{{{ $labels.endpoint }}}} in the last {cfg.auth_window} for a missing or wrong"
            " secret. Okta never retries a 4xx: if these were its deliveries, the failures they"
            " carried (application and group unknown) are lost; if not, someone is probing"
            " the endpoint.",
        ),
        Alert(
            f"{p}PollerStale",
            # The freshest success of any replica: only one of them may be polling.
            f"time() - max without (instance) ({_sel(cfg, m.POLL_LAST_SUCCESS)})\n"
            f"  > {cfg.poll_stale_after_seconds}",
            WARNING,
            "The Okta System Log poller has not succeeded recently.",
            "{{ $labels.job }} last read the Okta System Log"
            " {{ $value | humanizeDuration }} ago. Retried, rename and rule-created mapping"
            " failures of every application and group, which only the System Log reports,"
            " are not being counted.",
            for_=cfg.poll_stale_for,
        ),
        Alert(
            f"{p}PollerRateLimited",
            f"{_sel(cfg, m.RATE_LIMIT_REMAINING)}\n"
            f"  / {_sel(cfg, m.RATE_LIMIT_LIMIT)}\n"
            f"  < {cfg.rate_limit_min_ratio:g}\n"
            "or\n"
            + _sum_without(
                "status", new_increase(too_many, cfg.rate_limit_window, up, replica_labels=None)
            )
            + " > 0",
            WARNING,
            "The Okta System Log poller is being rate-limited.",
            "{{ $labels.instance }} has less than"
            f" {cfg.rate_limit_min_ratio:.0%} of its Okta System Log rate limit left or got 429"
            f" responses in the last {cfg.rate_limit_window}: failures of every application"
            " and group reach Prometheus late, and other clients of the same Okta API budget"
            " are throttled too.",
            for_=cfg.poll_stale_for,
        ),
        Alert(
            f"{p}ReconcilerStale",
            f"time() - max without (instance) ({_sel(cfg, m.RECONCILE_LAST_SUCCESS)})\n"
            f"  > {cfg.reconcile_stale_after_seconds}",
            WARNING,
            "The exporter has not read the group push mappings from Okta recently.",
            "{{ $labels.job }} last read every group push mapping from Okta's Group Push"
            " Mapping API {{ $value | humanizeDuration }} ago: mappings of any application"
            " and group that broke since are not seen, and the dashboard and alerts fall back"
            " to the events.",
            for_=cfg.reconcile_stale_for,
        ),
        Alert(
            f"{p}LabelOverflow",
            new_increase(overflow, cfg.overflow_window, up, replica_labels=None) + " > 0",
            WARNING,
            "Label values are being folded into the overflow value.",
            '{{ $labels.instance }} folded {{ printf "%.0f" $value }} new value(s) of the'
            f" {{{{ $labels.label }}}} label into the overflow value in the last"
            f" {cfg.overflow_window}: failures of the applications and groups over the cap are"
            " counted together, so dashboards and alerts cannot tell them apart.",
        ),
        Alert(
            f"{p}StorageErrors",
            new_increase(storage, cfg.storage_window, up, replica_labels=None) + " > 0",
            WARNING,
            "The exporter cannot read or write its state.",
            '{{ $labels.instance }} had {{ printf "%.0f" $value }} storage error(s) on'
            f" {{{{ $labels.operation }}}} in the last {cfg.storage_window}. Deliveries it cannot"
            " record are answered 503 and Okta retries them only once, so failures of any"
            " application and group may go uncounted.",
        ),
        Alert(
            f"{p}HookDeliveryFailures",
            # Per process: each failed delivery (uuid) is counted once, by the poller that
            # read it, so the replicas' counts add up rather than repeat.
            _sum_without(
                "instance",
                new_increase(hook_delivery, cfg.hook_delivery_window, up, replica_labels=None),
            )
            + " > 0",
            WARNING,
            "Okta failed to deliver events to the exporter's event hook.",
            'Okta logged {{ printf "%.0f" $value }} failed deliveries to the event hook of'
            f" {{{{ $labels.job }}}} in the last {cfg.hook_delivery_window} (event_hook.delivery"
            " in its System Log) and will not send those events again. The System Log poller"
            " still counts the failures they carried, of every application and group, but"
            " only as fast as it polls: terminal failures reach the alerts later.",
        ),
    ]


def rule_document(cfg: MixinConfig) -> dict[str, Any]:
    """The rule file: one group, recording rules first."""
    rules: list[dict[str, Any]] = [
        {"record": r.record, "expr": r.expr} for r in recording_rules(cfg)
    ]
    for a in alerts(cfg):
        rule: dict[str, Any] = {"alert": a.name, "expr": a.expr}
        if a.for_:
            rule["for"] = a.for_
        rule["labels"] = {"severity": a.severity}
        rule["annotations"] = {
            "summary": a.summary,
            "description": a.description,
            **dict(a.fix),
            "runbook_url": cfg.runbook(a.name),
        }
        rules.append(rule)
    return {"groups": [{"name": "okta-group-push", "rules": rules}]}
