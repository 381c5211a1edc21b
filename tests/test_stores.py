"""Every store keeps the same promises: each uuid applies once, values survive reopening."""

from __future__ import annotations

import asyncio
import itertools
import stat
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from exporter import catalogue
from exporter.config import Config
from exporter.counting import mapping
from exporter.counting.ledger import Ledger
from exporter.counting.planner import limits
from exporter.counting.state import MetricState, Update, Values
from exporter.ingest.classify import Kind
from exporter.ingest.events import Entity, Event
from exporter.metrics.exposition import Exposition, negotiate
from exporter.metrics.health import Health
from exporter.metrics.selfmetrics import SelfMetrics
from exporter.store.base import Lease, Store, StoreError, decode_series, encode_series
from exporter.store.memory import MemoryStore
from exporter.store.redis_store import RedisStore
from exporter.store.sqlite import SqliteStore
from exporter.web.upkeep import StoreUpkeep
from tests.services import Redis, start_redis

FAILURES = catalogue.FAILURES.name
LAST = mapping.LAST_FAILURE_SERIES
counter = itertools.count()


def update(uuid: str, app: str = "Slack", published: float = 100.0) -> Update:
    return Update(
        uuid=uuid,
        kind=Kind.TERMINAL_FAILURE,
        increments=((FAILURES, (app, "Eng", "Ada")),),
        maxima=((LAST, (app, "Eng"), published),),
    )


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


StoreFactory = Callable[[], Store]


@pytest.fixture(params=["memory", "sqlite", "redis"])
def make(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """A factory of stores that share one backing state (so reopening is testable)."""
    if request.param == "memory":
        shared = MemoryStore(dedup_window=3600)
        return lambda: shared
    if request.param == "sqlite":
        return lambda: SqliteStore(tmp_path)
    server: Redis = request.getfixturevalue("redis_server")
    prefix = f"test{next(counter)}:"  # each test its own keys on the shared server
    return lambda: RedisStore(server.url, prefix=prefix)


@pytest.fixture
async def store(make: StoreFactory) -> AsyncIterator[Store]:
    opened = make()
    await opened.open()
    yield opened
    await opened.close()


async def test_each_uuid_applies_once_even_inside_one_batch(store: Store) -> None:
    assert await store.commit([update("a"), update("b"), update("a")], 1.0) == [True, True, False]
    assert await store.commit([update("b"), update("c")], 2.0) == [False, True]
    values = await store.values()
    assert values[FAILURES] == {("Slack", "Eng", "Ada"): 3.0}


async def test_gauges_keep_the_maximum(store: Store) -> None:
    await store.commit([update("a", published=200.0), update("b", published=150.5)], 1.0)
    assert (await store.values())[LAST] == {("Slack", "Eng"): 200.0}


async def test_label_values_round_trip_whatever_they_hold(store: Store) -> None:
    nasty = 'q"uote\\ \n ünï 🚀 ["json"]'
    await store.commit([update("a", app=nasty)], 1.0)
    assert ("Slack", "Eng", "Ada") not in (await store.values())[FAILURES]
    assert (await store.values())[FAILURES] == {(nasty, "Eng", "Ada"): 1.0}


async def test_own_commits_and_drops_leave_the_generation(store: Store) -> None:
    """The in-process view has them already: no refresh needs to re-read every value."""
    before = await store.generation()
    await store.commit([update("a")], 1.0)
    await store.commit([update("a"), update("b")], 1.0)
    await store.drop([(FAILURES, ("Slack", "Eng", "Ada"), 2.0)])
    assert await store.generation() == before


@pytest.mark.parametrize("make", ["sqlite", "redis"], indirect=True)
async def test_another_writers_commit_changes_the_generation(make: StoreFactory) -> None:
    """Another process (backfill) or replica: even between two commits of our own."""
    ours, theirs = make(), make()
    await ours.open()
    await theirs.open()
    try:
        before = await ours.generation()
        await ours.commit([update("a")], 1.0)
        await theirs.commit([update("b")], 1.0)
        await ours.commit([update("c")], 1.0)
        after = await ours.generation()
        assert after != before
        assert (await ours.values())[FAILURES] == {("Slack", "Eng", "Ada"): 3.0}
        assert await ours.generation() == after  # caught up: nothing more to re-read
    finally:
        await theirs.close()
        await ours.close()


async def test_meta_values_and_only_if_absent(store: Store) -> None:
    assert await store.get_meta("k") is None
    assert await store.set_meta("k", "first", only_if_absent=True)
    assert not await store.set_meta("k", "second", only_if_absent=True)
    assert await store.get_meta("k") == "first"
    assert await store.set_meta("k", "third")
    assert await store.get_meta("k") == "third"


async def test_prune_forgets_old_uuids_so_they_count_again(store: Store) -> None:
    await store.commit([update("old")], 10.0)
    await store.commit([update("new")], 100.0)
    assert await store.prune(now=105.0, window=50.0) == 1
    summary = await store.summary()
    assert summary.dedup_entries == 1
    assert summary.oldest_entry == 100.0
    assert await store.commit([update("old"), update("new")], 106.0) == [True, False]


async def test_drop_forgets_only_series_still_holding_the_value(store: Store) -> None:
    """The series TTL: a series counted again since the expiry read it keeps its value."""
    await store.commit([update("a"), update("b", app="Zoom"), update("c", app="Box")], 1.0)
    dropped = await store.drop(
        [
            (FAILURES, ("Slack", "Eng", "Ada"), 1.0),
            (LAST, ("Slack", "Eng"), 100.0),
            (FAILURES, ("Zoom", "Eng", "Ada"), 7.0),  # moved on: stays
            (FAILURES, ("Nope", "Eng", "Ada"), 1.0),  # not there
        ]
    )
    assert dropped == 2
    values = await store.values()
    assert values[FAILURES] == {("Zoom", "Eng", "Ada"): 1.0, ("Box", "Eng", "Ada"): 1.0}
    assert ("Slack", "Eng") not in values[LAST]
    # Counting it again starts the series afresh.
    await store.commit([update("d")], 2.0)
    assert (await store.values())[FAILURES][("Slack", "Eng", "Ada")] == 1.0


async def test_values_survive_closing_and_reopening(make: StoreFactory) -> None:
    first = make()
    await first.open()
    await first.commit([update("a"), update("b")], 1.0)
    await first.set_meta("hook_secret", "s")
    await first.close()
    second = make()
    try:
        values = await second.open()
        assert values[FAILURES] == {("Slack", "Eng", "Ada"): 2.0}
        assert await second.commit([update("a")], 2.0) == [False]
        assert await second.get_meta("hook_secret") == "s"
    finally:
        await second.close()


async def test_concurrent_commits_of_the_same_uuids_apply_once(store: Store) -> None:
    """Many deliveries at once, each carrying overlapping uuids: exactly one of each counts."""
    batches = [[update(f"u{(i + j) % 50}") for j in range(10)] for i in range(40)]
    distinct = len({u.uuid for batch in batches for u in batch})
    results = await asyncio.gather(*(store.commit(batch, 1.0) for batch in batches))
    assert sum(flag for result in results for flag in result) == distinct
    assert (await store.values())[FAILURES] == {("Slack", "Eng", "Ada"): float(distinct)}


# --- SQLite specifics ------------------------------------------------------------------------


async def test_sqlite_groups_concurrent_deliveries_into_fewer_transactions(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path)
    await store.open()
    try:
        await asyncio.gather(*(store.commit([update(f"u{i}")], 1.0) for i in range(64)))
        # One transaction per group: far fewer than 64 commits went to disk.
        assert store.transactions < 64
        assert (await store.values())[FAILURES][("Slack", "Eng", "Ada")] == 64.0
    finally:
        await store.close()


async def test_sqlite_group_counts_each_uuid_for_its_first_delivery_only(tmp_path: Path) -> None:
    """Deliveries written in one transaction: sums and maxima per series, order kept."""
    store = SqliteStore(tmp_path)
    await store.open()
    try:
        results = await asyncio.gather(
            store.commit([update("a", published=10.0), update("b", published=30.0)], 1.0),
            store.commit([update("b", published=99.0), update("c", published=20.0)], 1.0),
            store.commit([update("a", published=50.0)], 1.0),
        )
        assert store.transactions == 1
        assert list(results) == [[True, True], [False, True], [False]]
        values = await store.values()
        assert values[FAILURES] == {("Slack", "Eng", "Ada"): 3.0}
        assert values[LAST] == {("Slack", "Eng"): 30.0}  # redeliveries move nothing
    finally:
        await store.close()


async def test_sqlite_refuses_a_newer_schema(tmp_path: Path) -> None:
    import sqlite3  # noqa: PLC0415

    store = SqliteStore(tmp_path)
    await store.open()
    await store.close()
    with sqlite3.connect(tmp_path / "state.db") as conn:
        conn.execute("INSERT INTO schema_version (version) VALUES (99)")
    with pytest.raises(StoreError, match="schema version 99 is newer"):
        await SqliteStore(tmp_path).open()


async def test_sqlite_locked_database_fails_fast_then_recovers(tmp_path: Path) -> None:
    import sqlite3  # noqa: PLC0415

    store = SqliteStore(tmp_path, busy_timeout=0.2)
    await store.open()
    try:
        other = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StoreError, match="locked"):
            await store.commit([update("a")], 1.0)
        other.execute("ROLLBACK")
        other.close()
        assert await store.commit([update("a")], 1.0) == [True]
    finally:
        await store.close()


async def test_sqlite_size_cap_gives_disk_full_and_nothing_partial(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path, max_size=64 * 1024)
    await store.open()
    try:

        async def fill() -> None:
            for i in range(200):
                batch = [update(f"{i}-{j}", app=f"app-{i}-{j}" * 4) for j in range(50)]
                await store.commit(batch, 1.0)

        with pytest.raises(StoreError, match="full"):
            await fill()
        # The failed batch applied nothing: every stored series has a committed uuid.
        summary = await store.summary()
        assert summary.series == 2 * summary.dedup_entries
    finally:
        await store.close()


async def test_redis_unreachable_is_a_store_error(redis_server: Redis) -> None:
    store = RedisStore("redis://127.0.0.1:1/0", timeout=0.5)
    with pytest.raises(StoreError, match="Redis"):
        await store.open()
    await store.close()


# --- leases and read-only look-ups (System Log poller) ---------------------------------------


async def test_a_lease_has_one_holder_until_it_expires_or_is_released(store: Store) -> None:
    assert await store.acquire_lease("poller", "a", ttl=30.0, now=100.0)
    assert not await store.acquire_lease("poller", "b", ttl=30.0, now=101.0)
    assert await store.acquire_lease("poller", "a", ttl=30.0, now=102.0)  # renewed
    assert await store.acquire_lease("other", "b", ttl=30.0, now=102.0)  # another name
    await store.release_lease("poller", "b")  # not b's: changes nothing
    assert not await store.acquire_lease("poller", "b", ttl=30.0, now=103.0)
    await store.release_lease("poller", "a")
    assert await store.acquire_lease("poller", "b", ttl=30.0, now=104.0)


async def test_an_expired_lease_goes_to_the_next_asker(store: Store, make: StoreFactory) -> None:
    # Redis expires by its own clock, so a short real ttl; the local stores by `now`.
    assert await store.acquire_lease("poller", "a", ttl=0.05, now=100.0)
    deadline = asyncio.get_running_loop().time() + 5
    while not await store.acquire_lease("poller", "b", ttl=30.0, now=100.06):
        assert asyncio.get_running_loop().time() < deadline, "the lease never expired"
        await asyncio.sleep(0.02)
    assert not await store.acquire_lease("poller", "a", ttl=30.0, now=100.07)


async def test_seen_tells_which_uuids_are_counted_without_writing(store: Store) -> None:
    await store.commit([update("a"), update("b")], 1.0)
    generation = await store.generation()
    many = [f"x{i}" for i in range(1200)]  # more than one SQL chunk
    assert await store.seen(["a", "c", "b", *many]) == [True, False, True] + [False] * 1200
    assert await store.seen([]) == []
    assert await store.generation() == generation
    assert (await store.summary()).dedup_entries == 2


async def test_sqlite_notices_commits_by_another_process(tmp_path: Path) -> None:
    """`backfill` and `replay` write the file while `serve` runs: serve must re-read."""
    serving, other = SqliteStore(tmp_path), SqliteStore(tmp_path)
    await serving.open()
    await other.open()
    try:
        await serving.commit([update("a")], 1.0)
        before = await serving.generation()
        assert await serving.generation() == before  # nothing new: no needless re-read
        await other.commit([update("b")], 1.0)
        assert await serving.generation() != before
        assert (await serving.values())[FAILURES] == {("Slack", "Eng", "Ada"): 2.0}
    finally:
        await other.close()
        await serving.close()


async def test_a_holder_known_to_be_gone_can_be_replaced_at_once(store: Store) -> None:
    assert await store.lease_holder("poller", 100.0) is None
    assert await store.acquire_lease("poller", "a", ttl=30.0, now=100.0)
    assert await store.lease_holder("poller", 101.0) == "a"
    assert not await store.acquire_lease("poller", "b", ttl=30.0, now=101.0, replacing="c")
    assert await store.acquire_lease("poller", "b", ttl=30.0, now=101.0, replacing="a")
    assert await store.lease_holder("poller", 102.0) == "b"
    assert not await store.acquire_lease("poller", "a", ttl=30.0, now=102.0)


@pytest.mark.parametrize("make", ["memory", "sqlite", "redis"], indirect=True)
async def test_upkeep_rereads_values_only_after_another_writer(make: StoreFactory) -> None:
    """A refresh right after open, or after our own commits, reads nothing again."""
    ours = make()
    reads = 0
    values = ours.values

    async def counted() -> Values:
        nonlocal reads
        reads += 1
        return await values()

    ours.values = counted  # type: ignore[method-assign]

    async def nothing() -> None:
        return None

    state = MetricState()
    upkeep = StoreUpkeep(ours, state, Health(SelfMetrics(CollectorRegistry())), lambda: 1.0,
                         3600.0, nothing)  # fmt: skip
    await upkeep.open()
    try:
        reads = 0
        await upkeep.refresh()
        await ours.commit([update("a")], 1.0)
        await upkeep.refresh()
        assert reads == 0
        if ours.shared:
            theirs = make()
            await theirs.open()
            await theirs.commit([update("b")], 1.0)
            await theirs.close()
            await upkeep.refresh()
            assert reads == 1
            assert state.series(FAILURES) == {("Slack", "Eng", "Ada"): 2.0}
    finally:
        await ours.close()


async def test_sqlite_reports_a_change_after_reconnecting(tmp_path: Path) -> None:
    """data_version compares within one connection: a reconnect may hide others' writes."""
    store = SqliteStore(tmp_path)
    await store.open()
    try:
        before = await store.generation()
        store._disconnect()  # as after "database is locked" while a backfill writes
        assert await store.generation() != before
        after = await store.generation()
        assert await store.generation() == after
    finally:
        await store.close()


async def test_a_refresh_overtaken_by_an_open_does_not_record_the_old_generation() -> None:
    """`open` starts the generation over: a count read before it must not be kept."""
    store = MemoryStore(dedup_window=3600)
    asked, answer = asyncio.Event(), asyncio.Event()

    async def slow_generation() -> int:
        asked.set()
        await answer.wait()
        return 7  # another writer's count, from before the open below

    store.generation = slow_generation  # type: ignore[method-assign]

    async def nothing() -> None:
        return None

    upkeep = StoreUpkeep(store, MetricState(), Health(SelfMetrics(CollectorRegistry())),
                         lambda: 1.0, 3600.0, nothing)  # fmt: skip
    refresh = asyncio.create_task(upkeep.refresh())
    await asked.wait()
    await upkeep.open()
    answer.set()
    await refresh
    assert upkeep.last_generation == 0  # as of the values open returned


async def test_an_existing_state_file_and_directory_are_made_private_on_open(
    tmp_path: Path,
) -> None:
    """state.db holds the generated hook secret and the actor-hash key: 0600 in a 0700
    directory on every open, not only when created (issue 15, item 8)."""
    directory = tmp_path / "state"
    first = SqliteStore(directory)
    await first.open()
    await first.close()
    database = directory / "state.db"
    journal = directory / "state.db-wal"
    journal.touch()
    for path, loose in ((directory, 0o755), (database, 0o644), (journal, 0o666)):
        path.chmod(loose)
    again = SqliteStore(directory)
    await again.open()
    try:
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        assert stat.S_IMODE(database.stat().st_mode) == 0o600
        assert stat.S_IMODE(journal.stat().st_mode) == 0o600
    finally:
        await again.close()


# --- mapping state by Okta ids, through each store ---------------------------------------


def push_event(uuid: str, published: float, app: str, group: str, *, failed: bool) -> Event:
    """A failure (or success) of the mapping 0oa1 -> 00g1, named `app` and `group`."""
    return Event(
        uuid=uuid,
        event_type=(
            "application.provision.group_push.mapping.update.or.delete.failed.with.error"
            if failed
            else "application.provision.group_push.pushed"
        ),
        published=published,
        outcome="FAILURE" if failed else "SUCCESS",
        reason="",
        message="",
        actor=Entity("00u1", "User", "ada@example.com", "Ada"),
        application=Entity("0oa1", "AppInstance", app, "Slack"),
        group=Entity("00g1", "UserGroup", "", group),
    )


async def opened(store: Store) -> tuple[Ledger, MetricState, Exposition]:
    """A ledger over `store` as serve wires it, with the values the store holds."""
    state = MetricState(limits(Config()))
    state.merge(await store.open())
    metrics = SelfMetrics(CollectorRegistry())
    ledger = Ledger(store, state, metrics, Health(metrics), lambda: 1000.0)
    await ledger.prepare()
    return ledger, state, Exposition(state, CollectorRegistry())


def failing_lines(exposition: Exposition) -> list[str]:
    body = exposition.render(negotiate("")).decode()
    return [line for line in body.splitlines() if line.startswith("okta_group_push_mapping_")]


async def test_a_renamed_mapping_keeps_one_failing_series_across_reopening(
    make: StoreFactory,
) -> None:
    """Kept by ids in the store: after a restart, a rename of the app instance and the
    group moves the one "failing now" series to the new names; a success clears it."""
    store = make()
    ledger, _, _ = await opened(store)
    await ledger.record([push_event("f1", 100.0, "Slack Finance", "Eng", failed=True)], "hook")
    await store.close()

    store = make()
    try:
        ledger, _, exposition = await opened(store)
        await ledger.record([push_event("f2", 200.0, "Slack Treasury", "Engineering",
                                        failed=True)], "hook")  # fmt: skip
        assert failing_lines(exposition) == [
            'okta_group_push_mapping_failing{application="Slack Treasury",group="Engineering"} 1.0',
            'okta_group_push_mapping_info{admin_url="",application="Slack Treasury",'
            'application_id="0oa1",group="Engineering",group_id="00g1",system_log_url=""} 1.0',
        ]
        await ledger.record([push_event("s1", 300.0, "Slack Treasury", "Engineering",
                                        failed=False)], "poller")  # fmt: skip
        lines = failing_lines(exposition)
        assert (
            'okta_group_push_mapping_failing{application="Slack Treasury",group="Engineering"} 0.0'
            in lines
        )
        assert len([line for line in lines if "mapping_failing" in line]) == 1
        stored = await store.values()
        assert set(stored[mapping.STATE_SERIES]) == {("0oa1", "00g1")}
        assert mapping.decode(stored[mapping.STATE_SERIES][("0oa1", "00g1")]) == (300.0, False)
    finally:
        await store.close()


async def test_label_text_mapping_state_of_older_versions_is_dropped_not_a_crash(
    make: StoreFactory,
) -> None:
    """State stored before the ids keyed it cannot be joined to an id: an upgrade drops it
    (README, "Upgrading"), keeps the counters, and serves."""
    store = make()
    await store.open()
    legacy = Update(
        uuid="old",
        kind=Kind.TERMINAL_FAILURE,
        increments=((FAILURES, ("Slack", "Eng", "Ada")),),
        maxima=(
            (catalogue.LAST_FAILURE.name, ("Slack", "Eng"), 100.0),
            ("mapping_state", ("Slack", "Eng"), mapping.encode(100.0, True)),
        ),
    )
    await store.commit([legacy], 1.0)
    await store.close()

    store = make()
    try:
        ledger, state, exposition = await opened(store)
        stored = await store.values()
        assert {name for name, series in stored.items() if series} == {FAILURES}
        assert stored[FAILURES] == {("Slack", "Eng", "Ada"): 1.0}
        assert {name for name, series in state.values().items() if series} == {FAILURES}
        assert failing_lines(exposition) == []
        await ledger.prepare()  # again: nothing left to drop
        await ledger.record([push_event("new", 200.0, "Slack", "Eng", failed=True)], "hook")
        assert len(failing_lines(exposition)) == 2
    finally:
        await store.close()


def test_series_keys_and_leases_encode_as_the_stored_state_was_written() -> None:
    """Stored keys (SQLite rows, Redis fields) from earlier versions must still match.

    The expected bytes are what orjson, the encoder before msgspec, wrote for these.
    """
    labels = (
        'Slack "prod"',
        "Eng\\Ops",
        "tab\there\nnew\x01\x1f\x7f",
        "Zo\xeb \u65e5\U0001f600",
        "\u2028",
        "",
    )
    expected = (
        b'["okta_group_push_failures_total","Slack \\"prod\\"","Eng\\\\Ops",'
        b'"tab\\there\\nnew\\u0001\\u001f\x7f","Zo\xc3\xab \xe6\x97\xa5\xf0\x9f\x98\x80",'
        b'"\xe2\x80\xa8",""]'
    )
    key = encode_series("okta_group_push_failures_total", labels)
    assert key.encode() == expected
    assert (
        decode_series(key) == decode_series(expected) == ("okta_group_push_failures_total", labels)
    )
    assert Lease("replica-1", 1764324000.125).encode() == '["replica-1",1764324000.125]'
    assert Lease.decode('["replica-1",1764324000.125]') == Lease("replica-1", 1764324000.125)


def test_sqlite_sums_a_group_per_shape_as_event_by_event_would() -> None:
    """`summed` folds updates of one shape (the planner's shared `written`) in one step:
    counters add every update, maxima keep the latest event's, as applying each would."""
    from exporter.counting.planner import Planner  # noqa: PLC0415
    from exporter.ingest.classify import classify  # noqa: PLC0415
    from exporter.ingest.labels import DEFAULT_POLICY  # noqa: PLC0415
    from exporter.records import apply  # noqa: PLC0415
    from exporter.store.sqlitegroup import summed  # noqa: PLC0415

    planner = Planner(DEFAULT_POLICY)
    events = [
        push_event(f"u{i}", published=float(i * 37 % 11), app=f"app{i % 3}", group="Eng",
                   failed=i % 4 != 0)
        for i in range(40)
    ]  # fmt: skip
    updates = [planner(e, classify(e.event_type, e.outcome), 0.0) for e in events]
    updates.append(update("loose", app="app0", published=99.0))  # no shape: applied alone
    increments, maxima = summed(updates)
    one_by_one: Values = {}
    for each in updates:
        apply(one_by_one, each)
    assert {**increments, **maxima} == {
        (name, labels): v for name, series in one_by_one.items() for labels, v in series.items()
    }
    assert max(increments.values()) > 1  # shapes were shared


async def test_sqlite_writes_a_group_larger_than_one_statement_takes(tmp_path: Path) -> None:
    """Rows go ROWS_PER_STATEMENT to a statement: every uuid and series of a large group lands."""
    from exporter.store.sqlitegroup import ROWS_PER_STATEMENT  # noqa: PLC0415

    many = 2 * ROWS_PER_STATEMENT + 7
    store = SqliteStore(tmp_path)
    await store.open()
    try:
        batch = [update(f"u{i}", app=f"app{i}", published=float(i)) for i in range(many)]
        assert await store.commit(batch, 1.0) == [True] * many
        assert await store.commit(batch[-3:], 2.0) == [False] * 3
        values = await store.values()
        assert len(values[FAILURES]) == many
        assert values[LAST][(f"app{many - 1}", "Eng")] == float(many - 1)
        assert (await store.summary()).dedup_entries == many
    finally:
        await store.close()
