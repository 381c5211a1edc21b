"""No test passes silently untested under CI: every skip goes through services.unavailable,
which fails instead when REQUIRE_SERVICES=1 (issue 15, item 15)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import services

TESTS = Path(__file__).parent
# Ways to skip a test that do not look at REQUIRE_SERVICES.
RAW_SKIPS = re.compile(r"pytest\.skip\(|\.mark\.skip(if)?\b|importorskip\(|pytest\.xfail\(")


def test_every_skip_in_the_suite_goes_through_unavailable() -> None:
    offenders = [
        f"{path.relative_to(TESTS)}:{number}: {line.strip()}"
        for path in sorted(TESTS.rglob("*.py"))
        if path.name not in {"services.py", "test_skips.py"}
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if RAW_SKIPS.search(line)
    ]
    assert offenders == []


def test_unavailable_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REQUIRE_SERVICES", raising=False)
    with pytest.raises(pytest.skip.Exception, match="needs root"):
        services.unavailable("needs root")


def test_unavailable_fails_under_require_services(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUIRE_SERVICES", "1")
    with pytest.raises(pytest.fail.Exception, match="needs root"):
        services.unavailable("needs root")
    with pytest.raises(pytest.fail.Exception, match="no-such-module-here"):
        services.require_module("no-such-module-here")
