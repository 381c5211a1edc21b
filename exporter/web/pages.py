"""HTTP adapter for people and Prometheus: landing page, /status, /metrics, health and readiness."""

from __future__ import annotations

import asyncio
import html
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Final

from aiohttp import web
from prometheus_client.exposition import gzip_accepted

from exporter import __version__
from exporter.metrics.exposition import negotiate
from exporter.web.appkeys import CONFIG, EXPOSITION, HEALTH, STATUS
from exporter.web.status import CSP as STATUS_CSP
from exporter.web.status import render as render_status
from exporter.web.statusrows import collect as collect_status

if TYPE_CHECKING:
    from zlib import _Compress as Compressor

# Level 1: on metrics text it compresses nearly as well as level 6 at a third of the CPU
# (BENCHMARKS.md, "/metrics").
GZIP_LEVEL: Final = 1
GZIP_WBITS: Final = 16 + zlib.MAX_WBITS  # a gzip header and trailer around the deflate stream
GZIP_BATCH: Final = 1 << 20  # bytes of text deflated per worker-thread call


async def metrics(request: web.Request) -> web.StreamResponse:
    """The exposition, OpenMetrics when the scraper asks for it, gzip when it accepts it.

    Streamed in slices with the event loop given back between them, so a large scrape
    never delays a hook delivery by more than one slice.
    """
    fmt = negotiate(request.headers.get("Accept"))
    response = web.StreamResponse(headers={"Content-Type": fmt.content_type})
    compressor = None
    if gzip_accepted(request.headers.get("Accept-Encoding", "")):
        response.headers["Content-Encoding"] = "gzip"
        compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, GZIP_WBITS)
    await response.prepare(request)
    if request.method == "HEAD":
        return response
    slices = request.app[EXPOSITION].slices(fmt)
    try:
        if compressor is None:
            for piece in slices:
                if piece:
                    await response.write(piece)
                await asyncio.sleep(0)  # write() returns at once while buffers have room
        else:
            await _write_gzipped(response, slices, compressor)
    finally:
        slices.close()
    await response.write_eof()
    return response


async def _write_gzipped(
    response: web.StreamResponse, slices: Iterator[bytes], compressor: Compressor
) -> None:
    """Deflate the slices in a worker thread, about GZIP_BATCH bytes at a time.

    zlib lets go of the GIL while it deflates, so the event loop answers Okta meanwhile
    instead of compressing megabytes itself; batches keep the thread handoffs few.
    """
    pending: list[bytes] = []
    size = 0
    for piece in slices:
        pending.append(piece)
        size += len(piece)
        if size >= GZIP_BATCH:
            data = await asyncio.to_thread(compressor.compress, b"".join(pending))
            pending.clear()
            size = 0
            if data:
                await response.write(data)
        await asyncio.sleep(0)  # between two slices of rendering, the loop's turn
    text = b"".join(pending)
    await response.write(
        await asyncio.to_thread(lambda: compressor.compress(text) + compressor.flush())
    )


async def healthy(request: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return web.Response(text="OK\n")


async def ready(request: web.Request) -> web.Response:
    """Readiness: state is open and can take writes."""
    health = request.app[HEALTH]
    if health.ready:
        return web.Response(text="OK\n")
    return web.Response(status=503, text=f"not ready: {health.reason}\n")


async def landing(request: web.Request) -> web.Response:
    """Links and the effective configuration, secrets masked."""
    config = request.app[CONFIG]
    rows = "\n".join(
        f"<tr><td><code>{html.escape(flag)}</code></td><td><code>{html.escape(value)}</code></td></tr>"
        for flag, value in config.describe().items()
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Okta Group Push Exporter</title></head>
<body>
<h1>Okta Group Push Exporter</h1>
<p>Version {html.escape(__version__)}. Counts Okta group push failures for Prometheus.</p>
<ul>
<li><a href="/status">Status: what is failing now</a></li>
<li><a href="{html.escape(config.web.telemetry_path)}">Metrics</a></li>
<li><a href="/-/healthy">Health</a></li>
<li><a href="/-/ready">Readiness</a></li>
</ul>
<p>Okta event hook URL: <code>/hooks/okta</code>
(secret in the <code>{html.escape(config.web.hook_header)}</code> header).
Okta Workflows URL: <code>/hooks/workflows</code>.</p>
<h2>Configuration</h2>
<table>
{rows}
</table>
</body></html>
"""
    return web.Response(text=page, content_type="text/html")


async def status(request: web.Request) -> web.Response:
    """The mappings failing now, for people: HTML under a strict CSP, no script."""
    sources = request.app[STATUS]
    page = render_status(collect_status(sources), sources.clock())
    headers = {"Content-Security-Policy": STATUS_CSP, "Cache-Control": "no-store"}
    return web.Response(text=page, content_type="text/html", headers=headers)


def add_routes(app: web.Application, telemetry_path: str) -> None:
    app.router.add_get("/", landing)
    app.router.add_get("/status", status)
    app.router.add_get(telemetry_path, metrics)
    app.router.add_get("/-/healthy", healthy)
    app.router.add_get("/-/ready", ready)
