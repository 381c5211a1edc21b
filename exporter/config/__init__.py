"""Flags and environment variables, parsed once into a frozen, validated `Config`.

Each option is a row of `OPTIONS`: the flag, its environment variable, its default, and a
converter that turns text into a value or says what is wrong. A flag wins over its
environment variable, which wins over the default. Every problem is collected, so a
person fixes them all in one go (STYLE 6).
"""

from __future__ import annotations

import argparse
import ipaddress
import re
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from exporter.config import webfile
from exporter.config.webfile import WebConfig
from exporter.ingest.labels import (
    ACTOR_MODES,
    FILTERED,
    NO_FILTER,
    OTHER,
    SOURCES,
    Filter,
    LabelPolicy,
)

ENV_PREFIX: Final = "OKTA_GROUP_PUSH_"
# The contract names this variable: it holds the secret itself, not a file.
HOOK_SECRET_ENV: Final = "OKTA_HOOK_SECRET"  # noqa: S105 - a variable name, not a secret
HOOK_PATHS: Final = ("/hooks/okta", "/hooks/workflows")
RESERVED_PATHS: Final = ("/", "/status", "/-/healthy", "/-/ready", *HOOK_PATHS)
MASK: Final = "<secret>"


class ConfigError(Exception):
    """One or more options are invalid; `problems` lists each, naming flag and value."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True, slots=True)
class ListenAddress:
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class PollSince:
    """Where reading the System Log starts: a duration before now, or a point in time."""

    ago: float | None = None
    at: float | None = None

    def resolve(self, now: float) -> float:
        """Epoch seconds."""
        return self.at if self.at is not None else now - (self.ago or 0.0)

    def __str__(self) -> str:
        if self.at is not None:
            return datetime.fromtimestamp(self.at, UTC).isoformat().replace("+00:00", "Z")
        return _show_duration(self.ago or 0.0)


@dataclass(frozen=True)
class Config:
    """Everything `serve` needs, validated. Secrets are kept out of `repr`."""

    listen: ListenAddress = ListenAddress("0.0.0.0", 9947)  # noqa: S104 - an exporter listens on all interfaces by default
    okta_listen: ListenAddress | None = None
    web_config_file: Path | None = None
    web: WebConfig = field(default_factory=WebConfig)
    read_timeout: float = 10.0
    shutdown_timeout: float = 10.0
    max_connections: int | None = None
    telemetry_path: str = "/metrics"
    storage_path: Path = Path("data")
    storage_backend: str = "auto"
    redis_url: str | None = None
    redis_prefix: str = "okta_group_push:"
    storage_max_size: int | None = None
    dedup_window: float = 35 * 86400.0
    hook_secret_file: Path | None = None
    hook_secrets: tuple[str, ...] = field(default=(), repr=False)
    hook_header: str = "Authorization"
    max_body_bytes: int = 4 * 1024 * 1024
    log_level: str = "info"
    log_format: str = "auto"
    # --- Okta System Log poller ---
    okta_org_url: str | None = None
    okta_allow_http: bool = False
    okta_api_token_file: Path | None = None
    okta_api_token: str | None = field(default=None, repr=False)
    okta_client_id: str | None = None
    okta_private_key_file: Path | None = None
    okta_private_key: bytes = field(default=b"", repr=False)
    okta_private_key_id: str | None = None
    okta_dpop: bool = True
    okta_poll_since: PollSince = PollSince(ago=3600.0)
    okta_poll_interval: float = 30.0
    okta_rate_limit_share: float = 0.5
    okta_request_timeout: float = 60.0
    okta_event_hook_id: str | None = None
    # Label governance (README "Label governance"); the pure rules: exporter/ingest/labels.py.
    labels_max_values: int = 1000
    labels_max_series: int = 10_000
    labels_max_length: int = 128
    labels_application: str = "alternate_id"  # the instance label (DESIGN section 3)
    labels_group: str = "display_name"
    labels_actor: str = "display_name"
    labels_application_allow: re.Pattern[str] | None = None
    labels_application_deny: re.Pattern[str] | None = None
    labels_group_allow: re.Pattern[str] | None = None
    labels_group_deny: re.Pattern[str] | None = None
    labels_actor_allow: re.Pattern[str] | None = None
    labels_actor_deny: re.Pattern[str] | None = None
    series_ttl: float | None = None  # off: see the README on sparse counters and increase()
    # --- Group Push Mapping API reconciler ---
    okta_mappings_interval: float = 300.0  # 0: off

    @property
    def okta_credentials(self) -> bool:
        """Whether Okta can be asked anything: without credentials the org URL only makes links."""
        return self.okta_api_token is not None or self.okta_client_id is not None

    def describe(self) -> dict[str, str]:
        """The effective configuration by flag, secrets masked: for the landing page."""
        shown: dict[str, str] = {}
        for option in OPTIONS:
            value = getattr(self, option.attr)
            shown[option.flag] = "" if value is None else option.show(value)
        shown["hook secrets"] = f"{len(self.hook_secrets)} configured, {MASK}"
        if self.okta_api_token:
            shown["okta api token"] = MASK
        return shown


# --- converters: text -> value, or ValueError with a reason --------------------------------


def parse_listen_address(text: str) -> ListenAddress:
    """`HOST:PORT`, `:PORT` (all interfaces) or `[IPv6]:PORT`."""
    match = re.fullmatch(r"(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]*)):(\d{1,5})", text.strip())
    if not match:
        raise ValueError("expected HOST:PORT, :PORT or [IPv6]:PORT")
    host = match.group(1) or match.group(2) or "0.0.0.0"  # noqa: S104
    port = int(match.group(3))
    if not 0 <= port <= 65535:
        raise ValueError("port must be between 0 and 65535")
    return ListenAddress(host, port)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNITS: Final = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> float:
    """Prometheus-style durations: `30s`, `5m`, `1h30m`, `35d`; returns seconds."""
    text = text.strip()
    if not text or _DURATION.sub("", text):
        raise ValueError("expected a duration such as 30s, 5m, 1h or 35d")
    return sum(float(n) * _UNITS[unit] for n, unit in _DURATION.findall(text))


_SIZE = re.compile(r"(\d+)\s*(B|KB|KiB|MB|MiB|GB|GiB)?", re.IGNORECASE)
_SIZE_UNITS: Final = {
    "b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2, "gb": 1000**3, "gib": 1024**3,
}  # fmt: skip


def parse_size(text: str) -> int:
    """Byte sizes: `4194304`, `4MiB`, `512KB`."""
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise ValueError("expected a size such as 4MiB, 512KiB or 1048576")
    size = int(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()]
    if size <= 0:
        raise ValueError("must be greater than zero")
    return size


def parse_telemetry_path(text: str) -> str:
    if not text.startswith("/") or " " in text:
        raise ValueError("must be a URL path starting with /")
    if text in RESERVED_PATHS:
        raise ValueError(f"{text} is already an endpoint of the exporter")
    return text


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def parse_header_name(text: str) -> str:
    if not _TOKEN.fullmatch(text):
        raise ValueError("not a valid HTTP header name")
    return text


def one_of(*choices: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip().lower()
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return value

    return parse


def parse_path(text: str) -> Path:
    if not text.strip():
        raise ValueError("must not be empty")
    return Path(text)


def parse_redis_url(text: str) -> str:
    # The reasons never quote the text: it may hold a password (see Option.secret).
    try:
        parts = urllib.parse.urlsplit(text.strip())
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ValueError("not a URL") from None
    if parts.scheme not in ("redis", "rediss", "unix") or not (parts.hostname or parts.path):
        raise ValueError(
            "expected redis://[:password@]host[:port][/db], rediss://... or unix://..."
        )
    return text.strip()


# Query parameters that carry a credential: redis-py reads `password` (the only way to
# give one with unix://, https://redis.readthedocs.io/en/stable/connections.html
# `from_url`); the others are masked too, as any URL might carry them.
_SECRET_PARAMETER = re.compile(r"pass|secret|token|key|auth|credential", re.IGNORECASE)


def mask_url(url: str) -> str:
    """A URL with every credential replaced, for display; a malformed one is not shown."""
    try:
        parts = urllib.parse.urlsplit(url)
        userinfo, at, host = parts.netloc.rpartition("@")
    except ValueError:
        return MASK
    if at:
        user, colon, _ = userinfo.partition(":")
        # `user@host` alone: redis-py reads it as a user name, but it may well be a
        # password written without its colon; either way, not worth showing.
        userinfo = f"{user}:{MASK}" if colon else MASK
    query = "&".join(
        f"{name}={MASK}" if _SECRET_PARAMETER.search(name) else f"{name}={value}" if eq else name
        for name, eq, value in (pair.partition("=") for pair in parts.query.split("&") if pair)
    )
    netloc = f"{userinfo}@{host}" if at else host
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")


def at_least(minimum: int) -> Callable[[str], int]:
    """Whole numbers from `minimum` up."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise ValueError("expected a whole number") from None
        if value < minimum:
            raise ValueError(
                "must be greater than zero" if minimum == 1 else f"must be at least {minimum}"
            )
        return value

    return parse


parse_positive_int: Final = at_least(1)


def split_lines(text: str) -> tuple[str, ...]:
    """Secrets in a file: one per line (several for rotation). A comma is part of a secret."""
    return tuple(s.strip() for s in text.splitlines() if s.strip())


def split_commas(text: str) -> tuple[str, ...]:
    """Secrets in an environment variable: comma-separated (README, "Configuration")."""
    return tuple(s.strip() for s in text.split(",") if s.strip())


# Okta's header secret is the only authentication on the hook endpoints, which face the
# internet: a short one can be guessed. The generated secret has 43 characters.
MIN_HOOK_SECRET_LENGTH: Final = 16


def parse_regex(text: str) -> re.Pattern[str]:
    """A regular expression that must match a whole label value."""
    try:
        return re.compile(text)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None


def parse_optional_duration(text: str) -> float | None:
    """A duration, or 0 / off for none."""
    if text.strip().lower() in ("0", "off", ""):
        return None
    return parse_duration(text)


def _show_pattern(pattern: re.Pattern[str]) -> str:
    return pattern.pattern


def parse_duration_or_off(text: str) -> float:
    """A duration, or `0` for off."""
    if text.strip() in ("0", "off"):
        return 0.0
    return parse_duration(text)


def _show_duration_or_off(seconds: float) -> str:
    return _show_duration(seconds) if seconds else "0"


def _show_duration(seconds: float) -> str:
    for unit in ("w", "d", "h", "m", "s"):
        if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{seconds}s"


# --- converters for the Okta System Log poller ----------------------------------------------

API_TOKEN_ENV: Final = "OKTA_API_TOKEN"  # noqa: S105 - a variable name, not a secret
MAX_SINCE: Final = 180 * 86400.0  # Okta refuses a `since` further back (E0000053)


def parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise ValueError("expected true or false")


def parse_since(text: str) -> PollSince:
    """A duration before now (`24h`, `7d`) or a time (`2026-11-01T00:00:00Z`, `2026-11-01`)."""
    from exporter.ingest.events import parse_timestamp  # noqa: PLC0415 - config stays import-light

    text = text.strip()
    try:
        seconds = parse_duration(text)
    except ValueError:
        pass  # not a duration: a time, then
    else:
        if seconds > MAX_SINCE:
            raise ValueError("Okta's System Log answers at most 180 days back (and keeps 90)")
        return PollSince(ago=seconds)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        text += "T00:00:00Z"
    at = parse_timestamp(text)
    if at is None:
        raise ValueError(
            "expected a duration such as 24h or 7d, or a time such as 2026-11-01T00:00:00Z"
        )
    return PollSince(at=at)


def parse_share(text: str) -> float:
    """A share of a rate-limit bucket: `0.5` or `50%`."""
    text = text.strip()
    try:
        share = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ValueError("expected a fraction such as 0.5, or a percentage such as 50%") from None
    if not 0 < share <= 1:
        raise ValueError("must be more than 0 and at most 1 (100%)")
    return share


def parse_org_url(text: str) -> str:
    """`https://example.okta.com` (scheme and host only); returned without a trailing slash."""
    parts = urllib.parse.urlsplit(text.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("expected the org's URL, such as https://example.okta.com")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError("expected only scheme and host, such as https://example.okta.com")
    org, dot, domain = parts.hostname.partition(".")
    if dot and org.endswith(ADMIN_SUFFIX) and domain in OKTA_DOMAINS:
        # The Admin Console's address, which admins copy from their browser; the APIs
        # answer on the org's own host.
        own = f"{parts.scheme}://{org.removesuffix(ADMIN_SUFFIX)}.{domain}"
        raise ValueError(f"this is the Admin Console's address: drop -admin, as in {own}")
    return f"{parts.scheme}://{parts.netloc.lower()}"


ADMIN_SUFFIX: Final = "-admin"
# Okta's own org domains (a custom domain has no -admin form).
OKTA_DOMAINS: Final = frozenset({"okta.com", "oktapreview.com", "okta-emea.com"})


def parse_hook_id(text: str) -> str:
    """An Okta object id, as the Admin Console and the Event Hooks API show it."""
    text = text.strip()
    if not text.isascii() or not text.isalnum():
        raise ValueError("expected an event hook id such as who8vt36qfNpCGz9H1e6")
    return text


def is_loopback(url: str) -> bool:
    """True when the URL's host is a loopback address (or `localhost`)."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _show_bool(value: bool) -> str:
    return "true" if value else "false"


# --- the option table ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Option:
    """One command-line flag with its environment variable and converter."""

    flag: str
    attr: str
    help: str
    parse: Callable[[str], Any]
    show: Callable[[Any], str] = str
    # The value may hold a credential: never quoted in an error, masked where shown.
    secret: bool = False

    @property
    def env(self) -> str:
        return ENV_PREFIX + re.sub(r"[.-]", "_", self.flag.removeprefix("--")).upper()


_SOURCES = ", ".join(SOURCES)
# The least --labels.max-series: the ledger keeps room for the label sets the series cap
# folds into (one per metric and closed-label combination: 13 since failure reasons and
# mapping state, see exporter.counting.planner.limits), and what is left must fit a
# failure's series.
MIN_SERIES: Final = 20
LABEL_OPTIONS: Final[tuple[Option, ...]] = (
    Option(
        "--labels.max-values",
        "labels_max_values",
        "Most distinct values of each of application, group, actor and event_type (and of the "
        "app and group ids that key mapping state), "
        f"{OTHER} included; further values are counted under {OTHER}.",
        parse_positive_int,
    ),
    Option(
        "--labels.max-series",
        "labels_max_series",
        f"Most event-derived series in all; past it, new label sets are counted under {OTHER}.",
        at_least(MIN_SERIES),
    ),
    Option(
        "--labels.max-length",
        "labels_max_length",
        "Label values are cut to this many characters.",
        parse_positive_int,
    ),
    Option(
        "--labels.application",
        "labels_application",
        f"The application label's source field: {_SOURCES}; alternate_id is the app "
        "instance's label, display_name the catalogue app's name.",
        one_of(*SOURCES),
    ),
    Option(
        "--labels.group",
        "labels_group",
        f"The group label's source field: {_SOURCES}.",
        one_of(*SOURCES),
    ),
    Option(
        "--labels.actor",
        "labels_actor",
        f"The actor label: {_SOURCES}, hash (a stable keyed hash of the actor's Okta id, "
        "the key kept in the state) or none (no actor label).",
        one_of(*ACTOR_MODES),
    ),
    *(
        Option(
            f"--labels.{label}.{verdict}",
            f"labels_{label}_{verdict}",
            f"Regular expression (matching the whole value) that {label} values must "
            + ("match" if verdict == "allow" else "not match")
            + f"; others are counted under {OTHER}.",
            parse_regex,
            _show_pattern,
        )
        for label in FILTERED
        for verdict in ("allow", "deny")
    ),
    Option(
        "--metrics.series-ttl",
        "series_ttl",
        "Drop an event-derived series not incremented for this long (e.g. 30d); 0 or off "
        "keeps series forever (default), as increase() over sparse counters needs.",
        parse_optional_duration,
        _show_duration,
    ),
)

OPTIONS: Final[tuple[Option, ...]] = (
    Option(
        "--web.listen-address",
        "listen",
        "Address to listen on for hooks, metrics and the landing page.",
        parse_listen_address,
    ),
    Option(
        "--okta.listen-address",
        "okta_listen",
        "A separate address for the hook endpoints only (the web address then serves metrics, "
        "the landing page and health). Unset: one listener serves everything.",
        parse_listen_address,
    ),
    Option(
        "--web.config.file",
        "web_config_file",
        "Exporter-toolkit web config (YAML): tls_server_config for both listeners, "
        "basic_auth_users (bcrypt) for metrics, landing page and health. Re-read on SIGHUP.",
        parse_path,
    ),
    Option(
        "--web.read-timeout",
        "read_timeout",
        "A request must arrive whole (headers and body) within this time, else the "
        "connection is closed (or 408).",
        parse_duration,
        _show_duration,
    ),
    Option(
        "--web.max-connections",
        "max_connections",
        "Open connections per listener; at the cap the oldest idle one is closed. "
        "Default: 1024, or less below a low file descriptor limit.",
        parse_positive_int,
    ),
    Option(
        "--web.shutdown-timeout",
        "shutdown_timeout",
        "On SIGTERM, how long in-flight requests may take before the exporter exits.",
        parse_duration,
        _show_duration,
    ),
    Option(
        "--web.telemetry-path",
        "telemetry_path",
        "Path under which to expose metrics.",
        parse_telemetry_path,
    ),
    Option(
        "--storage.path",
        "storage_path",
        "Directory for the exporter's state (the generated hook secret among it).",
        parse_path,
    ),
    Option(
        "--storage.backend",
        "storage_backend",
        "Where state is kept: sqlite (one file in --storage.path), redis (shared by replicas), "
        "memory (nothing survives a restart), or auto (redis when --storage.redis-url is set, "
        "else sqlite).",
        one_of("auto", "sqlite", "redis", "memory"),
    ),
    Option(
        "--storage.redis-url",
        "redis_url",
        "Redis holding the state shared by every replica, e.g. redis://:password@host:6379/0.",
        parse_redis_url,
        mask_url,
        secret=True,
    ),
    Option(
        "--storage.redis-prefix",
        "redis_prefix",
        "Prefix of the exporter's keys in Redis (several exporters can share one database).",
        str,
    ),
    Option(
        "--storage.max-size",
        "storage_max_size",
        "Largest the SQLite database may grow (e.g. 1GiB); past it hooks answer 503.",
        parse_size,
    ),
    Option(
        "--storage.dedup-window",
        "dedup_window",
        "How long a counted event uuid is remembered, to reject redeliveries.",
        parse_duration,
        _show_duration,
    ),
    Option(
        "--okta.hook-secret-file",
        "hook_secret_file",
        "File holding the event hook secret(s), one per line (several for rotation). "
        f"Or set {HOOK_SECRET_ENV}. When neither is set, a secret is generated in --storage.path.",
        parse_path,
    ),
    Option(
        "--okta.hook-header",
        "hook_header",
        "Request header in which Okta sends the hook secret.",
        parse_header_name,
    ),
    Option(
        "--web.max-body-size",
        "max_body_bytes",
        "Largest hook request body accepted; larger ones get 413.",
        parse_size,
    ),
    Option(
        "--log.level",
        "log_level",
        "Only log messages of this severity or above: debug, info, warn, error.",
        one_of("debug", "info", "warn", "error"),
    ),
    Option(
        "--log.format",
        "log_format",
        "Log format: json, text, or auto (text on a terminal, json otherwise).",
        one_of("auto", "json", "text"),
    ),
    # --- Okta System Log poller, backfill ---
    Option(
        "--okta.org-url",
        "okta_org_url",
        "Your Okta org, e.g. https://example.okta.com: links to its Admin Console; with "
        "credentials, serve also polls its System Log and reads its group push mappings.",
        parse_org_url,
    ),
    Option(
        "--okta.allow-http",
        "okta_allow_http",
        "Allow a plain http:// org URL that is not a loopback address (for test set-ups).",
        parse_bool,
        _show_bool,
    ),
    Option(
        "--okta.api-token-file",
        "okta_api_token_file",
        f"File holding an Okta API token (SSWS). Or set {API_TOKEN_ENV}.",
        parse_path,
    ),
    Option(
        "--okta.client-id",
        "okta_client_id",
        "Client id of an OAuth 2.0 API Services app granted okta.logs.read (instead of a token).",
        str,
    ),
    Option(
        "--okta.private-key-file",
        "okta_private_key_file",
        "PEM private key (RSA or EC) whose public key is registered with that app.",
        parse_path,
    ),
    Option(
        "--okta.private-key-id",
        "okta_private_key_id",
        "The key's id (kid) in the app, when the app has several keys.",
        str,
    ),
    Option(
        "--okta.dpop",
        "okta_dpop",
        "Send DPoP proofs with OAuth (required by API Services apps created since 2024).",
        parse_bool,
        _show_bool,
    ),
    Option(
        "--okta.poll-since",
        "okta_poll_since",
        "Where the first poll starts: a duration before now (e.g. 24h) or a time; later "
        "starts go on from the stored cursor.",
        parse_since,
    ),
    Option(
        "--okta.poll-interval",
        "okta_poll_interval",
        "How long to wait after a page that had fewer events than a full page.",
        parse_duration,
        _show_duration,
    ),
    Option(
        "--okta.rate-limit-share",
        "okta_rate_limit_share",
        "The share of each Okta rate-limit bucket the exporter may use (0.5 or 50%%): the "
        "System Log's for the poller, the apps' and groups' for the mapping reconciler.",
        parse_share,
    ),
    Option(
        "--okta.event-hook-id",
        "okta_event_hook_id",
        "Id of the Okta event hook that delivers to this exporter (who...): only its "
        "failed deliveries count; unset, every event hook's do.",
        parse_hook_id,
    ),
    Option(
        "--okta.request-timeout",
        "okta_request_timeout",
        "How long one request to Okta may take before it counts as failed.",
        parse_duration,
        _show_duration,
    ),
    Option(
        "--okta.mappings-interval",
        "okta_mappings_interval",
        "How often serve reads every group push mapping's status from Okta's Group Push "
        "Mapping API (needs okta.apps.read and okta.groups.read); 0 turns it off.",
        parse_duration_or_off,
        _show_duration_or_off,
    ),
    *LABEL_OPTIONS,
)


def add_flags(parser: argparse.ArgumentParser) -> None:
    """Declare every flag on an argparse (sub)parser, with its env variable in the help."""
    defaults = Config()
    for option in OPTIONS:
        default = getattr(defaults, option.attr)
        shown = "" if default is None else option.show(default)
        parser.add_argument(
            option.flag,
            dest=option.attr,
            metavar="VALUE",
            default=None,
            help=f"{option.help} Env: {option.env}." + (f" Default: {shown}." if shown else ""),
        )


def build(args: argparse.Namespace, environ: Mapping[str, str]) -> Config:
    """Merge flags, environment and defaults into a Config; ConfigError lists all problems."""
    problems: list[str] = []
    values: dict[str, Any] = {}
    for option in OPTIONS:
        text = getattr(args, option.attr, None)
        origin = option.flag
        if text is None and option.env in environ:
            text, origin = environ[option.env], option.env
        if text is None:
            continue
        try:
            values[option.attr] = option.parse(text)
        except ValueError as exc:
            got = "value not shown: it may hold a password" if option.secret else f"got {text!r}"
            problems.append(f"{origin}: {exc} ({got})")

    secrets = _secrets_from(
        values.get("hook_secret_file"),
        environ.get(HOOK_SECRET_ENV),
        ("--okta.hook-secret-file", HOOK_SECRET_ENV, "secret"),
        problems,
    )
    if secrets is not None:
        values["hook_secrets"] = secrets
        _check_secret_length(secrets, values.get("hook_secret_file"), problems)
    web_file = values.get("web_config_file")
    if web_file is not None:
        try:
            values["web"] = webfile.load(web_file)
        except webfile.WebConfigError as exc:
            problems += [f"--web.config.file: {problem}" for problem in exc.problems]
    okta_listen = values.get("okta_listen")
    if okta_listen is not None and okta_listen == values.get("listen", Config().listen):
        problems.append("--okta.listen-address: must differ from --web.listen-address")

    backend = values.get("storage_backend", "auto")
    if backend == "auto":
        backend = "redis" if values.get("redis_url") else "sqlite"
    values["storage_backend"] = backend
    if backend == "redis" and not values.get("redis_url"):
        problems.append("--storage.backend: redis needs --storage.redis-url")
    storage = values.get("storage_path", Config().storage_path)
    problem = _storage_problem(storage) if backend == "sqlite" else None
    if problem:
        problems.append(f"--storage.path: {problem}")

    _check_okta(values, environ, problems)

    if problems:
        raise ConfigError(problems)
    known = {f.name for f in fields(Config)}
    return Config(**{k: v for k, v in values.items() if k in known})


def _secrets_from(
    file: Path | None,
    env_text: str | None,
    names: tuple[str, str, str],
    problems: list[str],
) -> tuple[str, ...] | None:
    """Secrets from a file (one per line) or an environment variable (comma-separated).

    `names` are the flag, the variable and what a secret is called in messages. None when
    neither is set; setting both, or either with no secret in it, is a problem.
    """
    flag, env, noun = names
    if file is not None and env_text:
        problems.append(f"{flag} and {env}: set only one of them")
        return None
    if file is not None:
        try:
            text = Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{flag}: cannot read {file}: {_reason(exc)}")
            return None
        found = split_lines(text)
        if not found:
            problems.append(f"{flag}: {file} holds no {noun}")
        return found
    if env_text is not None:
        found = split_commas(env_text)
        if not found:
            problems.append(f"{env}: is set but holds no {noun}")
        return found
    return None


def _check_secret_length(secrets: tuple[str, ...], file: Path | None, problems: list[str]) -> None:
    short = [len(secret) for secret in secrets if len(secret) < MIN_HOOK_SECRET_LENGTH]
    if short:
        where = "--okta.hook-secret-file" if file is not None else HOOK_SECRET_ENV
        problems.append(
            f"{where}: a hook secret has {min(short)} characters, fewer than "
            f"{MIN_HOOK_SECRET_LENGTH}; Okta's header secret is the hook's only "
            "authentication (generate one with: openssl rand -hex 32)"
        )


def _reason(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


def _storage_problem(path: Path) -> str | None:
    """Why the storage directory cannot be used, or None when it can (or can be created)."""
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            return f"{path} cannot be created"
        probe = probe.parent
    if not probe.is_dir():
        return f"{probe} is not a directory"
    # Not writable is a storage fault, not a configuration error: serve starts unready
    # and answers 503 until the volume is writable (a read-only mount, say).
    return None


def _check_okta(values: dict[str, Any], environ: Mapping[str, str], problems: list[str]) -> None:
    """Read the Okta credentials and check that they fit together and with the org URL."""
    tokens = _secrets_from(
        values.get("okta_api_token_file"),
        environ.get(API_TOKEN_ENV),
        ("--okta.api-token-file", API_TOKEN_ENV, "token"),
        problems,
    )
    if tokens is not None:
        if len(tokens) > 1:
            problems.append("--okta.api-token-file: holds more than one token")
        values["okta_api_token"] = tokens[0] if tokens else ""

    key_file = values.get("okta_private_key_file")
    if key_file is not None:
        from exporter.config.privatekey import load_private_key  # noqa: PLC0415 - only with OAuth

        try:
            pem = Path(key_file).read_bytes()
            load_private_key(pem)
        except OSError as exc:
            problems.append(f"--okta.private-key-file: cannot read {key_file}: {_reason(exc)}")
        except ValueError as exc:
            problems.append(f"--okta.private-key-file: {key_file}: {exc}")
        else:
            values["okta_private_key"] = pem

    has_token = "okta_api_token" in values
    has_oauth = "okta_client_id" in values or key_file is not None
    org = values.get("okta_org_url")
    if org is None:
        if has_token or has_oauth:
            problems.append("--okta.org-url: is needed by the Okta credentials that are set")
        return
    if org.startswith("http://") and not (is_loopback(org) or values.get("okta_allow_http")):
        problems.append(
            f"--okta.org-url: must be https:// ({org} would send credentials in clear text; "
            "http is allowed for loopback addresses, or with --okta.allow-http)"
        )
    if has_token and has_oauth:
        problems.append(
            "--okta.org-url: give an API token or an OAuth client (--okta.client-id), not both"
        )
    elif has_oauth and ("okta_client_id" not in values or key_file is None):
        problems.append("--okta.client-id and --okta.private-key-file: set both for OAuth")


def label_policy(config: Config) -> LabelPolicy:
    """The policy the `--labels.*` flags describe (the hash key comes from the store)."""
    filters = {
        label: Filter(
            getattr(config, f"labels_{label}_allow"), getattr(config, f"labels_{label}_deny")
        )
        for label in FILTERED
    }
    return LabelPolicy(
        application=config.labels_application,
        group=config.labels_group,
        actor=config.labels_actor,
        max_length=config.labels_max_length,
        filters=MappingProxyType({k: v for k, v in filters.items() if v != NO_FILTER}),
    )
