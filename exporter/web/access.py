"""Who may reach what: hooks on the Okta listener, the rest on the web listener, behind
basic auth when the web config file asks for it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.typedefs import Middleware

from exporter.config import HOOK_PATHS
from exporter.web.basicauth import BasicAuth
from exporter.web.server import ConnectionGuard

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
REALM = 'Basic realm="okta-group-push-exporter", charset="UTF-8"'


@dataclass
class Access:
    """Runtime access settings, replaced on SIGHUP (hence mutable)."""

    basic_auth: BasicAuth = field(default_factory=lambda: BasicAuth({}))
    headers: Mapping[str, str] = field(default_factory=dict)
    # With two listeners: guards[0] is the web listener's, guards[1] the Okta listener's.
    guards: Sequence[ConnectionGuard] = ()

    def on_okta_listener(self, transport: object) -> bool | None:
        """True/False when listeners are split and the connection is known, else None."""
        if len(self.guards) < 2:
            return None
        if transport in self.guards[1]:
            return True
        if transport in self.guards[0]:
            return False
        return None


def middleware(access: Access) -> Middleware:
    """Route by listener, then demand basic auth for everything but the hooks."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        is_hook = request.path in HOOK_PATHS
        on_okta = access.on_okta_listener(request.transport)
        if on_okta is not None and on_okta != is_hook:
            raise web.HTTPNotFound()
        authorization = request.headers.get("Authorization")
        if (
            not is_hook
            and access.basic_auth.enabled
            and not await access.basic_auth.check(authorization)
        ):
            return web.Response(
                status=401, text="401 Unauthorized\n", headers={"WWW-Authenticate": REALM}
            )
        return await handler(request)

    return guard


def headers_signal(access: Access) -> Callable[[web.Request, web.StreamResponse], Awaitable[None]]:
    """An `on_response_prepare` handler adding the web config's `http_server_config.headers`.

    As exporter-toolkit does, on every response: streamed ones (/metrics) and the 401, 404,
    405 and 500 answers too, which a middleware adding headers after the handler misses.
    """

    async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
        for name, value in access.headers.items():
            response.headers.setdefault(name, value)

    return add_headers
