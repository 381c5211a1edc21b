"""The one adapter between the running exporter's state and the /status page's rows.

Mapping-level state is keyed by Okta ids (exporter/counting/mapping.py): `mapping.rows` joins the
event-derived state, the names and what the reconciler read last
(exporter/okta/reconciler.py) by (app instance id, group id), and this process's recent
record (exporter/counting/recent.py) is keyed alike. Only `collect` knows that; the page
(exporter/web/status.py) sees `StatusRow`s.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from exporter.counting import mapping
from exporter.counting.planner import failure_reason
from exporter.counting.recent import DAY, HOUR, Recent, Seen
from exporter.counting.state import Labels, MetricState
from exporter.okta.disagreements import MappingState
from exporter.okta.grouppush import ERROR, PushMapping
from exporter.okta.links import OktaLinks
from exporter.web.status import StatusRow

MAPPING_SERIES = (mapping.NAMES_SERIES, mapping.STATE_SERIES, mapping.LAST_FAILURE_SERIES)
LINK_LOOKBACK = 3600.0  # the System Log link starts an hour before the failing began


@dataclass
class StatusSources:
    """Where the page's rows come from, gathered by the application at start."""

    state: MetricState
    recent: Recent
    links: OktaLinks | None = None
    clock: Callable[[], float] = time.time
    # The reconciler's last complete reading; empty when it is off or stands by.
    api: Callable[[], Sequence[tuple[PushMapping, MappingState]]] = field(default=lambda: ())


def collect(sources: StatusSources) -> list[StatusRow]:
    """A row for every mapping that the events or Okta's API say is failing now."""
    now = sources.clock()
    values = {name: sources.state.series(name) for name in MAPPING_SERIES}
    reads: dict[mapping.Pair, tuple[PushMapping, MappingState]] = {}
    for push, read in sources.api():
        pair = (read.application_key, read.group_key)
        if read.status == ERROR or pair not in reads:  # the one in ERROR, if any, speaks
            reads[pair] = (push, read)
    recent = sources.recent.view()
    rows = []
    for known in mapping.rows(values, {pair: read for pair, (_, read) in reads.items()}):
        by_api = known.api_status == ERROR
        if not (known.failing or by_api):
            continue
        pair = known.keys
        rows.append(
            _row(
                (known.application, known.group),
                by_events=known.failing,
                api=reads.get(pair) if by_api else None,
                seen=recent.get(pair),
                last_failure=known.last_failure,
                links=sources.links,
                now=now,
                ids=(known.application_id, known.group_id),
            )
        )
    return rows


def _row(
    labels: Labels,
    *,
    by_events: bool,
    api: tuple[PushMapping, MappingState] | None,
    seen: Seen | None,
    last_failure: float | None,
    links: OktaLinks | None,
    now: float,
    ids: tuple[str, str],
) -> StatusRow:
    application, group = labels
    (app_id, group_id), app_name = ids, ""
    reason = summary = detail = ""
    last_push = since = last_success = None
    hour = day = None
    if seen is not None:
        since, last_success = seen.failing_since, seen.last_success
        hour, day = seen.failures_since(now - HOUR), seen.failures_since(now - DAY)
        if seen.last_failure is not None:
            reason = failure_reason(seen.last_failure)
            detail = seen.last_failure.reason or seen.last_failure.message
    if api is not None:
        push, read = api
        app_id, group_id = push.app.id, push.source_group_id or group_id
        app_name = push.app.name  # the app's `name` (okta/grouppush.py)
        summary, last_push = read.error_summary, read.last_push
        reason = reason or (read.reason or "")
    if since is None and by_events:
        since = last_failure  # at least since the newest failure
    admin_url = system_log_url = ""
    if links is not None and app_id:
        start = since - LINK_LOOKBACK if since is not None else None
        found = links.mapping(app_id, group_id, app_name, start)
        admin_url, system_log_url = found.admin, found.system_log
    return StatusRow(
        application=application,
        group=group,
        application_id=app_id,
        group_id=group_id,
        failing_by_events=by_events,
        failing_by_api=api is not None,
        since=since,
        last_failure=last_failure,
        last_success=last_success,
        last_push=last_push,
        reason=reason,
        error_summary=summary,
        detail=detail,
        failures_hour=hour,
        failures_day=day,
        admin_url=admin_url,
        system_log_url=system_log_url,
    )
