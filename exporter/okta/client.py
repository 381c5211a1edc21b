"""One Okta API answer per call (a page of a list, or one object), errors made actionable.

The client never waits or retries by itself (except once, at once, when the credentials
ask for it): waiting is the caller's business, so the poller and the reconciler can hold
their leases and tests can inject time. Every HTTP answer is reported to `observe` with its
rate-limit headers, and to the org's shared `RateBudget` under its endpoint's bucket.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import aiohttp
from multidict import CIMultiDictProxy

from exporter import __version__
from exporter.config import Config
from exporter.ingest.jsontext import DECODER, NOT_JSON
from exporter.okta.auth import SCOPE, Auth, make_auth
from exporter.okta.endpoints import Endpoint, endpoint_of
from exporter.okta.errors import ApiError, OktaError, RateLimited, TransientError
from exporter.okta.query import same_origin
from exporter.okta.ratelimit import RateBudget, RateLimit

USER_AGENT: Final = f"okta-group-push-exporter/{__version__}"
TIMEOUT_STATUS: Final = "timeout"
NETWORK_STATUS: Final = "network_error"


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list (LogEvents, apps, mappings; raw), the next link, the rate limit."""

    items: list[object]
    next_url: str | None
    rate: RateLimit


def _ignore(status: str, rate: RateLimit | None) -> None:
    return None


class OktaClient:
    """GETs from one org's API with one set of credentials."""

    def __init__(
        self,
        org_url: str,
        auth: Auth,
        *,
        timeout: float = 60.0,
        observe: Callable[[str, RateLimit | None], None] = _ignore,
        clock: Callable[[], float] = time.time,
        budget: RateBudget | None = None,
    ) -> None:
        self.org_url = org_url
        self.auth = auth
        self.budget = budget if budget is not None else RateBudget()
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._observe_metrics = observe
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
        """GET one page of a list; OktaError (RateLimited, TransientError, ApiError) if none."""
        body, headers, rate = await self._fetch(url)
        items = _json(body, url)
        if not isinstance(items, list):
            raise TransientError(
                f"{endpoint_of(url).title} answered 200 with JSON not a list", "200"
            )
        return Page(items=items, next_url=_next_link(headers), rate=rate)

    async def get_object(self, url: str) -> dict[str, object]:
        """GET one object (a group, say); OktaError as for `get_page`."""
        body, _, _ = await self._fetch(url)
        document = _json(body, url)
        if not isinstance(document, dict):
            raise TransientError(
                f"{endpoint_of(url).title} answered 200 with JSON not an object", "200"
            )
        return document

    async def _fetch(self, url: str) -> tuple[bytes, CIMultiDictProxy[str], RateLimit]:
        """The body, headers and rate limit of a 200 answer; OktaError for anything else."""
        endpoint = endpoint_of(url)
        if not same_origin(url, self.org_url):
            raise ApiError(f"refusing to follow a link off {self.org_url}: {url}", "bad_link")
        await self.open()
        assert self._session is not None  # noqa: S101 - open() made it
        for attempt in range(2):
            try:
                headers = await self.auth.authorize(self._session, "GET", url)
            except OktaError as exc:
                self._observe(endpoint, exc.status, None)
                raise
            status, body, response_headers = await self._get(url, headers, endpoint)
            rate = RateLimit.from_headers(response_headers)
            self._observe(endpoint, str(status), rate)
            if status == 200:
                return body, response_headers, rate
            if attempt == 0 and self.auth.retry(status, response_headers):
                continue
            raise _error(endpoint, status, body, rate, self._clock())
        raise ApiError("Okta refused the credentials twice in a row", "401")  # pragma: no cover

    def _observe(self, endpoint: Endpoint, status: str, rate: RateLimit | None) -> None:
        self.budget.observe(endpoint.bucket, status, rate, self._clock())
        self._observe_metrics(status, rate)

    async def _get(
        self, url: str, headers: dict[str, str], endpoint: Endpoint
    ) -> tuple[int, bytes, CIMultiDictProxy[str]]:
        assert self._session is not None  # noqa: S101
        try:
            # No redirects: a redirect could carry the credentials to another host.
            async with self._session.get(url, headers=headers, allow_redirects=False) as response:
                return response.status, await response.read(), response.headers
        except TimeoutError:
            self._observe(endpoint, TIMEOUT_STATUS, None)
            raise TransientError(
                f"{endpoint.title} request timed out after {self._timeout.total:g} s",
                TIMEOUT_STATUS,
            ) from None
        except aiohttp.ClientError as exc:
            self._observe(endpoint, NETWORK_STATUS, None)
            raise TransientError(
                f"{endpoint.title} request failed: {exc}", NETWORK_STATUS
            ) from None


def _json(body: bytes, url: str) -> object:
    try:
        return DECODER.decode(body)
    except NOT_JSON:
        raise TransientError(
            f"{endpoint_of(url).title} answered 200 with a body not JSON", "200"
        ) from None


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
        document = DECODER.decode(body)
    except NOT_JSON:
        return body[:200].decode("utf-8", "replace").strip()
    if isinstance(document, dict) and "errorSummary" in document:
        return f"{document.get('errorCode', '')}: {document['errorSummary']}".strip(": ")
    return str(document)[:200]


def _error(endpoint: Endpoint, status: int, body: bytes, rate: RateLimit, now: float) -> OktaError:
    message = f"{endpoint.title} answered {status}: {_summary(body)}"
    if status == 429:
        return RateLimited(message, "429", rate.until_reset(now) or 60.0)
    if status >= 500:
        return TransientError(message, str(status))
    hint = endpoint.hint(status)
    return ApiError(message + (f" ({hint})" if hint else ""), str(status))


def make_client(
    config: Config,
    *,
    observe: Callable[[str, RateLimit | None], None] = _ignore,
    clock: Callable[[], float] = time.time,
    budget: RateBudget | None = None,
    scopes: str = SCOPE,
) -> OktaClient:
    """The client for the configured org and credentials (--okta.* flags).

    `scopes` are what an OAuth token is asked for: each client has its own token, so a
    scope the app was not granted fails only the client that needs it.
    """
    if config.okta.org_url is None:
        raise ValueError("--okta.org-url is not set")
    return OktaClient(
        config.okta.org_url,
        make_auth(config, scopes),
        timeout=config.okta.request_timeout,
        observe=observe,
        clock=clock,
        budget=budget,
    )
