"""HTTP adapter for what Okta sends: event hook verification and deliveries, Workflows cards.

Order of checks for a POST: secret (401), media type (415), size (413), JSON and shape
(400); only a request that passes all of them reaches the ledger, and the 2xx goes out
only after the ledger has committed its events. Storage trouble answers 503, the one
status on which Okta retries (research/okta.md section 2.4).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Final

from aiohttp import web

from exporter import logs
from exporter.ingest.events import Batch, PayloadError
from exporter.ingest.hookbody import parse_hook_body
from exporter.ingest.jsontext import loads
from exporter.ingest.workflows import parse_workflows_payload
from exporter.store.base import StoreError
from exporter.store.hooksecret import matches
from exporter.web.appkeys import AUTH, CONFIG, LEDGER, SELF_METRICS

CHALLENGE_HEADER: Final = "x-okta-verification-challenge"
MAX_CHALLENGE_LENGTH: Final = 1024
# Bodies larger than this are decoded on a worker thread: a 4 MiB body the lenient decoder
# reads takes tens of milliseconds (a hostile one 45 ms, BENCHMARKS.md "Hostile bodies"),
# which the event loop spends answering probes, scrapes and other deliveries instead. Up
# to 1 MiB (a hostile one 18 ms at worst) stays on the loop: Okta's deliveries (50 events
# are about 90 KB) would pay a thread handoff that costs more than their decoding.
THREAD_PARSE_BYTES: Final = 1024 * 1024
log = logging.getLogger(__name__)


def _error(status: int, reason: str, **headers: str) -> web.Response:
    return web.json_response({"error": reason}, status=status, headers=headers or None)


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


async def verify(request: web.Request) -> web.Response:
    """Okta's one-time verification: echo the challenge header as JSON."""
    challenge = request.headers.get(CHALLENGE_HEADER)  # CIMultiDict: any case matches
    if challenge is None:
        response = _error(400, f"missing {CHALLENGE_HEADER} header")
    elif len(challenge) > MAX_CHALLENGE_LENGTH:
        response = _error(400, f"{CHALLENGE_HEADER} longer than {MAX_CHALLENGE_LENGTH} characters")
    else:
        response = web.json_response({"verification": challenge})
    request.app[SELF_METRICS].delivery(request.path, response.status)
    return response


async def _ingest(
    request: web.Request, source: str, parse: Callable[[bytes], Batch]
) -> web.Response:
    started = time.perf_counter()
    fields: dict[str, object] = {"endpoint": request.path, "source": source}
    response = await _check_and_record(request, source, parse, fields)
    request.app[SELF_METRICS].delivery(request.path, response.status)
    fields["status"] = response.status
    fields["duration_ms"] = round((time.perf_counter() - started) * 1000, 2)
    level = logging.INFO if response.status < 500 else logging.ERROR
    logs.emit(log, level, "delivery", fields)
    return response


async def _check_and_record(
    request: web.Request,
    source: str,
    parse: Callable[[bytes], Batch],
    fields: dict[str, object],
) -> web.Response:
    config = request.app[CONFIG]
    secrets = request.app[AUTH].secrets
    if not secrets:
        # The generated secret lives in the store, which has not opened yet: a 503, so
        # that Okta retries, rather than a 401 that it would not.
        fields["outcome"] = "storage_error"
        return _error(503, "storage unavailable, retry later")
    if not matches(request.headers.get(config.web.hook_header), secrets):
        fields["outcome"] = "unauthorized"
        return _error(401, f"missing or wrong secret in the {config.web.hook_header} header")
    if not _is_json(request.content_type):
        fields["outcome"] = "unsupported_media_type"
        return _error(415, f"Content-Type must be application/json, not {request.content_type!r}")
    too_large = f"body larger than {config.web.max_body_bytes} bytes"
    if request.content_length is not None and request.content_length > config.web.max_body_bytes:
        fields["outcome"] = "too_large"
        return _error(413, too_large)
    try:
        # aiohttp stops reading at client_max_size, counting decompressed bytes, so a
        # small gzip body that expands past the cap is refused while it expands.
        if request.content.is_eof():  # all of it is here already: no wait to time
            body = await request.read()
        else:
            async with asyncio.timeout(config.web.read_timeout):
                body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        fields["outcome"] = "too_large"
        return _error(413, too_large)
    except TimeoutError:
        fields["outcome"] = "timeout"
        return _error(
            408, f"body not received within {config.web.read_timeout:g} s", Connection="close"
        )
    try:
        batch = (
            parse(body) if len(body) <= THREAD_PARSE_BYTES else await asyncio.to_thread(parse, body)
        )
    except PayloadError as exc:
        fields["outcome"] = "bad_request"
        fields["reason"] = str(exc)
        return _error(400, str(exc))
    if batch.delivery_id:
        fields["delivery_id"] = batch.delivery_id
    metrics = request.app[SELF_METRICS]
    for skipped in batch.skipped:
        metrics.invalid_event(source, skipped.reason)
    try:
        recorded = await request.app[LEDGER].record(batch.events, source)
    except StoreError as exc:
        fields["outcome"] = "storage_error"
        fields["reason"] = str(exc)
        return _error(503, "storage unavailable, retry later")
    fields.update(
        outcome="accepted",
        events=len(batch.events),
        counted=recorded.counted,
        duplicates=recorded.duplicates,
        ignored=recorded.ignored,
        skipped=len(batch.skipped),
    )
    return web.Response(status=204)


async def okta_delivery(request: web.Request) -> web.Response:
    """POST /hooks/okta: an event hook delivery envelope."""
    return await _ingest(request, "event_hook", parse_hook_body)


# What this process has warned about already (a warning a flow would repeat per card).
_warned: set[str] = set()
NO_DETAILS_WARNING: Final = (
    "a Workflows card arrived without Event Details: its Event ID becomes the dedup key, so "
    "a failure that also arrives by event hook or System Log is counted twice; forward the "
    "card's Event Details in the flow's HTTP request body (logged once per process)"
)


def _parse_cards(body: bytes) -> Batch:
    batch = parse_workflows_payload(loads(body))
    if batch.without_details and "no_details" not in _warned:
        _warned.add("no_details")
        log.warning(NO_DETAILS_WARNING, extra={"fields": {"cards": batch.without_details}})
    return batch


async def workflows_delivery(request: web.Request) -> web.Response:
    """POST /hooks/workflows: the "Group Push Failed" card's outputs, forwarded by a flow."""
    return await _ingest(request, "workflows", _parse_cards)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/hooks/okta", verify, allow_head=False)
    app.router.add_post("/hooks/okta", okta_delivery)
    app.router.add_post("/hooks/workflows", workflows_delivery)
