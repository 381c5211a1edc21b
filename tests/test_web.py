"""/metrics, the landing page and the health endpoints."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families

from tests.builders import envelope, failure_event
from tests.conftest import ROTATED, SECRET, Client, auth
from tests.services import require_binary

NASTY = 'quote " backslash \\ newline \n tab \t ünïcødé 🚀 {braces}=,'


def failure(uuid: str, app: str = "Slack", group: str = "Eng", actor: str = "Ada") -> object:
    return failure_event(app, group, actor, uuid=uuid)


async def test_metrics_expose_posted_failures_with_escaped_labels(client: Client) -> None:
    await client.post("/hooks/okta", json=envelope(failure("1", app=NASTY)), headers=auth())
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = await response.text()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    samples = families["okta_group_push_failures"].samples
    # Control characters are removed from label values; everything else round-trips.
    assert [(s.labels["application"], s.value) for s in samples] == [
        (NASTY.replace("\n", "").replace("\t", ""), 1.0)
    ]
    assert "_created" not in text


async def test_openmetrics_when_asked(client: Client) -> None:
    await client.post("/hooks/okta", json=envelope(failure("1")), headers=auth())
    response = await client.get(
        "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert response.headers["Content-Type"].startswith("application/openmetrics-text")
    text = await response.text()
    assert text.endswith("# EOF\n")
    names = {f.name for f in parse_om(text)}  # type: ignore[no-untyped-call]
    assert "okta_group_push_failures" in names


async def test_metrics_gzip_when_accepted(client: Client) -> None:
    response = await client.get("/metrics", headers={"Accept-Encoding": "gzip"})
    assert response.headers.get("Content-Encoding") == "gzip"
    assert "okta_group_push_exporter_build_info" in await response.text()


async def test_promtool_accepts_our_exposition(client: Client, tmp_path: Path) -> None:
    promtool = require_binary("promtool")
    events = [failure(str(i), app=f"app {i % 3}", group=NASTY, actor=f"a{i}") for i in range(20)]
    await client.post("/hooks/okta", json=envelope(*events), headers=auth())
    await client.post("/hooks/okta", data=b"{", headers=auth())
    text = await (await client.get("/metrics")).read()
    result = await asyncio.to_thread(
        subprocess.run, [promtool, "check", "metrics"], input=text, capture_output=True, check=False
    )
    # promtool exits non-zero on lint findings too; we want none at all.
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


async def test_landing_page_links_and_masks_secrets(client: Client) -> None:
    response = await client.get("/")
    assert response.status == 200
    page = await response.text()
    assert 'href="/metrics"' in page and "/-/healthy" in page and "/-/ready" in page
    assert "--web.listen-address" in page
    assert SECRET not in page and ROTATED not in page
    assert "2 configured" in page


async def test_health_and_readiness(client: Client) -> None:
    assert (await client.get("/-/healthy")).status == 200
    assert (await client.get("/-/ready")).status == 200


@pytest.mark.parametrize(("method", "path"), [("PUT", "/hooks/okta"), ("GET", "/hooks/workflows")])
async def test_wrong_methods_are_405(client: Client, method: str, path: str) -> None:
    assert (await client.request(method, path)).status == 405
