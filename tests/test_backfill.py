"""backfill and replay: the same counters as live polling, dedup against what is counted,
dry runs that write nothing, progress bars and summaries, and the commands around them."""

from __future__ import annotations

import asyncio
import gzip
import io
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from exporter import catalogue
from exporter.cli import main, parser
from exporter.config import Config, StorageSection, WebSection
from exporter.counting import mapping
from exporter.counting.ledger import HASH_KEY_META, Ledger
from exporter.counting.state import MetricState, Values
from exporter.ingest.events import Batch, parse_log_events
from exporter.ingest.exports import parse_export
from exporter.metrics.health import Health
from exporter.metrics.selfmetrics import SelfMetrics
from exporter.okta import progress
from exporter.okta.auth import SswsAuth
from exporter.okta.backfill import (
    Importer,
    format_table,
    replay_command,
    run_backfill,
    run_replay,
)
from exporter.okta.client import OktaClient
from exporter.okta.errors import ApiError, TransientError
from exporter.okta.progress import bar_to
from exporter.store.memory import MemoryStore
from exporter.store.sqlite import SqliteStore
from exporter.web.app import make_app
from tests.builders import okta_id
from tests.conftest import NOW, Client, FakeTime, RigFactory
from tests.okta_emulator import Emulator, ThreadedOrg, log_event

TERMINAL = "application.provision.group_push.mapping.update.or.delete.failed.with.error"
RETRIED = "application.provision.group_push.mapping.update.or.delete.failed"
MEMBERSHIP = "application.provision.group_membership.add"
PUSHED = "application.provision.group_push.pushed"
FAILURES = catalogue.FAILURES.name
REASONS = catalogue.FAILURE_REASONS.name
LAST = mapping.LAST_FAILURE_SERIES


def dataset() -> list[dict[str, Any]]:
    """A mixed hour of group push: kinds, apps, groups, reasons, successes, noise."""
    events: list[dict[str, Any]] = []
    reasons = ["HTTP 403 Forbidden", "Read timed out", "", "Linked group is missing in AWS"]
    for n in range(40):
        app, group = ("Slack", "AWS")[n % 2], ("Eng", "Sales", "Ops")[n % 3]
        published = NOW - 3000 + (n * 37) % 2900  # not in persistence order
        if n % 5 == 4:
            events.append(log_event(f"ok-{n}", PUSHED, published, application=app, group=group,
                                    outcome="SUCCESS"))  # fmt: skip
        elif n % 7 == 6:
            events.append(log_event(f"noise-{n}", MEMBERSHIP, published, outcome="SUCCESS"))
        else:
            kind = (TERMINAL, RETRIED, MEMBERSHIP)[n % 3]
            events.append(log_event(f"f-{n}", kind, published, application=app, group=group,
                                    reason=reasons[n % 4]))  # fmt: skip
    return events


def event_values(values: Values) -> Values:
    return {name: series for name, series in values.items() if series}


def importer(store: MemoryStore, source: str, dry_run: bool = False) -> Importer:
    metrics = SelfMetrics(CollectorRegistry())
    ledger = Ledger(store, MetricState(), metrics, Health(metrics), lambda: NOW)
    return Importer(ledger, store, source, dry_run=dry_run)


@pytest.fixture
async def client(org_url: str, fake_time: FakeTime) -> AsyncIterator[OktaClient]:
    made = OktaClient(org_url, SswsAuth("test-api-token"), clock=fake_time.clock)
    yield made
    await made.close()


def silent(total: float, description: str) -> Any:
    return bar_to(io.StringIO())(total, description)


async def test_backfill_and_replay_give_the_same_counters_as_live_polling(
    emulator: Emulator,
    fake_time: FakeTime,
    rigs: RigFactory,
    client: OktaClient,
    tmp_path: Path,
) -> None:
    emulator.page_size = 7
    events = dataset()
    emulator.add(*events)
    live = MemoryStore(86400)
    rig = rigs(client.org_url, live)
    for _ in range(30):
        fake_time.now += await rig.poller.step()
    assert emulator.requests[-1].events == 0

    backfilled = MemoryStore(86400)
    into = importer(backfilled, "backfill")
    await run_backfill(client, into, NOW - 3600, NOW, bar=silent, sleep=fake_time.sleep)
    assert into.tally.pages == 6  # 36 events match the filter, 7 a page: the last has no next

    exports = {
        "page.json": orjson.dumps(events),
        "events.ndjson": b"\n".join(orjson.dumps(e) for e in events),
        "hooks.ndjson.gz": gzip.compress(b"\n".join(
            orjson.dumps({"eventType": "com.okta.event_hook", "data": {"events": events[i::3]}})
            for i in range(3)
        )),
    }  # fmt: skip
    for name, data in exports.items():
        (tmp_path / name).write_bytes(data)
        replayed = MemoryStore(86400)
        await run_replay([tmp_path / name], importer(replayed, "replay"), bar=silent)
        assert event_values(await replayed.values()) == event_values(await live.values()), name
    assert event_values(await backfilled.values()) == event_values(await live.values())
    counted = await live.values()
    assert sum(counted["okta_group_push_failures_total"].values()) == 28
    assert {labels[1] for labels in counted["okta_group_push_failure_reasons_total"]} == {
        "permission", "network", "other", "not_found"
    }  # fmt: skip


async def test_backfill_counts_nothing_twice_and_rides_out_429_and_5xx(
    emulator: Emulator, fake_time: FakeTime, client: OktaClient
) -> None:
    emulator.page_size = 10
    emulator.add(*dataset())
    store = MemoryStore(86400)
    first = importer(store, "backfill")
    await run_backfill(client, first, NOW - 3600, NOW, bar=silent, sleep=fake_time.sleep)
    before = await store.values()
    emulator.fail_next(503, times=2)
    emulator.use_quota(emulator.rate_limit)
    again = importer(store, "backfill")
    await run_backfill(client, again, NOW - 3600, NOW, bar=silent, sleep=fake_time.sleep)
    assert await store.values() == before
    assert (again.tally.new_failures, again.tally.duplicates) == (
        0,
        first.tally.new_failures + first.tally.new_successes,
    )
    statuses = [r.status for r in emulator.requests]
    assert statuses.count(503) == 2 and statuses.count(429) == 1


async def test_backfill_gives_up_after_repeated_failures_or_a_bad_answer(
    emulator: Emulator, fake_time: FakeTime, client: OktaClient
) -> None:
    emulator.fail_next(500, times=20)
    with pytest.raises(TransientError):
        await run_backfill(client, importer(MemoryStore(1), "backfill"), NOW - 60, NOW,
                           bar=silent, sleep=fake_time.sleep)  # fmt: skip
    assert len(emulator.requests) == 8
    emulator.faults.clear()
    emulator.api_token = "rotated"
    with pytest.raises(ApiError, match="401"):
        await run_backfill(client, importer(MemoryStore(1), "backfill"), NOW - 60, NOW,
                           bar=silent, sleep=fake_time.sleep)  # fmt: skip


async def test_a_dry_run_tallies_what_is_new_and_writes_nothing(
    emulator: Emulator, fake_time: FakeTime, client: OktaClient
) -> None:
    events = dataset()
    emulator.add(*events)
    store = MemoryStore(86400)
    already = importer(store, "event_hook")
    await already.add(parse_log_events(events[:10]))  # some came by hook before
    generation, values = await store.generation(), await store.values()
    dry = importer(store, "backfill", dry_run=True)
    output = io.StringIO()
    await run_backfill(client, dry, NOW - 3600, NOW, bar=bar_to(output), sleep=fake_time.sleep)
    assert (await store.generation(), await store.values()) == (generation, values)
    assert dry.tally.new_failures == 28 - already.tally.new_failures == 21
    table = dry.table()
    assert table[0].split() == ["application", "group", "failures", "new"]
    rows = {tuple(line.split()[:2]): line.split()[2:] for line in table[1:]}
    assert sum(int(failures) for failures, _ in rows.values()) == 28
    assert sum(int(new) for _, new in rows.values()) == dry.tally.new_failures
    assert "dry run: nothing was written" in dry.summary()
    assert "100%" in output.getvalue() and "36 events" in output.getvalue()


def test_exports_in_every_shape_people_keep_them() -> None:
    event = log_event("a", TERMINAL, NOW)
    envelope = {"eventType": "com.okta.event_hook", "data": {"events": [event, 7]}}
    assert [e.uuid for e in parse_export(orjson.dumps(event)).events] == ["a"]
    assert [e.uuid for e in parse_export(orjson.dumps(envelope)).events] == ["a"]
    lines = b"\n".join([orjson.dumps(event), b"{broken", b"", orjson.dumps(envelope)])
    batch = parse_export(lines)
    assert [e.uuid for e in batch.events] == ["a", "a"]
    assert sorted(s.reason for s in batch.skipped) == ["invalid_json", "not_object"]
    assert parse_export(b"  ") == Batch(events=())
    bad_envelope = {"eventType": "something.else", "data": {"events": []}}
    assert [s.reason for s in parse_export(orjson.dumps(bad_envelope)).skipped] == ["not_log_event"]


def test_an_export_nested_past_the_recursion_limit_is_an_invalid_line() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    assert [s.reason for s in parse_export(deep).skipped] == ["invalid_json"]


def test_tables_align_text_left_and_numbers_right() -> None:
    assert format_table(["app", "n"], [["Slack", "7"], ["AWS IAM", "12"]]) == [
        "app       n",
        "Slack     7",
        "AWS IAM  12",
    ]


# --- the commands ----------------------------------------------------------------------------


def test_every_command_has_working_help(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("serve", "check-config", "backfill", "replay"):
        with pytest.raises(SystemExit) as exited:
            parser().parse_args([command, "--help"])
        assert exited.value.code == 0
        assert "--okta.org-url" in capsys.readouterr().out


def test_replay_command_counts_once_and_dry_run_leaves_no_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "export.ndjson"
    export.write_bytes(b"\n".join(orjson.dumps(e) for e in dataset()))
    state = tmp_path / "state"
    assert main(["replay", "--dry-run", str(export), f"--storage.path={state}"], {}) == 0
    out = capsys.readouterr().out
    assert "application" in out and "would count 28 new failures" in out
    assert not (state / "state.db").exists()
    assert main(["replay", str(export), f"--storage.path={state}"], {}) == 0
    assert "counted 28 new failures and 8 new successes" in capsys.readouterr().out
    assert main(["replay", str(export), f"--storage.path={state}"], {}) == 0
    assert "counted 0 new failures and 0 new successes; 36 already counted" in (
        capsys.readouterr().out
    )
    assert main(["replay", str(tmp_path / "missing.json"), f"--storage.path={state}"], {}) == 1
    assert "missing.json" in capsys.readouterr().err


def test_replay_stores_series_under_the_label_policy_and_caps(tmp_path: Path) -> None:
    export = tmp_path / "export.ndjson"
    export.write_bytes(b"\n".join(orjson.dumps(e) for e in dataset()))
    state = tmp_path / "state"
    flags = [f"--storage.path={state}", "--labels.actor=hash", "--labels.group.deny=Ops"]
    assert main(["replay", str(export), "--labels.max-values=2", *flags], {}) == 0

    async def stored() -> tuple[Values, str | None]:
        store = SqliteStore(state)
        try:
            return await store.open(), await store.get_meta(HASH_KEY_META)
        finally:
            await store.close()

    values, key = asyncio.run(stored())
    assert key is not None  # kept for serve: every process hashes actors alike
    # One real application fits under --labels.max-values=2 (one value is __other__'s),
    # in the poller's series as in the others; Ops is denied wherever a group is.
    for name in (FAILURES, REASONS):
        assert {labels[0] for labels in values[name]} == {"Slack", "__other__"}, name
    assert "Ops" not in {labels[1] for labels in values[FAILURES]}
    # The mapping state by ids, capped like the names; its names series names it alike.
    names = values[mapping.NAMES_SERIES]
    assert {labels[2] for labels in names} == {"Slack", "__other__"}
    assert "Ops" not in {labels[3] for labels in names}
    for name in (LAST, mapping.STATE_SERIES):
        assert {labels[0] for labels in values[name]} == {okta_id("0oa", "Slack"), "__other__"}
    assert {len(labels[2]) for labels in values[FAILURES]} == {16}  # hashed
    # Totals stay exact: 28 failures, whichever labels they ended up under.
    assert sum(values[FAILURES].values()) == sum(values[REASONS].values()) == 28


def test_backfill_command_against_an_org(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import time  # noqa: PLC0415

    emulator = Emulator(clock=time.time)
    now = time.time()
    with ThreadedOrg(emulator) as url:
        emulator.add(log_event("b-1", TERMINAL, now - 120), log_event("b-2", RETRIED, now - 60))
        flags = [f"--okta.org-url={url}", f"--storage.path={tmp_path}"]
        env = {"OKTA_API_TOKEN": "test-api-token"}
        assert main(["backfill", "--since", "1h", "--dry-run", *flags], env) == 0
        dry = capsys.readouterr().out
        assert "Slack        Engineering         2    2" in dry
        assert main(["backfill", "--since", "1h", *flags], env) == 0
        assert "counted 2 new failures" in capsys.readouterr().out
        # Older than the dedup window (35 days): it runs, with a warning.
        assert main(["backfill", "--since", "50d", "--until", "1h", *flags], env) == 0
        assert "older than --storage.dedup-window" in capsys.readouterr().err
        assert main(["backfill", "--since", "1h", "--until", "2h", *flags], env) == 1
        assert "--until must be later than --since" in capsys.readouterr().err
    assert main(["backfill", "--since", "soon", "--until", "x", f"--storage.path={tmp_path}"],
                {}) == 1  # fmt: skip
    err = capsys.readouterr().err
    assert "--since" in err and "--until" in err and "--okta.org-url" in err
    org_only = ["--okta.org-url=https://acme.okta.com", f"--storage.path={tmp_path}"]
    assert main(["backfill", "--since", "1h", *org_only], {}) == 1
    assert "backfill reads the System Log; give credentials" in capsys.readouterr().err


async def test_a_running_serve_shows_what_a_replay_adds_to_its_sqlite_file(
    aiohttp_client: Callable[[web.Application], Awaitable[Client]],
    tmp_path: Path,
) -> None:
    config = Config(storage=StorageSection(path=tmp_path), web=WebSection(hook_secrets=("s",)))
    app = make_app(config, SqliteStore(tmp_path), refresh_interval=0.05)
    client = await aiohttp_client(app)
    export = tmp_path / "export.json"
    export.write_bytes(orjson.dumps(dataset()))
    assert await replay_command(config, [export], bar=silent, out=io.StringIO()) == 0
    line = 'okta_group_push_failures_total{actor="Ada Admin",application="Slack",group="Eng"}'
    deadline = asyncio.get_running_loop().time() + 10
    while line not in (body := await (await client.get("/metrics")).text()):
        assert asyncio.get_running_loop().time() < deadline, "serve never saw the replay"
        await asyncio.sleep(0.05)
    assert 'okta_group_push_mapping_failing{application="Slack",group="Eng"}' in body


def test_without_tqdm_backfill_and_replay_run_without_a_bar(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """tqdm is the optional `progress` extra: without it the bar is a silent stand-in that
    still counts, and only the explicit bar factory asks for the extra."""
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now raises ImportError
    with progress.terminal_bar(10, "replay x") as bar:
        bar.update(3)
        bar.set_postfix_str("3 events")
        bar.refresh()
    assert isinstance(bar, progress.NoBar)
    assert bar.n == 3
    with pytest.raises(RuntimeError, match="progress"):
        bar_to(io.StringIO())
