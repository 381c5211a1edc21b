"""Exactly once across crashes, replicas and storage faults, with real processes.

Okta delivers at least once, retries once, and never replays what was lost: these tests
play that part against real exporter processes on SQLite files and a real Redis.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.builders import failure_event
from tests.services import (
    Service,
    http_get,
    post_json,
    require_binary,
    start_exporter,
    start_redis,
    unavailable,
    wait_until,
)

pytestmark = pytest.mark.integration
Series = tuple[str, str, str]


def event(app: str, group: str) -> dict[str, object]:
    return failure_event(app, group)


def deliveries(count: int, per: int = 3) -> tuple[list[dict[str, object]], Counter[Series]]:
    """Envelopes of unique events; every fifth one repeats an event of the one before."""
    envelopes: list[dict[str, object]] = []
    expected: Counter[Series] = Counter()
    previous: list[dict[str, object]] = []
    for i in range(count):
        events = [event(f"app-{(i + k) % 5}", f"group-{i % 4}") for k in range(per)]
        for e in events:
            targets = e["target"]
            assert isinstance(targets, list)
            expected[(targets[0]["displayName"], targets[1]["displayName"], "Ada")] += 1
        batch = events + (previous[:1] if i % 5 == 0 else [])
        envelopes.append(
            {"eventType": "com.okta.event_hook", "eventId": f"d{i}", "data": {"events": batch}}
        )
        previous = events
    return envelopes, expected


def scrape(exporter: Service) -> dict[Series, float] | None:
    status, body = http_get(exporter.url + "/metrics", timeout=2)
    if status != 200:
        return None
    values: dict[Series, float] = {}
    for family in text_string_to_metric_families(body.decode()):
        if family.name == "okta_group_push_failures":
            for s in family.samples:
                values[(s.labels["application"], s.labels["group"], s.labels["actor"])] = s.value
    return values


def test_kill_9_under_load_then_okta_resends_everything(tmp_path: Path) -> None:
    envelopes, expected = deliveries(300)
    exporter = start_exporter(tmp_path)
    acknowledged = threading.Semaphore(0)
    last_scrape: dict[Series, float] = {}
    stop_scraping = threading.Event()

    def deliver(envelope: dict[str, object]) -> int:
        status = post_json(f"{exporter.url}/hooks/okta", envelope)
        if status == 204:
            acknowledged.release()
        return status

    def scraper() -> None:
        while not stop_scraping.is_set():
            values = scrape(exporter)
            if values is not None:
                last_scrape.clear()
                last_scrape.update(values)

    watcher = threading.Thread(target=scraper)
    watcher.start()
    with ThreadPoolExecutor(max_workers=16) as pool:
        futures = [pool.submit(deliver, e) for e in envelopes]
        for _ in range(100):
            acknowledged.acquire(timeout=30)
        exporter.process.send_signal(signal.SIGKILL)
        exporter.process.wait()
        statuses = [f.result() for f in futures]
    stop_scraping.set()
    watcher.join()
    before = dict(last_scrape)
    assert 100 <= statuses.count(204) < len(envelopes), "the kill must land mid-load"

    restarted = start_exporter(tmp_path)
    try:
        after = scrape(restarted)
        assert after is not None
        went_down = {k: (v, after.get(k, 0.0)) for k, v in before.items() if after.get(k, 0.0) < v}
        assert not went_down, f"counters went down across the restart: {went_down}"
        with ThreadPoolExecutor(max_workers=16) as pool:
            resent = list(
                pool.map(lambda e: post_json(f"{restarted.url}/hooks/okta", e), envelopes)
            )
        assert set(resent) == {204}
        assert scrape(restarted) == {k: float(v) for k, v in expected.items()}
    finally:
        restarted.stop()


def test_two_replicas_sharing_redis_count_exactly_once(tmp_path: Path) -> None:
    redis = start_redis(tmp_path / "redis")
    url = f"--storage.redis-url={redis.url}"
    one = start_exporter(tmp_path / "one", url)
    two = start_exporter(tmp_path / "two", url)
    try:
        envelopes, expected = deliveries(120)

        def deliver(i_envelope: tuple[int, dict[str, object]]) -> list[int]:
            i, envelope = i_envelope
            first, other = (one, two) if i % 2 else (two, one)
            statuses = [post_json(f"{first.url}/hooks/okta", envelope)]
            statuses.append(post_json(f"{other.url}/hooks/okta", envelope))  # the retry
            return statuses

        def both_at_once(envelope: dict[str, object]) -> list[int]:
            with ThreadPoolExecutor(max_workers=2) as pair:
                return list(
                    pair.map(lambda r: post_json(f"{r.url}/hooks/okta", envelope), (one, two))
                )

        with ThreadPoolExecutor(max_workers=8) as pool:
            split = list(pool.map(deliver, enumerate(envelopes[:80])))
            racing = list(pool.map(both_at_once, envelopes[80:]))
        assert {s for pair in split + racing for s in pair} == {204}
        want = {k: float(v) for k, v in expected.items()}
        wait_until(lambda: scrape(one) == want and scrape(two) == want, 60, "identical totals")
    finally:
        one.stop()
        two.stop()
        redis.stop()


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB filesystem of the test's own, so it can be filled and made read-only."""
    path = tmp_path / "disk"
    path.mkdir()
    if os.geteuid() != 0:
        unavailable("mounting a small filesystem needs root")
    result = subprocess.run(
        [require_binary("mount"), "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        unavailable(f"cannot mount tmpfs here: {result.stderr.strip()}")
    yield path
    subprocess.run([require_binary("umount"), "-l", str(path)], check=False)


def _ready(exporter: Service) -> int:
    return http_get(exporter.url + "/-/ready", timeout=2)[0]


def _remount(disk: Path, mode: str) -> None:
    subprocess.run([require_binary("mount"), "-o", f"remount,{mode}", str(disk)], check=True)


def test_full_disk_answers_503_and_the_retry_counts_once(tmp_path: Path, disk: Path) -> None:
    exporter = start_exporter(tmp_path, f"--storage.path={disk / 'state'}")
    try:
        hook = f"{exporter.url}/hooks/okta"
        assert post_json(hook, deliveries(1)[0][0]) == 204
        filler = disk / "filler"
        with filler.open("wb") as handle, contextlib.suppress(OSError):
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        many = [event(f"a{i}" * 30, "g") for i in range(400)]
        big = {"eventType": "com.okta.event_hook", "data": {"events": many}}
        assert post_json(hook, big) == 503
        wait_until(lambda: _ready(exporter) == 503, 10, "readiness to turn false")
        served = scrape(exporter)  # /metrics keeps serving the last known values
        assert served is not None
        assert sum(served.values()) == 3
        filler.unlink()
        wait_until(lambda: _ready(exporter) == 200, 15, "readiness after the disk frees")
        assert post_json(hook, big) == 204  # Okta's retry, counted once
        assert post_json(hook, big) == 204
        values = scrape(exporter)
        assert values is not None
        assert sum(values.values()) == 3 + 400
        body = http_get(exporter.url + "/metrics")[1]
        assert b'okta_group_push_exporter_storage_errors_total{operation="commit"}' in body
    finally:
        exporter.stop()


def test_read_only_storage_keeps_serving_unready_until_writable(tmp_path: Path, disk: Path) -> None:
    first = start_exporter(tmp_path, f"--storage.path={disk / 'state'}")
    envelopes, _ = deliveries(2)
    assert post_json(f"{first.url}/hooks/okta", envelopes[0]) == 204
    first.stop()
    # Linux refuses to remount read-only under a writer, so the volume comes back
    # read-only across a restart, as a mis-mounted volume would.
    _remount(disk, "ro")
    exporter = start_exporter(tmp_path, f"--storage.path={disk / 'state'}", ready=False)
    try:
        hook = f"{exporter.url}/hooks/okta"
        assert _ready(exporter) == 503
        assert post_json(hook, envelopes[1]) == 503
        assert http_get(exporter.url + "/metrics")[0] == 200
        _remount(disk, "rw")
        wait_until(lambda: _ready(exporter) == 200, 15, "readiness after remounting rw")
        assert post_json(hook, envelopes[1]) == 204
        assert post_json(hook, envelopes[1]) == 204
        values = scrape(exporter)
        assert values is not None
        assert sum(values.values()) == 3 + 3  # the stored values came back with the volume
        body = http_get(exporter.url + "/metrics")[1]
        assert b'okta_group_push_exporter_storage_errors_total{operation="open"}' in body
    finally:
        exporter.stop()


def test_redis_stopped_mid_run_answers_503_then_counts_the_retry_once(tmp_path: Path) -> None:
    redis_dir = tmp_path / "redis"
    redis = start_redis(redis_dir, persist=True)
    exporter = start_exporter(tmp_path, f"--storage.redis-url={redis.url}")
    try:
        hook = f"{exporter.url}/hooks/okta"
        envelopes, _ = deliveries(2)
        assert post_json(hook, envelopes[0]) == 204
        redis.stop()
        assert post_json(hook, envelopes[1]) == 503
        wait_until(lambda: _ready(exporter) == 503, 10, "readiness to turn false")
        served = scrape(exporter)  # /metrics keeps serving the last known values
        assert served is not None
        assert sum(served.values()) == 3
        redis = start_redis(redis_dir, port=redis.port, persist=True)
        wait_until(lambda: _ready(exporter) == 200, 15, "readiness after Redis returns")
        assert post_json(hook, envelopes[1]) == 204
        assert post_json(hook, envelopes[1]) == 204
        values = scrape(exporter)
        assert values is not None
        assert sum(values.values()) == 3 + 3
    finally:
        exporter.stop()
        redis.stop()
