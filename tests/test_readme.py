"""The README is the front door: its generated references match the code."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from exporter.metrics.reference import render
from tests.services import start_exporter

README = Path(__file__).parent.parent / "README.md"
PAYLOADS = Path(__file__).parent / "payloads"


def test_configuration_and_metrics_references_match_the_code() -> None:
    text = README.read_text(encoding="utf-8")
    assert render(text) == text, "run `python -m exporter.metrics.reference` to regenerate"


def test_readme_opens_with_the_two_commands() -> None:
    blocks = README.read_text(encoding="utf-8").split("```sh\n")
    run, test = blocks[1].split("```")[0].strip(), blocks[2].split("```")[0].strip()
    assert run.endswith("okta-group-push-exporter serve")
    assert test == "scripts/test"
    assert "scripts/test" in (README.parent / ".ci" / "run").read_text()


@pytest.mark.integration
def test_try_it_locally_commands_work_as_written(tmp_path: Path) -> None:
    text = README.read_text(encoding="utf-8")
    block = text.split("### Try it locally", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    exporter = start_exporter(tmp_path, secret=None)
    try:
        script = block.replace("http://localhost:9947", exporter.url).replace(
            ".venv/bin/", f"{Path(sys.executable).parent}/"
        )
        env = {
            "PATH": os.environ["PATH"],
            "OKTA_GROUP_PUSH_STORAGE_PATH": str(tmp_path / "state"),
        }
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=README.parent, env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    finally:
        exporter.stop()
    assert result.returncode == 0, result.stderr
    # Then every operator command the README shows, on the state that run left behind;
    # backfill needs a real Okta org (tests/test_backfill.py runs it against the emulator).
    documented = [
        line.split("#", 1)[0].strip()
        for line in text.splitlines()
        if line.startswith("okta-group-push-exporter ") and " backfill " not in line
    ]
    assert len(documented) >= 5
    # The files the replay example names, made from the synthetic samples.
    page = json.loads((PAYLOADS / "synthetic_group-push-system-log-page.json").read_text())
    (tmp_path / "events.ndjson").write_text("".join(json.dumps(e) + "\n" for e in page))
    (tmp_path / "hooks").mkdir()
    shutil.copy(PAYLOADS / "synthetic_group-push-hook-delivery.json", tmp_path / "hooks")
    shell_env = {**env, "PATH": f"{Path(sys.executable).parent}:{env['PATH']}"}
    for command in documented:
        ran = subprocess.run(
            ["bash", "-c", command],  # as a person types it: the shell expands globs
            env=shell_env, capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
        )  # fmt: skip
        assert ran.returncode == 0, f"{command}: {ran.stderr}"
        assert ran.stdout.strip()
    lines = result.stdout.splitlines()
    assert lines[0] == '{"verification": "hello"}204'
    failures = [line for line in lines if line.startswith("okta_group_push_failures_total")]
    assert len(failures) == 2
    assert any('application="AWS Production",group="Engineering"' in f for f in failures)
    assert any('application="Slack Finance Workspace",group="Finance"' in f for f in failures)
