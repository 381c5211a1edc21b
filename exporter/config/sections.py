"""`Config`: one frozen dataclass per section of the flags, defaults as the README lists them.

A section groups what one part of the exporter reads: `web` the listeners and the hook
endpoints, `storage` the state, `okta` the client of Okta's APIs, `labels` the label
governance, `log` the logger. `options.OPTIONS` names each flag's section and field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from exporter.config.options import OPTIONS, Option
from exporter.config.parse import MASK, ListenAddress, PollSince
from exporter.config.webfile import WebConfig
from exporter.ingest.labels import FILTERED, Filter


def _no_patterns() -> Mapping[str, re.Pattern[str]]:
    return MappingProxyType({})


@dataclass(frozen=True)
class WebSection:
    """The listeners, and the hook endpoints they serve: what `exporter.web` reads.

    The hook secret and header are here, not under `okta`, although their flags are
    `--okta.*`: they authenticate requests *from* Okta at the web layer, while the `okta`
    section is the exporter's own client *of* Okta's APIs.
    """

    # An exporter listens on all interfaces by default; ListenAddress is frozen (RUF009).
    listen: ListenAddress = ListenAddress("0.0.0.0", 9947)  # noqa: S104, RUF009
    okta_listen: ListenAddress | None = None
    config_file: Path | None = None
    toolkit: WebConfig = field(default_factory=WebConfig)  # config_file, parsed
    read_timeout: float = 10.0
    shutdown_timeout: float = 10.0
    max_connections: int | None = None
    telemetry_path: str = "/metrics"
    hook_secret_file: Path | None = None
    hook_secrets: tuple[str, ...] = field(default=(), repr=False)
    hook_header: str = "Authorization"
    max_body_bytes: int = 4 * 1024 * 1024


@dataclass(frozen=True)
class StorageSection:
    path: Path = Path("data")
    backend: str = "auto"  # `build` resolves auto to redis or sqlite
    redis_url: str | None = None
    redis_prefix: str = "okta_group_push:"
    max_size: int | None = None
    dedup_window: float = 35 * 86400.0


@dataclass(frozen=True)
class OktaSection:
    """The org, the credentials, the System Log poller and the Group Push Mapping reconciler."""

    org_url: str | None = None
    allow_http: bool = False
    api_token_file: Path | None = None
    api_token: str | None = field(default=None, repr=False)
    client_id: str | None = None
    private_key_file: Path | None = None
    private_key: bytes = field(default=b"", repr=False)
    private_key_id: str | None = None
    dpop: bool = True
    poll_since: PollSince = PollSince(ago=3600.0)  # noqa: RUF009 - frozen
    poll_interval: float = 30.0
    rate_limit_share: float = 0.5
    request_timeout: float = 60.0
    event_hook_id: str | None = None
    mappings_interval: float = 300.0  # 0: off

    @property
    def has_credentials(self) -> bool:
        """Whether Okta can be asked anything: without credentials the org URL only makes links."""
        return self.api_token is not None or self.client_id is not None


@dataclass(frozen=True)
class LabelsSection:
    """Label governance (README "Label governance"); the pure rules: exporter/ingest/labels.py.

    `series_ttl` (flag `--metrics.series-ttl`) lives here rather than in a section of its
    own: like `max_series` it bounds how many event-derived series exist, the same state
    (exporter/counting/state.py) enforces both, and a `metrics` section would hold it alone.
    """

    max_values: int = 1000
    max_series: int = 10_000
    max_length: int = 128
    application: str = "alternate_id"  # the instance label (DESIGN section 3)
    group: str = "display_name"
    actor: str = "display_name"
    # By label (one of FILTERED); a label without an entry is not filtered.
    allow: Mapping[str, re.Pattern[str]] = field(default_factory=_no_patterns)
    deny: Mapping[str, re.Pattern[str]] = field(default_factory=_no_patterns)
    series_ttl: float | None = None  # off: see the README on sparse counters and increase()

    @property
    def filters(self) -> Mapping[str, Filter]:
        """Each filtered label's allow and deny patterns, for `LabelPolicy.filters`."""
        return MappingProxyType(
            {
                label: Filter(self.allow.get(label), self.deny.get(label))
                for label in FILTERED
                if label in self.allow or label in self.deny
            }
        )


@dataclass(frozen=True)
class LogSection:
    level: str = "info"
    format: str = "auto"


@dataclass(frozen=True)
class Config:
    """Everything `serve` needs, validated. Secrets are kept out of `repr`."""

    web: WebSection = field(default_factory=WebSection)
    storage: StorageSection = field(default_factory=StorageSection)
    okta: OktaSection = field(default_factory=OktaSection)
    labels: LabelsSection = field(default_factory=LabelsSection)
    log: LogSection = field(default_factory=LogSection)

    def value(self, option: Option) -> object:
        """The value `option` sets (None when unset and without a default)."""
        section = {
            "web": self.web,
            "storage": self.storage,
            "okta": self.okta,
            "labels": self.labels,
            "log": self.log,
        }[option.section]
        value = getattr(section, option.field)
        return value.get(option.key) if option.key is not None else value

    def show(self, option: Option) -> str:
        """The value `option` sets as text, secrets masked; empty when unset."""
        value = self.value(option)
        return "" if value is None else option.show(value)

    def describe(self) -> dict[str, str]:
        """The effective configuration by flag, secrets masked: for the landing page."""
        shown = {option.flag: self.show(option) for option in OPTIONS}
        shown["hook secrets"] = f"{len(self.web.hook_secrets)} configured, {MASK}"
        if self.okta.api_token:
            shown["okta api token"] = MASK
        return shown
