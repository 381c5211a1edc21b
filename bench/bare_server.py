"""The HTTP ingest baseline: an aiohttp handler that reads the body and parses the JSON.

Nothing else: no secret check, no dedup, no counting, no log line. Started by
bench/http_ingest.py as its own process, like the exporter.

Usage: python -m bench.bare_server --port 9999
"""

from __future__ import annotations

import argparse

import orjson
from aiohttp import web


async def ingest(request: web.Request) -> web.Response:
    orjson.loads(await request.read())
    return web.Response(status=204)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_post("/hooks/okta", ingest)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
