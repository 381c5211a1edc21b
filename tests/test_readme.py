"""The README is the front door: its generated references match the code."""

from __future__ import annotations

from pathlib import Path

from exporter.reference import render

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
