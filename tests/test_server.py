"""Listeners: an early rejection costs next to nothing, on both listeners (issue 15, item 2)."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from exporter.config import Config, ListenAddress, StorageSection, WebSection
from exporter.store.memory import MemoryStore
from exporter.web import server
from exporter.web.access import Access
from exporter.web.app import make_app
from exporter.web.basicauth import BasicAuth
from tests.conftest import NOW, SECRET
from tests.services import free_port


class CountingZlib:
    """zlib as aiohttp's decompressor backend (aiohttp.set_zlib_backend), counting output."""

    def __init__(self) -> None:
        self.decompressed = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(zlib, name)

    def decompressobj(self, *args: Any, **kwargs: Any) -> Any:
        inner = zlib.decompressobj(*args, **kwargs)
        spy = self

        class Counting:
            def __getattr__(self, name: str) -> Any:
                return getattr(inner, name)

            def decompress(self, data: Any, *args: Any) -> bytes:
                out = inner.decompress(data, *args)
                spy.decompressed += len(out)
                return out

        return Counting()


@pytest.fixture
def spy() -> Any:
    counting = CountingZlib()
    aiohttp.set_zlib_backend(counting)
    yield counting
    aiohttp.set_zlib_backend(zlib)


@pytest.fixture
async def listeners(tmp_path: Path) -> AsyncIterator[tuple[int, int]]:
    """A running exporter with split listeners: (web port, Okta port)."""
    web_port, okta_port = free_port(), free_port()
    okta = ListenAddress("127.0.0.1", okta_port)
    config = Config(
        storage=StorageSection(path=tmp_path),
        web=WebSection(
            listen=ListenAddress("127.0.0.1", web_port),
            okta_listen=okta,
            hook_secrets=(SECRET,),
            max_body_bytes=1 << 20,
        ),
    )
    guards = [server.ConnectionGuard(64, 10.0) for _ in range(2)]
    access = Access(BasicAuth({}), {}, guards)
    app = make_app(config, MemoryStore(3600), clock=lambda: NOW, access=access)
    runner = server.make_runner(config, app)
    await runner.setup()
    sites = [
        server.GuardedListener(runner, address, guard, None)
        for address, guard in zip((config.web.listen, okta), guards, strict=True)
    ]
    for site in sites:
        await site.start()
    yield web_port, okta_port
    for site in sites:
        await site.stop()
    await runner.cleanup()


BOMB = gzip.compress(b"[" + b" " * (4 << 20) + b"]")
REJECTED = [
    ("okta", b"POST /hooks/okta", b"", 401),
    ("okta", b"POST /hooks/okta", b"Authorization: " + SECRET.encode() + b"\r\n", 415),
    (
        "okta",
        b"POST /hooks/okta",
        b"Authorization: " + SECRET.encode() + b"\r\nContent-Type: application/json\r\n",
        413,
    ),
    ("okta", b"POST /metrics", b"", 404),
    ("okta", b"PUT /hooks/okta", b"", 405),
    ("web", b"POST /hooks/workflows", b"", 404),
    ("web", b"PUT /metrics", b"", 405),
]


@pytest.mark.parametrize(
    ("listener", "line", "extra", "status"),
    REJECTED,
    ids=[f"{r[0]}-{r[3]}-{r[1].decode()}" for r in REJECTED],
)
async def test_an_early_rejection_closes_without_reading_or_decompressing_the_body(  # noqa: PLR0917 - parametrized
    listeners: tuple[int, int], spy: CountingZlib, listener: str, line: bytes, extra: bytes,
    status: int,
) -> None:  # fmt: skip
    """The answer comes, then the close; the body sent after it is never read nor inflated."""
    port = listeners[0] if listener == "web" else listeners[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    # Declared longer than --web.max-body-size (1 MiB) for the 413; the others ignore it.
    length = (2 << 20) if status == 413 else len(BOMB)
    content_type = b"" if b"Content-Type" in extra else b"Content-Type: text/plain\r\n"
    writer.write(
        line + b" HTTP/1.1\r\nHost: x\r\n" + content_type
        + b"Content-Encoding: gzip\r\nContent-Length: " + str(length).encode() + b"\r\n"
        + extra + b"\r\n"
    )  # fmt: skip
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert head.startswith(b"HTTP/1.1 %d" % status)
    try:
        writer.write(BOMB)
        await writer.drain()
    except OSError:
        pass  # already closed: what we want
    async with asyncio.timeout(5):  # lingering would read on for 10 s
        while await reader.read(65536):
            pass
    writer.close()
    assert spy.decompressed == 0


async def test_a_request_whose_body_was_read_keeps_its_connection(
    listeners: tuple[int, int],
) -> None:
    """Closing only on early rejections: Okta's accepted deliveries keep the connection."""
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{listeners[1]}/hooks/okta"
        body = b'{"data": {"events": []}}'
        headers = {"Authorization": SECRET, "Content-Type": "application/json"}
        for _ in range(2):
            async with session.post(url, data=body, headers=headers) as response:
                assert response.status == 204
                assert response.headers.get("Connection", "").lower() != "close"


def test_the_listeners_use_no_private_attribute_of_aiohttp() -> None:
    """Listening rests on aiohttp's public API only, so an upgrade cannot break it: no
    exporter module reads or sets the private attributes of aiohttp's sites or runners."""
    private = ("._runner", "._server", "._host", "._port", "._ssl_context", "._backlog",
               "_reg_site", "web_runner import _")  # fmt: skip
    root = Path(server.__file__).parent
    found = [
        f"{path.relative_to(root)}: {name}"
        for path in root.rglob("*.py")
        for name in private
        if name in path.read_text()
    ]
    assert found == []
