"""Every selector, window and threshold the dashboard, rules and routing share, in one place.

Change a value here, run `python -m grafana.mixin`, and commit the regenerated files; the
test suite fails while the committed files differ from what this configuration produces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class MixinConfig:
    """The knobs of the bundled monitoring, with the values we ship."""

    # The Prometheus scrape job of the exporter (README "Prometheus"). Rules select on it.
    job: str = "okta-group-push-exporter"

    # Where the runbook sections live; each alert links to `<runbook_url>#<alertname lower>`.
    runbook_url: str = (
        "https://github.com/okta-group-push-exporter/okta-group-push-exporter/blob/main/"
        "docs/runbooks.md"
    )

    # One prefix for every alert name (STYLE 12).
    alert_prefix: str = "OktaGroupPush"

    # How long a terminal failure keeps its alert firing: the window of its increase.
    terminal_window: str = "15m"

    # A spike: at least `spike_floor` failures of one application in `spike_window`, and
    # more than `spike_factor` times its mean per `spike_window` over the previous day.
    spike_window: str = "1h"
    spike_baseline: str = "1d"
    spike_baseline_periods: int = 24  # spike_baseline / spike_window
    spike_factor: float = 3.0
    spike_floor: int = 10

    # A mapping is stuck when it has been failing for this long without a success.
    stuck_after: str = "1h"
    # How far back from `stuck_after` a sample may be to prove the mapping was failing then:
    # covers an exporter restart or a missed scrape at that instant.
    stuck_lookback: str = "15m"

    exporter_down_for: str = "5m"
    exporter_absent_for: str = "10m"
    instance_down_for: str = "10m"

    # Hook requests rejected for their secret (401) or refused outright (403), in this window.
    auth_window: str = "10m"

    # The System Log poller: stale when its last successful poll is older than this.
    poll_stale_after_seconds: int = 900
    poll_stale_for: str = "5m"
    # Rate-limited: less than this fraction of Okta's budget left, or any 429 in the window.
    rate_limit_min_ratio: float = 0.1
    rate_limit_window: str = "15m"

    # Okta's Group Push Mapping API (the exporter's reconciler). Its answer is fresh, and
    # preferred over the events' for the "failing now" state, while its last complete reading
    # is younger than this: three readings at the default --okta.mappings-interval of 5m.
    mapping_api_fresh_seconds: int = 900
    # A mapping the API has reported in ERROR for this long alerts; a gap in its readings
    # up to `mapping_error_gap` (a replica taking the reconciler over) does not reset it.
    mapping_error_for: str = "30m"
    mapping_error_gap: str = "5m"
    # The reconciler is stale when its last complete reading is older than this.
    reconcile_stale_after_seconds: int = 1800
    reconcile_stale_for: str = "5m"

    overflow_window: str = "30m"
    storage_window: str = "10m"
    # Okta's event_hook.delivery failures (read by the System Log poller) in this window.
    hook_delivery_window: str = "30m"

    # Grafana: pinned schema (Grafana 9.1 and later read it), stable uid, tags and refresh.
    dashboard_uid: str = "okta-group-push"
    dashboard_title: str = "Okta Group Push"
    dashboard_tags: tuple[str, ...] = ("okta", "group-push", "okta-group-push-exporter")
    dashboard_refresh: str = "30s"
    dashboard_time_from: str = "now-24h"
    schema_version: int = 37
    grafana_min_version: str = "9.1.0"
    # The datasource uid the provisioning file creates; the dashboard itself never names it.
    datasource_uid: str = "prometheus"
    datasource_url: str = "http://prometheus:9090"
    scrape_interval: str = "30s"
    # Where the dashboard provider finds the JSON inside the Grafana container.
    dashboards_path: str = "/var/lib/grafana/dashboards/okta-group-push"
    dashboards_folder: str = "Okta"

    @property
    def job_selector(self) -> str:
        return f'job="{self.job}"'

    def runbook(self, alertname: str) -> str:
        """The runbook section of an alert (GitHub's heading anchor: the name lower-cased)."""
        return f"{self.runbook_url}#{alertname.lower()}"


CONFIG: Final = MixinConfig()
