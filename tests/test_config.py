"""Configuration: flags over environment over defaults, all problems reported together."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Mapping
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from exporter.config import (
    MASK,
    OPTIONS,
    Config,
    ConfigError,
    ListenAddress,
    PollSince,
    StorageSection,
    WebSection,
    add_flags,
    build,
    mask_url,
    parse_duration,
    parse_listen_address,
    parse_since,
    parse_size,
)
from tests.conftest import pem


def configure(argv: list[str], environ: dict[str, str] | None = None) -> Config:
    parser = argparse.ArgumentParser()
    add_flags(parser)
    return build(parser.parse_args(argv), environ or {})


def test_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = configure([])
    assert config.web.listen == ListenAddress("0.0.0.0", 9947)
    assert config.web.telemetry_path == "/metrics"
    assert config.web.hook_header == "Authorization"
    assert config.web.max_body_bytes == 4 * 1024 * 1024
    assert config.storage.dedup_window == 35 * 86400
    assert config.web.hook_secrets == ()


def test_config_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Config().web = WebSection()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        Config().web.telemetry_path = "/x"  # type: ignore[misc]


def test_every_option_names_a_field_of_its_section() -> None:
    """The table's section and field names are plain text: a typo would fail here first."""
    for option in OPTIONS:
        section = getattr(Config(), option.section)
        assert dataclasses.is_dataclass(section), option.flag
        names = {field.name for field in dataclasses.fields(section)}
        assert option.field in names, option.flag
        assert (option.key is not None) == isinstance(getattr(section, option.field), Mapping)
    places = [(option.section, option.field, option.key) for option in OPTIONS]
    assert len(set(places)) == len(places)


def test_every_flag_has_an_environment_variable(tmp_path: Path) -> None:
    environ = {
        "OKTA_GROUP_PUSH_WEB_LISTEN_ADDRESS": "127.0.0.1:1234",
        "OKTA_GROUP_PUSH_WEB_TELEMETRY_PATH": "/m",
        "OKTA_GROUP_PUSH_STORAGE_PATH": str(tmp_path),
        "OKTA_GROUP_PUSH_STORAGE_DEDUP_WINDOW": "2d",
        "OKTA_GROUP_PUSH_OKTA_HOOK_HEADER": "X-Okta-Secret",
        "OKTA_GROUP_PUSH_WEB_MAX_BODY_SIZE": "1MiB",
        "OKTA_GROUP_PUSH_LOG_LEVEL": "debug",
        "OKTA_GROUP_PUSH_LOG_FORMAT": "json",
    }
    assert {o.env for o in OPTIONS} >= set(environ)
    config = configure([], environ)
    assert config.web.listen == ListenAddress("127.0.0.1", 1234)
    assert (config.web.telemetry_path, config.web.hook_header) == ("/m", "X-Okta-Secret")
    assert (config.storage.dedup_window, config.web.max_body_bytes) == (2 * 86400, 1024 * 1024)
    assert (config.log.level, config.log.format) == ("debug", "json")


def test_flag_wins_over_environment() -> None:
    config = configure(["--log.level", "error"], {"OKTA_GROUP_PUSH_LOG_LEVEL": "debug"})
    assert config.log.level == "error"


def test_all_problems_are_reported_together_naming_flag_and_value() -> None:
    with pytest.raises(ConfigError) as info:
        configure(
            ["--web.listen-address", "nowhere", "--web.telemetry-path", "/hooks/okta"],
            {"OKTA_GROUP_PUSH_LOG_FORMAT": "xml", "OKTA_GROUP_PUSH_WEB_MAX_BODY_SIZE": "0"},
        )
    problems = info.value.problems
    assert len(problems) == 4
    assert any(p.startswith("--web.listen-address:") and "'nowhere'" in p for p in problems)
    assert any(p.startswith("--web.telemetry-path:") for p in problems)
    assert any(p.startswith("OKTA_GROUP_PUSH_LOG_FORMAT:") and "'xml'" in p for p in problems)
    assert any(p.startswith("OKTA_GROUP_PUSH_WEB_MAX_BODY_SIZE:") for p in problems)


def test_secrets_from_environment_several_for_rotation() -> None:
    config = configure([], {"OKTA_HOOK_SECRET": "new-one-of-16-chars, old-one-of-16-chars"})
    assert config.web.hook_secrets == ("new-one-of-16-chars", "old-one-of-16-chars")


def test_secrets_from_file_one_per_line(tmp_path: Path) -> None:
    path = tmp_path / "secrets"
    path.write_text("first-of-16-chars\n\nsecond-of-16-chars\n")
    assert configure(["--okta.hook-secret-file", str(path)]).web.hook_secrets == (
        "first-of-16-chars",
        "second-of-16-chars",
    )


def test_secret_problems_never_print_the_secret(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(ConfigError, match="holds no secret"):
        configure(["--okta.hook-secret-file", str(empty)])
    with pytest.raises(ConfigError, match="cannot read") as info:
        configure(["--okta.hook-secret-file", str(tmp_path / "missing")])
    with pytest.raises(ConfigError, match="set only one") as both:
        configure(["--okta.hook-secret-file", str(empty)], {"OKTA_HOOK_SECRET": "hunter2"})
    assert "hunter2" not in str(both.value) and "hunter2" not in str(info.value)


def test_secrets_are_not_in_repr_or_description() -> None:
    config = Config(web=WebSection(hook_secrets=("hunter2",)))
    assert "hunter2" not in repr(config)
    assert "hunter2" not in str(config.describe())


def test_storage_path_must_be_a_writable_directory(tmp_path: Path) -> None:
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(ConfigError, match=r"--storage.path: .* is not a directory"):
        configure(["--storage.path", str(afile / "sub")])
    assert configure(["--storage.path", str(tmp_path / "new" / "dir")]).storage.path.name == "dir"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (":9947", ListenAddress("0.0.0.0", 9947)),
        ("127.0.0.1:80", ListenAddress("127.0.0.1", 80)),
        ("[::1]:9000", ListenAddress("::1", 9000)),
        ("localhost:0", ListenAddress("localhost", 0)),
    ],
)
def test_listen_addresses(text: str, expected: ListenAddress) -> None:
    assert parse_listen_address(text) == expected


@pytest.mark.parametrize("text", ["9947", "host:", "host:99999", "::1:80", ""])
def test_bad_listen_addresses(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_listen_address(text)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h30m", 5400), ("35d", 3024000), ("500ms", 0.5)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(("text", "size"), [("4MiB", 4194304), ("512kb", 512000), ("10", 10)])
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


# --- the System Log poller's flags -----------------------------------------------------------


@pytest.fixture
def key_file(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> Path:
    path = tmp_path / "key.pem"
    path.write_bytes(pem(rsa_key))
    return path


def problems_of(argv: list[str], environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        configure(argv, environ)
    return str(caught.value)


def test_the_org_url_must_be_https_except_on_loopback_or_when_allowed(tmp_path: Path) -> None:
    token = {"OKTA_API_TOKEN": "t"}
    for url in ("https://example.okta.com", "http://127.0.0.1:8080", "http://localhost:1",
                "http://[::1]:8080"):  # fmt: skip
        assert configure(["--okta.org-url", url, "--storage.path", str(tmp_path)], token)
    assert "must be https://" in problems_of(["--okta.org-url", "http://example.okta.com"], token)
    allowed = ["--okta.org-url", "http://okta.test", "--okta.allow-http", "true"]
    assert configure([*allowed, "--storage.path", str(tmp_path)], token).okta.allow_http
    for bad in ("example.okta.com", "https://example.okta.com/admin", "ftp://x", "https://"):
        assert "--okta.org-url" in problems_of(["--okta.org-url", bad], token)


@pytest.mark.parametrize(
    ("admin", "own"),
    [
        ("https://acme-admin.okta.com", "https://acme.okta.com"),
        ("https://ACME-admin.oktapreview.com/", "https://acme.oktapreview.com"),
        ("https://acme-admin.okta-emea.com", "https://acme.okta-emea.com"),
    ],
)
def test_the_admin_console_address_is_refused_with_the_org_url_to_use(admin: str, own: str) -> None:
    """What admins copy from their browser: named flag and value, the fix, and every
    other problem in the same report."""
    problems = problems_of(
        ["--okta.org-url", admin, "--okta.poll-interval", "soon"], {"OKTA_API_TOKEN": "t"}
    )
    assert f"--okta.org-url: this is the Admin Console's address: drop -admin, as in {own}" in (
        problems
    )
    assert f"(got {admin!r})" in problems
    assert "--okta.poll-interval" in problems  # reported together


def test_an_org_whose_own_name_ends_in_admin_on_a_custom_domain_is_kept(tmp_path: Path) -> None:
    url = "https://sso-admin.example.com"
    config = configure(
        ["--okta.org-url", url, "--storage.path", str(tmp_path)], {"OKTA_API_TOKEN": "t"}
    )
    assert config.okta.org_url == url


def test_the_event_hook_id_is_an_okta_id(tmp_path: Path) -> None:
    token = {"OKTA_API_TOKEN": "t"}
    org = ["--okta.org-url", "https://example.okta.com", "--storage.path", str(tmp_path)]
    config = configure([*org, "--okta.event-hook-id", "who8vt36qfNpCGz9H1e6"], token)
    assert config.okta.event_hook_id == "who8vt36qfNpCGz9H1e6"
    assert "--okta.event-hook-id" in problems_of([*org, "--okta.event-hook-id", "who/x"], token)


def test_org_url_is_normalised(tmp_path: Path) -> None:
    config = configure(
        ["--okta.org-url", "https://Example.Okta.com/", "--storage.path", str(tmp_path)],
        {"OKTA_API_TOKEN": " t0k3n \n"},
    )
    assert config.okta.org_url == "https://example.okta.com"
    assert config.okta.api_token == "t0k3n"


def test_an_org_url_alone_is_valid_and_asks_okta_nothing(tmp_path: Path) -> None:
    """Without credentials the org URL only makes links (/status, the README "Links")."""
    config = configure(["--okta.org-url", "https://acme.okta.com", "--storage.path", str(tmp_path)])
    assert config.okta.org_url == "https://acme.okta.com"
    assert config.okta.has_credentials is False
    token = configure(["--okta.org-url", "https://acme.okta.com", "--storage.path",
                       str(tmp_path)], {"OKTA_API_TOKEN": "t"})  # fmt: skip
    assert token.okta.has_credentials is True


def test_credentials_must_be_one_complete_kind(tmp_path: Path, key_file: Path) -> None:
    org = ["--okta.org-url", "https://example.okta.com"]
    token_file = tmp_path / "token"
    token_file.write_text("t0k3n\n")
    both = problems_of([*org, "--okta.client-id", "0oa1", "--okta.private-key-file",
                        str(key_file)], {"OKTA_API_TOKEN": "t"})  # fmt: skip
    assert "not both" in both
    assert "set both for OAuth" in problems_of([*org, "--okta.client-id", "0oa1"])
    assert "set only one" in problems_of(
        [*org, "--okta.api-token-file", str(token_file)], {"OKTA_API_TOKEN": "t"}
    )
    assert "is needed by the Okta credentials" in problems_of(["--okta.client-id", "0oa1"])
    oauth = configure([*org, "--okta.client-id", "0oa1", "--okta.private-key-file",
                       str(key_file), "--storage.path", str(tmp_path)])  # fmt: skip
    assert oauth.okta.private_key.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert oauth.okta.dpop is True
    from_file = configure([*org, "--okta.api-token-file", str(token_file),
                           "--storage.path", str(tmp_path)])  # fmt: skip
    assert from_file.okta.api_token == "t0k3n"


def test_unusable_key_and_token_files_are_named(tmp_path: Path) -> None:
    org = ["--okta.org-url", "https://example.okta.com", "--okta.client-id", "0oa1"]
    (tmp_path / "not-a-key.pem").write_text("hello")
    assert "not a PEM private key" in problems_of(
        [*org, "--okta.private-key-file", str(tmp_path / "not-a-key.pem")]
    )
    assert "cannot read" in problems_of([*org, "--okta.private-key-file", str(tmp_path / "no")])
    (tmp_path / "empty").write_text("\n")
    assert "holds no token" in problems_of(
        ["--okta.org-url", "https://example.okta.com", "--okta.api-token-file",
         str(tmp_path / "empty")]
    )  # fmt: skip


def test_poll_since_interval_and_share(tmp_path: Path) -> None:
    base = ["--okta.org-url", "https://e.okta.com", "--storage.path", str(tmp_path)]
    token = {"OKTA_API_TOKEN": "t"}
    config = configure(base, token)
    assert config.okta.poll_since == PollSince(ago=3600)
    assert (config.okta.poll_interval, config.okta.rate_limit_share) == (30, 0.5)
    config = configure([*base, "--okta.poll-since", "2026-11-01", "--okta.rate-limit-share",
                        "25%", "--okta.poll-interval", "1m"], token)  # fmt: skip
    assert config.okta.poll_since.resolve(0) == 1_793_491_200  # 2026-11-01T00:00:00Z
    assert (config.okta.poll_interval, config.okta.rate_limit_share) == (60, 0.25)
    assert parse_since("2026-11-01T12:00:00Z").at == 1_793_534_400
    assert parse_since("7d").resolve(1000000) == 1000000 - 7 * 86400
    problems = problems_of([*base, "--okta.poll-since", "200d", "--okta.rate-limit-share",
                            "1.5", "--okta.poll-interval", "soon"], token)  # fmt: skip
    assert "180 days" in problems and "at most 1" in problems and "--okta.poll-interval" in problems


def test_okta_secrets_stay_out_of_repr_and_the_landing_page(tmp_path: Path, key_file: Path) -> None:
    config = configure(
        ["--okta.org-url", "https://e.okta.com", "--storage.path", str(tmp_path)],
        {"OKTA_API_TOKEN": "sup3r-secret-token"},
    )
    assert "sup3r-secret-token" not in repr(config)
    shown = config.describe()
    assert "sup3r-secret-token" not in str(shown)
    assert shown["okta api token"] == "<secret>"
    assert shown["--okta.poll-since"] == "1h" and shown["--okta.dpop"] == "true"


def test_label_governance_defaults() -> None:
    config = Config()
    assert (config.labels.max_values, config.labels.max_series) == (1000, 10_000)
    assert config.labels.max_length == 128
    # The application is the app instance's label (its alternateId): README "Upgrading".
    assert (config.labels.application, config.labels.group, config.labels.actor) == (
        "alternate_id",
        "display_name",
        "display_name",
    )
    assert config.labels.series_ttl is None  # off: sparse counters need their series (README)


def test_label_governance_flags_and_environment() -> None:
    config = configure(
        ["--labels.max-values", "50", "--labels.actor", "hash", "--labels.group.deny", "tmp-.*"],
        {
            "OKTA_GROUP_PUSH_LABELS_MAX_SERIES": "2000",
            "OKTA_GROUP_PUSH_LABELS_APPLICATION": "id",
            "OKTA_GROUP_PUSH_LABELS_APPLICATION_ALLOW": "0oa.*",
            "OKTA_GROUP_PUSH_METRICS_SERIES_TTL": "30d",
        },
    )
    assert (config.labels.max_values, config.labels.max_series) == (50, 2000)
    assert (config.labels.actor, config.labels.application) == ("hash", "id")
    assert config.labels.deny["group"].pattern == "tmp-.*"
    assert "application" in config.labels.allow
    assert config.labels.series_ttl == 30 * 86400
    shown = config.describe()
    assert shown["--labels.group.deny"] == "tmp-.*"
    assert shown["--metrics.series-ttl"] == "30d"
    assert configure(["--metrics.series-ttl", "off"]).labels.series_ttl is None
    assert configure(["--metrics.series-ttl", "0"]).labels.series_ttl is None


def test_label_governance_problems_are_reported_together() -> None:
    with pytest.raises(ConfigError) as info:
        configure(
            [
                "--labels.max-values",
                "0",
                "--labels.max-series",
                "many",
                "--labels.actor",
                "email",
                "--labels.group.allow",
                "(",
                "--metrics.series-ttl",
                "soon",
            ]
        )
    problems = info.value.problems
    assert len(problems) == 5
    assert "--labels.max-values: must be greater than zero (got '0')" in problems
    assert "--labels.max-series: expected a whole number (got 'many')" in problems
    assert any(p.startswith("--labels.actor: expected one of") for p in problems)
    assert any(
        p.startswith("--labels.group.allow: not a valid regular expression") for p in problems
    )
    assert any(p.startswith("--metrics.series-ttl: expected a duration") for p in problems)


def test_mappings_interval_defaults_to_five_minutes_and_zero_turns_it_off(tmp_path: Path) -> None:
    base = ["--okta.org-url", "https://e.okta.com", "--storage.path", str(tmp_path)]
    token = {"OKTA_API_TOKEN": "t"}
    config = configure(base, token)
    assert config.okta.mappings_interval == 300
    assert config.describe()["--okta.mappings-interval"] == "5m"
    off = configure(base, {**token, "OKTA_GROUP_PUSH_OKTA_MAPPINGS_INTERVAL": "0"})
    assert off.okta.mappings_interval == 0 and off.describe()["--okta.mappings-interval"] == "0"
    assert (
        configure([*base, "--okta.mappings-interval", "1h"], token).okta.mappings_interval == 3600
    )
    problems = problems_of([*base, "--okta.mappings-interval=-5m"], token)
    assert "--okta.mappings-interval" in problems and "'-5m'" in problems


# --- secrets (issue 15, items 3 and 4) -------------------------------------------------------


def test_secret_file_splits_on_lines_only_a_comma_is_part_of_the_secret(tmp_path: Path) -> None:
    path = tmp_path / "secrets"
    path.write_text("Zq8,p@ss-long-enough-secret\nsecond-of-16-chars\n")
    assert configure(["--okta.hook-secret-file", str(path)]).web.hook_secrets == (
        "Zq8,p@ss-long-enough-secret",
        "second-of-16-chars",
    )


@pytest.mark.parametrize("where", ["file", "env"])
def test_hook_secrets_shorter_than_16_characters_are_refused(tmp_path: Path, where: str) -> None:
    path = tmp_path / "secrets"
    path.write_text("long-enough-secret-1\nhunter2\n")
    argv, environ = (
        (["--okta.hook-secret-file", str(path)], {})
        if where == "file"
        else ([], {"OKTA_HOOK_SECRET": "long-enough-secret-1,hunter2"})
    )
    with pytest.raises(ConfigError, match="fewer than 16") as info:
        configure(argv, environ)
    assert "hunter2" not in str(info.value)
    assert "openssl rand" in str(info.value)


def test_a_16_character_hook_secret_is_accepted() -> None:
    assert configure([], {"OKTA_HOOK_SECRET": "a" * 16}).web.hook_secrets == ("a" * 16,)


@pytest.mark.parametrize(
    "url",
    [
        "redis://:hunter2@redis:6379/0",
        "redis://user:hunter2@redis:6379/0",
        "redis://hunter2@redis:6379/0",
        "redis://redis:6379/0?password=hunter2",
        "rediss://redis:6379/0?db=1&Password=hunter2&ssl_cert_reqs=required",
        "unix:///run/redis.sock?db=0&password=hunter2",
        "unix://user:hunter2@/run/redis.sock",
        "redis://redis/0?username=u&password=hunter2#hunter2",
    ],
)
def test_mask_url_masks_every_credential_bearing_part(url: str) -> None:
    masked = mask_url(url)
    assert "hunter2" not in masked
    assert MASK in masked
    assert masked.partition("://")[0] == url.partition("://")[0]


def test_mask_url_keeps_what_holds_no_credential() -> None:
    assert mask_url("redis://redis:6379/0?db=1") == "redis://redis:6379/0?db=1"
    assert mask_url("unix:///run/redis.sock?db=0") == "unix:///run/redis.sock?db=0"


@pytest.mark.parametrize("url", ["redis://:hunter2@[::1:6379/0", "redis://:hunter2@h:port/0"])
@pytest.mark.parametrize("where", ["flag", "env"])
def test_a_malformed_redis_url_is_never_echoed(url: str, where: str) -> None:
    argv, environ = (
        (["--storage.redis-url", url], {})
        if where == "flag"
        else ([], {"OKTA_GROUP_PUSH_STORAGE_REDIS_URL": url})
    )
    with pytest.raises(ConfigError, match=r"storage\.redis-url|STORAGE_REDIS_URL") as info:
        configure(argv, environ)
    assert "hunter2" not in str(info.value)
    assert "hunter2" not in mask_url(url)


def test_a_redis_password_is_masked_in_the_description() -> None:
    shown = Config(
        storage=StorageSection(redis_url="unix:///run/redis.sock?password=hunter2")
    ).describe()
    assert "hunter2" not in str(shown)
