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
    "Okta's published time of the newest failure event per application and group.",
    ("application", "group"),
)

EVENT_METRICS: Final = (FAILURES, FAILURES_BY_KIND, LAST_FAILURE)

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
    "Events read by source and kind (terminal, retried, success, ignored), duplicates included.",
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

ALL_METRICS: Final = EVENT_METRICS + SELF_METRICS + GOVERNANCE_METRICS
