"""Real programs for integration tests: Prometheus (and friends) on loopback ports we choose.

Each starter writes its configuration into a temporary directory, starts the program on a
free 127.0.0.1 port, waits (without sleeping blindly) until it answers, and returns a handle
whose `stop()` ends it. Tests that need a program that is not installed are skipped with a
reason, never silently passed; `.ci/run` installs all of them, and sets
REQUIRE_SERVICES=1 so that a missing one fails CI instead of skipping.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def unavailable(message: str) -> NoReturn:
    """Skip the test for want of `message`'s resource, or fail under CI (REQUIRE_SERVICES=1).

    Every skip in the suite goes through here (tests/test_skips.py checks it): under CI a
    test runs or fails, never passes silently untested.
    """
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message} (REQUIRE_SERVICES=1: required)")
    pytest.skip(message)


def require_binary(name: str) -> str:
    """The path of an installed program; skip the test (or fail under CI) without it."""
    path = shutil.which(name)
    if path is None:
        unavailable(f"{name} is not installed (scripts/test installs it)")
    return path


def require_module(name: str) -> None:
    """Skip the test (or fail under CI) when the Python module `name` is not installed."""
    if importlib.util.find_spec(name) is None:
        unavailable(f"{name} is not installed (the test extras install it)")


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` until it is true; fail the test naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def http_get(
    url: str,
    timeout: float = 5.0,
    headers: dict[str, str] | None = None,
    context: ssl.SSLContext | None = None,
) -> tuple[int, bytes]:
    """GET `url` -> (status, body); connection errors give status 0.

    A body cut short (a streamed /metrics when the process dies mid-scrape) is one too.
    """
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - loopback only
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (OSError, http.client.HTTPException):
        return 0, b""


@dataclass
class Service:
    """A started program: where it listens and how to stop it."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    context: ssl.SSLContext | None = None  # set: the service speaks HTTPS

    @property
    def url(self) -> str:
        scheme = "https" if self.context is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


def start(
    name: str,
    argv: list[str],
    port: int,
    workdir: Path,
    ready_path: str,
    *,
    env: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    context: ssl.SSLContext | None = None,
) -> Service:
    """Start `argv`, then wait until GET ready_path on `port` answers 200."""
    log_path = workdir / f"{name}-{port}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            argv, stdout=log_file, stderr=subprocess.STDOUT, cwd=workdir, env=env
        )
    service = Service(name, port, process, log_path, context)

    def answers() -> bool:
        if process.poll() is not None:
            pytest.fail(f"{name} exited with {process.returncode}:\n{service.log()}")
        status = http_get(service.url + ready_path, timeout=1, headers=headers, context=context)[0]
        return status == 200

    try:
        wait_until(answers, 30, f"{name} to answer on {service.url}{ready_path}")
    except BaseException:
        service.stop()
        raise
    return service


@dataclass
class Prometheus(Service):
    """A running Prometheus, with helpers for its HTTP API."""

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant query's result vector; fails the test on an API error."""
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        status, body = http_get(url)
        document = json.loads(body or b"{}")
        if status != 200 or document.get("status") != "success":
            pytest.fail(f"query {promql!r} failed ({status}): {body[:500]!r}")
        result: list[dict[str, Any]] = document["data"]["result"]
        return result


def start_prometheus(
    workdir: Path,
    targets: list[str],
    *,
    rule_files: list[Path] | None = None,
    alertmanagers: list[str] | None = None,
    interval: str = "1s",
    features: tuple[str, ...] = (),
) -> Prometheus:
    """Prometheus scraping `targets` (host:port) every `interval`, evaluating `rule_files`,
    with `--enable-feature` `features` (such as exemplar-storage)."""
    binary = require_binary("prometheus")
    port = free_port()
    config: dict[str, Any] = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "scrape_configs": [
            {"job_name": "okta-group-push-exporter", "static_configs": [{"targets": targets}]}
        ],
        "rule_files": [str(p) for p in rule_files or []],
    }
    if alertmanagers:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": alertmanagers}]}]}
    config_path = workdir / "prometheus.yml"
    config_path.write_text(json.dumps(config))  # JSON is YAML
    argv = [
        binary,
        f"--config.file={config_path}",
        f"--storage.tsdb.path={workdir / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
        *(f"--enable-feature={feature}" for feature in features),
    ]
    service = start("prometheus", argv, port, workdir, "/-/ready")
    return Prometheus(service.name, service.port, service.process, service.log_path)


def start_exporter(
    workdir: Path,
    *args: str,
    secret: str | None = "test-secret-of-16-chars",
    env: dict[str, str] | None = None,
    ready: bool = True,
    wrapper: tuple[str, ...] = (),
    probe_headers: dict[str, str] | None = None,
    context: ssl.SSLContext | None = None,
) -> Service:
    """The exporter as a real process (`python -m exporter serve`) on a free port.

    `secret=None` starts it with no configured hook secret, so it generates one. With
    `ready=False` it waits only for liveness (for tests that start it on broken storage).
    `wrapper` prefixes the command (e.g. `prlimit --nofile=256:256 --`).
    """
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [
        *wrapper,
        sys.executable,
        "-m",
        "exporter",
        "serve",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--storage.path={workdir / 'state'}",
        "--log.format=json",
        *args,
    ]
    environment = {k: v for k, v in os.environ.items() if k != "OKTA_HOOK_SECRET"}
    environment.update(env or {})
    if secret is not None:
        environment["OKTA_HOOK_SECRET"] = secret
    probe = "/-/ready" if ready else "/-/healthy"
    return start(
        "exporter",
        argv,
        port,
        workdir,
        probe,
        env=environment,
        headers=probe_headers,
        context=context,
    )


def post_json(url: str, document: object, secret: str = "test-secret-of-16-chars") -> int:
    """POST `document` as JSON with the hook secret header -> the status code (0: no answer)."""
    request = urllib.request.Request(  # noqa: S310 - loopback only
        url,
        data=json.dumps(document).encode(),
        headers={"Content-Type": "application/json", "Authorization": secret},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


@dataclass
class Redis:
    """A running redis-server on loopback, with no persistence unless asked."""

    port: int
    process: subprocess.Popen[bytes]
    workdir: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def start_redis(workdir: Path, port: int | None = None, *, persist: bool = False) -> Redis:
    """redis-server on 127.0.0.1 (a free port, or `port` to restart on the same one).

    With `persist`, an append-only file fsynced on every write keeps the data across a
    restart in the same `workdir`, as a production Redis for this exporter should.
    """
    binary = require_binary("redis-server")
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
            "--appendonly", "yes" if persist else "no", "--appendfsync", "always",
            "--dir", str(workdir)]  # fmt: skip
    log_file = (workdir / f"redis-{port}.log").open("wb")
    process = subprocess.Popen(argv, stdout=log_file, stderr=subprocess.STDOUT)
    log_file.close()

    def answers() -> bool:
        if process.poll() is not None:
            pytest.fail(f"redis-server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    wait_until(answers, 20, f"redis-server on port {port}")
    return Redis(port, process, workdir)


def alertmanager_binary() -> str:
    """Alertmanager's path: Debian names it `prometheus-alertmanager`, upstream `alertmanager`."""
    return shutil.which("prometheus-alertmanager") or require_binary("alertmanager")


def start_alertmanager(workdir: Path, config: dict[str, Any]) -> Service:
    """Alertmanager with `config` on a free port, clustering off (nothing else is bound)."""
    binary = alertmanager_binary()
    port = free_port()
    home = workdir / "alertmanager"
    home.mkdir(parents=True, exist_ok=True)
    config_path = home / "alertmanager.yml"
    config_path.write_text(json.dumps(config))  # JSON is YAML
    argv = [
        binary,
        f"--config.file={config_path}",
        f"--storage.path={home / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
        "--log.level=debug",
    ]
    return start("alertmanager", argv, port, home, "/-/ready")
