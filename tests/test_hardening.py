"""Hostile input, slow clients, split listeners, TLS and basic auth, graceful shutdown.

Each test drives a real exporter process over real sockets, and ends by checking that the
hostile request changed no counter and left the service ready.
"""

from __future__ import annotations

import base64
import gzip
import signal
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import bcrypt
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.builders import envelope, failure_event
from tests.services import (
    Service,
    free_port,
    http_get,
    post_json,
    require_binary,
    start_exporter,
    wait_until,
)

pytestmark = pytest.mark.integration
SECRET = "test-secret-of-16-chars"
event = failure_event


def total(exporter: Service, headers: dict[str, str] | None = None) -> float:
    status, body = http_get(exporter.url + "/metrics", headers=headers, context=exporter.context)
    assert status == 200
    return sum(
        s.value
        for f in text_string_to_metric_families(body.decode())
        if f.name == "okta_group_push_failures"
        for s in f.samples
    )


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def raw_request(port: int, head: bytes, body_chunks: Iterable[bytes] = ()) -> bytes:
    """Send a hand-made request; return the raw response (what arrived before the close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        try:
            for chunk in body_chunks:
                sock.sendall(chunk)
        except OSError:
            pass  # the server answered and closed while we were still sending: fine
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
                if b"\r\n\r\n" in data and b"Connection: close" not in data:
                    break
        except OSError:
            pass
    return data


@pytest.fixture
def exporter(tmp_path: Path) -> Iterator[Service]:
    service = start_exporter(tmp_path, "--web.max-body-size=1MiB")
    yield service
    service.stop()


def assert_unharmed(exporter: Service, expected_total: float) -> None:
    assert http_get(exporter.url + "/-/ready")[0] == 200
    assert total(exporter) == expected_total


def test_50_mb_body_is_413_and_memory_barely_moves(exporter: Service) -> None:
    before = rss_kib(exporter.process.pid)
    head = (
        b"POST /hooks/okta HTTP/1.1\r\nHost: x\r\nAuthorization: test-secret-of-16-chars\r\n"
        b"Content-Type: application/json\r\nContent-Length: 52428800\r\n\r\n"
    )
    response = raw_request(exporter.port, head, (b"x" * 65536 for _ in range(800)))
    assert status_of(response) == 413
    chunked = (
        b"POST /hooks/okta HTTP/1.1\r\nHost: x\r\nAuthorization: test-secret-of-16-chars\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunks = (b"10000\r\n" + b"y" * 65536 + b"\r\n" for _ in range(800))
    assert status_of(raw_request(exporter.port, chunked, chunks)) == 413
    assert rss_kib(exporter.process.pid) - before < 20 * 1024  # under 20 MiB for 100 MB sent
    assert_unharmed(exporter, 0)


def test_small_gzip_body_expanding_past_the_cap_is_413(exporter: Service) -> None:
    bomb = gzip.compress(b'{"data": {"events": [' + b" " * (8 * 1024 * 1024) + b"]}}")
    assert len(bomb) < 16 * 1024
    head = (
        b"POST /hooks/okta HTTP/1.1\r\nHost: x\r\nAuthorization: test-secret-of-16-chars\r\n"
        b"Content-Type: application/json\r\nContent-Encoding: gzip\r\n"
        b"Content-Length: " + str(len(bomb)).encode() + b"\r\n\r\n"
    )
    assert status_of(raw_request(exporter.port, head, iter([bomb]))) == 413
    assert_unharmed(exporter, 0)


def test_json_nested_100000_deep_is_400(exporter: Service) -> None:
    body = b'{"data": {"events": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}"
    head = (
        b"POST /hooks/okta HTTP/1.1\r\nHost: x\r\nAuthorization: test-secret-of-16-chars\r\n"
        b"Content-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
    )
    response = raw_request(exporter.port, head, iter([body]))
    assert status_of(response) == 400
    assert b"nested deeper" in response
    assert_unharmed(exporter, 0)


@pytest.mark.parametrize(
    "field", ["app", "group", "actor", "uuid", "eventType", "published", "displayMessage"]
)
def test_lone_surrogates_and_huge_strings_never_break_metrics(
    exporter: Service, field: str
) -> None:
    for value in ("LONE_SURROGATE lone", "x" * 10_240):
        item = event()
        if field in ("app", "group"):
            index = 0 if field == "app" else 1
            item["target"][index]["displayName"] = value  # type: ignore[index]
        elif field == "actor":
            item["actor"] = {"displayName": value}
        else:
            item[field] = value
        # orjson refuses to write a lone surrogate: put its JSON escape in by hand.
        body = orjson.dumps(envelope(item)).replace(b"LONE_SURROGATE", b"\\ud800")
        assert post_raw(exporter, body) in (204, 400)
    assert http_get(exporter.url + "/-/ready")[0] == 200
    text = http_get(exporter.url + "/metrics")[1].decode()
    assert list(text_string_to_metric_families(text))  # parses: the scrape is not broken


def status_of(response: bytes) -> int:
    """The status code of a raw HTTP/1.x response (0 when nothing came back)."""
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.") else 0


def post_raw(exporter: Service, body: bytes) -> int:
    head = (
        b"POST /hooks/okta HTTP/1.1\r\nHost: x\r\nAuthorization: test-secret-of-16-chars\r\n"
        b"Content-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
    )
    return status_of(raw_request(exporter.port, head, iter([body])))


def test_oversized_and_too_many_headers_are_400(exporter: Service) -> None:
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(200))
    response = raw_request(exporter.port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    assert status_of(response) == 400
    long = b"X-Long: " + b"a" * 9 * 1024 + b"\r\n"
    response = raw_request(exporter.port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + long + b"\r\n")
    assert status_of(response) == 400
    smuggle = (
        b"POST /hooks/okta HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    )
    assert status_of(raw_request(exporter.port, smuggle)) == 400
    assert_unharmed(exporter, 0)


def test_300_stalled_connections_do_not_starve_a_delivery(tmp_path: Path) -> None:
    prlimit = require_binary("prlimit")
    exporter = start_exporter(
        tmp_path, "--web.read-timeout=10s", wrapper=(prlimit, "--nofile=256:256", "--")
    )
    stalled: list[socket.socket] = []
    try:
        for i in range(300):
            sock = socket.create_connection(("127.0.0.1", exporter.port), timeout=5)
            # Half the attackers send part of a header, half say nothing at all.
            if i % 2:
                sock.sendall(b"POST /hooks/okta HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            stalled.append(sock)
        assert post_json(f"{exporter.url}/hooks/okta", envelope(event())) == 204
        # Answered by making room at the connection cap (the oldest stalled ones closed),
        # not by waiting for the read timeout to free everything: some are still open.
        assert _closed_count(stalled) < len(stalled)
        assert total(exporter) == 1
        # And the read timeout frees what the cap did not: the stalled ones get closed.
        wait_until(lambda: _closed_count(stalled) >= 250, 30, "stalled connections to be closed")
    finally:
        for sock in stalled:
            sock.close()
        exporter.stop()


def _closed_count(sockets: list[socket.socket]) -> int:
    closed = 0
    for sock in sockets:
        sock.setblocking(False)
        try:
            if sock.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    return closed


def test_slow_body_gets_408_and_frees_the_connection(tmp_path: Path) -> None:
    exporter = start_exporter(tmp_path, "--web.read-timeout=1s")
    try:
        with socket.create_connection(("127.0.0.1", exporter.port), timeout=10) as sock:
            sock.sendall(
                b"POST /hooks/okta HTTP/1.1\r\nHost: x\r\n"
                b"Authorization: test-secret-of-16-chars\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
            )
            response = sock.recv(65536)
        assert status_of(response) == 408
        assert_unharmed(exporter, 0)
    finally:
        exporter.stop()


# --- split listeners, basic auth, TLS -----------------------------------------------------


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def write_web_config(path: Path, users: dict[str, str], tls: str = "") -> Path:
    lines = ["basic_auth_users:"]
    for user, password in users.items():
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
        lines.append(f"  {user}: '{hashed}'")
    path.write_text("\n".join(lines) + "\n" + tls)
    return path


def test_split_listeners_with_basic_auth_on_metrics_only(tmp_path: Path) -> None:
    okta_port = free_port()
    config = write_web_config(tmp_path / "web.yml", {"prometheus": "scrape-me"})
    credentials = basic("prometheus", "scrape-me")
    exporter = start_exporter(
        tmp_path,
        f"--okta.listen-address=127.0.0.1:{okta_port}",
        f"--web.config.file={config}",
        probe_headers=credentials,
    )
    hooks = f"http://127.0.0.1:{okta_port}"
    try:
        assert post_json(f"{hooks}/hooks/okta", envelope(event())) == 204  # no basic auth
        assert post_json(f"{exporter.url}/hooks/okta", envelope(event())) == 404
        assert http_get(f"{hooks}/metrics")[0] == 404
        status, _ = http_get(f"{exporter.url}/metrics")
        assert status == 401
        assert http_get(f"{exporter.url}/metrics", headers=basic("prometheus", "wrong"))[0] == 401
        assert http_get(f"{exporter.url}/metrics", headers=basic("nobody", "scrape-me"))[0] == 401
        assert total(exporter, credentials) == 1

        # SIGHUP re-reads the file: the new password works, the old one no longer does.
        write_web_config(config, {"prometheus": "rotated"})
        exporter.process.send_signal(signal.SIGHUP)
        wait_until(
            lambda: (
                http_get(f"{exporter.url}/metrics", headers=basic("prometheus", "rotated"))[0]
                == 200
            ),
            10,
            "the reloaded password",
        )
        assert http_get(f"{exporter.url}/metrics", headers=credentials)[0] == 401
    finally:
        exporter.stop()


def test_unauthenticated_metrics_answer_names_the_scheme(tmp_path: Path) -> None:
    config = write_web_config(tmp_path / "web.yml", {"prometheus": "p"})
    exporter = start_exporter(
        tmp_path, f"--web.config.file={config}", probe_headers=basic("prometheus", "p")
    )
    try:
        head = b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        response = raw_request(exporter.port, head)
        assert status_of(response) == 401
        assert b'WWW-Authenticate: Basic realm="okta-group-push-exporter"' in response
        assert post_json(f"{exporter.url}/hooks/okta", envelope(event())) == 204
    finally:
        exporter.stop()


def make_ca_and_cert(directory: Path) -> tuple[Path, Path, Path, Path, Path]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, via openssl."""
    openssl = require_binary("openssl")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=directory, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
        "-days", "2", "-subj", "/CN=test-ca")  # fmt: skip
    (directory / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    for name in ("server", "client"):
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
            f"{name}.csr", "-subj", f"/CN={name}")  # fmt: skip
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", f"{name}.crt", "-days", "2",
            "-extfile", "san.cnf")  # fmt: skip
    return (
        directory / n for n in ("ca.crt", "server.crt", "server.key", "client.crt", "client.key")
    )  # type: ignore[return-value]


def test_mutual_tls_on_both_listeners(tmp_path: Path) -> None:
    ca, cert, key, client_cert, client_key = make_ca_and_cert(tmp_path)
    tls = (
        "tls_server_config:\n"
        f"  cert_file: {cert}\n  key_file: {key}\n  min_version: TLS13\n"
        f"  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {ca}\n"
    )
    config = tmp_path / "web.yml"
    config.write_text(tls)
    client = ssl.create_default_context(cafile=str(ca))
    client.load_cert_chain(client_cert, client_key)
    okta_port = free_port()
    exporter = start_exporter(
        tmp_path,
        f"--web.config.file={config}",
        f"--okta.listen-address=127.0.0.1:{okta_port}",
        context=client,
    )
    try:
        assert http_get(exporter.url + "/-/ready", context=client)[0] == 200
        challenge = {"x-okta-verification-challenge": "abc"}
        hook = f"https://127.0.0.1:{okta_port}/hooks/okta"
        assert http_get(hook, headers=challenge, context=client) == (
            200,
            b'{"verification": "abc"}',
        )
        assert http_get(f"http://127.0.0.1:{okta_port}/hooks/okta", headers=challenge)[0] == 0
        anonymous = ssl.create_default_context(cafile=str(ca))
        assert http_get(exporter.url + "/-/ready", context=anonymous)[0] == 0  # handshake refused
        old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old.load_verify_locations(cafile=str(ca))
        old.load_cert_chain(client_cert, client_key)
        old.maximum_version = ssl.TLSVersion.TLSv1_2  # below the configured minimum
        sock = socket.create_connection(("127.0.0.1", exporter.port))
        try:
            with pytest.raises(ssl.SSLError):
                old.wrap_socket(sock, server_hostname="127.0.0.1")
        finally:
            sock.close()
    finally:
        exporter.stop()


def test_bad_web_config_is_reported_by_check_config(tmp_path: Path) -> None:
    config = tmp_path / "web.yml"
    config.write_text("basic_auth_users:\n  admin: plaintext\nfoo: 1\n")
    result = subprocess.run(
        [sys.executable, "-m", "exporter", "check-config", f"--web.config.file={config}",
         f"--storage.path={tmp_path}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "basic_auth_users.admin: expected a bcrypt hash" in result.stderr
    assert "unknown key 'foo'" in result.stderr
    assert "plaintext" not in result.stderr


# --- graceful shutdown ----------------------------------------------------------------------


def test_sigterm_under_load_loses_no_acknowledged_event_and_exits_0(tmp_path: Path) -> None:
    exporter = start_exporter(tmp_path)
    acknowledged: list[int] = []
    lock = threading.Lock()

    def deliver(i: int) -> None:
        status = post_json(f"{exporter.url}/hooks/okta", envelope(event(app=f"a{i % 7}")))
        if status == 204:
            with lock:
                acknowledged.append(i)

    with ThreadPoolExecutor(max_workers=16) as pool:
        futures = [pool.submit(deliver, i) for i in range(400)]
        wait_until(lambda: len(acknowledged) >= 100, 30, "100 acknowledged deliveries")
        exporter.process.send_signal(signal.SIGTERM)
        for future in futures:
            future.result()
    assert exporter.process.wait(timeout=30) == 0
    restarted = start_exporter(tmp_path)
    try:
        assert total(restarted) == len(acknowledged)
    finally:
        restarted.stop()
