"""Converters from text to option values, and the small values they make.

A converter returns the value or raises ValueError with a reason; the reason never
quotes the text, so `build` can decide whether to show it (a URL may hold a password).
The `show_*` functions turn a value back into text for help, README and landing page.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

HOOK_PATHS: Final = ("/hooks/okta", "/hooks/workflows")
RESERVED_PATHS: Final = ("/", "/status", "/-/healthy", "/-/ready", *HOOK_PATHS)
MASK: Final = "<secret>"


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
        return show_duration(self.ago or 0.0)


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


def show_pattern(pattern: re.Pattern[str]) -> str:
    return pattern.pattern


def parse_duration_or_off(text: str) -> float:
    """A duration, or `0` for off."""
    if text.strip() in ("0", "off"):
        return 0.0
    return parse_duration(text)


def show_duration_or_off(seconds: float) -> str:
    return show_duration(seconds) if seconds else "0"


def show_duration(seconds: float) -> str:
    for unit in ("w", "d", "h", "m", "s"):
        if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{seconds}s"


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


def show_bool(value: bool) -> str:
    return "true" if value else "false"
