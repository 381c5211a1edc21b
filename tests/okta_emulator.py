"""An Okta org for tests: the System Log, apps, group push mappings, groups and OAuth tokens.

What it follows (research/okta.md sections 3 and 6, Okta's system-log-query, rate-limit
and DPoP pages):

- `GET /api/v1/logs` with a SCIM `filter` (`eventType eq "..."`, `sw`, `outcome.result`,
  joined by `and`/`or`, with parentheses), `since`, `until`, `limit` (at most 1000),
  `sortOrder`, and the opaque `after` cursor of its own next links. A polling query (no
  `until`, ASCENDING) is ordered by persistence time and its next link is always there,
  even on an empty page; a bounded query (`since` and `until`) is ordered by `published`
  and its last page has no next link. Invalid queries answer 400 with Okta's error codes.
- `X-Rate-Limit-Limit/-Remaining/-Reset` on every answer, over one-minute windows of the
  emulator's clock, and `429` with Okta's `E0000047` body when the window is used up. Its
  `Date` header is the emulator's clock too, so tests can run it on fake time.
- `GET /api/v1/apps` (Okta's listApplications: `filter=status eq "..."`, `limit` up to 200,
  `after` paging through the next link; each app's `features`, `GROUP_PUSH` among them),
  `GET /api/v1/apps/{appId}/group-push/mappings` (listGroupPushMappings: `limit` 1..1000,
  default 100, `after`, `status` and `sourceGroupId` filters; GroupPushMapping objects with
  `status` ACTIVE/ERROR/INACTIVE, `errorSummary`, `lastPush`, `_links`) and
  `GET /api/v1/groups/{groupId}` (getGroup), with Okta's 404 and 400 error bodies. OAuth
  tokens must carry the scopes each needs (okta.apps.read, okta.groups.read), else 403.
- Rate limits per bucket, as Okta's management rate-limit page divides them: `/api/v1/logs`,
  `/api/v1/apps` with every `/api/v1/apps/...` path, and `/api/v1/groups/{id}`.
- Injected faults: 5xx answers, and slow answers that never come (until shutdown); and a
  flaky org (`flaky`), where every Nth request of any API answers Okta's documented
  `500 E0000009 Internal Server Error` (developer.okta.com/docs/reference/error-codes), or
  has its connection dropped without an answer (`RESET`), the way any request may.
- `Authorization: SSWS <token>`, and OAuth 2.0: `POST /oauth2/v1/token` checks the
  private_key_jwt client assertion with the app's public key (signature, iss, sub, aud,
  exp, unused jti) and the DPoP proof (typ, signature by its embedded jwk, htm, htu, iat,
  unused jti, and the nonce: the first proof without it gets `400 use_dpop_nonce` and a
  `DPoP-Nonce` header); API calls then need `Authorization: DPoP <token>` with a fresh proof
  that carries `ath` and is signed by the key the token was bound to.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import hashlib
import itertools
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import jwt
import orjson
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from yarl import URL

from exporter.ingest.events import parse_timestamp
from tests.builders import okta_id

PAYLOADS: Final = Path(__file__).parent / "payloads"
RATE_LIMITED_BODY: Final = (PAYLOADS / "okta-openapi_error-429-too-many-requests.json").read_bytes()
WINDOW: Final = 60.0
MAX_LIMIT: Final = 1000
MAX_APPS_LIMIT: Final = 200
MAX_MAPPINGS_LIMIT: Final = 1000
MAX_SINCE_DAYS: Final = 180
PROOF_WINDOW: Final = 60.0  # how old (or how far ahead) a proof's iat may be
RESET: Final = 0  # a `flaky` status: drop the connection instead of answering
INTERNAL_ERROR: Final = {"errorCode": "E0000009", "errorSummary": "Internal Server Error"}
ASSERTION_MAX_LIFETIME: Final = 3600.0  # Okta refuses a client assertion's exp beyond an hour


def _iso(epoch: float) -> str:
    """Epoch seconds as Okta writes times: UTC, milliseconds, Z."""
    millis = round(epoch * 1000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(millis // 1000))
    return f"{stamp}.{millis % 1000:03d}Z"


def log_event(
    uuid: str,
    event_type: str,
    published: float,
    *,
    application: str = "Slack",
    group: str = "Engineering",
    actor: str = "Ada Admin",
    outcome: str = "FAILURE",
    reason: str = "",
) -> dict[str, Any]:
    """A LogEvent as Okta's System Log returns it (the fields the exporter reads, and some)."""
    return {
        "uuid": uuid,
        "published": _iso(published),
        "eventType": event_type,
        "version": "0",
        "severity": "ERROR" if outcome == "FAILURE" else "INFO",
        "displayMessage": "Push group",
        "actor": {"id": "00u1", "type": "User", "alternateId": "ada@example.com",
                  "displayName": actor},
        "outcome": {"result": outcome, "reason": reason},
        "target": [
            # Real-shaped: the instance label is the alternateId; the ids follow the names.
            {"id": okta_id("0oa", application), "type": "AppInstance",
             "alternateId": application, "displayName": f"{application} (catalogue)"},
            {"id": okta_id("00g", group), "type": "UserGroup", "alternateId": group,
             "displayName": group},
        ],
        "debugContext": {"debugData": {"requestId": uuid}},
    }  # fmt: skip


def hook_delivery_event(
    uuid: str, published: float, *, hook_id: str = "who8vt36qfNpCGz9H1e6", hook: str = "Exporter"
) -> dict[str, Any]:
    """An `event_hook.delivery` LogEvent: Okta could not deliver to an event hook.

    INFERRED, not copied: Okta's catalogue documents no schema for this type and no public
    sample was found (exporter/okta/hookdelivery.py). It follows the LogEvent shape, with
    the hook as a target of type EventHook (id as in the Event Hooks API's example).
    """
    return {
        "uuid": uuid,
        "published": _iso(published),
        "eventType": "event_hook.delivery",
        "version": "0",
        "severity": "WARN",
        "displayMessage": "Event hook delivery failed",
        "actor": {"id": "0oa1system", "type": "PublicClientApp", "alternateId": "Okta System",
                  "displayName": "Okta System"},
        "outcome": {"result": "FAILURE", "reason": "Read timed out"},
        "target": [{"id": hook_id, "type": "EventHook", "alternateId": hook, "displayName": hook}],
        "debugContext": {"debugData": {"requestId": uuid}},
    }  # fmt: skip


# --- the SCIM filter subset -------------------------------------------------------------------

_TOKEN = re.compile(r'\s*(\(|\)|"(?:[^"\\]|\\.)*"|[A-Za-z_][\w.]*)')
Predicate = Callable[[dict[str, Any]], bool]


class FilterError(ValueError):
    pass


def _attribute(event: dict[str, Any], path: str) -> object:
    value: object = event
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def parse_filter(text: str) -> Predicate:
    """`a eq "x" or (b sw "y" and c eq "z")`, with SCIM precedence (and binds tighter)."""
    tokens: list[str] = []
    position = 0
    while position < len(text.rstrip()):
        match = _TOKEN.match(text, position)
        if match is None:
            raise FilterError(f"Invalid filter '{text}': unexpected text at position {position}")
        tokens.append(match.group(1))
        position = match.end()
    stream = iter([*tokens, ""])
    current = [next(stream)]

    def take() -> str:
        token = current[0]
        current[0] = next(stream, "")
        return token

    def comparison() -> Predicate:
        if current[0] == "(":
            take()
            inner = disjunction()
            if take() != ")":
                raise FilterError(f"Invalid filter '{text}': missing ')'")
            return inner
        attribute, operator, literal = take(), take(), take()
        if attribute not in ("eventType", "outcome.result", "target.id", "actor.id"):
            raise FilterError(f"field is not valid: {attribute}")
        if not literal.startswith('"'):
            raise FilterError(f"Invalid filter '{text}': expected a string after {operator}")
        value = orjson.loads(literal)
        if operator == "eq":
            return lambda event: _attribute(event, attribute) == value
        if operator == "sw":
            return lambda event: str(_attribute(event, attribute) or "").startswith(value)
        raise FilterError(
            f"Invalid filter '{text}': Unrecognized attribute operator '{operator}'. "
            "Expected: eq,co,sw,pr,gt,ge,lt,le"
        )

    def conjunction() -> Predicate:
        terms = [comparison()]
        while current[0] == "and":
            take()
            terms.append(comparison())
        return lambda event: all(term(event) for term in terms)

    def disjunction() -> Predicate:
        terms = [conjunction()]
        while current[0] == "or":
            take()
            terms.append(conjunction())
        return lambda event: any(term(event) for term in terms)

    predicate = disjunction()
    if current[0] != "":
        raise FilterError(f"Invalid filter '{text}': unexpected '{current[0]}'")
    return predicate


# --- JWT checks -------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint (what Okta puts in a DPoP-bound token's cnf.jkt)."""
    members = ("crv", "kty", "x", "y") if jwk.get("kty") == "EC" else ("e", "kty", "n")
    canonical = orjson.dumps({k: jwk[k] for k in members}, option=orjson.OPT_SORT_KEYS)
    return _b64(hashlib.sha256(canonical).digest())


class Rejected(Exception):
    """A request the emulator refuses: the status, an OAuth error code and a description."""

    def __init__(self, status: int, error: str, description: str, **headers: str) -> None:
        super().__init__(description)
        self.status, self.error, self.headers = status, error, headers


class Refused(Exception):
    """An apps, mappings or groups request the emulator answers with an Okta error body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("errorSummary", ""))
        self.status, self.body = status, body


@dataclass
class Issued:
    jkt: str | None
    expires: float
    scope: str


@dataclass
class Fault:
    status: int = 0  # 0: a slow answer instead
    body: bytes = b'{"errorCode":"E0000009","errorSummary":"Internal Server Error"}'


@dataclass(frozen=True)
class Request:
    """One System Log request as the emulator saw it."""

    query: dict[str, str]
    status: int
    events: int  # how many events the answer held
    at: float  # the emulator's clock


@dataclass(frozen=True)
class ApiRequest:
    """One request to the apps, mappings or groups API as the emulator saw it."""

    path: str
    query: dict[str, str]
    status: int
    items: int  # how many objects the answer held
    at: float  # the emulator's clock


@dataclass
class EmulatedApp:
    id: str
    name: str
    label: str
    features: list[str]
    status: str = "ACTIVE"

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "label": self.label,
            "status": self.status,
            "signOnMode": "SAML_2_0",
            "features": self.features,
            "_links": {"groups": {"href": f"/api/v1/apps/{self.id}/groups"}},
        }


def _not_found(what: str, kind: str) -> dict[str, Any]:
    return {
        "errorCode": "E0000007",
        "errorSummary": f"Not found: Resource not found: {what} ({kind})",
        "errorLink": "E0000007",
        "errorId": secrets.token_hex(8),
        "errorCauses": [],
    }


def _validation(summary: str) -> dict[str, Any]:
    return {"errorCode": "E0000001", "errorSummary": f"Api validation failed: {summary}"}


def bucket_of(path: str) -> str:
    """Okta's rate-limit bucket of a path (the emulator's own reading of Okta's page)."""
    if path.startswith("/api/v1/apps"):
        return "apps"
    if path.startswith("/api/v1/groups/"):
        return "groups"
    return "logs"


@dataclass
class Stored:
    index: int
    persisted: float
    published: float
    event: dict[str, Any]


@dataclass
class Emulator:
    """One org's state, and the aiohttp application that serves it."""

    clock: Callable[[], float] = time.time
    api_token: str = "test-api-token"
    client_id: str = "0oaexporter"
    public_key: PublicKeyTypes | None = None
    require_dpop: bool = True
    # When set, a token request that carries a DPoP proof is refused `400 invalid_dpop_proof`
    # with this description: what users of apps that do not take DPoP have reported, e.g.
    # "DPoP proof JWT cannot be parsed." (okta/okta-sdk-dotnet#758, okta-sdk-nodejs#453).
    dpop_refusal: str | None = None
    resource_nonce: bool = False  # API calls' proofs need the nonce too (RFC 9449 section 9)
    token_lifetime: float = 3600.0
    rate_limit: int = 600  # of the /api/v1/logs bucket
    page_size: int = MAX_LIMIT  # the most one answer holds, whatever the limit asked
    # When set (scheme://host:port), the System Log's next links point there: a hostile or
    # misconfigured proxy that rewrites them off the org.
    next_link_origin: str | None = None
    events: list[Stored] = field(default_factory=list)
    faults: deque[Fault] = field(default_factory=deque)
    requests: list[Request] = field(default_factory=list)
    token_requests: list[int] = field(default_factory=list)  # their statuses
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    # --- apps, group push mappings and groups ---
    granted_scopes: set[str] = field(
        default_factory=lambda: {"okta.logs.read", "okta.apps.read", "okta.groups.read"}
    )
    bucket_limits: dict[str, int] = field(default_factory=lambda: {"apps": 100, "groups": 1000})
    apps_page_size: int = MAX_APPS_LIMIT
    mappings_page_size: int = MAX_MAPPINGS_LIMIT
    apps: dict[str, EmulatedApp] = field(default_factory=dict)
    mappings: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # by app id
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    api_faults: deque[Fault] = field(default_factory=deque)
    token_busy_until: float = 0.0  # the token endpoint answers 429 until then
    flaky_every: int = 0  # every Nth request (logs and API together) fails; 0: none does
    flaky_status: int = 500  # how it fails: an HTTP status, or RESET
    _flaky_count: int = 0
    api_requests: list[ApiRequest] = field(default_factory=list)
    _tokens: dict[str, Issued] = field(default_factory=dict)
    _cursors: dict[str, tuple[str, int, float]] = field(default_factory=dict)
    _jtis: set[str] = field(default_factory=set)
    _windows: dict[str, tuple[float, int]] = field(default_factory=dict)  # bucket -> window
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    _counter: itertools.count[int] = field(default_factory=itertools.count)

    # --- what tests do ---------------------------------------------------------------------

    def add(self, *events: dict[str, Any], persisted: float | None = None) -> None:
        """Events that Okta persisted now (or at `persisted`), in this order."""
        for event in events:
            published = parse_timestamp(event.get("published")) or self.clock()
            at = self.clock() if persisted is None else persisted
            self.events.append(Stored(next(self._counter), at, published, event))

    def fail_next(self, status: int, times: int = 1) -> None:
        """The next `times` System Log requests answer `status`."""
        self.faults.extend(Fault(status) for _ in range(times))

    def slow_next(self, times: int = 1) -> None:
        """The next `times` System Log requests never answer (until the emulator stops)."""
        self.faults.extend(Fault(0) for _ in range(times))

    def use_quota(self, requests: int, bucket: str = "logs") -> None:
        """Other clients of the org use `requests` of the current window of `bucket`."""
        self._rate_headers(count=False, bucket=bucket)
        start, used = self._windows[bucket]
        self._windows[bucket] = (start, used + requests)

    def add_group(self, name: str, group_id: str | None = None) -> str:
        """An Okta group; returns its id."""
        group_id = group_id or f"00g{next(self._counter):017d}"
        self.groups[group_id] = {
            "id": group_id,
            "type": "OKTA_GROUP",
            "profile": {"name": name, "description": f"{name} (emulated)"},
            "_links": {"apps": {"href": f"/api/v1/groups/{group_id}/apps"}},
        }
        return group_id

    def add_app(
        self,
        label: str,
        *,
        group_push: bool = True,
        status: str = "ACTIVE",
        app_id: str | None = None,
    ) -> str:
        """An app instance, with the GROUP_PUSH feature or not; returns its id."""
        app_id = app_id or f"0oa{next(self._counter):017d}"
        features = ["PUSH_NEW_USERS", "PUSH_PROFILE_UPDATES"]
        if group_push:
            features.append("GROUP_PUSH")
        self.apps[app_id] = EmulatedApp(app_id, label.lower().replace(" ", "_"), label, features)
        self.apps[app_id].status = status
        self.mappings[app_id] = {}
        return app_id

    def add_mapping(
        self,
        app_id: str,
        source_group_id: str,
        *,
        status: str = "ACTIVE",
        error_summary: str = "",
        last_push: float | None = None,
    ) -> str:
        """A group push mapping of the app; returns its id."""
        mapping_id = f"gPm{next(self._counter):017d}"
        stamp = _iso(self.clock())
        self.mappings[app_id][mapping_id] = {
            "id": mapping_id,
            "created": stamp,
            "lastUpdated": stamp,
            "status": status,
            "errorSummary": error_summary,
            "sourceGroupId": source_group_id,
            "targetGroupId": f"00g{next(self._counter):017d}",
            "_links": {
                "app": {"href": f"/api/v1/apps/{app_id}"},
                "sourceGroup": {"href": f"/api/v1/groups/{source_group_id}"},
            },
        }
        if last_push is not None:
            self.mappings[app_id][mapping_id]["lastPush"] = _iso(last_push)
        return mapping_id

    def update_mapping(
        self, mapping_id: str, *, status: str, error_summary: str = "", last_push: float | None
    ) -> None:
        """What Okta does when a push fails or works: status, summary, lastPush change."""
        mapping = self._mapping(mapping_id)
        mapping.update(status=status, errorSummary=error_summary, lastUpdated=_iso(self.clock()))
        if last_push is not None:
            mapping["lastPush"] = _iso(last_push)

    def delete_mapping(self, mapping_id: str) -> None:
        for mappings in self.mappings.values():
            mappings.pop(mapping_id, None)

    def _mapping(self, mapping_id: str) -> dict[str, Any]:
        for mappings in self.mappings.values():
            if mapping_id in mappings:
                return mappings[mapping_id]
        raise KeyError(mapping_id)

    def fail_api_next(self, status: int, times: int = 1) -> None:
        """The next `times` requests to the apps, mappings or groups API answer `status`."""
        self.api_faults.extend(Fault(status) for _ in range(times))

    def flaky(self, every: int, status: int = 500) -> None:
        """From now on every `every`-th request (logs, apps, mappings, groups, counted
        together) answers `status` with Okta's E0000009 body, or drops its connection when
        `status` is RESET.

        A dropped connection drops the request right after it too: that is aiohttp's own
        one retry of an idempotent request on a fresh connection (RFC 9112 section 9.3.1.1),
        which would otherwise hide the reset from the exporter.
        """
        self.flaky_every, self.flaky_status, self._flaky_count = every, status, 0

    def _flaky(self, request: web.Request) -> int | None:
        """The status this request fails with (RESET: its connection is dropped now), or None."""
        if self.flaky_every <= 0:
            return None
        self._flaky_count += 1
        reset_retry = self.flaky_status == RESET and self._flaky_count % self.flaky_every == 1
        if self._flaky_count % self.flaky_every and not (reset_retry and self._flaky_count > 1):
            return None
        if self.flaky_status == RESET and request.transport is not None:
            request.transport.abort()
        return self.flaky_status

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/v1/logs", self._logs)
        app.router.add_get("/api/v1/apps", self._list_apps)
        app.router.add_get("/api/v1/apps/{app}/group-push/mappings", self._list_mappings)
        app.router.add_get("/api/v1/groups/{group}", self._get_group)
        app.router.add_post("/oauth2/v1/token", self._token)

        async def release(app: web.Application) -> None:
            self._release.set()

        app.on_shutdown.append(release)
        return app

    # --- rate limit --------------------------------------------------------------------------

    def _rate_headers(self, count: bool, bucket: str = "logs") -> tuple[dict[str, str], bool]:
        now = self.clock()
        start = now - now % WINDOW
        limit = self.rate_limit if bucket == "logs" else self.bucket_limits[bucket]
        window_start, used = self._windows.get(bucket, (0.0, 0))
        if window_start != start:
            used = 0
        allowed = used < limit
        if count and allowed:
            used += 1
        self._windows[bucket] = (start, used)
        headers = {
            "X-Rate-Limit-Limit": str(limit),
            "X-Rate-Limit-Remaining": str(max(0, limit - used)),
            "X-Rate-Limit-Reset": str(int(start + WINDOW)),
            "Date": email.utils.formatdate(now, usegmt=True),
        }
        return headers, allowed

    # --- GET /api/v1/logs --------------------------------------------------------------------

    async def _logs(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        at = self.clock()
        response = await self._answer_logs(request, query)
        events = len(orjson.loads(response.body)) if response.status == 200 else 0  # type: ignore[arg-type]
        dropped = request.transport is None or request.transport.is_closing()
        self.requests.append(Request(query, RESET if dropped else response.status, events, at))
        return response

    async def _answer_logs(self, request: web.Request, query: dict[str, str]) -> web.Response:
        headers, allowed = self._rate_headers(count=True)
        flaky = self._flaky(request)
        if flaky is not None:
            error = orjson.dumps(INTERNAL_ERROR)
            return web.Response(
                status=flaky or 500, body=error, headers=headers, content_type="application/json"
            )
        if self.faults:
            fault = self.faults.popleft()
            if fault.status == 0:
                await self._release.wait()
                return web.Response(status=504)
            return web.Response(status=fault.status, body=fault.body, headers=headers)
        try:
            self._authenticate(request)
        except Rejected as exc:
            body = {"errorCode": "E0000011", "errorSummary": f"Invalid token provided: {exc}"}
            challenge = f'DPoP error="{exc.error}", error_description="{exc}"'
            extra = {"WWW-Authenticate": challenge}
            if exc.error == "use_dpop_nonce":
                extra["DPoP-Nonce"] = self.nonce
            return web.json_response(body, status=exc.status, headers={**headers, **extra})
        if not allowed:
            return web.Response(
                status=429, body=RATE_LIMITED_BODY, content_type="application/json",
                headers=headers,
            )  # fmt: skip
        try:
            events, next_query = self._select(query)
        except FilterError as exc:
            body = {"errorCode": "E0000053", "errorSummary": str(exc)}
            return web.json_response(body, status=400, headers=headers)
        links = [f'<{request.url}>; rel="self"']
        if next_query is not None:
            base = (
                request.url
                if self.next_link_origin is None
                else request.url.join(URL(self.next_link_origin + request.path))
            )
            links.append(f'<{base.with_query(next_query)}>; rel="next"')
        response = web.Response(body=orjson.dumps(events), content_type="application/json")
        response.headers.update(headers)
        for link in links:
            response.headers.add("Link", link)
        return response

    def _select(self, query: dict[str, str]) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
        """The page's events and the next link's query (None: no next link)."""
        if "since" in query and "after" in query:
            raise FilterError("Api validation failed: since and after are mutually exclusive")
        limit = int(query.get("limit", "100"))
        if not 0 <= limit <= MAX_LIMIT:
            raise FilterError(f"Api validation failed: 'limit' must be at most {MAX_LIMIT}")
        if query.get("sortOrder", "ASCENDING") not in ("ASCENDING", "DESCENDING"):
            raise FilterError("Api validation failed: 'sortOrder'")
        keep = parse_filter(query["filter"]) if "filter" in query else (lambda event: True)
        polling = "until" not in query and query.get("sortOrder", "ASCENDING") == "ASCENDING"
        if "after" in query:
            if query["after"] not in self._cursors:
                raise FilterError("Api validation failed: 'after' is not a valid cursor")
            kind, position, since = self._cursors[query["after"]]
        else:
            since = self._time(query.get("since"), self.clock() - 7 * 86400)
            if since < self.clock() - MAX_SINCE_DAYS * 86400:
                raise FilterError(
                    "Invalid parameter: The since parameter is over 180 days prior to the "
                    "current day."
                )
            kind, position = ("polling" if polling else "bounded"), -1
        size = min(limit, self.page_size)
        if kind == "polling":
            # Ordered by persistence: what Okta persists later comes later, whatever its
            # published time; `since` bounds the persistence time.
            page = [
                s for s in self.events if s.index > position and s.persisted >= since
                and keep(s.event)
            ][:size]  # fmt: skip
            last = page[-1].index if page else position
            return [s.event for s in page], self._next(query, ("polling", last, since))
        until = self._time(query.get("until"), self.clock())
        matching = sorted(
            (s for s in self.events if since <= s.published < until and keep(s.event)),
            key=lambda s: (s.published, s.index),
        )
        offset = position + 1
        page = matching[offset : offset + size]
        end = offset + len(page)
        more = end < len(matching)
        return [s.event for s in page], self._next(
            query, ("bounded", end - 1, since)
        ) if more else None

    def _next(self, query: dict[str, str], state: tuple[str, int, float]) -> dict[str, str]:
        cursor = secrets.token_urlsafe(12)  # opaque, as Okta's
        self._cursors[cursor] = state
        return {**{k: v for k, v in query.items() if k not in ("since", "after")}, "after": cursor}

    @staticmethod
    def _time(text: str | None, default: float) -> float:
        if text is None:
            return default
        value = parse_timestamp(text)
        if value is None:
            raise FilterError(
                "Api validation failed: The date format in your query is not recognized. "
                "Please enter dates using ISO8601 string format."
            )
        return value

    # --- GET /api/v1/apps, /api/v1/apps/{id}/group-push/mappings, /api/v1/groups/{id} --------

    async def _api(
        self,
        request: web.Request,
        scopes: tuple[str, ...],
        answer: Callable[[], tuple[object, dict[str, str] | None]],
    ) -> web.Response:
        """Faults, rate limit, credentials and scopes, then `answer`: (body, next query)."""
        at = self.clock()
        headers, allowed = self._rate_headers(count=True, bucket=bucket_of(request.path))
        body: object
        next_query: dict[str, str] | None = None
        flaky = self._flaky(request)
        if flaky is not None:
            status, body = flaky, INTERNAL_ERROR
        elif self.api_faults:
            status, body = self.api_faults.popleft().status, {"errorCode": "E0000009"}
        else:
            try:
                granted = self._authenticate(request)
            except Rejected as exc:
                status, body = exc.status, {"errorCode": "E0000011", "errorSummary": str(exc)}
            else:
                if not allowed:
                    status, body = 429, orjson.loads(RATE_LIMITED_BODY)
                elif granted is not None and not set(scopes) <= granted:
                    status = 403
                    body = {"errorCode": "E0000006", "errorSummary": "You do not have "
                            "permission to perform the requested action"}  # fmt: skip
                    headers["WWW-Authenticate"] = (
                        f'Bearer error="insufficient_scope", scope="{" ".join(scopes)}"'
                    )
                else:
                    try:
                        body, next_query = answer()
                        status = 200
                    except Refused as exc:
                        status, body = exc.status, exc.body
        response = web.Response(
            status=status or 500, body=orjson.dumps(body), content_type="application/json"
        )
        response.headers.update(headers)
        if next_query is not None:
            response.headers.add("Link", f'<{request.url.with_query(next_query)}>; rel="next"')
        items = len(body) if isinstance(body, list) else int(status == 200)
        self.api_requests.append(ApiRequest(request.path, dict(request.query), status, items, at))
        return response

    @staticmethod
    def _page(
        request: web.Request, items: list[dict[str, Any]], default: int, most: int, size: int
    ) -> tuple[object, dict[str, str] | None]:
        """One page of `items` from the `after` id on, and the next link's query."""
        try:
            limit = int(request.query.get("limit", str(default)))
        except ValueError:
            limit = 0
        if limit == -1 and default == -1:  # listApplications: no limit asked, all at once
            limit = most
        if not 1 <= limit <= most:
            raise Refused(400, _validation(f"limit: must be 1 to {most}"))
        ids = [item["id"] for item in items]
        after = request.query.get("after")
        start = ids.index(after) + 1 if after in ids else 0
        page = items[start : start + min(limit, size)]
        if start + len(page) >= len(items):
            return page, None
        return page, {**request.query, "after": page[-1]["id"]}

    async def _list_apps(self, request: web.Request) -> web.Response:
        def answer() -> tuple[object, dict[str, str] | None]:
            apps = list(self.apps.values())
            expression = request.query.get("filter")
            if expression is not None:
                match = re.fullmatch(r'status eq "(ACTIVE|INACTIVE)"', expression.strip())
                if match is None:
                    body = {"errorCode": "E0000031", "errorSummary": "Invalid search criteria."}
                    raise Refused(400, body)
                apps = [app for app in apps if app.status == match.group(1)]
            items = [app.json() for app in apps]
            return self._page(request, items, -1, MAX_APPS_LIMIT, self.apps_page_size)

        return await self._api(request, ("okta.apps.read",), answer)

    async def _list_mappings(self, request: web.Request) -> web.Response:
        def answer() -> tuple[object, dict[str, str] | None]:
            app_id = request.match_info["app"]
            if app_id not in self.apps:
                raise Refused(404, _not_found(app_id, "AppInstance"))
            if "GROUP_PUSH" not in self.apps[app_id].features:
                body = _validation("group push is not enabled for this app")  # (a guess)
                raise Refused(400, body)
            items = list(self.mappings[app_id].values())
            if "status" in request.query:
                items = [m for m in items if m["status"] == request.query["status"]]
            if "sourceGroupId" in request.query:
                items = [m for m in items if m["sourceGroupId"] == request.query["sourceGroupId"]]
            return self._page(request, items, 100, MAX_MAPPINGS_LIMIT, self.mappings_page_size)

        return await self._api(request, ("okta.apps.read", "okta.groups.read"), answer)

    async def _get_group(self, request: web.Request) -> web.Response:
        def answer() -> tuple[object, dict[str, str] | None]:
            group_id = request.match_info["group"]
            if group_id not in self.groups:
                raise Refused(404, _not_found(group_id, "UserGroup"))
            return self.groups[group_id], None

        return await self._api(request, ("okta.groups.read",), answer)

    # --- authentication of API calls ------------------------------------------------------

    def _authenticate(self, request: web.Request) -> set[str] | None:
        """The scopes the request's token carries (None: an API token, which may do all)."""
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        if scheme == "SSWS" and credentials == self.api_token:
            return None
        issued = self._tokens.get(credentials)
        if scheme not in ("DPoP", "Bearer") or issued is None:
            raise Rejected(401, "invalid_token", "unknown credentials")
        if self.clock() >= issued.expires:
            raise Rejected(401, "invalid_token", "the access token expired")
        if issued.jkt is None:
            if scheme != "Bearer":
                raise Rejected(401, "invalid_token", "a Bearer token sent as DPoP")
            return set(issued.scope.split())
        if scheme != "DPoP":
            raise Rejected(401, "invalid_token", "a DPoP-bound token needs the DPoP scheme")
        try:
            claims, jwk = self._proof(request, "GET", str(request.url.with_query(None)))
        except Rejected as exc:  # a resource server answers a bad proof with 401
            raise Rejected(401, exc.error, str(exc)) from None
        if self.resource_nonce and claims.get("nonce") != self.nonce:
            raise Rejected(401, "use_dpop_nonce", "Resource server requires nonce in DPoP proof.")
        if claims.get("ath") != _b64(hashlib.sha256(credentials.encode()).digest()):
            raise Rejected(401, "invalid_dpop_proof", "'ath' does not match the access token")
        if thumbprint(jwk) != issued.jkt:
            raise Rejected(401, "invalid_dpop_proof", "the proof's key is not the token's key")
        return set(issued.scope.split())

    def _proof(
        self, request: web.Request, method: str, url: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Check the DPoP header: a proof JWT signed by the key in its own header."""
        proof = request.headers.get("DPoP")
        if not proof:
            raise Rejected(400, "invalid_dpop_proof", "The DPoP proof JWT header is missing.")
        try:
            header = jwt.get_unverified_header(proof)
            if header.get("typ") != "dpop+jwt" or not isinstance(header.get("jwk"), dict):
                raise Rejected(400, "invalid_dpop_proof", "typ must be dpop+jwt, with a jwk")
            key = jwt.PyJWK(header["jwk"], header.get("alg"))
            claims: dict[str, Any] = jwt.decode(
                proof, key, algorithms=[str(header.get("alg"))],
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )  # fmt: skip
        except (jwt.PyJWTError, TypeError, ValueError) as exc:
            raise Rejected(400, "invalid_dpop_proof", f"bad DPoP proof: {exc}") from None
        if claims.get("htm") != method:
            raise Rejected(400, "invalid_dpop_proof", "'htm' claim is invalid")
        if claims.get("htu") != url:
            raise Rejected(400, "invalid_dpop_proof", f"'htu' claim is invalid (want {url})")
        if abs(float(claims.get("iat", 0)) - self.clock()) > PROOF_WINDOW:
            raise Rejected(400, "invalid_dpop_proof", "'iat' is too old or in the future")
        self._once(str(claims.get("jti", "")), "invalid_dpop_proof")
        return claims, dict(header["jwk"])

    def _once(self, jti: str, error: str) -> None:
        if not jti or jti in self._jtis:
            raise Rejected(400, error, "'jti' is missing or was used before")
        self._jtis.add(jti)

    # --- POST /oauth2/v1/token ------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        try:
            if self.token_busy_until > self.clock():  # the token bucket is used up
                raise Rejected(
                    429, "too_many_requests", "API call exceeded rate limit",
                    **{"X-Rate-Limit-Limit": "600", "X-Rate-Limit-Remaining": "0",
                       "X-Rate-Limit-Reset": str(int(self.token_busy_until)),
                       "Date": email.utils.formatdate(self.clock(), usegmt=True)},
                )  # fmt: skip
            answer = self._grant(request, {k: str(v) for k, v in form.items()})
            response = web.json_response(answer)
        except Rejected as exc:
            body = {"error": exc.error, "error_description": str(exc)}
            response = web.json_response(body, status=exc.status, headers=exc.headers)
        if "Date" not in response.headers:  # Okta dates every answer, by its own clock
            response.headers["Date"] = email.utils.formatdate(self.clock(), usegmt=True)
        self.token_requests.append(response.status)
        return response

    def _grant(self, request: web.Request, form: dict[str, str]) -> dict[str, Any]:
        token_url = str(request.url.with_query(None))
        if form.get("grant_type") != "client_credentials":
            raise Rejected(400, "unsupported_grant_type", "only client_credentials here")
        jkt = None
        if self.dpop_refusal is not None and "DPoP" in request.headers:
            raise Rejected(400, "invalid_dpop_proof", self.dpop_refusal)
        if self.require_dpop:
            claims, jwk = self._proof(request, "POST", token_url)
            if claims.get("nonce") != self.nonce:
                raise Rejected(
                    400, "use_dpop_nonce", "Authorization server requires nonce in DPoP proof.",
                    **{"DPoP-Nonce": self.nonce},
                )  # fmt: skip
            jkt = thumbprint(jwk)
        self._check_assertion(form, token_url)
        requested = set(form.get("scope", "").split())
        if not requested or not requested <= self.granted_scopes:
            raise Rejected(400, "invalid_scope", "The requested scope is invalid.")
        token = secrets.token_urlsafe(24)
        self._tokens[token] = Issued(jkt, self.clock() + self.token_lifetime, form["scope"])
        return {
            "token_type": "DPoP" if jkt else "Bearer",
            "expires_in": int(self.token_lifetime),
            "access_token": token,
            "scope": form["scope"],
        }

    def _check_assertion(self, form: dict[str, str], token_url: str) -> None:
        if form.get("client_assertion_type") != (
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        ):
            raise Rejected(401, "invalid_client", "client_assertion_type is missing or wrong")
        if self.public_key is None:
            raise Rejected(401, "invalid_client", "no key is registered for the client")
        try:
            claims: dict[str, Any] = jwt.decode(
                form.get("client_assertion", ""), self.public_key,  # type: ignore[arg-type]
                algorithms=["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"],
                audience=token_url, issuer=self.client_id,
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                         "require": ["exp", "iss", "sub", "aud", "jti"]},
            )  # fmt: skip
        except (jwt.PyJWTError, TypeError, ValueError) as exc:  # another key type: TypeError
            raise Rejected(
                401, "invalid_client", f"The client_assertion is invalid: {exc}"
            ) from None
        if claims.get("sub") != self.client_id:
            raise Rejected(401, "invalid_client", "'sub' must be the client id")
        if float(claims["exp"]) <= self.clock():
            raise Rejected(401, "invalid_client", "The client_assertion token is expired.")
        if float(claims["exp"]) > self.clock() + ASSERTION_MAX_LIFETIME:
            # Okta's words, as reported in okta/okta-sdk-python#382 and okta-sdk-dotnet#489.
            raise Rejected(
                401, "invalid_client",
                "The client_assertion token has an expiration too far into the future.",
            )  # fmt: skip
        self._once(str(claims["jti"]), "invalid_client")


class ThreadedOrg:
    """The emulator served from its own thread and event loop, for code that runs its own
    (the CLI's asyncio.run) or for exporter processes. `with ThreadedOrg(e) as url: ...`"""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="okta-emulator", daemon=True)
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()
        assert self._runner is not None
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.emulator.app())
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    def add(self, *events: dict[str, Any]) -> None:
        """Add events from the test's thread, on the emulator's loop."""
        done = threading.Event()

        def add() -> None:
            self.emulator.add(*events)
            done.set()

        self._loop.call_soon_threadsafe(add)
        done.wait(5)

    def __enter__(self) -> str:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the Okta emulator did not start")
        return self.url

    def __exit__(self, *exc_info: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
