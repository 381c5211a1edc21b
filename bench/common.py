"""Shared pieces of the benchmarks: starting exporters, a load generator, the machine."""

from __future__ import annotations

import asyncio
import os
import platform
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import orjson

SECRET = "bench-secret-of-16-chars"  # hook secrets have at least 16 characters
TERMINAL = "application.provision.group_push.mapping.update.or.delete.failed.with.error"


def machine() -> str:
    """One line naming the machine: cores, CPU model, Python."""
    model = "unknown CPU"
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    """Return once something accepts connections on the loopback `port`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    # After the command's closing parenthesis: utime and stime are fields 12 and 13.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Running:
    url: str
    pid: int


@contextmanager
def listening(argv: list[str], port: int, env: dict[str, str] | None = None) -> Iterator[Running]:
    """A process started with `argv` that listens on the loopback `port`; stopped after."""
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield Running(f"http://127.0.0.1:{port}", process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def exporter(workdir: Path, *flags: str) -> Iterator[Running]:
    """An exporter process on a free loopback port; yields its base URL and pid."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "exporter", "serve", f"--web.listen-address=127.0.0.1:{port}",
            f"--storage.path={workdir}", "--log.level=error", *flags]  # fmt: skip
    with listening(argv, port, {**os.environ, "OKTA_HOOK_SECRET": SECRET}) as running:
        yield running


def failure_event(app: int = 0, group: int = 0) -> dict[str, object]:
    """A ~2 KB synthetic terminal failure with a fresh uuid.

    Time-based (version 1), as Okta's are: the uuids of Okta's own examples and of real
    System Log events hold the event's `published` time (tests/payloads/SOURCES.md).
    """
    return {
        "uuid": str(uuid.uuid1()),
        "published": "2026-11-28T10:00:00.000Z",
        "eventType": TERMINAL,
        "version": "0",
        "severity": "ERROR",
        "displayMessage": "Push group memberships failed: Linked group is missing in the app. " * 4,
        "actor": {"id": "00u1", "type": "User", "alternateId": "ada@example.com",
                  "displayName": "Ada Admin"},
        "outcome": {"result": "FAILURE", "reason": "Linked group is missing. " * 8},
        "target": [
            {"id": f"0oa{app}", "type": "AppInstance", "alternateId": f"app{app}",
             "displayName": f"App {app}"},
            {"id": f"00g{group}", "type": "UserGroup", "alternateId": f"group{group}",
             "displayName": f"Group {group}"},
            {"id": "gmr1", "type": "GroupPushMapping", "alternateId": "unknown",
             "displayName": "mapping"},
        ],
        "client": {"ipAddress": None, "zone": "null", "device": None, "id": None,
                   "geographicalContext": None, "userAgent": None},
        "transaction": {"type": "JOB", "id": "txn" + "x" * 20, "detail": {}},
        "debugContext": {"debugData": {"requestId": "req" + "y" * 24,
                                       "targetEventHookIds": "who1" * 5,
                                       "errorDetail": "remote said no " * 20}},
    }  # fmt: skip


@dataclass
class LoadResult:
    requests: int
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def post_load(url: str, make_body: object, *, concurrency: int, seconds: float) -> LoadResult:
    """`concurrency` workers POST `make_body()` envelopes to `url` for `seconds`."""
    assert callable(make_body)
    latencies: list[float] = []
    errors = 0
    headers = {"Authorization": SECRET, "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                body = make_body()
                started = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    if response.status != 204:
                        errors += 1
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return LoadResult(len(latencies), elapsed, latencies, errors)


class UniqueBodies:
    """Hook envelopes of `events` failures each, every event with a never-sent uuid.

    The uuids count up, so their text sorts in the order sent, as Okta's time-based
    uuids nearly do (see `failure_event`).

    The body is rendered once with placeholders; each call joins the parts around fresh
    uuid-shaped ids, so the load generator spends microseconds, not milliseconds, per
    body (a repeated body would only measure the dedup shortcut).
    """

    def __init__(self, events: int, *, apps: int = 20, groups: int = 100) -> None:
        marker = "00000000-0000-4000-8000-00000000000"
        items = []
        for i in range(events):
            item = failure_event(app=i % apps, group=i % groups)
            item["uuid"] = f"{marker}{i % 10}"  # replaced below, one per event
            items.append(item)
        body = orjson.dumps({"eventType": "com.okta.event_hook", "data": {"events": items}})
        self._parts = body.split(marker.encode())  # each part after the first starts "N"
        self._prefix = uuid.uuid4().hex[:8]
        self._sent = 0
        self.events = events

    def __call__(self) -> bytes:
        pieces = [self._parts[0]]
        for part in self._parts[1:]:
            self._sent += 1
            ident = f"{self._prefix}-{self._sent >> 48:04x}-4{self._sent >> 36 & 0xFFF:03x}-8000-"
            pieces.append(f"{ident}{self._sent & 0xFFFFFFFFF:012x}".encode() + part[1:])
        return b"".join(pieces)
