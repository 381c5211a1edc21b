"""The System Log client: pages and next links, and what each kind of failure becomes."""

from __future__ import annotations

import email.utils
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from exporter.okta.auth import SswsAuth
from exporter.okta.client import OktaClient, _json, _summary
from exporter.okta.errors import ApiError, RateLimited, TransientError
from exporter.okta.ratelimit import RateLimit
from tests.conftest import NOW
from tests.services import free_port

Answer = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Fake:
    """An HTTP server answering /api/v1/logs however the test says."""

    def __init__(self) -> None:
        self.answer: Answer = self.empty
        self.seen: list[web.Request] = []

    async def empty(self, request: web.Request) -> web.StreamResponse:
        return web.json_response([])

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(request)
        return await self.answer(request)


@pytest.fixture
async def fake(
    aiohttp_server: Callable[[web.Application], Awaitable[TestServer]],
) -> AsyncIterator[tuple[Fake, OktaClient, list[str]]]:
    fake = Fake()
    app = web.Application()
    app.router.add_get("/api/v1/logs", fake.handle)
    app.router.add_get("/api/v1/groups/{id}", fake.handle)
    server = await aiohttp_server(app)
    statuses: list[str] = []
    client = OktaClient(
        str(server.make_url("")).rstrip("/"),
        SswsAuth("t0ken"),
        timeout=2,
        observe=lambda status, rate: statuses.append(status),
        clock=lambda: NOW,
    )
    yield fake, client, statuses
    await client.close()


def url(client: OktaClient) -> str:
    return f"{client.org_url}/api/v1/logs?limit=1000"


async def test_a_page_with_its_next_link_whichever_way_links_are_sent(
    fake: tuple[Fake, OktaClient, list[str]],
) -> None:
    server, client, statuses = fake
    following = f"{client.org_url}/api/v1/logs?after=abc"
    for links in (
        [f'<{url(client)}>; rel="self"', f'<{following}>; rel="next"'],
        [f'<{url(client)}>; rel="self", <{following}>; rel="next"'],
    ):

        async def answer(request: web.Request, links: list[str] = links) -> web.Response:
            response = web.json_response([{"uuid": "a"}])
            for link in links:
                response.headers.add("Link", link)
            return response

        server.answer = answer
        page = await client.get_page(url(client))
        assert page.items == [{"uuid": "a"}] and page.next_url == following
    assert server.seen[0].headers["Authorization"] == "SSWS t0ken"
    assert server.seen[0].headers["User-Agent"].startswith("okta-group-push-exporter/")
    assert statuses == ["200", "200"]


async def test_no_next_link_is_none(fake: tuple[Fake, OktaClient, list[str]]) -> None:
    _, client, _ = fake
    assert (await client.get_page(url(client))).next_url is None


async def test_a_429_says_how_long_to_wait_by_oktas_clock(
    fake: tuple[Fake, OktaClient, list[str]],
) -> None:
    server, client, statuses = fake
    okta_now = NOW + 1000  # Okta's clock is ahead of ours: its Date header decides

    async def limited(request: web.Request) -> web.Response:
        headers = {
            "X-Rate-Limit-Limit": "120",
            "X-Rate-Limit-Remaining": "0",
            "X-Rate-Limit-Reset": str(int(okta_now + 30)),
            "Date": email.utils.formatdate(okta_now, usegmt=True),
        }
        body = {"errorCode": "E0000047", "errorSummary": "API call exceeded rate limit"}
        return web.json_response(body, status=429, headers=headers)

    server.answer = limited
    with pytest.raises(RateLimited, match="E0000047") as caught:
        await client.get_page(url(client))
    assert caught.value.retry_in == 31.0
    assert statuses == ["429"]


@pytest.mark.parametrize(
    ("status", "error", "text"),
    [
        (500, TransientError, "E0000009"),
        (503, TransientError, "503"),
        (401, ApiError, "check the API token"),
        (403, ApiError, "okta.logs.read"),
        (400, ApiError, "Invalid filter"),
        (302, ApiError, "302"),  # a redirect is never followed with our credentials
    ],
)
async def test_answers_that_are_not_a_page(
    fake: tuple[Fake, OktaClient, list[str]], status: int, error: type[Exception], text: str
) -> None:
    server, client, statuses = fake

    async def failing(request: web.Request) -> web.Response:
        codes = {500: "E0000009", 401: "E0000011", 403: "E0000006", 400: "E0000053"}
        body = {"errorCode": codes.get(status, ""), "errorSummary": "Invalid filter or so"}
        headers = {"Location": "https://elsewhere.example/"} if status == 302 else None
        return web.json_response(body, status=status, headers=headers)

    server.answer = failing
    with pytest.raises(error, match=text) as caught:
        await client.get_page(url(client))
    assert getattr(caught.value, "status", None) == str(status)
    assert statuses == [str(status)]
    assert "t0ken" not in str(caught.value)


async def test_a_body_that_is_not_a_list_of_events_is_transient(
    fake: tuple[Fake, OktaClient, list[str]],
) -> None:
    server, client, _ = fake
    for body in (b"<html>maintenance</html>", b'{"not": "a list"}'):

        async def broken(request: web.Request, body: bytes = body) -> web.Response:
            return web.Response(body=body, content_type="application/json")

        server.answer = broken
        with pytest.raises(TransientError):
            await client.get_page(url(client))


async def test_a_link_off_the_org_is_never_followed(
    fake: tuple[Fake, OktaClient, list[str]],
) -> None:
    server, client, _ = fake
    with pytest.raises(ApiError, match="refusing to follow") as caught:
        await client.get_page("https://attacker.example/api/v1/logs?after=x")
    assert caught.value.status == "bad_link" and server.seen == []


async def test_nothing_listening_is_a_network_error() -> None:
    statuses: list[str] = []
    org = f"http://127.0.0.1:{free_port()}"
    client = OktaClient(org, SswsAuth("t"), observe=lambda s, r: statuses.append(s))
    try:
        with pytest.raises(TransientError) as caught:
            await client.get_page(f"{org}/api/v1/logs")
    finally:
        await client.close()
    assert caught.value.status == "network_error" == statuses[0]


def test_rate_limit_headers_are_read_leniently() -> None:
    rate = RateLimit.from_headers({"X-Rate-Limit-Limit": "120", "X-Rate-Limit-Remaining": "x"})
    assert (rate.limit, rate.remaining, rate.reset, rate.server_time) == (120, None, None, None)
    assert RateLimit.from_headers({"Date": "not a date"}).server_time is None


async def test_one_object_and_errors_that_name_the_api_and_its_scope(
    fake: tuple[Fake, OktaClient, list[str]],
) -> None:
    server, client, _ = fake
    group = f"{client.org_url}/api/v1/groups/00g1"

    async def answer(request: web.Request) -> web.Response:
        headers = {"X-Rate-Limit-Limit": "1000", "X-Rate-Limit-Remaining": "999",
                   "X-Rate-Limit-Reset": str(int(NOW + 60))}  # fmt: skip
        return web.json_response({"id": "00g1", "profile": {"name": "Eng"}}, headers=headers)

    server.answer = answer
    assert await client.get_object(group) == {"id": "00g1", "profile": {"name": "Eng"}}
    assert client.budget.delay("/api/v1/groups/{id}", 0.5, NOW) > 0  # reported by bucket
    assert client.budget.delay("/api/v1/logs", 0.5, NOW) == 0
    for status, body, error, text in (
        (403, {"errorCode": "E0000006"}, ApiError, "Groups API answered 403.*okta.groups.read"),
        (200, ["not", "an", "object"], TransientError, "Groups API answered 200 with JSON not"),
    ):

        async def odd(
            request: web.Request, status: int = status, body: object = body
        ) -> web.Response:
            return web.json_response(body, status=status)

        server.answer = odd
        with pytest.raises(error, match=text):
            await client.get_object(group)


def test_a_page_nested_past_the_recursion_limit_is_a_body_not_json() -> None:
    with pytest.raises(TransientError, match="not JSON"):
        _json(b"[" * 100_000 + b"]" * 100_000, "https://example.okta.com/api/v1/logs")
    assert _summary(b"[" * 100_000 + b"]" * 100_000).startswith("[[[")
