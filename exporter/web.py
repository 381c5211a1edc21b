"""HTTP adapter for people and Prometheus: landing page, /metrics, health and readiness."""

from __future__ import annotations

import html

from aiohttp import web

from exporter import __version__
from exporter.appkeys import CONFIG, HEALTH, REGISTRY
from exporter.exposition import render


async def metrics(request: web.Request) -> web.Response:
    """The exposition, OpenMetrics when the scraper asks for it, gzip when it accepts it."""
    body, content_type = render(request.app[REGISTRY], request.headers.get("Accept"))
    response = web.Response(body=body, headers={"Content-Type": content_type})
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        response.enable_compression(web.ContentCoding.gzip)
    return response


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
<li><a href="{html.escape(config.telemetry_path)}">Metrics</a></li>
<li><a href="/-/healthy">Health</a></li>
<li><a href="/-/ready">Readiness</a></li>
</ul>
<p>Okta event hook URL: <code>/hooks/okta</code>
(secret in the <code>{html.escape(config.hook_header)}</code> header).
Okta Workflows URL: <code>/hooks/workflows</code>.</p>
<h2>Configuration</h2>
<table>
{rows}
</table>
</body></html>
"""
    return web.Response(text=page, content_type="text/html")


def add_routes(app: web.Application, telemetry_path: str) -> None:
    app.router.add_get("/", landing)
    app.router.add_get(telemetry_path, metrics)
    app.router.add_get("/-/healthy", healthy)
    app.router.add_get("/-/ready", ready)
