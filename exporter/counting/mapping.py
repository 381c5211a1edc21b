"""Group push mappings: known by Okta ids, shown by names, failing or not. Pure.

Identity. A mapping is its app instance id (`0oa...`) and source group id (`00g...`):
names change (an instance label or a group renamed) and repeat (two Slack workspaces share
the catalogue name "Slack"), ids do neither (DESIGN section 3). Every mapping-level state
is stored under the id pair; the names live beside it, as a series per (ids, names) whose
value is the newest `published` time those names were seen, and the exposition shows each
id pair under its newest names. So a rename changes the label value from then on, and never
splits "failing now" into two series. An event without ids (a Workflows card that forwards
none) is keyed by its label text instead, marked with `TEXT_KEY` so that it can never be
taken for an id.

Failing now. Events arrive out of order (hooks are unordered, the System Log's polling
query is ordered by persistence time, backfill and replay come later still), so "the
newest event" must be decided by Okta's `published` time, not by arrival. The state of one
mapping is therefore stored as a single number that only grows:

    2 * (published in milliseconds) + (1 if the event was a failure else 0)

The larger number is the newer event, and at the very same millisecond a failure wins
(the cautious answer). Because it only grows, the store's existing "keep the maximum"
update applies it atomically, redelivery and replay cannot move it back, and replicas
sharing Redis agree by the same max-merge as every other series. The exposed gauge
`okta_group_push_mapping_failing` is the last bit of it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, Protocol

from exporter import catalogue
from exporter.counting.state import Labels
from exporter.ingest.events import Entity, is_placeholder

# Stored series, never exposed as they are (the exposition derives the mapping families):
# (app key, group key) -> encoded state; (app key, group key) -> newest failure's time;
# (app key, group key, application, group) -> newest time those names were seen.
STATE_SERIES: Final = "mapping_state_by_id"
LAST_FAILURE_SERIES: Final = "mapping_last_failure_by_id"
NAMES_SERIES: Final = "mapping_names"
# What versions before the id keys stored, by label text: dropped when a store opens (the
# README's "Upgrading" says what that costs).
LEGACY_SERIES: Final = ("mapping_state", catalogue.LAST_FAILURE.name)

# Okta ids are short alphanumeric strings ("0oaua5ldoougycQAO696"). Anything else in an id
# field is not trusted as one: with ':' in the marker, a text key can never equal an id.
_ID = re.compile(r"[0-9A-Za-z]{1,64}")
TEXT_KEY: Final = "label:"

Pair = tuple[str, str]  # (app key, group key), or (application, group) names


def key(entity: Entity, label: str) -> str:
    """The key of an app or group in mapping-level state: its Okta id, else its label text.

    `label` is the label value the event gives the entity (exporter/ingest/labels.py); it keys
    only an entity without a usable id (none, Okta's `unknown`, or not id-shaped).
    """
    entity_id = entity.id
    if _ID.fullmatch(entity_id) and not is_placeholder(entity_id):
        return entity_id
    return TEXT_KEY + label


def okta_id(key_: str) -> str:
    """The Okta id a key holds; "" for a key made of label text."""
    return "" if key_.startswith(TEXT_KEY) else key_


def encode(published: float, failing: bool) -> float:
    """One mapping's state at `published` (epoch seconds) as an ever-growing number.

    Exact in a float64 for any date before the year 70,000 (2 * 2.2e15 < 2**53), so float
    arithmetic gives the same number as integer arithmetic would, only faster (this runs
    for every event).
    """
    return 2.0 * round(published * 1000) + (1.0 if failing else 0.0)


def decode(value: float) -> tuple[float, bool]:
    """(published epoch seconds, failing) from `encode`'s number."""
    whole = round(value)
    return (whole // 2) / 1000, bool(whole % 2)


def failing_value(value: float) -> float:
    """The exposed gauge's value for one stored state: 1.0 if the newest event failed."""
    return 1.0 if decode(value)[1] else 0.0


def newest_names(names: Mapping[Labels, float]) -> dict[Pair, Pair]:
    """Each id pair's newest (application, group) names, from the NAMES_SERIES series.

    Newest by Okta's published time; at the same time, the larger names, so every replica
    picks alike.
    """
    best: dict[Pair, tuple[float, Pair]] = {}
    for labels, published in names.items():
        if len(labels) != 4:
            continue
        pair, shown = (labels[0], labels[1]), (labels[2], labels[3])
        known = best.get(pair)
        if known is None or (published, shown) > known:
            best[pair] = (published, shown)
    return {pair: shown for pair, (_, shown) in best.items()}


def fallback_names(pair: Pair) -> Pair:
    """Names for a pair no event or reading named (its names expired): the keys' text."""
    return pair[0].removeprefix(TEXT_KEY), pair[1].removeprefix(TEXT_KEY)


# The links of one mapping by its Okta ids (app instance id, group id): the info series'
# admin_url and system_log_url (exporter/okta/links.py). Empty without --okta.org-url.
Links = Callable[[str, str], tuple[str, str]]


def no_links(application_id: str, group_id: str) -> tuple[str, str]:
    """No Admin Console to link to: both labels empty."""
    return "", ""


class ApiMapping(Protocol):
    """What the reconciler read of one mapping (exporter/okta/disagreements.py MappingState)."""

    @property
    def application(self) -> str: ...
    @property
    def group(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def error_summary(self) -> str: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def last_push(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class Row:
    """One known mapping, as a person (or the /status page) reads it.

    No separate last-success time is kept: while `failing` is False, `newest_event` is the
    time of the newest event, which cleared it (a success, or the end of the mapping).
    """

    application_id: str  # "" when only label text names it
    group_id: str
    application: str
    group: str
    failing: bool  # the newest event was a failure
    newest_event: float | None  # Okta's published time of the newest event
    last_failure: float | None
    api_status: str | None = None  # None: the reconciler did not read this mapping
    error_summary: str = ""
    reason: str | None = None
    last_push: float | None = None
    # The stored keys (`key`): the ids, or marked label text. How state is joined, not what
    # a person reads, so rows compare without them.
    keys: Pair = field(default=("", ""), compare=False)


def rows(
    values: Mapping[str, Mapping[Labels, float]],
    api: Mapping[Pair, ApiMapping] | None = None,
) -> list[Row]:
    """Every mapping known from events (`values`: the stored series) or from Okta's API.

    Sorted by names, then ids. The names are the ones the exposition shows.
    """
    states = values.get(STATE_SERIES, {})
    last = values.get(LAST_FAILURE_SERIES, {})
    api = api or {}
    api_names = {pair: (read.application, read.group) for pair, read in api.items()}
    names = shown_names(values.get(NAMES_SERIES, {}), api_names)
    out = []
    for pair in {*(p for p in states if len(p) == 2), *api}:
        app_key, group_key = pair[0], pair[1]
        state = states.get(pair)
        newest, failing = decode(state) if state is not None else (None, False)
        read = api.get((app_key, group_key))
        application, group = names.get((app_key, group_key)) or fallback_names((app_key, group_key))
        out.append(
            Row(
                okta_id(app_key),
                okta_id(group_key),
                application,
                group,
                failing,
                newest,
                last.get(pair),
                read.status if read is not None else None,
                read.error_summary if read is not None else "",
                read.reason if read is not None else None,
                read.last_push if read is not None else None,
                (app_key, group_key),
            )
        )
    out.sort(key=lambda r: (r.application, r.group, r.application_id, r.group_id))
    return out


def shown_names(names: Mapping[Labels, float], api: Mapping[Pair, Pair]) -> dict[Pair, Pair]:
    """The names each mapping is shown under: the newest event's, else the API's.

    One rule for every mapping family, so that they join on (application, group).
    """
    shown = dict(api)
    shown.update(newest_names(names))
    return shown


def families(
    values: Mapping[str, Mapping[Labels, float]],
    api: Mapping[Pair, Pair] | None = None,
    links: Links = no_links,
) -> dict[str, dict[Labels, float]]:
    """The exposed mapping families, by catalogue name, from the stored series.

    `api` holds the names of the mappings the reconciler read (it adds their info series).
    Two id pairs shown under the same names (a cap folded them into __other__, or the
    policy names two instances alike) make one series: failing if either is, the newer
    failure time.
    """
    names = shown_names(values.get(NAMES_SERIES, {}), api or {})

    def show(keys: Labels) -> Pair:
        pair = (keys[0], keys[1])
        return names.get(pair) or fallback_names(pair)

    failing: dict[Labels, float] = {}
    last: dict[Labels, float] = {}
    info: dict[Labels, float] = {}
    states = {keys: value for keys, value in values.get(STATE_SERIES, {}).items() if len(keys) == 2}
    for keys, value in states.items():
        shown = show(keys)
        failing[shown] = max(failing.get(shown, 0.0), failing_value(value))
    for last_keys, value in values.get(LAST_FAILURE_SERIES, {}).items():
        if len(last_keys) == 2:
            shown = show(last_keys)
            last[shown] = max(last.get(shown, value), value)
    known: dict[Labels, None] = dict.fromkeys(states)
    known.update(dict.fromkeys(api or {}))
    for known_keys in known:
        ids = okta_id(known_keys[0]), okta_id(known_keys[1])
        info[(*show(known_keys), *ids, *links(*ids))] = 1.0
    return {
        catalogue.MAPPING_FAILING.name: failing,
        catalogue.LAST_FAILURE.name: last,
        catalogue.MAPPING_INFO.name: info,
    }


class View:
    """The mapping families, kept current from the stored series that changed.

    What `families` derives whole, by the same rules, updated row by row: a scrape after a
    few events costs a few rows, not one per mapping (the exposition's cache, see
    exporter/metrics/exposition.py). Its rows may come in another order than `families`' after a
    rename; the samples are the same.
    """

    def __init__(self, links: Links = no_links) -> None:
        self._links = links
        self._names: dict[Pair, dict[Pair, float]] = {}  # keys -> names -> newest time
        self._api: Mapping[Pair, Pair] = {}
        self._shown: dict[Pair, Pair] = {}  # keys -> the names it is shown under
        self._members: dict[Pair, dict[Pair, None]] = {}  # names -> the keys shown so
        self._info: dict[Pair, Labels] = {}  # keys -> its info series' labels
        self._info_count: dict[Labels, int] = {}  # info labels -> how many keys have them

    def update(
        self,
        values: Mapping[str, Mapping[Labels, float]],
        names: Iterable[Labels],
        keys: Iterable[Labels],
        api: Mapping[Pair, Pair],
    ) -> tuple[list[Pair], list[Labels]]:
        """Take in what changed: label sets of NAMES_SERIES (`names`), of STATE_SERIES or
        LAST_FAILURE_SERIES (`keys`), and the API's names. `values` holds the series now.

        Returns the (application, group) rows of the failing and last-failure families to
        render again, and the info series to render again (present or gone: see `row`).
        """
        touched: dict[Pair, None] = {}
        stored = values.get(NAMES_SERIES, {})
        for labels in names:
            if len(labels) != 4:
                continue
            pair, shown = (labels[0], labels[1]), (labels[2], labels[3])
            value = stored.get(labels)
            known = self._names.get(pair)
            if value is not None:
                if known is None:
                    known = self._names[pair] = {}
                known[shown] = value
            elif known is not None:  # dropped (series TTL)
                known.pop(shown, None)
                if not known:
                    del self._names[pair]
            touched[pair] = None
        for labels in keys:
            if len(labels) == 2:
                touched[labels[0], labels[1]] = None
        if api is not self._api:
            before = self._api
            for pair in {**before, **api}:
                if before.get(pair) != api.get(pair):
                    touched[pair] = None
            self._api = api
        states = values.get(STATE_SERIES, {})
        rows: dict[Pair, None] = {}
        info: dict[Labels, None] = {}
        for pair in touched:
            known_by_api = pair in self._api
            present = pair in states or known_by_api or pair in self._names
            present = present or pair in values.get(LAST_FAILURE_SERIES, {})
            old = self._shown.get(pair)
            new = self._resolve(pair) if present else None
            if old != new:
                if old is not None:
                    members = self._members[old]
                    del members[pair]
                    if not members:
                        del self._members[old]
                    rows[old] = None
                if new is None:
                    del self._shown[pair]
                else:
                    self._shown[pair] = new
                    self._members.setdefault(new, {})[pair] = None
            if new is not None:
                rows[new] = None
            listed = new is not None and (pair in states or known_by_api)
            self._relist(pair, self._info_row(pair, new) if listed else None, info)
        return list(rows), list(info)

    def _info_row(self, pair: Pair, shown: Pair | None) -> Labels | None:
        """The info series' labels of `pair`, shown under `shown`."""
        if not shown:
            return None
        ids = okta_id(pair[0]), okta_id(pair[1])
        return (*shown, *ids, *self._links(*ids))

    def _resolve(self, pair: Pair) -> Pair:
        names = self._names.get(pair)
        if names:
            return max(names.items(), key=lambda item: (item[1], item[0]))[0]
        return self._api.get(pair) or fallback_names(pair)

    def _relist(self, pair: Pair, labels: Labels | None, changed: dict[Labels, None]) -> None:
        """Give `pair` the info series `labels` (None: none), counting who shares one."""
        old = self._info.get(pair)
        if old == labels:
            return
        if old is not None:
            count = self._info_count[old] - 1
            if count:
                self._info_count[old] = count
            else:
                del self._info_count[old]
            del self._info[pair]
            changed[old] = None
        if labels is not None:
            self._info_count[labels] = self._info_count.get(labels, 0) + 1
            self._info[pair] = labels
            changed[labels] = None

    def row(
        self, shown: Pair, values: Mapping[str, Mapping[Labels, float]]
    ) -> tuple[float | None, float | None]:
        """(mapping_failing, last failure time) of the row `shown`; None where it has none."""
        states = values.get(STATE_SERIES, {})
        lasts = values.get(LAST_FAILURE_SERIES, {})
        failing: float | None = None
        last: float | None = None
        for pair in self._members.get(shown, ()):
            state = states.get(pair)
            if state is not None:
                failing = max(failing or 0.0, failing_value(state))
            time = lasts.get(pair)
            if time is not None:
                last = time if last is None else max(last, time)
        return failing, last

    def listed(self, labels: Labels) -> bool:
        """Whether the info series `labels` is there."""
        return labels in self._info_count
