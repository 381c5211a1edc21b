"""The web config file (exporter-toolkit format) and basic auth checks."""

from __future__ import annotations

import asyncio
import base64
import ssl
import time
from pathlib import Path

import bcrypt
import pytest

from exporter.basicauth import BasicAuth, parse_header
from exporter.webconfig import WebConfig, WebConfigError, parse


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


async def test_basic_auth_checks_and_caches_verdicts() -> None:
    hashed = bcrypt.hashpw(b"right", bcrypt.gensalt(rounds=12))
    auth = BasicAuth({"prom": hashed})
    assert await auth.check(header("prom", "right"))
    started = time.perf_counter()
    assert await auth.check(header("prom", "right"))
    assert time.perf_counter() - started < 0.05  # cached: no second bcrypt
    assert not await auth.check(header("prom", "wrong"))
    assert not await auth.check(header("ghost", "right"))
    assert not await auth.check(None)


async def test_bcrypt_never_blocks_the_event_loop() -> None:
    """While a cost-12 check runs, the loop keeps ticking."""
    auth = BasicAuth({"prom": bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=12))})
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    try:
        assert await auth.check(header("prom", "pw"))
    finally:
        task.cancel()
    assert ticks >= 5


async def test_replacing_users_forgets_cached_verdicts() -> None:
    auth = BasicAuth({"prom": bcrypt.hashpw(b"old", bcrypt.gensalt(rounds=4))})
    assert await auth.check(header("prom", "old"))
    auth.replace({"prom": bcrypt.hashpw(b"new", bcrypt.gensalt(rounds=4))})
    assert not await auth.check(header("prom", "old"))
    assert await auth.check(header("prom", "new"))
