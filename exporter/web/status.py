"""The /status page: the mappings failing now, worst first, as plain HTML. Pure.

One self-contained document: inline CSS (allowed by its hash in `CSP`), no script, no
external asset, a meta refresh every 30 seconds, cards that stack on a phone. Every value
it shows goes through `html.escape`, links included (they are built from Okta ids by
exporter/okta/links.py, which escapes them for the URL already).

The rows come from one adapter (exporter/web/statusrows.py) so that this file knows nothing
of where the state is kept.
"""

from __future__ import annotations

import base64
import hashlib
import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

REFRESH_SECONDS: Final = 30
EVENTS: Final = "events"
API: Final = "Okta API"


@dataclass(frozen=True, slots=True)
class StatusRow:
    """One mapping failing now, as the page shows it. Times are epoch seconds."""

    application: str
    group: str
    application_id: str = ""
    group_id: str = ""
    failing_by_events: bool = False  # the newest event (by Okta's published time) failed
    failing_by_api: bool = False  # Okta's Group Push Mapping API says ERROR
    since: float | None = None  # the first failure after the last success, as known
    last_failure: float | None = None
    last_success: float | None = None  # the newest success event
    last_push: float | None = None  # the API's lastPush
    reason: str = ""  # the bounded reason (exporter/ingest/reasons.py)
    error_summary: str = ""  # Okta's errorSummary from the API
    detail: str = ""  # the newest failure event's outcome reason or message
    failures_hour: int | None = None  # None: not counted by this process
    failures_day: int | None = None
    admin_url: str = ""
    system_log_url: str = ""

    @property
    def sources(self) -> tuple[str, ...]:
        """Which sources say the mapping is failing."""
        return tuple(
            name
            for name, says in ((EVENTS, self.failing_by_events), (API, self.failing_by_api))
            if says
        )


def worst_first(rows: Iterable[StatusRow]) -> list[StatusRow]:
    """Both sources agreeing first, then the most failures lately, then failing longest."""

    def key(row: StatusRow) -> tuple[object, ...]:
        return (
            -len(row.sources),
            -(row.failures_hour or 0),
            -(row.failures_day or 0),
            row.since if row.since is not None else math.inf,
            row.application,
            row.group,
            row.application_id,
            row.group_id,
        )

    return sorted(rows, key=key)


STYLE: Final = """
:root{color-scheme:light dark;--fg:#1b1b1b;--bg:#fafafa;--card:#fff;--muted:#5c5c5c;
--bad:#b3261e;--line:#ddd;--link:#0b57d0}
@media (prefers-color-scheme:dark){:root{--fg:#e8e8e8;--bg:#121212;--card:#1e1e1e;
--muted:#a8a8a8;--bad:#ff8a80;--line:#333;--link:#8ab4f8}}
*{box-sizing:border-box}
body{margin:0;padding:12px;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--fg);background:var(--bg)}
main{max-width:72rem;margin:0 auto}
h1{font-size:1.3rem;margin:.2rem 0 .6rem}
.summary{font-weight:600;margin:0 0 .8rem}
.ok{padding:1rem;border:1px solid var(--line);border-radius:8px;background:var(--card)}
.cards{display:grid;gap:12px;grid-template-columns:repeat(auto-fill,minmax(min(100%,22rem),1fr));
list-style:none;margin:0;padding:0}
.card{background:var(--card);border:1px solid var(--line);border-left:5px solid var(--bad);
border-radius:8px;padding:10px 12px;overflow-wrap:anywhere}
.card h2{font-size:1.05rem;margin:0 0 .3rem}
.card h2 .sep{color:var(--muted);font-weight:400}
.who{color:var(--bad);font-weight:600;margin:0 0 .4rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem .6rem;margin:0 0 .5rem}
dt{color:var(--muted)}
dd{margin:0}
.links{display:flex;flex-wrap:wrap;gap:.4rem 1rem}
a{color:var(--link)}
.links a{display:inline-block;padding:.35rem 0;min-height:44px;line-height:2}
footer{color:var(--muted);font-size:.85rem;margin-top:1rem}
"""
# Allows exactly this style block: no other inline style, no script, nothing external.
CSP: Final = (
    "default-src 'none'; "
    f"style-src 'sha256-{base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()}'; "
    "img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _time(at: float | None, now: float) -> str:
    """`2026-12-03 21:04 UTC (5 min ago)`, or a dash."""
    if at is None:
        return "\u2014"
    stamp = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"{stamp} ({_ago(now - at)})"


def _ago(seconds: float) -> str:
    if seconds < 0:
        return "in the future"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return "just now"


def _count(value: int | None) -> str:
    return "\u2014" if value is None else str(value)


def _card(row: StatusRow, now: float) -> str:
    facts: list[tuple[str, str]] = [
        ("Since", _time(row.since, now)),
        ("Reason", row.reason or "\u2014"),
    ]
    if row.error_summary:
        facts.append(("Okta says", row.error_summary))
    if row.detail and row.detail != row.error_summary:
        facts.append(("Event", row.detail))
    facts += [
        ("Last failure", _time(row.last_failure, now)),
        ("Last push", _time(row.last_push, now)),
        ("Last success", _time(row.last_success, now)),
        ("Failures", f"{_count(row.failures_hour)} last hour, {_count(row.failures_day)} last day"),
    ]
    dl = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts)
    links = []
    if row.admin_url:
        links.append(f'<a href="{_e(row.admin_url)}" rel="noreferrer">Admin Console</a>')
    if row.system_log_url:
        links.append(f'<a href="{_e(row.system_log_url)}" rel="noreferrer">System Log</a>')
    if not links:
        links.append("<span>No Okta link: the org URL or the app's id is not known</span>")
    ids = " / ".join(i for i in (row.application_id, row.group_id) if i)
    title = f'{_e(row.application)} <span class="sep">/</span> {_e(row.group)}'
    return (
        f'<li class="card"><h2>{title}</h2>'
        f'<p class="who">Failing, says {_e(" and ".join(row.sources))}</p>'
        f"<dl>{dl}</dl>"
        f'<div class="links">{"".join(links)}</div>'
        + (f"<footer>{_e(ids)}</footer>" if ids else "")
        + "</li>"
    )


def render(rows: Sequence[StatusRow], now: float, *, sources_note: str = "") -> str:
    """The whole page for `rows` at `now`, worst first."""
    ordered = worst_first(rows)
    if ordered:
        count = len(ordered)
        summary = f"{count} mapping{'s' if count != 1 else ''} failing now"
        body = f'<p class="summary">{_e(summary)}</p><ul class="cards">'
        body += "".join(_card(row, now) for row in ordered) + "</ul>"
    else:
        summary = "Nothing failing"
        body = (
            '<p class="ok"><strong>Nothing failing.</strong> No group push mapping is failing '
            "now, by the events or by Okta&#x27;s API.</p>"
        )
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    note = f" {_e(sources_note)}" if sources_note else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="refresh" content="{REFRESH_SECONDS}">
<title>{_e(summary)} \u2014 Okta group push status</title>
<style>{STYLE}</style></head>
<body><main>
<h1>Okta group push status</h1>
{body}
<footer>As of {_e(stamp)}, refreshed every {REFRESH_SECONDS} s. Counts are what this
process saw since it started.{note} <a href="/">Exporter home</a></footer>
</main></body></html>
"""
