"""A short run of the atheris fuzz target on every CI run (a longer one: see the README)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.services import require_module

TARGET = Path(__file__).parent / "fuzz" / "fuzz_parse.py"


def test_fuzzing_the_parse_path_finds_no_crash(tmp_path: Path) -> None:
    """Both hook decoders (the fast one compared with the lenient one) and the others."""
    require_module("atheris")
    result = subprocess.run(
        [sys.executable, str(TARGET), "-max_total_time=10", f"-artifact_prefix={tmp_path}/",
         str(tmp_path), str(TARGET.parent / "seeds")],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    assert "Done" in result.stderr
