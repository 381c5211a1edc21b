"""A real Prometheus scrapes a real exporter process and stores what was posted."""

from __future__ import annotations

import json
import time
import urllib.parse
from pathlib import Path

import pytest

from tests.builders import RETRIED, TERMINAL, failure_event
from tests.services import http_get, post_json, start_exporter, start_prometheus, wait_until

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


def test_prometheus_stores_the_uuid_of_the_newest_failure_as_an_exemplar(tmp_path: Path) -> None:
    """Prometheus scrapes OpenMetrics by default: with exemplar storage on, the failure
    counter's exemplar names the newest event, queryable through the HTTP API."""
    exporter = start_exporter(tmp_path)
    prometheus = None
    try:
        prometheus = start_prometheus(
            tmp_path, [f"127.0.0.1:{exporter.port}"], features=("exemplar-storage",)
        )
        older = failure_event(uuid="6c1b8a1e-0000-4000-8000-000000000001",
                              published="2026-11-28T10:00:00.000Z")  # fmt: skip
        newer = failure_event(uuid="6c1b8a1e-0000-4000-8000-000000000002",
                              published="2026-11-28T10:05:00.000Z")  # fmt: skip
        envelope = {"eventType": "com.okta.event_hook", "data": {"events": [newer, older]}}
        assert post_json(f"{exporter.url}/hooks/okta", envelope) == 204

        def exemplar_uuids() -> set[str]:
            query = urllib.parse.urlencode(
                {"query": "okta_group_push_failures_total", "start": "0",
                 "end": str(time.time() + 60)}
            )  # fmt: skip
            status, body = http_get(f"{prometheus.url}/api/v1/query_exemplars?{query}")
            assert status == 200, body[:300]
            return {
                exemplar["labels"]["event_uuid"]
                for series in json.loads(body)["data"]
                for exemplar in series["exemplars"]
            }

        wait_until(lambda: bool(exemplar_uuids()), 30, "Prometheus to store an exemplar")
        assert exemplar_uuids() == {newer["uuid"]}
    finally:
        if prometheus is not None:
            prometheus.stop()
        exporter.stop()
