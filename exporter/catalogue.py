"""Every metric the exporter exposes, as data.

Dashboards, alert rules and users' queries depend on these names (DESIGN section 3):
`tests/test_catalogue.py` pins them, so a rename shows up in review. Event-derived
metrics (`okta_group_push_*`) are shared, durable state; the exporter's own health
metrics (`okta_group_push_exporter_*`) belong to one process.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final


class MetricType(enum.Enum):
    COUNTER = "counter"
    GAUGE = "gauge"


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One metric family: its exposed name, type, help text and label names."""

    name: str
    type: MetricType
    help: str
    labels: tuple[str, ...] = ()

    @property
    def family(self) -> str:
        """The family name prometheus_client wants: counters without `_total`."""
        if self.type is MetricType.COUNTER:
            return self.name.removesuffix("_total")
        return self.name


# --- event-derived state: one value per label set, kept by the store ---------------------

FAILURES: Final = MetricSpec(
    "okta_group_push_failures_total",
    MetricType.COUNTER,
    "Distinct Okta group push failure events (by LogEvent uuid), of every failure kind.",
    ("application", "group", "actor"),
)
FAILURES_BY_KIND: Final = MetricSpec(
    "okta_group_push_failures_by_kind_total",
    MetricType.COUNTER,
    "Distinct failure events per application and Okta event type; kind is terminal "
    "(Okta will not retry, an admin must act) or retried (Okta retries by itself).",
    ("application", "event_type", "kind"),
)
LAST_FAILURE: Final = MetricSpec(
    "okta_group_push_last_failure_timestamp_seconds",
    MetricType.GAUGE,
    "Okta's published time of the newest failure event per group push mapping (known by its "
    "Okta ids, shown under its newest application and group names).",
    ("application", "group"),
)

# --- event-derived, from the System Log poller's issue: failure reasons and mapping state ---

FAILURE_REASONS: Final = MetricSpec(
    "okta_group_push_failure_reasons_total",
    MetricType.COUNTER,
    "Distinct failure events per application by reason: credentials, permission, "
    "rate_limited, not_found, duplicate, validation, network or other.",
    ("application", "reason"),
)
MAPPING_FAILING: Final = MetricSpec(
    "okta_group_push_mapping_failing",
    MetricType.GAUGE,
    "1 while the newest event (by Okta's published time) for the group push mapping (known by "
    "its Okta ids, shown under its newest names) is a failure, 0 once a later push succeeded.",
    ("application", "group"),
)
MAPPING_INFO: Final = MetricSpec(
    "okta_group_push_mapping_info",
    MetricType.GAUGE,
    "Always 1, one series per group push mapping known from events or Okta's Group Push "
    "Mapping API: its newest names, its Okta ids (application_id is the app instance, "
    "group_id the source group; empty when only label text names it) and, with "
    "--okta.org-url, links to the app in the Admin Console and to a System Log search for "
    "the mapping's events (admin_url, system_log_url; empty otherwise).",
    ("application", "group", "application_id", "group_id", "admin_url", "system_log_url"),
)

# --- event-derived, from Okta's catalogue (issue 14) ---------------------------------------

USERS_IGNORED: Final = MetricSpec(
    "okta_group_push_users_ignored_total",
    MetricType.COUNTER,
    "Distinct events in which Okta ignored some users while pushing the group to the "
    "application (app.user_management.grouppush.mapping.okta.users.ignored).",
    ("application", "group"),
)

EVENT_METRICS: Final = (FAILURES, FAILURES_BY_KIND, FAILURE_REASONS, USERS_IGNORED)
# Exposed from mapping-level state kept by Okta ids in another form (exporter/counting/mapping.py).
DERIVED_METRICS: Final = (LAST_FAILURE, MAPPING_FAILING, MAPPING_INFO)

# --- the exporter's own health -----------------------------------------------------------

DELIVERIES: Final = MetricSpec(
    "okta_group_push_exporter_deliveries_total",
    MetricType.COUNTER,
    "HTTP requests to the hook endpoints by endpoint and response status code.",
    ("endpoint", "code"),
)
EVENTS_RECEIVED: Final = MetricSpec(
    "okta_group_push_exporter_events_received_total",
    MetricType.COUNTER,
    "Events read by source and kind (terminal, retried, success, ended, users_ignored, "
    "hook_delivery_failed, ignored), duplicates included.",
    ("source", "kind"),
)
DUPLICATES: Final = MetricSpec(
    "okta_group_push_exporter_duplicate_events_total",
    MetricType.COUNTER,
    "Events not counted because their uuid was already counted, by source.",
    ("source",),
)
INVALID_EVENTS: Final = MetricSpec(
    "okta_group_push_exporter_invalid_events_total",
    MetricType.COUNTER,
    "Items skipped inside an accepted batch (not an object, no uuid), by source and reason.",
    ("source", "reason"),
)
STORAGE_ERRORS: Final = MetricSpec(
    "okta_group_push_exporter_storage_errors_total",
    MetricType.COUNTER,
    "Storage operations that failed (commit, prune, probe, refresh, expire); hooks answer 503 "
    "meanwhile.",
    ("operation",),
)
READY: Final = MetricSpec(
    "okta_group_push_exporter_ready",
    MetricType.GAUGE,
    "1 while the exporter is started and its storage takes writes, else 0.",
)
BUILD_INFO: Final = MetricSpec(
    "okta_group_push_exporter_build_info",
    MetricType.GAUGE,
    "Always 1; the labels name the exporter's version and Python version.",
    ("version", "python_version"),
)

SELF_METRICS: Final = (
    DELIVERIES,
    EVENTS_RECEIVED,
    DUPLICATES,
    INVALID_EVENTS,
    STORAGE_ERRORS,
    READY,
    BUILD_INFO,
)

# --- label governance: exposed from MetricState's bookkeeping, per process ---------------

LABEL_OVERFLOW: Final = MetricSpec(
    "okta_group_push_exporter_label_overflow_total",
    MetricType.COUNTER,
    "Counted events whose label value a cap replaced with __other__, by label; "
    "label=__series__ when the series cap (--labels.max-series) folded a label set.",
    ("label",),
)
SERIES: Final = MetricSpec(
    "okta_group_push_exporter_series",
    MetricType.GAUGE,
    "Event-derived series exposed now (all okta_group_push_* series), against --labels.max-series.",
)

GOVERNANCE_METRICS: Final = (LABEL_OVERFLOW, SERIES)

# --- the System Log poller's own health (one process: the replica holding the poll lease) ---

POLL_REQUESTS: Final = MetricSpec(
    "okta_group_push_exporter_poll_requests_total",
    MetricType.COUNTER,
    "System Log API requests by outcome: the HTTP status code, or timeout, network_error or "
    "auth_error (no access token could be had).",
    ("status",),
)
POLL_LAST_SUCCESS: Final = MetricSpec(
    "okta_group_push_exporter_poll_last_success_timestamp_seconds",
    MetricType.GAUGE,
    "When a System Log page was last read and committed (0 until the first one).",
)
POLL_LAG: Final = MetricSpec(
    "okta_group_push_exporter_poll_lag_seconds",
    MetricType.GAUGE,
    "Now minus Okta's published time of the newest event the poller has read.",
)
RATE_LIMIT_REMAINING: Final = MetricSpec(
    "okta_group_push_exporter_okta_rate_limit_remaining",
    MetricType.GAUGE,
    "X-Rate-Limit-Remaining of Okta's last answer: requests left in the System Log bucket.",
)
RATE_LIMIT_LIMIT: Final = MetricSpec(
    "okta_group_push_exporter_okta_rate_limit_limit",
    MetricType.GAUGE,
    "X-Rate-Limit-Limit of Okta's last answer: the System Log bucket's size per window.",
)
OKTA_API_UP: Final = MetricSpec(
    "okta_group_push_exporter_okta_api_up",
    MetricType.GAUGE,
    "1 when the last System Log request succeeded, else 0.",
)

HOOK_DELIVERY_FAILURES: Final = MetricSpec(
    "okta_group_push_exporter_okta_hook_delivery_failures_total",
    MetricType.COUNTER,
    "Okta's event_hook.delivery events read from the System Log (each uuid once): deliveries "
    "Okta gave up on, to the hook --okta.event-hook-id names, else to any event hook.",
)

POLL_METRICS: Final = (
    POLL_REQUESTS,
    HOOK_DELIVERY_FAILURES,
    POLL_LAST_SUCCESS,
    POLL_LAG,
    RATE_LIMIT_REMAINING,
    RATE_LIMIT_LIMIT,
    OKTA_API_UP,
)

# --- Okta's Group Push Mapping API: what is broken now, by Okta's account (issue 9) -------
# Read by the replica that holds the reconcile lease, and exposed by it alone.

MAPPING_STATUS: Final = MetricSpec(
    "okta_group_push_mapping_status",
    MetricType.GAUGE,
    "Each group push mapping's status in Okta's Group Push Mapping API: 1 for the current "
    "one of ACTIVE, ERROR and INACTIVE, else 0; sum by (status) counts mappings.",
    ("application", "group", "status"),
)
MAPPING_ERROR_REASON: Final = MetricSpec(
    "okta_group_push_mapping_error_reason",
    MetricType.GAUGE,
    "1 for a mapping in ERROR or whose latest push failed, its reason read from Okta's "
    "errorSummary: credentials, permission, rate_limited, not_found, duplicate, validation, "
    "network or other.",
    ("application", "group", "reason"),
)
MAPPING_LAST_PUSH: Final = MetricSpec(
    "okta_group_push_mapping_last_push_timestamp_seconds",
    MetricType.GAUGE,
    "When Okta last pushed the mapping (its lastPush), as epoch seconds.",
    ("application", "group"),
)

MAPPING_API_METRICS: Final = (MAPPING_STATUS, MAPPING_ERROR_REASON, MAPPING_LAST_PUSH)

RECONCILE_LAST_SUCCESS: Final = MetricSpec(
    "okta_group_push_exporter_reconcile_last_success_timestamp_seconds",
    MetricType.GAUGE,
    "When every group push mapping was last read from Okta (0 until the first time).",
)
RECONCILE_DURATION: Final = MetricSpec(
    "okta_group_push_exporter_reconcile_duration_seconds",
    MetricType.GAUGE,
    "How long the last complete reading of every group push mapping took, waits included.",
)
RECONCILE_ERRORS: Final = MetricSpec(
    "okta_group_push_exporter_reconcile_errors_total",
    MetricType.COUNTER,
    "Failed requests of the mapping reconciler by endpoint (apps, mappings, groups) and "
    "outcome: the HTTP status code, or timeout, network_error or auth_error.",
    ("endpoint", "status"),
)
STATE_DISAGREEMENTS: Final = MetricSpec(
    "okta_group_push_exporter_state_disagreements_total",
    MetricType.COUNTER,
    "Mappings on which Okta's Group Push Mapping API and the events disagreed for two "
    "readings in a row, counted once each time, by kind.",
    ("kind",),
)

RECONCILE_METRICS: Final = (
    RECONCILE_LAST_SUCCESS,
    RECONCILE_DURATION,
    RECONCILE_ERRORS,
    STATE_DISAGREEMENTS,
)

# --- both Okta API jobs: requests tried again (issue 14) ------------------------------------

OKTA_RETRIES: Final = MetricSpec(
    "okta_group_push_exporter_okta_retries_total",
    MetricType.COUNTER,
    "Okta API requests tried again after a 5xx, timeout or network error, by component "
    "(poller, reconciler) and endpoint (logs, apps, mappings, groups); a 429 is waited out "
    "and counted by status in the poll requests and reconcile errors counters instead.",
    ("component", "endpoint"),
)

RETRY_METRICS: Final = (OKTA_RETRIES,)

ALL_METRICS: Final = (
    EVENT_METRICS
    + DERIVED_METRICS
    + SELF_METRICS
    + GOVERNANCE_METRICS
    + POLL_METRICS
    + MAPPING_API_METRICS
    + RECONCILE_METRICS
    + RETRY_METRICS
)
