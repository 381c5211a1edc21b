"""How the exporter proves itself to Okta: an SSWS API token, or OAuth 2.0 with DPoP.

OAuth (Okta's "Implement OAuth for Okta with a service app" and DPoP guides): an API
Services app, scope `okta.logs.read`, `client_credentials` against the org authorization
server at `{org}/oauth2/v1/token`, authenticated by a `private_key_jwt` client assertion
(the only method Okta accepts for Okta-scoped tokens). Apps created since 2024 require
DPoP: every token request carries a proof JWT signed by a key the client holds, the first
one is answered `400 use_dpop_nonce` with a `DPoP-Nonce` header to put in the next proof,
and API calls send `Authorization: DPoP <token>` with a fresh proof that also carries
`ath`, the token's hash. The nonce is kept and reused (Okta renews it daily and accepts
an old one for three days), so only the first token request of a process is refused.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Final, Protocol

import aiohttp
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm
from yarl import URL

from exporter.config import Config
from exporter.config.privatekey import CURVES, PrivateKey, load_private_key
from exporter.ingest.jsontext import DECODER, NOT_JSON
from exporter.okta.errors import ApiError, OktaError, RateLimited, TransientError
from exporter.okta.ratelimit import RateLimit

SCOPE: Final = "okta.logs.read"  # the System Log poller's; the reconciler asks for its own
TOKEN_PATH: Final = "/oauth2/v1/token"  # noqa: S105 - a path, not a secret
ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME: Final = 300  # Okta accepts up to an hour; a short one is safer
EXPIRY_MARGIN: Final = 60.0  # renew a token this long before Okta says it expires
AUTH_STATUS: Final = "auth_error"  # the poll_requests_total status when no token could be had


def signing_algorithm(key: PrivateKey) -> str:
    """The JWS algorithm Okta expects for the key: RS256, or ES256/384/512 by curve."""
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256"
    return CURVES[key.curve.name]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token_hash(access_token: str) -> str:
    """The `ath` claim: base64url of the SHA-256 of the access token."""
    return _b64(hashlib.sha256(access_token.encode()).digest())


def htu(url: str) -> str:
    """The `htu` claim: the request URL without query and fragment (RFC 9449 section 4.2)."""
    return str(URL(url).with_query(None).with_fragment(None))


class Auth(Protocol):
    """Credentials for System Log requests."""

    description: str  # for logs and the landing page; never the secret itself

    async def authorize(
        self, session: aiohttp.ClientSession, method: str, url: str
    ) -> dict[str, str]:
        """The headers that authenticate one request (may fetch a token first)."""
        ...

    def retry(self, status: int, headers: Mapping[str, str]) -> bool:
        """Whether an answer asks for one more try with new credentials (nonce, token)."""
        ...


class SswsAuth:
    """An Okta API token: `Authorization: SSWS <token>`; it acts as the admin who made it."""

    description = "SSWS API token"

    def __init__(self, token: str) -> None:
        self._header = f"SSWS {token}"

    async def authorize(
        self, session: aiohttp.ClientSession, method: str, url: str
    ) -> dict[str, str]:
        return {"Authorization": self._header}

    def retry(self, status: int, headers: Mapping[str, str]) -> bool:
        return False


class OAuthAuth:
    """An OAuth 2.0 service app: private_key_jwt, client_credentials, DPoP; token cached."""

    def __init__(
        self,
        org_url: str,
        client_id: str,
        key: PrivateKey,
        *,
        key_id: str | None = None,
        dpop: bool = True,
        clock: Callable[[], float] = time.time,
        timeout: float = 30.0,
        scopes: str = SCOPE,
    ) -> None:
        self.description = f"OAuth 2.0 service app {client_id}" + (" with DPoP" if dpop else "")
        self.token_url = org_url + TOKEN_PATH
        self.scopes = scopes  # space-separated, as the token request sends them
        self._client_id = client_id
        self._key = key
        self._algorithm = signing_algorithm(key)
        self._key_id = key_id
        self._clock = clock
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._scheme = "Bearer"
        self._expires = 0.0
        # The DPoP key is the process's own, never the client key (a stolen token is bound
        # to a key that never left this process).
        self._dpop_key = ec.generate_private_key(ec.SECP256R1()) if dpop else None
        self._dpop_jwk = (
            ECAlgorithm.to_jwk(self._dpop_key.public_key(), as_dict=True) if self._dpop_key else {}
        )
        self._token_nonce: str | None = None  # the authorization server's
        self._resource_nonce: str | None = None  # the resource server's, if it ever asks
        self.token_requests = 0

    # --- JWTs -------------------------------------------------------------------------------

    def client_assertion(self) -> str:
        """The private_key_jwt client assertion for one token request."""
        now = int(self._clock())
        claims = {
            "iss": self._client_id,
            "sub": self._client_id,
            "aud": self.token_url,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME,
            "jti": uuid.uuid4().hex,  # Okta refuses a reused assertion
        }
        headers = {"kid": self._key_id} if self._key_id else None
        return jwt.encode(claims, self._key, algorithm=self._algorithm, headers=headers)

    def proof(
        self, method: str, url: str, *, nonce: str | None = None, access_token: str | None = None
    ) -> str:
        """A DPoP proof JWT for one request."""
        if self._dpop_key is None:
            raise RuntimeError("DPoP is off for this client")
        claims: dict[str, object] = {
            "htm": method,
            "htu": htu(url),
            "iat": int(self._clock()),
            "jti": uuid.uuid4().hex,
        }
        if nonce:
            claims["nonce"] = nonce
        if access_token is not None:
            claims["ath"] = token_hash(access_token)
        headers = {"typ": "dpop+jwt", "jwk": self._dpop_jwk}
        return jwt.encode(claims, self._dpop_key, algorithm="ES256", headers=headers)

    # --- the token ----------------------------------------------------------------------------

    async def _access_token(self, session: aiohttp.ClientSession) -> str:
        async with self._lock:  # one token request at a time; the others wait and reuse it
            if self._token is None or self._clock() >= self._expires:
                await self._fetch_token(session)
            assert self._token is not None  # noqa: S101 - _fetch_token sets it or raises
            return self._token

    async def _fetch_token(self, session: aiohttp.ClientSession) -> None:
        for attempt in range(2):
            headers = {"Accept": "application/json"}
            if self._dpop_key is not None:
                headers["DPoP"] = self.proof("POST", self.token_url, nonce=self._token_nonce)
            form = {
                "grant_type": "client_credentials",
                "scope": self.scopes,
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": self.client_assertion(),
            }
            self.token_requests += 1
            status, answer, rate = await self._post(session, form, headers)
            error = str(answer.get("error", ""))
            if status == 200:
                self._accept(answer)
                return
            if error == "use_dpop_nonce" and attempt == 0 and self._token_nonce is not None:
                continue  # the nonce came with this answer: ask again with it
            raise _token_error(
                status, answer, rate, self._clock(), self.scopes, dpop=self._dpop_key is not None
            )
        raise ApiError("token endpoint: asked for a new DPoP nonce twice in a row", AUTH_STATUS)

    async def _post(
        self, session: aiohttp.ClientSession, form: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, dict[str, object], RateLimit]:
        try:
            async with session.post(
                self.token_url,
                data=form,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                nonce = response.headers.get("DPoP-Nonce")
                if nonce:
                    self._token_nonce = nonce
                body = await response.read()
                rate = RateLimit.from_headers(response.headers)
                status = response.status
        except TimeoutError:
            raise TransientError("token endpoint: timed out", AUTH_STATUS) from None
        except aiohttp.ClientError as exc:
            raise TransientError(f"token endpoint: {_describe(exc)}", AUTH_STATUS) from None
        try:
            answer = DECODER.decode(body)
        except NOT_JSON:
            answer = {}
        return status, answer if isinstance(answer, dict) else {}, rate

    def _accept(self, answer: Mapping[str, object]) -> None:
        token = answer.get("access_token")
        if not isinstance(token, str) or not token:
            raise ApiError("token endpoint: the answer holds no access_token", AUTH_STATUS)
        # An app without "Require DPoP" answers a DPoP request with a Bearer token.
        dpop_bound = str(answer.get("token_type", "")).lower() == "dpop"
        lifetime = answer.get("expires_in")
        try:
            seconds = float(lifetime) if isinstance(lifetime, int | float) else 3600.0
        except OverflowError:  # an integer past float's range (msgspec decodes them exactly)
            seconds = 3600.0
        self._token = token
        self._scheme = "DPoP" if dpop_bound and self._dpop_key is not None else "Bearer"
        self._expires = self._clock() + max(seconds - EXPIRY_MARGIN, seconds / 2)

    # --- Auth ---------------------------------------------------------------------------------

    async def authorize(
        self, session: aiohttp.ClientSession, method: str, url: str
    ) -> dict[str, str]:
        token = await self._access_token(session)
        headers = {"Authorization": f"{self._scheme} {token}"}
        if self._scheme == "DPoP":
            headers["DPoP"] = self.proof(
                method, url, nonce=self._resource_nonce, access_token=token
            )
        return headers

    def retry(self, status: int, headers: Mapping[str, str]) -> bool:
        """After a 401: a resource-server nonce to use, or a token to fetch anew."""
        if status != 401:
            return False
        nonce = headers.get("DPoP-Nonce")
        if nonce and "use_dpop_nonce" in headers.get("WWW-Authenticate", ""):
            self._resource_nonce = nonce
            return True
        self._token = None  # revoked or expired early: the next authorize fetches a new one
        return True


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


# Okta's token endpoint refuses a client assertion or DPoP proof whose times do not fit
# its clock, e.g. `invalid_client`: "The client_assertion token has an expiration too far
# into the future." (okta/okta-sdk-python#382, okta/okta-sdk-dotnet#489), or "... is
# expired."; a DPoP proof's `iat` likewise. Matched on the words, as Okta gives no code.
_CLOCK_ERRORS: Final = frozenset({"invalid_client", "invalid_dpop_proof"})
_CLOCK_WORDS: Final = re.compile(
    r"\b(iat|exp|expired|expiration|issued|too old|in the future|into the future)\b",
    re.IGNORECASE,
)
DPOP_SETTING: Final = "Require Demonstrating Proof of Possession (DPoP) header in token requests"


def _advice(error: str, description: str, rate: RateLimit, now: float, dpop: bool) -> str:
    """What the person reading a refused token request should do, or ""."""
    if error in _CLOCK_ERRORS and _CLOCK_WORDS.search(description):
        if rate.server_time is None:
            return " (check this host's clock: Okta's answer had no Date header to compare)"
        offset = now - rate.server_time
        return (
            f" (this host's clock is {offset:+.0f} s off Okta's, by its Date header: "
            "sync it with NTP)"
        )
    if error == "invalid_dpop_proof" and dpop:
        # okta/okta-sdk-nodejs#453: "The code works if I turn off DPoP for the app".
        return (
            " (if the app does not require DPoP, its box "
            f'"{DPOP_SETTING}" being off, run with --okta.dpop=false)'
        )
    if error == "invalid_dpop_proof":
        return f' (the app requires DPoP ("{DPOP_SETTING}"): run with --okta.dpop=true)'
    return ""


def _token_error(
    status: int,
    answer: Mapping[str, object],
    rate: RateLimit,
    now: float,
    scopes: str,
    *,
    dpop: bool = True,
) -> OktaError:
    error = str(answer.get("error", "")) or f"HTTP {status}"
    description = str(answer.get("error_description", ""))
    message = f"token endpoint: {error}" + (f": {description}" if description else "")
    if error == "invalid_scope":  # the app lacks a scope the token was asked for
        message += f" (grant {scopes} to the app: its Okta API Scopes tab)"
    message += _advice(error, description, rate, now, dpop)
    if status == 429:
        return RateLimited(message, AUTH_STATUS, rate.until_reset(now) or 60.0)
    if status >= 500:
        return TransientError(message, AUTH_STATUS)
    return ApiError(message, AUTH_STATUS)


def make_auth(config: Config, scopes: str = SCOPE) -> Auth:
    """SSWS when an API token is configured, else the OAuth service app (asking `scopes`)."""
    if config.okta.api_token:
        return SswsAuth(config.okta.api_token)
    if config.okta.org_url is None or config.okta.client_id is None:
        raise ValueError("no Okta credentials configured")
    return OAuthAuth(
        config.okta.org_url,
        config.okta.client_id,
        load_private_key(config.okta.private_key),
        key_id=config.okta.private_key_id,
        dpop=config.okta.dpop,
        timeout=config.okta.request_timeout,
        scopes=scopes,
    )
