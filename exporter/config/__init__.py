"""Flags and environment variables, parsed once into a frozen, validated `Config`.

Each option is a row of `options.OPTIONS`: the flag, its environment variable, its
default, the section and field it sets, and a converter (`parse`) that turns text into a
value or says what is wrong. A flag wins over its environment variable, which wins over
the default. Every problem is collected, so a person fixes them all in one go (STYLE 6).
`sections` holds the dataclasses.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, get_args

from exporter.config import webfile
from exporter.config.options import (
    API_TOKEN_ENV,
    ENV_PREFIX,
    HOOK_SECRET_ENV,
    LABEL_OPTIONS,
    MIN_SERIES,
    OPTIONS,
    Option,
    Section,
)
from exporter.config.parse import (
    ADMIN_SUFFIX,
    HOOK_PATHS,
    MASK,
    MAX_SINCE,
    OKTA_DOMAINS,
    RESERVED_PATHS,
    ListenAddress,
    PollSince,
    is_loopback,
    mask_url,
    parse_duration,
    parse_listen_address,
    parse_since,
    parse_size,
    split_commas,
    split_lines,
)
from exporter.config.sections import (
    Config,
    LabelsSection,
    LogSection,
    OktaSection,
    StorageSection,
    WebSection,
)
from exporter.ingest.labels import LabelPolicy

__all__ = [
    "ADMIN_SUFFIX",
    "API_TOKEN_ENV",
    "ENV_PREFIX",
    "HOOK_PATHS",
    "HOOK_SECRET_ENV",
    "LABEL_OPTIONS",
    "MASK",
    "MAX_SINCE",
    "MIN_SERIES",
    "OKTA_DOMAINS",
    "OPTIONS",
    "RESERVED_PATHS",
    "Config",
    "ConfigError",
    "LabelsSection",
    "ListenAddress",
    "LogSection",
    "OktaSection",
    "Option",
    "PollSince",
    "StorageSection",
    "WebSection",
    "add_flags",
    "build",
    "label_policy",
    "mask_url",
    "parse_duration",
    "parse_listen_address",
    "parse_since",
    "parse_size",
]

# Okta's header secret is the only authentication on the hook endpoints, which face the
# internet: a short one can be guessed. The generated secret has 43 characters.
MIN_HOOK_SECRET_LENGTH: Final = 16


class ConfigError(Exception):
    """One or more options are invalid; `problems` lists each, naming flag and value."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


def add_flags(parser: argparse.ArgumentParser) -> None:
    """Declare every flag on an argparse (sub)parser, with its env variable in the help."""
    defaults = Config()
    for option in OPTIONS:
        shown = defaults.show(option)
        parser.add_argument(
            option.flag,
            dest=option.dest,
            metavar="VALUE",
            default=None,
            help=f"{option.help} Env: {option.env}." + (f" Default: {shown}." if shown else ""),
        )


def build(args: argparse.Namespace, environ: Mapping[str, str]) -> Config:
    """Merge flags, environment and defaults into a Config; ConfigError lists all problems."""
    problems: list[str] = []
    values: dict[Section, dict[str, Any]] = {section: {} for section in get_args(Section)}
    for option in OPTIONS:
        text = getattr(args, option.dest, None)
        origin = option.flag
        if text is None and option.env in environ:
            text, origin = environ[option.env], option.env
        if text is None:
            continue
        try:
            value = option.parse(text)
        except ValueError as exc:
            got = "value not shown: it may hold a password" if option.secret else f"got {text!r}"
            problems.append(f"{origin}: {exc} ({got})")
            continue
        fields = values[option.section]
        if option.key is None:
            fields[option.field] = value
        else:
            fields[option.field] = {**fields.get(option.field, {}), option.key: value}

    _check_web(values["web"], environ, problems)
    _check_storage(values["storage"], problems)
    _check_okta(values["okta"], environ, problems)

    if problems:
        raise ConfigError(problems)
    sections: dict[Section, dict[str, Any]] = {
        section: {k: MappingProxyType(v) if isinstance(v, dict) else v for k, v in given.items()}
        for section, given in values.items()
    }
    return Config(
        web=WebSection(**sections["web"]),
        storage=StorageSection(**sections["storage"]),
        okta=OktaSection(**sections["okta"]),
        labels=LabelsSection(**sections["labels"]),
        log=LogSection(**sections["log"]),
    )


def _check_web(web: dict[str, Any], environ: Mapping[str, str], problems: list[str]) -> None:
    """Read the hook secrets and the web config file; the two listeners must differ."""
    secrets = _secrets_from(
        web.get("hook_secret_file"),
        environ.get(HOOK_SECRET_ENV),
        ("--okta.hook-secret-file", HOOK_SECRET_ENV, "secret"),
        problems,
    )
    if secrets is not None:
        web["hook_secrets"] = secrets
        _check_secret_length(secrets, web.get("hook_secret_file"), problems)
    web_file = web.get("config_file")
    if web_file is not None:
        try:
            web["toolkit"] = webfile.load(web_file)
        except webfile.WebConfigError as exc:
            problems += [f"--web.config.file: {problem}" for problem in exc.problems]
    okta_listen = web.get("okta_listen")
    if okta_listen is not None and okta_listen == web.get("listen", WebSection().listen):
        problems.append("--okta.listen-address: must differ from --web.listen-address")


def _check_storage(storage: dict[str, Any], problems: list[str]) -> None:
    """Resolve `--storage.backend auto`; the backend must have what it needs."""
    backend = storage.get("backend", "auto")
    if backend == "auto":
        backend = "redis" if storage.get("redis_url") else "sqlite"
    storage["backend"] = backend
    if backend == "redis" and not storage.get("redis_url"):
        problems.append("--storage.backend: redis needs --storage.redis-url")
    path = storage.get("path", StorageSection().path)
    problem = _storage_problem(path) if backend == "sqlite" else None
    if problem:
        problems.append(f"--storage.path: {problem}")


def _secrets_from(
    file: Path | None,
    env_text: str | None,
    names: tuple[str, str, str],
    problems: list[str],
) -> tuple[str, ...] | None:
    """Secrets from a file (one per line) or an environment variable (comma-separated).

    `names` are the flag, the variable and what a secret is called in messages. None when
    neither is set; setting both, or either with no secret in it, is a problem.
    """
    flag, env, noun = names
    if file is not None and env_text:
        problems.append(f"{flag} and {env}: set only one of them")
        return None
    if file is not None:
        try:
            text = Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{flag}: cannot read {file}: {_reason(exc)}")
            return None
        found = split_lines(text)
        if not found:
            problems.append(f"{flag}: {file} holds no {noun}")
        return found
    if env_text is not None:
        found = split_commas(env_text)
        if not found:
            problems.append(f"{env}: is set but holds no {noun}")
        return found
    return None


def _check_secret_length(secrets: tuple[str, ...], file: Path | None, problems: list[str]) -> None:
    short = [len(secret) for secret in secrets if len(secret) < MIN_HOOK_SECRET_LENGTH]
    if short:
        where = "--okta.hook-secret-file" if file is not None else HOOK_SECRET_ENV
        problems.append(
            f"{where}: a hook secret has {min(short)} characters, fewer than "
            f"{MIN_HOOK_SECRET_LENGTH}; Okta's header secret is the hook's only "
            "authentication (generate one with: openssl rand -hex 32)"
        )


def _reason(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


def _storage_problem(path: Path) -> str | None:
    """Why the storage directory cannot be used, or None when it can (or can be created)."""
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            return f"{path} cannot be created"
        probe = probe.parent
    if not probe.is_dir():
        return f"{probe} is not a directory"
    # Not writable is a storage fault, not a configuration error: serve starts unready
    # and answers 503 until the volume is writable (a read-only mount, say).
    return None


def _check_okta(okta: dict[str, Any], environ: Mapping[str, str], problems: list[str]) -> None:
    """Read the Okta credentials and check that they fit together and with the org URL."""
    tokens = _secrets_from(
        okta.get("api_token_file"),
        environ.get(API_TOKEN_ENV),
        ("--okta.api-token-file", API_TOKEN_ENV, "token"),
        problems,
    )
    if tokens is not None:
        if len(tokens) > 1:
            problems.append("--okta.api-token-file: holds more than one token")
        okta["api_token"] = tokens[0] if tokens else ""

    key_file = okta.get("private_key_file")
    if key_file is not None:
        from exporter.config.privatekey import load_private_key  # noqa: PLC0415 - only with OAuth

        try:
            pem = Path(key_file).read_bytes()
            load_private_key(pem)
        except OSError as exc:
            problems.append(f"--okta.private-key-file: cannot read {key_file}: {_reason(exc)}")
        except ValueError as exc:
            problems.append(f"--okta.private-key-file: {key_file}: {exc}")
        else:
            okta["private_key"] = pem

    has_token = "api_token" in okta
    has_oauth = "client_id" in okta or key_file is not None
    org = okta.get("org_url")
    if org is None:
        if has_token or has_oauth:
            problems.append("--okta.org-url: is needed by the Okta credentials that are set")
        return
    if org.startswith("http://") and not (is_loopback(org) or okta.get("allow_http")):
        problems.append(
            f"--okta.org-url: must be https:// ({org} would send credentials in clear text; "
            "http is allowed for loopback addresses, or with --okta.allow-http)"
        )
    if has_token and has_oauth:
        problems.append(
            "--okta.org-url: give an API token or an OAuth client (--okta.client-id), not both"
        )
    elif has_oauth and ("client_id" not in okta or key_file is None):
        problems.append("--okta.client-id and --okta.private-key-file: set both for OAuth")


def label_policy(config: Config) -> LabelPolicy:
    """The policy the `--labels.*` flags describe (the hash key comes from the store)."""
    labels = config.labels
    return LabelPolicy(
        application=labels.application,
        group=labels.group,
        actor=labels.actor,
        max_length=labels.max_length,
        filters=labels.filters,
    )
