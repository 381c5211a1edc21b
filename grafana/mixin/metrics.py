"""The metric names the dashboard and rules read: the exporter's catalogue plus planned ones.

Names that exist come from `exporter.catalogue`, so renaming one there changes the generated
files and the regeneration test points at it. Metrics that later issues add (the System Log
poller's mapping state, reasons and health; label governance; storage errors) are declared
here with the labels they are designed with; `tests/test_dashboard.py` checks that each one
matches the catalogue once it lands there. Panels and alerts on them stay empty and quiet
until then: a selector with no series is not an error.
"""

from __future__ import annotations

from typing import Final

from exporter import catalogue

FAILURES: Final = catalogue.FAILURES.name
FAILURES_BY_KIND: Final = catalogue.FAILURES_BY_KIND.name
LAST_FAILURE: Final = catalogue.LAST_FAILURE.name
DELIVERIES: Final = catalogue.DELIVERIES.name
EVENTS_RECEIVED: Final = catalogue.EVENTS_RECEIVED.name
DUPLICATES: Final = catalogue.DUPLICATES.name
INVALID_EVENTS: Final = catalogue.INVALID_EVENTS.name
BUILD_INFO: Final = catalogue.BUILD_INFO.name
STORAGE_ERRORS: Final = catalogue.STORAGE_ERRORS.name
# 1 once the exporter's store is open and takes writes: until then it serves without the
# persisted series, so the born-series rule (promql.new_increase) counts only ready scrapes.
READY: Final = catalogue.READY.name
# Okta's Group Push Mapping API, read by the reconciler (issue 9).
MAPPING_STATUS: Final = catalogue.MAPPING_STATUS.name
MAPPING_ERROR_REASON: Final = catalogue.MAPPING_ERROR_REASON.name
MAPPING_LAST_PUSH: Final = catalogue.MAPPING_LAST_PUSH.name
RECONCILE_LAST_SUCCESS: Final = catalogue.RECONCILE_LAST_SUCCESS.name
RECONCILE_DURATION: Final = catalogue.RECONCILE_DURATION.name
RECONCILE_ERRORS: Final = catalogue.RECONCILE_ERRORS.name
STATE_DISAGREEMENTS: Final = catalogue.STATE_DISAGREEMENTS.name
# Okta's own event_hook.delivery failures, read by the poller (issue 14).
HOOK_DELIVERY_FAILURES: Final = catalogue.HOOK_DELIVERY_FAILURES.name
USERS_IGNORED: Final = catalogue.USERS_IGNORED.name
ERROR_STATUS: Final = "ERROR"  # the status label value of a broken mapping

# name -> label names, as designed (shared event-derived state first, then per-process).
PLANNED: Final[dict[str, tuple[str, ...]]] = {
    "okta_group_push_mapping_failing": ("application", "group"),
    "okta_group_push_failure_reasons_total": ("application", "reason"),
    "okta_group_push_exporter_poll_requests_total": ("status",),
    "okta_group_push_exporter_poll_last_success_timestamp_seconds": (),
    "okta_group_push_exporter_poll_lag_seconds": (),
    "okta_group_push_exporter_okta_rate_limit_remaining": (),
    "okta_group_push_exporter_okta_rate_limit_limit": (),
    "okta_group_push_exporter_okta_api_up": (),
    "okta_group_push_exporter_label_overflow_total": ("label",),
    "okta_group_push_exporter_series": (),
    # One series (value 1) per mapping: its Okta ids and links (issues 14 and 17).
    "okta_group_push_mapping_info": (
        "application",
        "group",
        "application_id",
        "group_id",
        "admin_url",
        "system_log_url",
    ),
}

MAPPING_FAILING: Final = "okta_group_push_mapping_failing"
FAILURE_REASONS: Final = "okta_group_push_failure_reasons_total"
POLL_REQUESTS: Final = "okta_group_push_exporter_poll_requests_total"
POLL_LAST_SUCCESS: Final = "okta_group_push_exporter_poll_last_success_timestamp_seconds"
POLL_LAG: Final = "okta_group_push_exporter_poll_lag_seconds"
RATE_LIMIT_REMAINING: Final = "okta_group_push_exporter_okta_rate_limit_remaining"
RATE_LIMIT_LIMIT: Final = "okta_group_push_exporter_okta_rate_limit_limit"
OKTA_API_UP: Final = "okta_group_push_exporter_okta_api_up"
LABEL_OVERFLOW: Final = "okta_group_push_exporter_label_overflow_total"
SERIES: Final = "okta_group_push_exporter_series"
MAPPING_INFO: Final = "okta_group_push_mapping_info"

# Shared state: every replica on the same store exposes the same totals, so queries fold
# replicas with `max without (instance)` before summing.
EVENT_DERIVED: Final = frozenset(
    {FAILURES, FAILURES_BY_KIND, LAST_FAILURE, MAPPING_FAILING, FAILURE_REASONS, USERS_IGNORED}
)

# Values of the `kind` label of FAILURES_BY_KIND (exporter/ingest/classify.py).
TERMINAL_KIND: Final = "terminal"
RETRIED_KIND: Final = "retried"
