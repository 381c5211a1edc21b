"""Label governance: which text becomes a label value. Pure: configuration in, values out.

Okta payloads are controlled by whoever holds a hook secret (or by a noisy org), so every
value is made valid UTF-8, stripped of control characters and cut to a bounded length
before it becomes part of a series. Then the configured source field, allow and deny
lists and the actor's privacy mode apply. Caps on distinct values need to know what is
already exposed, so they live with the series, in `exporter.counting.state`.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Final, NamedTuple

from exporter.ingest.events import UNKNOWN, Entity, Event, is_placeholder

DEFAULT_MAX_LENGTH: Final = 128
# Where every value that may not have its own series is counted, so totals stay exact.
OTHER: Final = "__other__"
# Entity fields a label can come from, in the order they are tried when one is empty.
SOURCES: Final = ("display_name", "alternate_id", "id")
ACTOR_MODES: Final = (*SOURCES, "hash", "none")
# The labels that carry text from Okta; `kind` is the exporter's own closed set. The ids
# key mapping-level state (counting/mapping.py) and are capped like the names they stand for.
GOVERNED: Final = (
    "application", "group", "actor", "event_type", "application_id", "group_id"
)  # fmt: skip
FILTERED: Final = ("application", "group", "actor")
HASH_LENGTH: Final = 16  # hex digits: 64 bits, no collision among an org's admins
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CACHE_SIZE: Final = 4096


def clean(value: str, max_length: int = DEFAULT_MAX_LENGTH) -> str:
    """`value` as a safe label value: valid UTF-8, no control characters, bounded length."""
    # The common case (short printable ASCII) costs a few C calls and no regex.
    if value.isascii() and value.isprintable() and len(value) <= max_length:
        return value.strip()
    if not value.isascii():
        # A lone surrogate cannot be encoded as UTF-8 and would fail the whole scrape
        # (research/reliability.md section 5, item 4).
        value = value.encode("utf-8", "replace").decode("utf-8")
    value = _CONTROL.sub("", value).strip()
    return value[:max_length].strip()


@dataclass(frozen=True, slots=True)
class Filter:
    """Allow and deny regular expressions for one label, each matching the whole value."""

    allow: re.Pattern[str] | None = None
    deny: re.Pattern[str] | None = None

    def passes(self, value: str) -> bool:
        if self.allow is not None and self.allow.fullmatch(value) is None:
            return False
        return self.deny is None or self.deny.fullmatch(value) is None


NO_FILTER: Final = Filter()


class EventLabels(NamedTuple):
    """The label values one event proposes, before the caps in `exporter.counting.state`."""

    application: str
    group: str
    actor: str
    event_type: str


def actor_hash(key: bytes, identity: str) -> str:
    """A stable keyed hash of an actor's identity: the same person, the same value."""
    digest = hmac.new(key, identity.encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:HASH_LENGTH]


@dataclass(frozen=True)
class LabelPolicy:
    """How an event's entities become label values (see the README, "Label governance")."""

    # An AppInstance's alternateId is its instance label ("AWS Production"), its displayName
    # the catalogue app's name ("AWS IAM Identity Center"): see DESIGN section 3.
    application: str = "alternate_id"  # one of SOURCES
    group: str = "display_name"  # one of SOURCES
    actor: str = "display_name"  # one of ACTOR_MODES
    max_length: int = DEFAULT_MAX_LENGTH
    filters: Mapping[str, Filter] = field(default_factory=lambda: MappingProxyType({}))
    # The key for `actor="hash"`; it lives in the store so every replica and restart agree.
    hash_key: bytes | None = field(default=None, repr=False)
    # label -> entity (or event type) -> value, built once per policy (see __post_init__)
    _pickers: dict[str, Callable[[Any], str]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        # Names repeat across events: memoise the per-name work (sanitising, filters,
        # HMAC). The caches are bounded and hold only what the policy would compute again.
        finish = {
            label: functools.lru_cache(maxsize=_CACHE_SIZE)(
                functools.partial(self._finish_value, label)
            )
            for label in ("application", "group", "actor")
        }
        # What a label says when no field has a value: `unknown`, through the same filters.
        last = {
            label: self._finish_value(label, UNKNOWN, placeholder_ok=True)
            for label in ("application", "group", "actor")
        }
        self._pickers["application"] = _picker(
            finish["application"], self.application, last["application"]
        )
        self._pickers["group"] = _picker(finish["group"], self.group, last["group"])
        if self.actor == "none":
            self._pickers["actor"] = lambda _: ""  # an empty value is no label to Prometheus
        else:
            # A person's Okta id outlives logins and names: hash that, one person one series.
            source = "id" if self.actor == "hash" else self.actor
            self._pickers["actor"] = _picker(finish["actor"], source, last["actor"])
        self._pickers["event_type"] = functools.lru_cache(maxsize=_CACHE_SIZE)(
            lambda value: clean(value, self.max_length) or UNKNOWN
        )

    def actor_value(self, actor: Entity) -> str:
        """The actor label this policy gives `actor` (filters included)."""
        return self._pickers["actor"](actor)

    def with_hash_key(self, key: bytes) -> LabelPolicy:
        return replace(self, hash_key=key)

    @property
    def needs_hash_key(self) -> bool:
        """True while `actor="hash"` has no key yet: no value can be computed."""
        return self.actor == "hash" and self.hash_key is None

    def labels(self, event: Event) -> EventLabels:
        """The application, group, actor and event type values of one event."""
        pickers = self._pickers
        return EventLabels(
            pickers["application"](event.application),
            pickers["group"](event.group),
            pickers["actor"](event.actor),
            pickers["event_type"](event.event_type),
        )

    def mapping(self, event: Event) -> tuple[str, str]:
        """The application and group values alone: all a success event's series needs."""
        pickers = self._pickers
        return pickers["application"](event.application), pickers["group"](event.group)

    def entities(self, application: Entity, group: Entity) -> tuple[str, str]:
        """The application and group values of two entities read elsewhere (the reconciler)."""
        pickers = self._pickers
        return pickers["application"](application), pickers["group"](group)

    def _finish_value(self, label: str, raw: str, *, placeholder_ok: bool = False) -> str:
        """A field's text as the label value: "" when sanitising leaves nothing or Okta's
        placeholder `unknown` (so the fallback goes on to the next field)."""
        value = clean(raw, self.max_length)
        if not value or (not placeholder_ok and is_placeholder(value)):
            return ""
        if not self.filters.get(label, NO_FILTER).passes(value):
            return OTHER
        if label == "actor" and self.actor == "hash" and value != UNKNOWN:
            if self.hash_key is None:
                raise RuntimeError("actor hash key not loaded")  # the ledger checks first
            return actor_hash(self.hash_key, value)
        return value


def _picker(finish: Callable[[str], str], source: str, last: str) -> Callable[[Entity], str]:
    """The chosen field, else the others in SOURCES order (`finish` says "" for an empty
    value or a placeholder), else `last`: the label value of `unknown`."""
    first = operator.attrgetter(source)
    others = [operator.attrgetter(other) for other in SOURCES if other != source]

    def pick(entity: Entity) -> str:
        value = finish(first(entity))
        if value:
            return value
        for other in others:
            value = finish(other(entity))
            if value:
                return value
        return last

    return pick


DEFAULT_POLICY: Final = LabelPolicy()
