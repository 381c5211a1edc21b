"""The web config file (exporter-toolkit format) and basic auth checks."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
import threading
from pathlib import Path

import bcrypt
import pytest

from exporter.config.webfile import TlsConfig, WebConfig, WebConfigError, parse
from exporter.web.basicauth import BasicAuth, parse_header
from exporter.web.tls import ServerTls
from tests.certs import Authority
from tests.conftest import wait_for


def header(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_empty_file_means_plain_http_without_auth(tmp_path: Path) -> None:
    assert parse("", tmp_path) == WebConfig()


def test_full_file_parses(tmp_path: Path) -> None:
    for name in ("c.crt", "c.key", "ca.crt"):
        (tmp_path / name).write_text("x")
    hashed = bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4)).decode()
    config = parse(
        "tls_server_config:\n  cert_file: c.crt\n  key_file: c.key\n  min_version: TLS13\n"
        "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"
        f"basic_auth_users:\n  prom: '{hashed}'\n"
        "http_server_config:\n  headers:\n    X-Frame-Options: deny\n",
        tmp_path,
    )
    assert config.tls is not None
    assert config.tls.min_version is ssl.TLSVersion.TLSv1_3
    assert config.tls.client_auth is ssl.CERT_REQUIRED
    assert config.tls.cert_file == tmp_path / "c.crt"
    assert set(config.users) == {"prom"}
    assert config.headers == {"X-Frame-Options": "deny"}
    assert hashed not in repr(config)


def test_every_problem_is_listed(tmp_path: Path) -> None:
    with pytest.raises(WebConfigError) as info:
        parse(
            "tls_server_config:\n  cert_file: missing.crt\n  min_version: SSL3\n"
            "  client_auth_type: RequireAndVerifyClientCert\n"
            "basic_auth_users:\n  admin: hunter2\nextra: 1\n",
            tmp_path,
        )
    text = str(info.value)
    for expected in ("missing.crt", "min_version", "cert_file and key_file", "needs client_ca_file",
                     "admin: expected a bcrypt hash", "unknown key 'extra'"):  # fmt: skip
        assert expected in text
    assert "hunter2" not in text


def test_invalid_yaml_is_one_problem(tmp_path: Path) -> None:
    with pytest.raises(WebConfigError, match="not valid YAML"):
        parse("basic_auth_users: [", tmp_path)


@pytest.mark.parametrize(
    "value", [None, "", "Bearer abc", "Basic !!!", "Basic " + base64.b64encode(b"nocolon").decode()]
)
def test_malformed_authorization_headers_are_no_credentials(value: str | None) -> None:
    assert parse_header(value) is None


def test_password_with_colons_survives() -> None:
    assert parse_header(header("u", "a:b:c")) == ("u", "a:b:c")


class CheckpwSpy:
    """bcrypt.checkpw, recording the hash each call checks against and its thread."""

    def __init__(self) -> None:
        self.hashes: list[bytes] = []
        self.threads: list[str] = []
        self._checkpw = bcrypt.checkpw

    def __call__(self, password: bytes, hashed: bytes) -> bool:
        self.hashes.append(hashed)
        self.threads.append(threading.current_thread().name)
        return self._checkpw(password, hashed)


@pytest.fixture
def checkpw(monkeypatch: pytest.MonkeyPatch) -> CheckpwSpy:
    spy = CheckpwSpy()
    monkeypatch.setattr(bcrypt, "checkpw", spy)
    return spy


async def test_basic_auth_checks_and_caches_verdicts(checkpw: CheckpwSpy) -> None:
    hashed = bcrypt.hashpw(b"right", bcrypt.gensalt(rounds=4))
    auth = BasicAuth({"prom": hashed})
    assert await auth.check(header("prom", "right"))
    assert len(checkpw.hashes) == 1
    assert await auth.check(header("prom", "right"))
    assert len(checkpw.hashes) == 1  # cached: no second bcrypt
    assert not await auth.check(header("prom", "wrong"))
    assert not await auth.check(header("ghost", "right"))
    assert not await auth.check(None)


async def test_bcrypt_never_blocks_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """While a bcrypt check runs, the event loop runs other work."""
    auth = BasicAuth({"prom": bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4))})
    started, release = threading.Event(), threading.Event()
    checkpw = bcrypt.checkpw

    def blocking_checkpw(password: bytes, hashed: bytes) -> bool:
        started.set()
        release.wait(timeout=10)  # times out only when this blocks the loop
        return checkpw(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", blocking_checkpw)
    check = asyncio.ensure_future(auth.check(header("prom", "pw")))
    await wait_for(started.is_set, "the bcrypt check to start")
    loop_ran_meanwhile = not check.done() and not release.is_set()
    release.set()
    assert await check
    assert loop_ran_meanwhile


async def test_replacing_users_forgets_cached_verdicts() -> None:
    auth = BasicAuth({"prom": bcrypt.hashpw(b"old", bcrypt.gensalt(rounds=4))})
    assert await auth.check(header("prom", "old"))
    auth.replace({"prom": bcrypt.hashpw(b"new", bcrypt.gensalt(rounds=4))})
    assert not await auth.check(header("prom", "old"))
    assert await auth.check(header("prom", "new"))


# --- basic auth against hostile input (issue 15, item 5) ----------------------------------


async def test_a_password_over_72_bytes_is_a_wrong_password_not_an_error(
    checkpw: CheckpwSpy,
) -> None:
    """bcrypt 5 raises on it; the check says no, as Go's bcrypt behind exporter-toolkit does."""
    long = "p" * 100
    auth = BasicAuth({"prom": bcrypt.hashpw(long[:72].encode(), bcrypt.gensalt(rounds=4))})
    assert not await auth.check(header("prom", long))
    assert not await auth.check(header("ghost", long))
    assert await auth.check(header("prom", long[:72]))
    assert len(checkpw.hashes) == 3  # the long ones cost a bcrypt too: equal timing


@pytest.mark.parametrize("cost", [4, 5])
async def test_unknown_users_are_checked_at_the_configured_cost(
    checkpw: CheckpwSpy, cost: int
) -> None:
    """The dummy hash costs what a real one costs, so timing does not tell who exists."""
    auth = BasicAuth({"prom": bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=cost))})
    assert not await auth.check(header("ghost", "pw"))
    assert checkpw.hashes[-1].startswith(b"$2b$%02d$" % cost)
    auth.replace({"prom": bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=cost + 1))})
    assert not await auth.check(header("ghost", "pw2"))
    assert checkpw.hashes[-1].startswith(b"$2b$%02d$" % (cost + 1))
    assert threading.main_thread().name not in checkpw.threads


# --- reloading TLS builds a fresh context (issue 15, item 7) ----------------------------------


async def _handshake(port: int, server_ca: Path, client: tuple[Path, Path]) -> bool:
    """True when a client with this certificate gets the server's answer over mutual TLS."""
    context = ssl.create_default_context(cafile=server_ca)
    context.load_cert_chain(*client)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
        answer = await reader.read()
        writer.close()
    except (ssl.SSLError, ConnectionError):
        return False
    return answer == b"welcome"


async def test_reloading_tls_can_revoke_a_client_ca(tmp_path: Path) -> None:
    """A reload builds a fresh context: the CA no longer in the file is no longer trusted."""
    server_ca, ca_a, ca_b = (Authority(n, tmp_path) for n in ("server-ca", "ca-a", "ca-b"))
    cert, key = server_ca.issue("server", server=True)
    client_a, client_b = ca_a.issue("client-a"), ca_b.issue("client-b")

    def config(client_ca: Path) -> TlsConfig:
        return TlsConfig(cert, key, client_auth=ssl.CERT_REQUIRED, client_ca_file=client_ca)

    tls = ServerTls(config(ca_a.file))

    async def welcome(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            writer.write(b"welcome")
            await writer.drain()
        writer.close()

    listener = await asyncio.start_server(welcome, "127.0.0.1", 0, ssl=tls.listener)
    port = listener.sockets[0].getsockname()[1]
    try:
        assert await _handshake(port, server_ca.file, client_a)
        assert not await _handshake(port, server_ca.file, client_b)
        tls.reload(config(ca_b.file))
        assert not await _handshake(port, server_ca.file, client_a)
        assert await _handshake(port, server_ca.file, client_b)
        with pytest.raises(FileNotFoundError):
            tls.reload(config(tmp_path / "missing.crt"))
        assert await _handshake(port, server_ca.file, client_b)  # the previous one kept
    finally:
        listener.close()
        await listener.wait_closed()
