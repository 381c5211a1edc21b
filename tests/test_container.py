"""The image recipe: hadolint-clean, and its entrypoint works from a fresh venv as built.

Docker cannot build here, so the test does what the Dockerfile does: a fresh venv, `pip
install .`, the final stage's ENV, then ENTRYPOINT + CMD and the HEALTHCHECK command.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.services import free_port, http_get, require_binary, wait_until

ROOT = Path(__file__).parent.parent
DOCKERFILE = ROOT / "Dockerfile"


def final_stage() -> list[tuple[str, str]]:
    """(instruction, arguments) of the last stage, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    lines = [
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    ]
    last_from = max(i for i, line in enumerate(lines) if line.upper().startswith("FROM "))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines[last_from:]]


def instruction(name: str) -> str:
    values = [args for inst, args in final_stage() if inst == name]
    assert values, f"the final stage has no {name}"
    return values[-1]


def env() -> dict[str, str]:
    pairs = shlex.split(" ".join(args for inst, args in final_stage() if inst == "ENV"))
    return dict(pair.split("=", 1) for pair in pairs)


def test_hadolint_passes() -> None:
    hadolint = require_binary(str(Path(sys.executable).parent / "hadolint"))
    result = subprocess.run(
        [hadolint, str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_final_stage_is_non_root_with_state_volume_healthcheck_and_labels() -> None:
    assert instruction("USER").split(":")[0] not in ("root", "0")
    assert json.loads(instruction("VOLUME")) == [env()["OKTA_GROUP_PUSH_STORAGE_PATH"]]
    assert "healthcheck" in instruction("HEALTHCHECK")
    labels = " ".join(args for inst, args in final_stage() if inst == "LABEL")
    for key in ("title", "description", "version", "licenses", "source"):
        assert f"org.opencontainers.image.{key}=" in labels
    assert instruction("EXPOSE") == "9947"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "tests", "data"} <= set(ignored)


@pytest.mark.integration
def test_entrypoint_runs_from_a_fresh_venv_as_the_image_does(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # As the Dockerfile's build stage does (test_the_image_installs_the_locked_versions).
    pip = [str(venv / "bin" / "pip"), "install", "--quiet", "--no-compile"]
    subprocess.run([*pip, "--require-hashes", "-r", str(LOCK)], check=True, timeout=600)
    subprocess.run([*pip, "--no-deps", "--no-build-isolation", str(ROOT)], check=True, timeout=600)
    state = tmp_path / "state"
    port = free_port()
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OKTA_")},
        **env(),
        "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
        "OKTA_GROUP_PUSH_STORAGE_PATH": str(state),
        "OKTA_GROUP_PUSH_WEB_LISTEN_ADDRESS": f"127.0.0.1:{port}",
    }
    command = json.loads(instruction("ENTRYPOINT")) + json.loads(instruction("CMD"))
    health = json.loads(instruction("HEALTHCHECK").split("CMD", 1)[1])
    log = (tmp_path / "exporter.log").open("wb")
    process = subprocess.Popen(command, env=environment, cwd=tmp_path, stdout=log, stderr=log)
    log.close()
    try:
        wait_until(
            lambda: http_get(f"http://127.0.0.1:{port}/-/healthy", timeout=1)[0] == 200,
            30,
            "the image's command to serve",
        )
        assert subprocess.run(health, env=environment, check=False).returncode == 0
        assert (state / "state.db").exists()
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0
    assert subprocess.run(health, env=environment, check=False, capture_output=True).returncode == 1


# --- what ships is what was tested (issue 15, item 13) ----------------------------------------

LOCK = ROOT / "requirements.lock"


def runtime_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(text) for text in project["dependencies"]]


def declared_requirements() -> list[Requirement]:
    """The runtime dependencies and those of the optional extras users install."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    return [*runtime_requirements(), *(Requirement(text) for text in extras["progress"])]


def locked() -> dict[str, Version]:
    """The lock's pins; each must be exact and carry at least one sha256."""
    pins: dict[str, Version] = {}
    text = re.sub(r"\\\n\s*", " ", LOCK.read_text())  # a pin and its hashes on one line
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            pin, *options = line.split()
            name, equals, version = pin.partition("==")
            assert equals, f"not an exact pin: {line}"
            hashes = [o for o in options if re.fullmatch(r"--hash=sha256:[0-9a-f]{64}", o)]
            assert hashes and len(hashes) == len(options), f"not a hashed pin: {pin}"
            pins[canonicalize_name(name)] = Version(version)
    return pins


def test_the_image_installs_the_locked_versions() -> None:
    """Every file checked against the lock's sha256, the project built without fetching."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    copies = [
        line for line in text.splitlines() if line.startswith("COPY ") and "--from" not in line
    ]
    assert any("requirements.lock" in line.split() for line in copies)
    (run,) = [line for line in text.splitlines() if "pip install" in line]
    installs = [step.split() for step in run.split("&&") if "pip install" in step]
    assert installs[0][-3:] == ["--require-hashes", "-r", "requirements.lock"]
    assert installs[1][-3:] == ["--no-deps", "--no-build-isolation", "."]
    assert len(installs) == 2, "a third install would resolve outside the lock"
    assert os.access(ROOT / "scripts" / "lock", os.X_OK)


def test_the_lock_pins_the_build_backend() -> None:
    """The image builds without isolation, so the backend pyproject.toml names is locked."""
    pins = locked()
    build = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    for requirement in map(Requirement, build):
        version = pins.get(canonicalize_name(requirement.name))
        assert version is not None, f"{requirement.name} is not in requirements.lock"
        assert version in requirement.specifier, f"{requirement.name}=={version} vs {requirement}"


def test_the_lock_pins_every_runtime_dependency_within_its_floor() -> None:
    pins = locked()
    for requirement in runtime_requirements():
        version = pins.get(canonicalize_name(requirement.name))
        assert version is not None, f"{requirement.name} is not in requirements.lock"
        assert version in requirement.specifier, f"{requirement.name}=={version} vs {requirement}"


def test_the_exporter_has_one_json_library() -> None:
    """msgspec (it decodes hook bodies into typed Structs); orjson is for tests and benchmarks."""
    for path in (ROOT / "exporter").rglob("*.py"):
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.partition(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.partition(".")[0])
        assert not imported & {"orjson", "json", "ujson", "simplejson", "rapidjson"}, path
    assert "orjson" not in {canonicalize_name(r.name) for r in runtime_requirements()}


@pytest.mark.parametrize(
    ("name", "vulnerable", "fixed"),
    [
        ("aiohttp", ["3.9.5", "3.10.10", "3.12.13", "3.14.0"], "3.14.1"),
        ("pyjwt", ["2.8.0", "2.12.1"], "2.13.0"),
        ("tqdm", ["4.66.2"], "4.66.3"),
    ],
)
def test_floors_exclude_releases_with_known_advisories(
    name: str, vulnerable: list[str], fixed: str
) -> None:
    (requirement,) = [r for r in declared_requirements() if canonicalize_name(r.name) == name]
    assert not any(requirement.specifier.contains(v) for v in vulnerable), requirement
    assert requirement.specifier.contains(fixed)
