"""`--web.config.file` in the Prometheus exporter-toolkit format: TLS and basic auth.

The format is the one every Prometheus exporter reads (exporter-toolkit
`docs/web-configuration.md`), so operators reuse what they know:

    tls_server_config:
      cert_file: server.crt
      key_file: server.key
      min_version: TLS12              # TLS10 .. TLS13
      client_auth_type: RequireAndVerifyClientCert
      client_ca_file: clients-ca.crt
    basic_auth_users:
      prometheus: $2b$12$...          # bcrypt hash

Parsing is pure (text in, frozen `WebConfig` out, every problem listed); the listeners'
SSL contexts are built from it in web/tls.py.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

TLS_VERSIONS: Final = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
CLIENT_AUTH: Final = {
    "NoClientCert": ssl.CERT_NONE,
    "RequestClientCert": ssl.CERT_OPTIONAL,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAnyClientCert": ssl.CERT_REQUIRED,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
_TLS_KEYS: Final = {
    "cert_file", "key_file", "min_version", "max_version", "client_auth_type", "client_ca_file",
}  # fmt: skip
_TOP_KEYS: Final = {"tls_server_config", "basic_auth_users", "http_server_config"}
_BCRYPT_PREFIXES: Final = ("$2a$", "$2b$", "$2y$")


class WebConfigError(ValueError):
    """The web config file is invalid; `problems` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class TlsConfig:
    cert_file: Path
    key_file: Path
    min_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2
    max_version: ssl.TLSVersion | None = None
    client_auth: ssl.VerifyMode = ssl.CERT_NONE
    client_ca_file: Path | None = None


@dataclass(frozen=True, slots=True)
class WebConfig:
    """What the web config file asks for; the default is plain HTTP without auth."""

    tls: TlsConfig | None = None
    # user -> bcrypt hash; kept out of repr so a hash never lands in a log line.
    users: Mapping[str, bytes] = field(default_factory=dict, repr=False)
    headers: Mapping[str, str] = field(default_factory=dict)


def parse(text: str, base: Path) -> WebConfig:
    """The file's text -> WebConfig; relative file names are relative to `base`."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise WebConfigError([f"not valid YAML: {exc}".replace("\n", " ")]) from None
    if document is None:
        return WebConfig()
    if not isinstance(document, dict):
        raise WebConfigError(["expected a mapping at the top level"])
    problems = [f"unknown key {key!r}" for key in document if key not in _TOP_KEYS]
    tls = _tls(document.get("tls_server_config"), base, problems)
    users = _users(document.get("basic_auth_users"), problems)
    headers = _headers(document.get("http_server_config"), problems)
    if problems:
        raise WebConfigError(problems)
    return WebConfig(tls=tls, users=users, headers=headers)


def load(path: Path) -> WebConfig:
    """Read and parse the file; WebConfigError names the file on failure."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WebConfigError([f"cannot read {path}: {exc.strerror or exc}"]) from None
    return parse(text, path.parent)


def _tls(value: Any, base: Path, problems: list[str]) -> TlsConfig | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        problems.append("tls_server_config: expected a mapping")
        return None
    problems += [f"tls_server_config: unknown key {k!r}" for k in value if k not in _TLS_KEYS]
    files: dict[str, Path | None] = {}
    for key in ("cert_file", "key_file", "client_ca_file"):
        raw = value.get(key)
        if raw is None:
            files[key] = None
        elif isinstance(raw, str) and raw:
            path = base / raw
            files[key] = path
            if not path.is_file():
                problems.append(f"tls_server_config.{key}: {path} is not a readable file")
        else:
            problems.append(f"tls_server_config.{key}: expected a file name")
    if files["cert_file"] is None or files["key_file"] is None:
        problems.append("tls_server_config: cert_file and key_file are both required")
    versions = {}
    for key, default in (("min_version", "TLS12"), ("max_version", None)):
        name = value.get(key, default)
        if name is not None and name not in TLS_VERSIONS:
            problems.append(f"tls_server_config.{key}: expected one of {', '.join(TLS_VERSIONS)}")
        versions[key] = TLS_VERSIONS.get(name) if name else None
    auth_name = value.get("client_auth_type", "NoClientCert")
    if auth_name not in CLIENT_AUTH:
        problems.append(
            f"tls_server_config.client_auth_type: expected one of {', '.join(CLIENT_AUTH)}"
        )
    client_auth = CLIENT_AUTH.get(auth_name, ssl.CERT_NONE)
    if client_auth is not ssl.CERT_NONE and files["client_ca_file"] is None:
        problems.append(f"tls_server_config: client_auth_type {auth_name} needs client_ca_file")
    if problems or files["cert_file"] is None or files["key_file"] is None:
        return None
    return TlsConfig(
        cert_file=files["cert_file"],
        key_file=files["key_file"],
        min_version=versions["min_version"] or ssl.TLSVersion.TLSv1_2,
        max_version=versions["max_version"],
        client_auth=client_auth,
        client_ca_file=files["client_ca_file"],
    )


def _users(value: Any, problems: list[str]) -> dict[str, bytes]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append("basic_auth_users: expected a mapping of user names to bcrypt hashes")
        return {}
    users: dict[str, bytes] = {}
    for user, hashed in value.items():
        if not isinstance(hashed, str) or not hashed.startswith(_BCRYPT_PREFIXES):
            # Name the user, never the value: it may be a password pasted by mistake.
            problems.append(f"basic_auth_users.{user}: expected a bcrypt hash ($2a$, $2b$ or $2y$)")
            continue
        users[str(user)] = hashed.encode()
    return users


def _headers(value: Any, problems: list[str]) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or set(value) - {"headers", "http2"}:
        problems.append("http_server_config: only 'headers' (and 'http2', ignored) are supported")
        return {}
    headers = value.get("headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        problems.append("http_server_config.headers: expected a mapping of header names to text")
        return {}
    return {str(k): v for k, v in headers.items()}
