"""The option table: one row per flag, naming the section and field its value goes to.

Flags, environment variables, help texts and defaults are a public contract: the README's
flag reference is generated from this table (`exporter.metrics.reference`) and a test
compares the two.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

from exporter.config.parse import (
    at_least,
    mask_url,
    one_of,
    parse_bool,
    parse_duration,
    parse_duration_or_off,
    parse_header_name,
    parse_hook_id,
    parse_listen_address,
    parse_optional_duration,
    parse_org_url,
    parse_path,
    parse_positive_int,
    parse_redis_url,
    parse_regex,
    parse_share,
    parse_since,
    parse_size,
    parse_telemetry_path,
    show_bool,
    show_duration,
    show_duration_or_off,
    show_pattern,
)
from exporter.ingest.labels import ACTOR_MODES, FILTERED, OTHER, SOURCES

ENV_PREFIX: Final = "OKTA_GROUP_PUSH_"
# The contract names this variable: it holds the secret itself, not a file.
HOOK_SECRET_ENV: Final = "OKTA_HOOK_SECRET"  # noqa: S105 - a variable name, not a secret
API_TOKEN_ENV: Final = "OKTA_API_TOKEN"  # noqa: S105 - a variable name, not a secret

Section = Literal["web", "storage", "okta", "labels", "log"]


@dataclass(frozen=True, slots=True)
class Option:
    """One command-line flag with its environment variable and converter.

    The value goes to `Config.<section>.<field>`; with a `key`, that field is a mapping
    and the value goes under the key (the per-label filters).
    """

    flag: str
    section: Section
    field: str
    help: str
    parse: Callable[[str], Any]
    show: Callable[[Any], str] = str
    # The value may hold a credential: never quoted in an error, masked where shown.
    secret: bool = False
    key: str | None = None

    @property
    def dest(self) -> str:
        """Where argparse keeps the flag's text."""
        return self.flag.removeprefix("--")

    @property
    def env(self) -> str:
        return ENV_PREFIX + re.sub(r"[.-]", "_", self.flag.removeprefix("--")).upper()


_SOURCES = ", ".join(SOURCES)
# The least --labels.max-series: the ledger keeps room for the label sets the series cap
# folds into (one per metric and closed-label combination: 15, see
# exporter.counting.planner.limits), and what is left must fit the 6 series of one failure
# (tests/test_state.py checks both against the planner).
MIN_SERIES: Final = 21
LABEL_OPTIONS: Final[tuple[Option, ...]] = (
    Option(
        "--labels.max-values",
        "labels",
        "max_values",
        "Most distinct values of each of application, group, actor and event_type (and of the "
        "app and group ids that key mapping state), "
        f"{OTHER} included; further values are counted under {OTHER}.",
        parse_positive_int,
    ),
    Option(
        "--labels.max-series",
        "labels",
        "max_series",
        f"Most event-derived series in all; past it, new label sets are counted under {OTHER}.",
        at_least(MIN_SERIES),
    ),
    Option(
        "--labels.max-length",
        "labels",
        "max_length",
        "Label values are cut to this many characters.",
        parse_positive_int,
    ),
    Option(
        "--labels.application",
        "labels",
        "application",
        f"The application label's source field: {_SOURCES}; alternate_id is the app "
        "instance's label, display_name the catalogue app's name.",
        one_of(*SOURCES),
    ),
    Option(
        "--labels.group",
        "labels",
        "group",
        f"The group label's source field: {_SOURCES}.",
        one_of(*SOURCES),
    ),
    Option(
        "--labels.actor",
        "labels",
        "actor",
        f"The actor label: {_SOURCES}, hash (a stable keyed hash of the actor's Okta id, "
        "the key kept in the state) or none (no actor label).",
        one_of(*ACTOR_MODES),
    ),
    *(
        Option(
            f"--labels.{label}.{verdict}",
            "labels",
            verdict,
            f"Regular expression (matching the whole value) that {label} values must {must}; "
            f"others are counted under {OTHER}.",
            parse_regex,
            show_pattern,
            key=label,
        )
        for label in FILTERED
        for verdict, must in (("allow", "match"), ("deny", "not match"))
    ),
    Option(
        "--metrics.series-ttl",
        "labels",
        "series_ttl",
        "Drop an event-derived series not incremented for this long (e.g. 30d); 0 or off "
        "keeps series forever (default), as increase() over sparse counters needs.",
        parse_optional_duration,
        show_duration,
    ),
)

OPTIONS: Final[tuple[Option, ...]] = (
    Option(
        "--web.listen-address",
        "web",
        "listen",
        "Address to listen on for hooks, metrics and the landing page.",
        parse_listen_address,
    ),
    Option(
        "--okta.listen-address",
        "web",
        "okta_listen",
        "A separate address for the hook endpoints only (the web address then serves metrics, "
        "the landing page and health). Unset: one listener serves everything.",
        parse_listen_address,
    ),
    Option(
        "--web.config.file",
        "web",
        "config_file",
        "Exporter-toolkit web config (YAML): tls_server_config for both listeners, "
        "basic_auth_users (bcrypt) for metrics, landing page and health. Re-read on SIGHUP.",
        parse_path,
    ),
    Option(
        "--web.read-timeout",
        "web",
        "read_timeout",
        "A request must arrive whole (headers and body) within this time, else the "
        "connection is closed (or 408).",
        parse_duration,
        show_duration,
    ),
    Option(
        "--web.max-connections",
        "web",
        "max_connections",
        "Open connections per listener; at the cap the oldest idle one is closed. "
        "Default: 1024, or less below a low file descriptor limit.",
        parse_positive_int,
    ),
    Option(
        "--web.shutdown-timeout",
        "web",
        "shutdown_timeout",
        "On SIGTERM, how long in-flight requests may take before the exporter exits.",
        parse_duration,
        show_duration,
    ),
    Option(
        "--web.telemetry-path",
        "web",
        "telemetry_path",
        "Path under which to expose metrics.",
        parse_telemetry_path,
    ),
    Option(
        "--storage.path",
        "storage",
        "path",
        "Directory for the exporter's state (the generated hook secret among it).",
        parse_path,
    ),
    Option(
        "--storage.backend",
        "storage",
        "backend",
        "Where state is kept: sqlite (one file in --storage.path), redis (shared by replicas), "
        "memory (nothing survives a restart), or auto (redis when --storage.redis-url is set, "
        "else sqlite).",
        one_of("auto", "sqlite", "redis", "memory"),
    ),
    Option(
        "--storage.redis-url",
        "storage",
        "redis_url",
        "Redis holding the state shared by every replica, e.g. redis://:password@host:6379/0.",
        parse_redis_url,
        mask_url,
        secret=True,
    ),
    Option(
        "--storage.redis-prefix",
        "storage",
        "redis_prefix",
        "Prefix of the exporter's keys in Redis (several exporters can share one database).",
        str,
    ),
    Option(
        "--storage.max-size",
        "storage",
        "max_size",
        "Largest the SQLite database may grow (e.g. 1GiB); past it hooks answer 503.",
        parse_size,
    ),
    Option(
        "--storage.dedup-window",
        "storage",
        "dedup_window",
        "How long a counted event uuid is remembered, to reject redeliveries.",
        parse_duration,
        show_duration,
    ),
    Option(
        "--okta.hook-secret-file",
        "web",
        "hook_secret_file",
        "File holding the event hook secret(s), one per line (several for rotation). "
        f"Or set {HOOK_SECRET_ENV}. When neither is set, a secret is generated in --storage.path.",
        parse_path,
    ),
    Option(
        "--okta.hook-header",
        "web",
        "hook_header",
        "Request header in which Okta sends the hook secret.",
        parse_header_name,
    ),
    Option(
        "--web.max-body-size",
        "web",
        "max_body_bytes",
        "Largest hook request body accepted; larger ones get 413.",
        parse_size,
    ),
    Option(
        "--log.level",
        "log",
        "level",
        "Only log messages of this severity or above: debug, info, warn, error.",
        one_of("debug", "info", "warn", "error"),
    ),
    Option(
        "--log.format",
        "log",
        "format",
        "Log format: json, text, or auto (text on a terminal, json otherwise).",
        one_of("auto", "json", "text"),
    ),
    # --- Okta System Log poller, backfill ---
    Option(
        "--okta.org-url",
        "okta",
        "org_url",
        "Your Okta org, e.g. https://example.okta.com: links to its Admin Console; with "
        "credentials, serve also polls its System Log and reads its group push mappings.",
        parse_org_url,
    ),
    Option(
        "--okta.allow-http",
        "okta",
        "allow_http",
        "Allow a plain http:// org URL that is not a loopback address (for test set-ups).",
        parse_bool,
        show_bool,
    ),
    Option(
        "--okta.api-token-file",
        "okta",
        "api_token_file",
        f"File holding an Okta API token (SSWS). Or set {API_TOKEN_ENV}.",
        parse_path,
    ),
    Option(
        "--okta.client-id",
        "okta",
        "client_id",
        "Client id of an OAuth 2.0 API Services app granted okta.logs.read (instead of a token).",
        str,
    ),
    Option(
        "--okta.private-key-file",
        "okta",
        "private_key_file",
        "PEM private key (RSA or EC) whose public key is registered with that app.",
        parse_path,
    ),
    Option(
        "--okta.private-key-id",
        "okta",
        "private_key_id",
        "The key's id (kid) in the app, when the app has several keys.",
        str,
    ),
    Option(
        "--okta.dpop",
        "okta",
        "dpop",
        "Send DPoP proofs with OAuth (required by API Services apps created since 2024).",
        parse_bool,
        show_bool,
    ),
    Option(
        "--okta.poll-since",
        "okta",
        "poll_since",
        "Where the first poll starts: a duration before now (e.g. 24h) or a time; later "
        "starts go on from the stored cursor.",
        parse_since,
    ),
    Option(
        "--okta.poll-interval",
        "okta",
        "poll_interval",
        "How long to wait after a page that had fewer events than a full page.",
        parse_duration,
        show_duration,
    ),
    Option(
        "--okta.rate-limit-share",
        "okta",
        "rate_limit_share",
        "The share of each Okta rate-limit bucket the exporter may use (0.5 or 50%%): the "
        "System Log's for the poller, the apps' and groups' for the mapping reconciler.",
        parse_share,
    ),
    Option(
        "--okta.event-hook-id",
        "okta",
        "event_hook_id",
        "Id of the Okta event hook that delivers to this exporter (who...): only its "
        "failed deliveries count; unset, every event hook's do.",
        parse_hook_id,
    ),
    Option(
        "--okta.request-timeout",
        "okta",
        "request_timeout",
        "How long one request to Okta may take before it counts as failed.",
        parse_duration,
        show_duration,
    ),
    Option(
        "--okta.mappings-interval",
        "okta",
        "mappings_interval",
        "How often serve reads every group push mapping's status from Okta's Group Push "
        "Mapping API (needs okta.apps.read and okta.groups.read); 0 turns it off.",
        parse_duration_or_off,
        show_duration_or_off,
    ),
    *LABEL_OPTIONS,
)
