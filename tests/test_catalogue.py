"""The metric names are a public contract: this test makes a rename visible in review."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from exporter import catalogue
from exporter.catalogue import MetricType
from exporter.metrics.selfmetrics import SelfMetrics
from exporter.okta.metrics import ReconcileMetrics

PINNED = {
    "okta_group_push_failures_total": ("counter", ("application", "group", "actor")),
    "okta_group_push_failures_by_kind_total": ("counter", ("application", "event_type", "kind")),
    "okta_group_push_last_failure_timestamp_seconds": ("gauge", ("application", "group")),
    "okta_group_push_exporter_deliveries_total": ("counter", ("endpoint", "code")),
    "okta_group_push_exporter_events_received_total": ("counter", ("source", "kind")),
    "okta_group_push_exporter_duplicate_events_total": ("counter", ("source",)),
    "okta_group_push_exporter_invalid_events_total": ("counter", ("source", "reason")),
    "okta_group_push_exporter_storage_errors_total": ("counter", ("operation",)),
    "okta_group_push_exporter_ready": ("gauge", ()),
    "okta_group_push_exporter_build_info": ("gauge", ("version", "python_version")),
    # label governance (issue 5)
    "okta_group_push_exporter_label_overflow_total": ("counter", ("label",)),
    "okta_group_push_exporter_series": ("gauge", ()),
    # System Log poller (issue 4)
    "okta_group_push_failure_reasons_total": ("counter", ("application", "reason")),
    "okta_group_push_mapping_failing": ("gauge", ("application", "group")),
    "okta_group_push_exporter_poll_requests_total": ("counter", ("status",)),
    "okta_group_push_exporter_okta_hook_delivery_failures_total": ("counter", ()),
    "okta_group_push_users_ignored_total": ("counter", ("application", "group")),
    "okta_group_push_exporter_poll_last_success_timestamp_seconds": ("gauge", ()),
    "okta_group_push_exporter_poll_lag_seconds": ("gauge", ()),
    "okta_group_push_exporter_okta_rate_limit_remaining": ("gauge", ()),
    "okta_group_push_exporter_okta_rate_limit_limit": ("gauge", ()),
    "okta_group_push_exporter_okta_api_up": ("gauge", ()),
    # Group Push Mapping API reconciler (issue 9)
    "okta_group_push_mapping_status": ("gauge", ("application", "group", "status")),
    "okta_group_push_mapping_error_reason": ("gauge", ("application", "group", "reason")),
    "okta_group_push_mapping_last_push_timestamp_seconds": ("gauge", ("application", "group")),
    "okta_group_push_exporter_reconcile_last_success_timestamp_seconds": ("gauge", ()),
    "okta_group_push_exporter_reconcile_duration_seconds": ("gauge", ()),
    "okta_group_push_exporter_reconcile_errors_total": ("counter", ("endpoint", "status")),
    "okta_group_push_exporter_state_disagreements_total": ("counter", ("kind",)),
    # both Okta API jobs (issue 14)
    "okta_group_push_exporter_okta_retries_total": ("counter", ("component", "endpoint")),
    # Okta ids (issue 14) and the links to Okta (issue 17)
    "okta_group_push_mapping_info": (
        "gauge",
        ("application", "group", "application_id", "group_id", "admin_url", "system_log_url"),
    ),
}


def test_catalogue_matches_the_pinned_contract() -> None:
    actual = {m.name: (m.type.value, m.labels) for m in catalogue.ALL_METRICS}
    assert actual == PINNED


def test_naming_conventions() -> None:
    for metric in catalogue.ALL_METRICS:
        assert metric.name.startswith("okta_group_push_")
        assert (metric.type is MetricType.COUNTER) == metric.name.endswith("_total")
        assert metric.help.endswith(".")
    for metric in (
        catalogue.SELF_METRICS
        + catalogue.GOVERNANCE_METRICS
        + catalogue.POLL_METRICS
        + catalogue.RECONCILE_METRICS
        + catalogue.RETRY_METRICS
    ):
        assert metric.name.startswith("okta_group_push_exporter_")


def test_self_metrics_register_exactly_the_catalogue_names() -> None:
    registry = CollectorRegistry()
    SelfMetrics(registry)
    exposed = {metric.name for metric in registry.collect()}
    assert exposed == {m.family for m in catalogue.SELF_METRICS}


def test_the_reconciler_exposes_exactly_the_catalogue_names() -> None:
    registry = CollectorRegistry()
    metrics = ReconcileMetrics(registry)
    metrics.active = True
    metrics.duration = 1.0
    exposed = {metric.name for metric in registry.collect()}
    specs = catalogue.MAPPING_API_METRICS + catalogue.RECONCILE_METRICS
    assert exposed == {m.family for m in specs}
