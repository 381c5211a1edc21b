"""One System Log page per call, with Okta's errors turned into what to do next.

The client never waits or retries by itself (except once, at once, when the credentials
ask for it): waiting is the caller's business, so the poller can hold its lease and tests
can inject time. Every HTTP answer is reported to `observe` with its rate-limit headers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import aiohttp
import orjson
from multidict import CIMultiDictProxy

from exporter import __version__
from exporter.config import Config
from exporter.okta.auth import Auth, make_auth
from exporter.okta.errors import ApiError, OktaError, RateLimited, TransientError
from exporter.okta.query import same_origin
from exporter.okta.ratelimit import RateLimit

USER_AGENT: Final = f"okta-group-push-exporter/{__version__}"
TIMEOUT_STATUS: Final = "timeout"
NETWORK_STATUS: Final = "network_error"


@dataclass(frozen=True, slots=True)
class Page:
    """One System Log answer: its LogEvents (raw), the next link, the rate-limit headers."""

    events: list[object]
    next_url: str | None
    rate: RateLimit


def _ignore(status: str, rate: RateLimit | None) -> None:
    return None


class OktaClient:
    """GETs System Log pages from one org with one set of credentials."""

    def __init__(
        self,
        org_url: str,
        auth: Auth,
        *,
        timeout: float = 60.0,
        observe: Callable[[str, RateLimit | None], None] = _ignore,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.org_url = org_url
        self.auth = auth
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._observe = observe
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                timeout=self._timeout,
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get_page(self, url: str) -> Page:
        """GET one page; OktaError (RateLimited, TransientError, ApiError) when none came."""
        if not same_origin(url, self.org_url):
            raise ApiError(f"refusing to follow a link off {self.org_url}: {url}", "bad_link")
        await self.open()
        assert self._session is not None  # noqa: S101 - open() made it
        for attempt in range(2):
            try:
                headers = await self.auth.authorize(self._session, "GET", url)
            except OktaError as exc:
                self._observe(exc.status, None)
                raise
            status, body, response_headers = await self._get(url, headers)
            rate = RateLimit.from_headers(response_headers)
            self._observe(str(status), rate)
            if status == 200:
                return _page(body, response_headers, rate)
            if attempt == 0 and self.auth.retry(status, response_headers):
                continue
            raise _error(status, body, rate, self._clock())
        raise ApiError("Okta refused the credentials twice in a row", "401")  # pragma: no cover

    async def _get(
        self, url: str, headers: dict[str, str]
    ) -> tuple[int, bytes, CIMultiDictProxy[str]]:
        assert self._session is not None  # noqa: S101
        try:
            # No redirects: a redirect could carry the credentials to another host.
            async with self._session.get(url, headers=headers, allow_redirects=False) as response:
                return response.status, await response.read(), response.headers
        except TimeoutError:
            self._observe(TIMEOUT_STATUS, None)
            raise TransientError(
                f"System Log request timed out after {self._timeout.total:g} s", TIMEOUT_STATUS
            ) from None
        except aiohttp.ClientError as exc:
            self._observe(NETWORK_STATUS, None)
            raise TransientError(f"System Log request failed: {exc}", NETWORK_STATUS) from None


def _page(body: bytes, headers: CIMultiDictProxy[str], rate: RateLimit) -> Page:
    try:
        events = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise TransientError("System Log answered 200 with a body not JSON", "200") from None
    if not isinstance(events, list):
        raise TransientError("System Log answered 200 with JSON that is not a list", "200")
    return Page(events=events, next_url=_next_link(headers), rate=rate)


def _next_link(headers: CIMultiDictProxy[str]) -> str | None:
    """The rel="next" URL among the Link headers (Okta sends one header per link)."""
    for value in headers.getall("Link", []):
        for part in str(value).split(","):
            target, _, params = part.partition(";")
            rels = {p.strip().replace(" ", "") for p in params.split(";")}
            if 'rel="next"' in rels or "rel=next" in rels:
                return target.strip().removeprefix("<").removesuffix(">")
    return None


def _summary(body: bytes) -> str:
    """Okta's errorSummary (and errorCode), or the start of the body."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body[:200].decode("utf-8", "replace").strip()
    if isinstance(document, dict) and "errorSummary" in document:
        return f"{document.get('errorCode', '')}: {document['errorSummary']}".strip(": ")
    return str(document)[:200]


# What to tell an operator who sees these: the usual cause of each.
HINTS: Final = {
    401: "check the API token or the OAuth app's client id and key",
    403: "grant the okta.logs.read scope and an admin role (e.g. Read-only Admin) to the app",
    404: "check --okta.org-url",
}


def _error(status: int, body: bytes, rate: RateLimit, now: float) -> OktaError:
    message = f"System Log answered {status}: {_summary(body)}"
    if status == 429:
        return RateLimited(message, "429", rate.until_reset(now) or 60.0)
    if status >= 500:
        return TransientError(message, str(status))
    hint = HINTS.get(status)
    return ApiError(message + (f" ({hint})" if hint else ""), str(status))


def make_client(
    config: Config,
    *,
    observe: Callable[[str, RateLimit | None], None] = _ignore,
    clock: Callable[[], float] = time.time,
) -> OktaClient:
    """The client for the configured org and credentials (--okta.* flags)."""
    if config.okta_org_url is None:
        raise ValueError("--okta.org-url is not set")
    return OktaClient(
        config.okta_org_url,
        make_auth(config),
        timeout=config.okta_request_timeout,
        observe=observe,
        clock=clock,
    )
