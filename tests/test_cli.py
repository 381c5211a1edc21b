"""The command line: check-config, serve as a real process, the generated hook secret."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from exporter.cli import main
from exporter.counting.ledger import load_hash_key
from exporter.ingest.labels import actor_hash
from exporter.store.sqlite import SqliteStore
from tests.services import http_get, post_json, start_exporter


def test_check_config_ok_prints_effective_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["check-config", "--storage.path", str(tmp_path)],
        {
            "OKTA_HOOK_SECRET": "hunter2-hunter2-hunter2",
            "OKTA_GROUP_PUSH_STORAGE_REDIS_URL": "unix:///run/redis.sock?password=s3kr1t",
        },
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "configuration OK" in out and "--storage.path = " in out
    assert "hunter2" not in out
    assert "s3kr1t" not in out


def test_check_config_refuses_a_short_hook_secret_without_showing_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["check-config", "--storage.path", str(tmp_path)], {"OKTA_HOOK_SECRET": "Zq8"})
    err = capsys.readouterr().err
    assert code == 1
    assert "OKTA_HOOK_SECRET: a hook secret has 3 characters, fewer than 16" in err
    assert "Zq8" not in err


def test_serve_refuses_a_short_hook_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """serve validates the same configuration as check-config, before it listens."""
    code = main(["serve", "--storage.path", str(tmp_path)], {"OKTA_HOOK_SECRET": "short"})
    assert code == 1
    assert "fewer than 16" in capsys.readouterr().err


def test_check_config_reports_every_problem_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check-config", "--log.level", "loud", "--web.listen-address", "x"], {})
    err = capsys.readouterr().err
    assert code == 1
    assert "--log.level" in err and "--web.listen-address" in err


def test_python_dash_m_runs_the_same_command_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "exporter", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert result.stdout.startswith("okta-group-push-exporter ")


def _log_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def test_generated_secret_is_private_logged_once_and_works(tmp_path: Path) -> None:
    first = start_exporter(tmp_path, secret=None)
    try:
        printed = subprocess.run(
            [sys.executable, "-m", "exporter", "state", "hook-secret",
             f"--storage.path={tmp_path / 'state'}"],
            capture_output=True, text=True, check=True, env={"PATH": os.environ["PATH"]},
        )  # fmt: skip
        secret = printed.stdout.strip()
        assert len(secret) >= 32
        database = tmp_path / "state" / "state.db"
        assert stat.S_IMODE(database.stat().st_mode) == 0o600
        assert post_json(f"{first.url}/hooks/okta", {"data": {"events": []}}, secret) == 204
        assert post_json(f"{first.url}/hooks/okta", {"data": {"events": []}}, "guess") == 401
    finally:
        first.stop()
    second = start_exporter(tmp_path, secret=None)
    try:
        # The restarted exporter keeps the same secret.
        assert post_json(f"{second.url}/hooks/okta", {"data": {"events": []}}, secret) == 204
    finally:
        second.stop()
    logs = first.log_path.read_text() + second.log_path.read_text()
    assert secret not in logs
    generated = [
        line
        for line in _log_lines(first.log_path) + _log_lines(second.log_path)
        if "generated an event hook secret" in str(line.get("msg"))
    ]
    assert len(generated) == 1


def test_serve_answers_on_its_endpoints(tmp_path: Path) -> None:
    exporter = start_exporter(tmp_path)
    try:
        assert http_get(exporter.url + "/-/healthy")[0] == 200
        status, body = http_get(exporter.url + "/metrics")
        assert status == 200 and b"okta_group_push_exporter_build_info" in body
    finally:
        exporter.stop()
    assert exporter.process.returncode == 0  # SIGTERM is a clean shutdown


def test_state_commands_summarise_export_and_prune(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exporter = start_exporter(tmp_path)
    envelope = {
        "data": {
            "events": [
                {
                    "uuid": "u-1",
                    "eventType": "application.provision.group_push.mapping.update.or.delete.failed",
                    "target": [{"type": "AppInstance", "displayName": "Slack"}],
                }
            ]
        }
    }
    try:
        assert post_json(f"{exporter.url}/hooks/okta", envelope) == 204
    finally:
        exporter.stop()
    storage = f"--storage.path={tmp_path / 'state'}"
    assert main(["state", "summary", storage], {}) == 0
    summary = capsys.readouterr().out
    assert "backend:        sqlite" in summary
    assert "dedup entries:  1 " in summary
    assert "series:         6" in summary  # with the failure reason, mapping names and state
    assert main(["state", "export", storage], {}) == 0
    exported = json.loads(capsys.readouterr().out)
    assert {
        "metric": "okta_group_push_failures_total",
        "labels": ["Slack", "unknown", "unknown"],
        "value": 1.0,
    }.items() <= next(
        s for s in exported["series"] if s["metric"].endswith("failures_total")
    ).items()
    assert main(["state", "prune", storage, "--storage.dedup-window=1ms"], {}) == 0
    assert "removed 1 dedup entries" in capsys.readouterr().out


async def test_state_hash_actor_prints_what_the_hash_mode_exposes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An operator finds which person a hashed actor label stands for."""
    store = SqliteStore(tmp_path / "state")
    await store.open()
    key = await load_hash_key(store)  # what `serve --labels.actor=hash` uses
    await store.close()
    storage = f"--storage.path={tmp_path / 'state'}"
    exit_code = await asyncio.to_thread(main, ["state", "hash-actor", storage, "00u1", "00u2"], {})
    assert exit_code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"00u1\t{actor_hash(key, '00u1')}", f"00u2\t{actor_hash(key, '00u2')}"]
