"""Listeners, connection limits and the process's life: the outermost adapter.

aiohttp has no header or body read timeout, and keeps a stalled connection open forever
(research/reliability.md section 3, measured). So every listener wraps aiohttp's protocol
in a `ConnectionGuard` that closes connections that send a partial request and then stall,
and, at its connection cap, makes room by closing the oldest idle one instead of refusing
the newcomer: a slow-client attack cannot starve Okta's deliveries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from exporter.config import Config, ListenAddress

log = logging.getLogger(__name__)

# aiohttp's defaults are 8190 bytes per header line and field, and 128 headers; Okta
# sends a dozen. Lower caps make an oversized request a cheap 400.
MAX_LINE_SIZE: Final = 8190
MAX_FIELD_SIZE: Final = 8190
MAX_HEADERS: Final = 64
KEEPALIVE_TIMEOUT: Final = 75.0
# After a response that left the request body unread (401, 404, 405, 413, 415), aiohttp
# would by default keep reading and decompressing the rest for up to 10 s on the event loop
# ("lingering close"): unauthenticated work. Zero closes the connection instead (AppRunner's
# `lingering_time`, https://docs.aiohttp.org/en/stable/web_reference.html#aiohttp.web.AppRunner).
LINGERING_TIME: Final = 0.0
# asyncio accepts up to `backlog` connections in one go, and may do so twice before the
# protocols of the first batch run, so the connection cap must leave twice that many
# descriptors free, or accept() hits EMFILE and asyncio stops accepting for a second.
BACKLOG: Final = 32
RESERVED_FDS: Final = 64  # the database, Redis, logs, the event loop's own


@dataclass(eq=False)
class _Connection:
    transport: asyncio.Transport
    opened: float
    busy: bool = False  # a handler is running for it
    pending_since: float | None = None  # bytes of a request arrived, no handler yet
    idle_since: float = 0.0


class _GuardedProtocol(asyncio.Protocol):
    """Forwards to aiohttp's protocol, telling the guard what the connection does."""

    def __init__(self, guard: ConnectionGuard, inner: asyncio.Protocol) -> None:
        self._guard = guard
        self._inner = inner
        self._connection: _Connection | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if isinstance(transport, asyncio.Transport):
            self._connection = self._guard.opened(transport)
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        connection = self._connection
        if connection is not None and not connection.busy and connection.pending_since is None:
            connection.pending_since = self._guard.clock()
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._connection is not None:
            self._guard.closed(self._connection)
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


@dataclass(eq=False)
class ConnectionGuard:
    """Connection cap and request-read deadline for one listener."""

    max_connections: int
    read_timeout: float
    clock: Callable[[], float] = time.monotonic
    _connections: dict[asyncio.Transport, _Connection] = field(default_factory=dict)
    evicted: int = 0
    timed_out: int = 0

    def wrap(self, factory: Callable[[], Any]) -> Callable[[], asyncio.Protocol]:
        return lambda: _GuardedProtocol(self, factory())

    def opened(self, transport: asyncio.Transport) -> _Connection:
        now = self.clock()
        if len(self._connections) >= self.max_connections:
            self._make_room(transport)
        connection = _Connection(transport, opened=now, idle_since=now)
        self._connections[transport] = connection
        return connection

    def _make_room(self, newcomer: asyncio.Transport) -> None:
        # The oldest connection that is not inside a handler goes: a stalled or idle one,
        # never a delivery being processed.
        idle = [c for c in self._connections.values() if not c.busy]
        if idle:
            victim = min(idle, key=lambda c: c.pending_since or c.idle_since)
            self.evicted += 1
            self._drop(victim)
        else:
            newcomer.abort()

    def _drop(self, connection: _Connection) -> None:
        self._connections.pop(connection.transport, None)
        connection.transport.abort()

    def closed(self, connection: _Connection) -> None:
        self._connections.pop(connection.transport, None)

    def handler_started(self, transport: Any) -> None:
        connection = self._connections.get(transport)
        if connection is not None:
            connection.busy = True
            connection.pending_since = None

    def handler_finished(self, transport: Any) -> None:
        connection = self._connections.get(transport)
        if connection is not None:
            connection.busy = False
            connection.idle_since = self.clock()

    def sweep(self) -> None:
        """Close connections whose request has not arrived whole within the read timeout.

        A connection that opened and sent nothing counts from when it opened.
        """
        deadline = self.clock() - self.read_timeout
        for connection in list(self._connections.values()):
            if connection.busy:
                continue
            started = connection.pending_since
            if started is None and connection.idle_since == connection.opened:
                started = connection.opened  # never said anything
            if started is not None and started < deadline:
                self.timed_out += 1
                self._drop(connection)

    def __contains__(self, transport: object) -> bool:
        return transport in self._connections

    def __len__(self) -> int:
        return len(self._connections)


class GuardedListener:
    """One listening socket whose connections pass through a ConnectionGuard.

    Public API only: aiohttp's protocol factory (`runner.server`) wrapped by the guard and
    bound with asyncio's `loop.create_server`. aiohttp's own TCPSite binds the unguarded
    factory, and a subclass that binds another would have to set its private attributes,
    which any aiohttp release may rename. `stop` stops accepting; the runner's `cleanup`
    then shuts the open connections down gracefully, as it does for its own sites.
    """

    def __init__(self, runner: web.BaseRunner, address: ListenAddress, guard: ConnectionGuard,
                 ssl_context: ssl.SSLContext | None) -> None:  # fmt: skip
        self._app_runner = runner
        self._address = address
        self._tls = ssl_context
        self.guard = guard
        self.port = address.port  # the bound port once started (a 0 asks for any)
        self._listening: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        server = self._app_runner.server
        if server is None:
            raise RuntimeError("call runner.setup() before starting a listener")
        loop = asyncio.get_running_loop()
        self._listening = await loop.create_server(
            self.guard.wrap(server), self._address.host, self._address.port,
            ssl=self._tls, backlog=BACKLOG, reuse_address=True,
        )  # fmt: skip
        sockets = self._listening.sockets
        self.port = sockets[0].getsockname()[1] if sockets else self._address.port
        self._sweeper = asyncio.create_task(self._sweep())

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.guard.read_timeout / 4))
            self.guard.sweep()

    async def stop(self) -> None:
        """Stop accepting and sweeping; open connections are the runner's to close."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        if self._listening is not None:
            # Not wait_closed(): from Python 3.12 it waits for every connection to close,
            # which the runner's cleanup does next.
            self._listening.close()
            self._listening = None


def guards_middleware(guards: list[ConnectionGuard]) -> Middleware:
    """Tell the guards when a handler runs, so busy connections are never cut."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        transport = request.transport
        for guard in guards:
            guard.handler_started(transport)
        try:
            response: web.StreamResponse = await handler(request)
            return response
        finally:
            for guard in guards:
                guard.handler_finished(transport)

    return middleware


def make_runner(config: Config, app: web.Application) -> web.AppRunner:
    """The runner every listener shares, with the protocol limits above."""
    return web.AppRunner(
        app,
        handle_signals=False,
        access_log=None,
        shutdown_timeout=config.web.shutdown_timeout,
        keepalive_timeout=KEEPALIVE_TIMEOUT,
        lingering_time=LINGERING_TIME,
        max_line_size=MAX_LINE_SIZE,
        max_field_size=MAX_FIELD_SIZE,
        max_headers=MAX_HEADERS,
    )


async def serve(
    config: Config,
    app: web.Application,
    guards: list[ConnectionGuard],
    ssl_context: ssl.SSLContext | None,
    reload: Callable[[], None],
) -> None:
    """Run until SIGTERM or SIGINT, then shut down gracefully; SIGHUP calls `reload`.

    Shutdown order (aiohttp's runner): stop accepting, let in-flight handlers finish for
    up to --web.shutdown-timeout, then run the cleanup contexts, which flush and close
    the store.
    """
    runner = make_runner(config, app)
    await runner.setup()
    listeners = [config.web.listen] + ([config.web.okta_listen] if config.web.okta_listen else [])
    sites = [
        GuardedListener(runner, address, guard, ssl_context)
        for address, guard in zip(listeners, guards, strict=True)
    ]
    for site in sites:
        await site.start()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    loop.add_signal_handler(signal.SIGHUP, reload)
    log.info("listening", extra={"fields": {"addresses": [str(a) for a in listeners]}})
    try:
        await stopping.wait()
        log.info("shutting down", extra={"fields": {"timeout_s": config.web.shutdown_timeout}})
    finally:
        for site in sites:
            await site.stop()
        await runner.cleanup()
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(signum)


def default_max_connections(listeners: int = 1) -> int:
    """Per listener, below the file descriptor limit less a burst of accepts and our files."""
    import resource  # noqa: PLC0415 - POSIX only

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1024
    spare = soft - RESERVED_FDS - 2 * BACKLOG * listeners
    return max(16, min(1024, spare // listeners))
