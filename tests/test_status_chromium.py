"""/status in a real headless Chromium, against the exporter as a real process.

What a person sees: the empty state, then a posted failure as a card with its Okta links,
under the page's strict Content-Security-Policy (Chromium logs what the policy refuses,
and nothing may be refused). A phone-sized screenshot is kept under pytest's tmp dir.
"""

from __future__ import annotations

import base64
import subprocess
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import bcrypt
import pytest

from exporter.web.status import CSP
from tests.builders import envelope, failure_event
from tests.services import Service, http_get, post_json, require_binary, start_exporter

pytestmark = pytest.mark.integration

APP_ID = "0oaSLACK42x"
GROUP_ID = "00gFIN7y"
NAME = "Slack <script>alert('owned')</script> \"prod\""


def chromium(url: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Chromium headless on `url`, with nothing it does by itself on the network."""
    binary = require_binary("chromium")
    argv = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        *extra,
        url,
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=True)


def dom(url: str, tmp_path: Path) -> str:
    result = chromium(url, tmp_path, "--dump-dom")
    # A policy violation is logged to the console, which --enable-logging sends to stderr.
    assert "Content Security Policy" not in result.stderr, result.stderr
    return result.stdout


def failure(published: float) -> object:
    event = failure_event(NAME, "Finance 'ops'", uuid=f"chromium-{published}")
    event["published"] = datetime.fromtimestamp(published, UTC).isoformat()
    event["outcome"] = {"result": "FAILURE", "reason": "Invalid credentials"}
    event["target"] = [
        {"id": APP_ID, "type": "AppInstance", "displayName": NAME},
        {"id": GROUP_ID, "type": "UserGroup", "displayName": "Finance 'ops'"},
    ]
    return event


def test_status_page_in_chromium_shows_the_failure_and_its_okta_links(tmp_path: Path) -> None:
    require_binary("chromium")
    exporter: Service = start_exporter(
        tmp_path / "exporter", "--okta.org-url=https://acme.okta.com"
    )
    url = f"{exporter.url}/status"
    try:
        empty = dom(url, tmp_path)
        assert "Nothing failing" in empty

        assert post_json(f"{exporter.url}/hooks/okta", envelope(failure(time.time()))) == 204
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
            assert response.headers["Content-Security-Policy"] == CSP
        page = dom(url, tmp_path)
        assert "1 mapping failing now" in page
        assert "Failing, says events" in page
        # The name is text on the page, never markup: no script element came out of it.
        assert "Slack &lt;script&gt;alert('owned')&lt;/script&gt; \"prod\"" in page
        assert "<script" not in page
        assert "1 last hour, 1 last day" in page
        assert "Invalid credentials" in page
        links = [part.split('"', 1)[0] for part in page.split('href="')[1:]]
        log_links = [link for link in links if "system_log_2" in link]
        assert log_links and all(APP_ID in link and GROUP_ID in link for link in log_links)
        assert log_links[0].startswith("https://acme-admin.okta.com/report/system_log_2?search=")

        shot = tmp_path / "status.png"
        chromium(url, tmp_path, f"--screenshot={shot}", "--window-size=390,844")
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        print(f"phone-sized screenshot of /status: {shot}")
    finally:
        exporter.stop()


def test_status_answers_401_without_basic_auth_and_200_with_it(tmp_path: Path) -> None:
    hashed = bcrypt.hashpw(b"on-call", bcrypt.gensalt(rounds=4)).decode()
    web_config = tmp_path / "web.yml"
    web_config.write_text(f"basic_auth_users:\n  ada: '{hashed}'\n")
    token = base64.b64encode(b"ada:on-call").decode()
    headers = {"Authorization": f"Basic {token}"}
    exporter = start_exporter(
        tmp_path / "exporter", f"--web.config.file={web_config}", probe_headers=headers
    )
    try:
        assert http_get(f"{exporter.url}/status")[0] == 401
        status, body = http_get(f"{exporter.url}/status", headers=headers)
        assert status == 200
        assert b"Nothing failing" in body
    finally:
        exporter.stop()
