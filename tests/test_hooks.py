"""HTTP behaviour of /hooks/okta and /hooks/workflows: every status, and what it counts."""

from __future__ import annotations

import asyncio
import gzip
import io
import logging
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from exporter.config import Config, StorageSection, WebSection
from exporter.ingest import hookbody, jsontext
from exporter.store.memory import MemoryStore
from exporter.web import hooks
from exporter.web.app import make_app
from tests.conftest import NOW, ROTATED, SECRET, Client, auth, payload, wait_for

FAILURES = "okta_group_push_failures_total"
HOOK = "/hooks/okta"
WORKFLOWS = "/hooks/workflows"


def failures(registry: CollectorRegistry, **labels: str) -> float:
    return registry.get_sample_value(FAILURES, labels) or 0.0


def total_failures(registry: CollectorRegistry) -> float:
    return sum(
        sample.value
        for metric in registry.collect()
        for sample in metric.samples
        if sample.name == FAILURES
    )


def deliveries(registry: CollectorRegistry, endpoint: str, code: int) -> float:
    value = registry.get_sample_value(
        "okta_group_push_exporter_deliveries_total", {"endpoint": endpoint, "code": str(code)}
    )
    return value or 0.0


# --- verification -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header", ["x-okta-verification-challenge", "X-Okta-Verification-Challenge"]
)
async def test_verification_echoes_the_challenge_in_any_header_case(
    client: Client, header: str
) -> None:
    response = await client.get(HOOK, headers={header: "Gv9Ss0ZNwkMvUnm7KUJ8CdKpRTcWTHLP"})
    assert response.status == 200
    assert await response.json() == {"verification": "Gv9Ss0ZNwkMvUnm7KUJ8CdKpRTcWTHLP"}


async def test_verification_needs_no_secret_but_needs_the_header(client: Client) -> None:
    response = await client.get(HOOK)
    assert response.status == 400
    assert "x-okta-verification-challenge" in (await response.json())["error"]


async def test_verification_challenge_length_is_capped(client: Client) -> None:
    response = await client.get(HOOK, headers={"x-okta-verification-challenge": "a" * 1025})
    assert response.status == 400


# --- deliveries -----------------------------------------------------------------------------


async def test_okta_sample_delivery_is_accepted_with_an_empty_body(
    client: Client, registry: CollectorRegistry
) -> None:
    body = payload("okta-docs_event-hook-delivery_user-session-start.json")
    response = await client.post(HOOK, json=body, headers=auth())
    assert response.status == 204
    assert await response.read() == b""
    assert total_failures(registry) == 0  # a login is not a group push failure
    assert deliveries(registry, HOOK, 204) == 1


async def test_group_push_delivery_counts_by_application_group_and_actor(
    client: Client, registry: CollectorRegistry
) -> None:
    body = payload("synthetic_group-push-hook-delivery.json")
    response = await client.post(HOOK, json=body, headers=auth())
    assert response.status == 204
    # The application label is the app instance's label (its alternateId), not the
    # catalogue app's name (its displayName).
    assert (
        failures(registry, application="AWS Production", group="Engineering", actor="Okta System")
        == 1
    )
    slack = "Slack Finance Workspace"
    assert failures(registry, application=slack, group="Finance", actor="Ada Admin") == 1
    invalid = "okta_group_push_exporter_invalid_events_total"
    assert registry.get_sample_value(invalid, {"source": "event_hook", "reason": "not_object"}) == 1
    assert (
        registry.get_sample_value(invalid, {"source": "event_hook", "reason": "missing_uuid"}) == 1
    )
    assert registry.get_sample_value(
        "okta_group_push_last_failure_timestamp_seconds",
        {"application": slack, "group": "Finance"},
    ) == pytest.approx(1795166101.456)  # 2026-11-20T09:15:01.456Z
    assert (
        registry.get_sample_value(
            "okta_group_push_mapping_info",
            {"application": slack, "group": "Finance",
             "application_id": "0oaslack00001", "group_id": "00gfinance001",
             "admin_url": "", "system_log_url": ""},
        )
        == 1
    )  # fmt: skip


async def test_redelivery_of_the_same_envelope_counts_nothing_more(
    client: Client, registry: CollectorRegistry
) -> None:
    body = payload("synthetic_group-push-hook-delivery.json")
    for _ in range(3):
        assert (await client.post(HOOK, json=body, headers=auth())).status == 204
    assert total_failures(registry) == 2
    assert (
        registry.get_sample_value(
            "okta_group_push_exporter_duplicate_events_total", {"source": "event_hook"}
        )
        == 4
    )


async def test_a_rotated_secret_is_accepted_too(
    client: Client, registry: CollectorRegistry
) -> None:
    body = payload("synthetic_group-push-hook-delivery.json")
    assert (await client.post(HOOK, json=body, headers=auth(ROTATED))).status == 204
    assert total_failures(registry) == 2


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "application/json"},
        auth("wrong"),
        auth(SECRET[:-1]),
        {"authorization": "", "Content-Type": "application/json"},
    ],
)
async def test_missing_or_wrong_secret_is_401_and_counts_nothing(
    client: Client, registry: CollectorRegistry, headers: dict[str, str]
) -> None:
    body = payload("synthetic_group-push-hook-delivery.json")
    response = await client.post(HOOK, data=orjson.dumps(body), headers=headers)
    assert response.status == 401
    assert total_failures(registry) == 0
    assert deliveries(registry, HOOK, 401) == 1


async def test_rejection_reasons_never_contain_the_secret(client: Client) -> None:
    response = await client.post(HOOK, data=b"{}", headers=auth("wrong"))
    assert SECRET not in await response.text()


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
async def test_non_json_content_type_is_415(
    client: Client, registry: CollectorRegistry, content_type: str
) -> None:
    body = orjson.dumps(payload("synthetic_group-push-hook-delivery.json"))
    headers = {"Authorization": SECRET, "Content-Type": content_type}
    response = await client.post(HOOK, data=body, headers=headers)
    assert response.status == 415
    assert total_failures(registry) == 0


async def test_json_with_a_charset_and_vendor_json_types_are_accepted(client: Client) -> None:
    body = orjson.dumps(payload("synthetic_group-push-hook-delivery.json"))
    for content_type in ("application/json; charset=utf-8", "application/cloudevents+json"):
        headers = {"Authorization": SECRET, "Content-Type": content_type}
        assert (await client.post(HOOK, data=body, headers=headers)).status == 204


async def test_body_over_the_cap_is_413_by_content_length(
    client: Client, registry: CollectorRegistry
) -> None:
    big = b'{"data": {"events": []}, "pad": "' + b"x" * (65 * 1024) + b'"}'
    response = await client.post(HOOK, data=big, headers=auth())
    assert response.status == 413
    assert deliveries(registry, HOOK, 413) == 1


async def test_chunked_body_over_the_cap_is_413(client: Client) -> None:
    async def chunks() -> Any:
        yield b'{"data": {"events": []}, "pad": "'
        for _ in range(70):
            yield b"x" * 1024
        yield b'"}'

    response = await client.post(HOOK, data=chunks(), headers=auth())
    assert response.status == 413


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "invalid JSON"),
        (b"", "invalid JSON"),
        (b'"\\ud800"', "invalid JSON"),
        (b"[1, 2]", "not an Okta event hook envelope"),
        (b'{"eventType": "com.okta.event_hook"}', "'data' is missing"),
        (b'{"data": {"events": "x"}}', "'data.events'"),
        # Not UTF-8, even in a field the exporter never reads: not JSON, nothing counted.
        (
            b'{"data": {"events": [{"uuid": "u1", "eventType": "application.provision.group_push'
            b'.mapping.update.or.delete.failed.with.error", "x": "\xff"}]}}',
            "invalid JSON",
        ),
    ],
)
async def test_bad_documents_are_400_with_a_one_line_reason(
    client: Client, registry: CollectorRegistry, body: bytes, reason: str
) -> None:
    response = await client.post(HOOK, data=body, headers=auth())
    assert response.status == 400
    message = (await response.json())["error"]
    assert reason in message and "\n" not in message
    assert total_failures(registry) == 0


async def test_gzip_body_is_read_when_declared(client: Client, registry: CollectorRegistry) -> None:
    body = gzip.compress(orjson.dumps(payload("synthetic_group-push-hook-delivery.json")))
    response = await client.post(HOOK, data=body, headers={**auth(), "Content-Encoding": "gzip"})
    assert response.status == 204
    assert total_failures(registry) == 2


async def test_one_log_line_per_delivery_without_the_secret(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    body = payload("synthetic_group-push-hook-delivery.json")
    with caplog.at_level(logging.INFO, logger="exporter.web.hooks"):
        await client.post(HOOK, json=body, headers=auth())
        await client.post(HOOK, json=body, headers=auth("bad-" + SECRET))
    lines = [r for r in caplog.records if r.getMessage() == "delivery"]
    assert len(lines) == 2
    accepted = lines[0].fields  # type: ignore[attr-defined]
    assert accepted["delivery_id"] == body["eventId"]
    assert (accepted["events"], accepted["counted"], accepted["duplicates"]) == (2, 2, 0)
    assert accepted["outcome"] == "accepted"
    assert lines[1].fields["outcome"] == "unauthorized"  # type: ignore[attr-defined]
    assert SECRET not in caplog.text


# --- Workflows ------------------------------------------------------------------------------


async def test_workflows_card_is_counted(client: Client, registry: CollectorRegistry) -> None:
    card = payload("synthetic_workflows-card_snake-case-no-details.json")
    response = await client.post("/hooks/workflows", json=card, headers=auth())
    assert response.status == 204
    assert (
        failures(registry, application="AWS Production", group="Finance", actor="Bob Builder") == 1
    )


async def test_workflows_needs_the_same_secret(client: Client, registry: CollectorRegistry) -> None:
    card = payload("synthetic_workflows-card_with-details.json")
    response = await client.post("/hooks/workflows", json=card, headers=auth("nope"))
    assert response.status == 401
    assert total_failures(registry) == 0


async def test_one_event_via_hook_and_workflows_counts_once(
    client: Client, registry: CollectorRegistry
) -> None:
    card = payload("synthetic_workflows-card_with-details.json")
    envelope = {
        "eventType": "com.okta.event_hook",
        "eventId": "delivery-1",
        "data": {"events": [orjson.loads(card["Event Details"])]},
    }
    assert (await client.post(HOOK, json=envelope, headers=auth())).status == 204
    assert (await client.post("/hooks/workflows", json=card, headers=auth())).status == 204
    assert total_failures(registry) == 1


async def test_a_card_without_event_details_is_warned_about_once_per_process(
    client: Client, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without Event Details the card's Event ID is the key: the same failure arriving by
    hook would count twice. Said once, not per card; a card with details says nothing."""
    monkeypatch.setattr(hooks, "_warned", set())  # a fresh process
    with_details = payload("synthetic_workflows-card_with-details.json")
    without = payload("synthetic_workflows-card_snake-case-no-details.json")
    with caplog.at_level(logging.WARNING, logger="exporter.web.hooks"):
        assert (await client.post(WORKFLOWS, json=with_details, headers=auth())).status == 204
        assert not [r for r in caplog.records if "Event Details" in r.getMessage()]
        for _ in range(3):
            assert (await client.post(WORKFLOWS, json=without, headers=auth())).status == 204
    warnings = [r for r in caplog.records if r.getMessage() == hooks.NO_DETAILS_WARNING]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING


async def test_workflows_scalar_body_is_400(client: Client) -> None:
    response = await client.post("/hooks/workflows", data=b'"hello"', headers=auth())
    assert response.status == 400


# --- long parsing leaves the event loop (issue 15, item 1) ---------------------------------


async def test_health_probes_are_answered_while_a_large_body_is_decoded(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A body past THREAD_PARSE_BYTES is decoded on a worker thread: the loop stays free."""
    decoding, release, decoded = threading.Event(), threading.Event(), threading.Event()
    decode = jsontext.loads

    def slow_loads(body: bytes | str) -> Any:
        decoding.set()
        release.wait(timeout=10)  # times out only when decoding blocks the loop
        decoded.set()
        return decode(body)

    monkeypatch.setattr(hooks, "loads", slow_loads)
    config = Config(
        storage=StorageSection(path=tmp_path),
        web=WebSection(hook_secrets=(SECRET,), max_body_bytes=4 << 20),
    )
    client = await aiohttp_client(make_app(config, MemoryStore(3600), clock=lambda: NOW))
    card = {"Event ID": "large", "Message": "x" * (hooks.THREAD_PARSE_BYTES + 1)}
    body = io.BytesIO(orjson.dumps(card))  # raw bytes past 1 MiB make aiohttp warn
    delivery = asyncio.ensure_future(client.post("/hooks/workflows", data=body, headers=auth()))
    try:
        await wait_for(decoding.is_set, "the large body's decoding to start")
        probe = await client.get("/-/healthy")
        answered_while_decoding = not decoded.is_set()
        assert probe.status == 200
        assert answered_while_decoding
    finally:
        release.set()
        response = await delivery
    assert response.status == 204


async def test_small_bodies_are_decoded_on_the_event_loop(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Okta's few-KB deliveries pay no thread handoff."""
    threads: list[str] = []
    decode = hookbody.parse_hook_body

    def spy(body: bytes) -> Any:
        threads.append(threading.current_thread().name)
        return decode(body)

    monkeypatch.setattr(hooks, "parse_hook_body", spy)
    response = await client.post(
        HOOK, json=payload("synthetic_group-push-hook-delivery.json"), headers=auth()
    )
    assert response.status == 204
    assert threads == [threading.main_thread().name]
