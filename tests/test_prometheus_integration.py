"""A real Prometheus scrapes a real exporter process and stores what was posted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.builders import RETRIED, TERMINAL, failure_event
from tests.services import post_json, start_exporter, start_prometheus, wait_until

pytestmark = pytest.mark.integration


def test_prometheus_stores_exactly_the_counts_that_were_posted(tmp_path: Path) -> None:
    exporter = start_exporter(tmp_path)
    prometheus = None
    try:
        prometheus = start_prometheus(tmp_path, [f"127.0.0.1:{exporter.port}"])
        events = [
            *(failure_event("Slack", "Engineering", "Ada", event_type=TERMINAL) for _ in range(3)),
            *(failure_event("Slack", "Engineering", "Ada", event_type=RETRIED) for _ in range(2)),
            failure_event('AWS "IAM" Identity Center', "Finance\\Ops", "Bob", event_type=TERMINAL),
        ]
        envelope = {"eventType": "com.okta.event_hook", "eventId": "d1", "data": {"events": events}}
        assert post_json(f"{exporter.url}/hooks/okta", envelope) == 204
        assert post_json(f"{exporter.url}/hooks/okta", envelope) == 204  # Okta's retry
        assert post_json(f"{exporter.url}/hooks/okta", envelope, "wrong") == 401

        expected = {
            ("Slack", "Engineering", "Ada"): 5.0,
            ('AWS "IAM" Identity Center', "Finance\\Ops", "Bob"): 1.0,
        }

        def stored() -> dict[tuple[str, str, str], float]:
            return {
                (r["metric"]["application"], r["metric"]["group"], r["metric"]["actor"]): float(
                    r["value"][1]
                )
                for r in prometheus.query("okta_group_push_failures_total")
            }

        wait_until(lambda: stored() == expected, 30, f"Prometheus to store {expected}")
        by_kind = prometheus.query(
            'sum by (kind) (okta_group_push_failures_by_kind_total{application="Slack"})'
        )
        assert {r["metric"]["kind"]: float(r["value"][1]) for r in by_kind} == {
            "terminal": 3.0,
            "retried": 2.0,
        }
        rejected = prometheus.query(
            'okta_group_push_exporter_deliveries_total{endpoint="/hooks/okta",code="401"}'
        )
        assert [float(r["value"][1]) for r in rejected] == [1.0]
        up = prometheus.query('up{job="okta-group-push-exporter"}')
        assert [r["value"][1] for r in up] == ["1"]
    finally:
        if prometheus is not None:
            prometheus.stop()
        exporter.stop()
