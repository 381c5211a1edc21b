"""The README is the front door: its generated references match the code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from exporter.reference import render
from tests.services import start_exporter

README = Path(__file__).parent.parent / "README.md"


def test_configuration_and_metrics_references_match_the_code() -> None:
    text = README.read_text(encoding="utf-8")
    assert render(text) == text, "run `python -m exporter.reference` to regenerate"


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
    # Then every operator command the README shows, on the state that run left behind.
    documented = [
        line.split("#", 1)[0].split()
        for line in text.splitlines()
        if line.startswith("okta-group-push-exporter ")
    ]
    assert documented
    for argv in documented:
        ran = subprocess.run(
            [str(Path(sys.executable).parent / argv[0]), *argv[1:]],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert ran.returncode == 0, f"{argv}: {ran.stderr}"
        assert ran.stdout.strip()
    lines = result.stdout.splitlines()
    assert lines[0] == '{"verification": "hello"}204'
    failures = [line for line in lines if line.startswith("okta_group_push_failures_total")]
    assert len(failures) == 2
    assert any('application="AWS IAM Identity Center",group="Engineering"' in f for f in failures)
    assert any('application="Slack",group="Finance"' in f for f in failures)
