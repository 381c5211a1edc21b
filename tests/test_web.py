"""/metrics, the landing page and the health endpoints."""

from __future__ import annotations

import asyncio
import base64
import gzip
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

import bcrypt
import pytest
from aiohttp import web
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families

from exporter.config import Config, StorageSection, WebSection
from exporter.store.memory import MemoryStore
from exporter.web import pages as web_module
from exporter.web.access import Access
from exporter.web.app import make_app
from exporter.web.basicauth import BasicAuth
from tests.builders import envelope, failure_event
from tests.conftest import NOW, ROTATED, SECRET, Client, auth
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


@pytest.mark.parametrize("batch", [1 << 20, 64])  # one deflate call; many, in turn
async def test_gzip_body_is_the_plain_body_compressed(
    client: Client, batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(web_module, "GZIP_BATCH", batch)
    events = [failure(str(i), group=f"g{i}", actor=NASTY) for i in range(50)]
    await client.post("/hooks/okta", json=envelope(*events), headers=auth())
    plain = await (await client.get("/metrics", headers={"Accept-Encoding": "identity"})).read()
    response = await client.get(
        "/metrics", headers={"Accept-Encoding": "gzip"}, auto_decompress=False
    )
    assert response.headers["Content-Encoding"] == "gzip"
    unzipped = gzip.decompress(await response.read())
    # The process metrics (CPU seconds, memory) move between two scrapes: compare the rest.
    assert stable(unzipped) == stable(plain)


def stable(body: bytes) -> list[bytes]:
    return [line for line in body.splitlines() if not line.startswith((b"process_", b"python_gc"))]


async def test_head_gets_the_headers_only(client: Client) -> None:
    response = await client.head("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert await response.read() == b""


async def test_governance_metrics_are_exposed_from_the_start(client: Client) -> None:
    text = await (await client.get("/metrics")).text()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    overflow = families["okta_group_push_exporter_label_overflow"]
    assert {s.labels["label"]: s.value for s in overflow.samples} == {
        "actor": 0.0,
        "application": 0.0,
        "application_id": 0.0,  # the ids mapping state is kept by: capped like the names
        "event_type": 0.0,
        "group": 0.0,
        "group_id": 0.0,
        "__series__": 0.0,
    }
    (series,) = families["okta_group_push_exporter_series"].samples
    assert series.value == 0


def attack(first: int, count: int) -> list[object]:
    """Failures each naming a new group and a new actor, as a hook-secret holder could."""
    return [
        failure(f"attack-{i}", app=f"app {i % 7}", group=f"group {i}", actor=f"actor {i}@evil.test")
        for i in range(first, first + count)
    ]


async def test_attack_of_distinct_actors_and_groups_is_bounded_and_exact(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
    tmp_path: Path,
) -> None:
    config = Config(
        storage=StorageSection(path=tmp_path), web=WebSection(hook_secrets=(SECRET,))
    )  # the default caps
    max_values, max_series = config.labels.max_values, config.labels.max_series
    client = await aiohttp_client(make_app(config, MemoryStore(3600), clock=lambda: NOW))

    async def post(events: list[object]) -> None:
        for start in range(0, len(events), 100):
            response = await client.post(
                "/hooks/okta", json=envelope(*events[start : start + 100]), headers=auth()
            )
            assert response.status == 204

    await post(attack(0, 10_000))
    first = await (await client.get("/metrics")).read()
    await post(attack(10_000, 10_000))
    body = await (await client.get("/metrics")).read()

    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    event_families = (
        "okta_group_push_failures",
        "okta_group_push_failures_by_kind",
        "okta_group_push_last_failure_timestamp_seconds",
    )
    assert sum(len(families[name].samples) for name in event_families) <= max_series
    failures = families["okta_group_push_failures"].samples
    for label in ("group", "actor"):
        assert len({s.labels[label] for s in failures}) <= max_values
    assert sum(s.value for s in failures) == 20_000  # every event counted, none twice
    assert sum(s.value for s in families["okta_group_push_failures_by_kind"].samples) == 20_000
    overflow = {
        s.labels["label"]: s.value
        for s in families["okta_group_push_exporter_label_overflow"].samples
    }
    assert overflow["group"] == overflow["actor"] == 20_000 - (max_values - 1)
    # The exposition stopped growing with the attack: bounded by the caps, not the events.
    assert len(body) - len(first) < 0.01 * len(first)
    longest_line = 200 + 3 * 2 * config.labels.max_length  # escaping at most doubles a value
    assert len(body) < max_series * longest_line + 100_000  # plus the exporter's own metrics
    promtool = require_binary("promtool")
    checked = await asyncio.to_thread(
        subprocess.run, [promtool, "check", "metrics"], input=body, capture_output=True, check=False
    )
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()


async def test_landing_page_masks_a_redis_password_given_as_a_query_parameter(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]], tmp_path: Path
) -> None:
    """redis-py's `?password=` form (the only one for unix://) is masked like userinfo."""
    config = Config(
        storage=StorageSection(
            path=tmp_path, redis_url="unix:///run/redis.sock?db=0&password=s3kr1t"
        ),
        web=WebSection(hook_secrets=(SECRET,)),
    )
    client = await aiohttp_client(make_app(config, MemoryStore(3600), clock=lambda: NOW))
    page = await (await client.get("/")).text()
    assert "/run/redis.sock" in page
    assert "s3kr1t" not in page


async def test_a_basic_auth_password_over_72_bytes_gets_401_not_500(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]], tmp_path: Path
) -> None:
    config = Config(storage=StorageSection(path=tmp_path), web=WebSection(hook_secrets=(SECRET,)))
    users = {"prom": bcrypt.hashpw(b"p" * 72, bcrypt.gensalt(rounds=4))}
    app = make_app(config, MemoryStore(3600), clock=lambda: NOW, access=Access(BasicAuth(users)))
    client = await aiohttp_client(app)
    credentials = base64.b64encode(b"prom:" + b"p" * 100).decode()
    response = await client.get("/metrics", headers={"Authorization": f"Basic {credentials}"})
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")


async def test_web_config_headers_are_sent_on_every_response(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]], tmp_path: Path
) -> None:
    """http_server_config.headers, as exporter-toolkit sends them: streamed /metrics and
    every error answer included."""
    config = Config(storage=StorageSection(path=tmp_path), web=WebSection(hook_secrets=(SECRET,)))
    users = {"prom": bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4))}
    headers = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}
    app = make_app(
        config, MemoryStore(3600), clock=lambda: NOW, access=Access(BasicAuth(users), headers)
    )

    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("a bug")

    app.router.add_get("/broken", broken)
    client = await aiohttp_client(app)
    login = {"Authorization": "Basic " + base64.b64encode(b"prom:pw").decode()}
    answers = [
        await client.get("/metrics", headers=login),
        await client.get("/metrics"),
        await client.get("/nowhere", headers=login),
        await client.put("/metrics", headers=login),
        await client.post("/hooks/okta", json={}),
        await client.get("/broken", headers=login),
    ]
    assert [response.status for response in answers] == [200, 401, 404, 405, 401, 500]
    for response in answers:
        assert response.headers["X-Content-Type-Options"] == "nosniff", response.status
        assert response.headers["X-Frame-Options"] == "DENY", response.status
