"""Command line: `serve` (the default), `check-config`, and `state` for operators."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import ssl
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from exporter import __version__, logs
from exporter.config import (
    Config,
    ConfigError,
    ListenAddress,
    add_flags,
    build,
    parse_since,
    webfile,
)
from exporter.counting.ledger import load_hash_key
from exporter.ingest.events import Entity
from exporter.ingest.labels import LabelPolicy
from exporter.okta.backfill import backfill_command, replay_command
from exporter.store import make_store
from exporter.store.base import Store, StoreError, encode_series
from exporter.store.hooksecret import META_KEY
from exporter.web import server
from exporter.web.access import Access
from exporter.web.app import make_app
from exporter.web.basicauth import BasicAuth
from exporter.web.tls import ServerTls

log = logging.getLogger("exporter")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="okta-group-push-exporter",
        description="Prometheus exporter for Okta Group Push failures.",
    )
    root.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = root.add_subparsers(dest="command", metavar="COMMAND")
    add_flags(commands.add_parser("serve", help="Run the exporter (the default command)."))
    add_flags(commands.add_parser("check-config", help="Validate the configuration and exit."))
    add_flags(
        commands.add_parser(
            "healthcheck", help="Exit 0 when the local exporter answers /-/healthy (for Docker)."
        )
    )
    state = commands.add_parser("state", help="Inspect or maintain the stored state.")
    actions = state.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, text in STATE_ACTIONS.items():
        add_flags(actions.add_parser(name, help=text[0]))
    actions.choices["hash-actor"].add_argument(
        "identity", nargs="+", help="Okta user ids (the actor's id, 00u...)"
    )
    _add_import_commands(commands)
    return root


# --- `backfill` and `replay` ----------------------------------------------------------------

DRY_RUN_HELP = (
    "Print the failures per application and group, and how many are not counted yet; write nothing."
)


def _add_import_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    backfill = commands.add_parser(
        "backfill",
        help="Read a past time range of the Okta System Log into the state.",
        description="Read the System Log's events published in [--since, --until) into the "
        "state (same storage and --okta.* flags as serve). What is already counted, by any "
        "path, counts once.",
    )
    add_flags(backfill)
    backfill.add_argument(
        "--since",
        required=True,
        metavar="WHEN",
        help="Start: a duration before now (7d) or a time (2026-11-01T00:00:00Z).",
    )
    backfill.add_argument(
        "--until",
        metavar="WHEN",
        help="End, exclusive: a duration before now or a time. Default: now.",
    )
    backfill.add_argument("--dry-run", action="store_true", help=DRY_RUN_HELP)
    replay = commands.add_parser(
        "replay",
        help="Count exported LogEvents (NDJSON, JSON array, hook deliveries) into the state.",
        description="Read LogEvents from files: a JSON array (a System Log API answer), "
        "NDJSON (one event or hook delivery per line), or event hook deliveries; gzip is "
        "read as well. What is already counted, by any path, counts once.",
    )
    add_flags(replay)
    replay.add_argument("files", nargs="+", type=Path, metavar="FILE", help="Files to read.")
    replay.add_argument("--dry-run", action="store_true", help=DRY_RUN_HELP)


def _backfill(args: argparse.Namespace, config: Config) -> int:
    problems: list[str] = []
    since = until = None
    for flag, text in (("--since", args.since), ("--until", args.until)):
        if text is None:
            continue
        try:
            parsed = parse_since(text)
        except ValueError as exc:
            problems.append(f"{flag}: {exc} (got {text!r})")
            continue
        since, until = (parsed, until) if flag == "--since" else (since, parsed)
    if config.okta.org_url is None:
        problems.append("--okta.org-url: backfill reads the System Log of this org; set it")
    elif not config.okta.has_credentials:
        problems.append(
            "--okta.api-token-file or --okta.client-id: backfill reads the System Log; "
            "give credentials"
        )
    if problems or since is None:
        print("okta-group-push-exporter: invalid backfill:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    logs.setup(config.log.level, config.log.format)
    return asyncio.run(backfill_command(config, since, until, dry_run=args.dry_run))


def _replay(args: argparse.Namespace, config: Config) -> int:
    logs.setup(config.log.level, config.log.format)
    return asyncio.run(replay_command(config, args.files, dry_run=args.dry_run))


def _split_default(argv: Sequence[str]) -> list[str]:
    """No subcommand means `serve`: `okta-group-push-exporter --log.level debug` works too."""
    args = list(argv)
    if not args or (args[0].startswith("-") and args[0] not in ("-h", "--help", "--version")):
        return ["serve", *args]
    return args


def load_config(args: argparse.Namespace, environ: Mapping[str, str]) -> Config | None:
    try:
        return build(args, environ)
    except ConfigError as exc:
        print("okta-group-push-exporter: invalid configuration:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return None


def serve(config: Config) -> int:
    logs.setup(config.log.level, config.log.format)
    try:
        tls = ServerTls(config.web.toolkit.tls) if config.web.toolkit.tls else None
    except (OSError, ssl.SSLError) as exc:
        print(f"okta-group-push-exporter: --web.config.file: TLS: {exc}", file=sys.stderr)
        return 1
    listeners = 2 if config.web.okta_listen else 1
    max_connections = config.web.max_connections or server.default_max_connections(listeners)
    guards = [
        server.ConnectionGuard(max_connections, config.web.read_timeout) for _ in range(listeners)
    ]
    access = Access(BasicAuth(config.web.toolkit.users), config.web.toolkit.headers, guards)
    app = make_app(config, make_store(config), access=access)

    def reload() -> None:
        """SIGHUP: re-read the web config file; a broken file keeps the previous one."""
        if config.web.config_file is None:
            return
        try:
            fresh = webfile.load(config.web.config_file)
            if tls is not None and fresh.tls is not None:
                previous = tls.tls.client_auth
                tls.reload(fresh.tls)
                if fresh.tls.client_auth != previous:
                    log.warning("changing client_auth_type takes a restart; the rest was reloaded")
        except (webfile.WebConfigError, OSError, ssl.SSLError) as exc:
            log.error("web config not reloaded, keeping the previous one",
                      extra={"fields": {"error": str(exc)}})  # fmt: skip
            return
        if (tls is None) != (fresh.tls is None):
            log.warning("turning TLS on or off takes a restart; the rest was reloaded")
        access.basic_auth.replace(fresh.users)
        access.headers = fresh.headers
        log.info("web config reloaded", extra={"fields": {"users": len(fresh.users)}})

    log.info(
        "starting",
        extra={
            "fields": {
                "version": __version__,
                "listen": str(config.web.listen),
                "okta_listen": str(config.web.okta_listen or config.web.listen),
                "tls": tls is not None,
                "basic_auth": access.basic_auth.enabled,
                "storage": config.storage.backend,
            }
        },
    )
    asyncio.run(server.serve(config, app, guards, tls.listener if tls else None, reload))
    return 0


def healthcheck(config: Config) -> int:
    """GET /-/healthy on the local listener: any answer of the process (200, or 401 behind
    basic auth) means it is alive."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(  # noqa: S104
        config.web.listen.host, config.web.listen.host
    )
    scheme = "https" if config.web.toolkit.tls else "http"
    url = f"{scheme}://{ListenAddress(host, config.web.listen.port)}/-/healthy"
    context = None
    if config.web.toolkit.tls:
        context = ssl.create_default_context()
        context.check_hostname = False  # loopback, our own certificate
        context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=5, context=context) as response:  # noqa: S310
            status: int = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    return 0 if status in (200, 401) else 1


# --- `state` ------------------------------------------------------------------------------


def _when(epoch: float | None) -> str:
    return (
        "-" if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")
    )


async def _summary(store: Store, config: Config, args: argparse.Namespace) -> None:
    summary = await store.summary()
    size = "-" if summary.size_bytes is None else f"{summary.size_bytes} bytes"
    print(f"backend:        {summary.backend} ({summary.location})")
    print(f"series:         {summary.series}")
    print(f"dedup entries:  {summary.dedup_entries} (window {config.storage.dedup_window:g} s)")
    print(f"oldest entry:   {_when(summary.oldest_entry)}")
    print(f"size:           {size}")


async def _export(store: Store, config: Config, args: argparse.Namespace) -> None:
    values = await store.values()
    document = {
        "exported_at": _when(time.time()),
        "series": [
            {
                "metric": name,
                "labels": list(labels),
                "key": encode_series(name, labels),
                "value": value,
            }
            for name, series in sorted(values.items())
            for labels, value in sorted(series.items())
        ],
    }
    # As orjson's OPT_INDENT_2 wrote it, but for values of 1e16 and more (1e16, not 1e+16).
    text = msgspec.json.format(msgspec.json.encode(document), indent=2)
    sys.stdout.write(text.decode() + "\n")


async def _prune(store: Store, config: Config, args: argparse.Namespace) -> None:
    removed = await store.prune(time.time(), config.storage.dedup_window)
    print(f"removed {removed} dedup entries older than {config.storage.dedup_window:g} s")


async def _hook_secret(store: Store, config: Config, args: argparse.Namespace) -> None:
    secret = await store.get_meta(META_KEY)
    if secret is None:
        raise StoreError("no generated hook secret is stored (serve generates one on first start)")
    print(secret)


async def _hash_actor(store: Store, config: Config, args: argparse.Namespace) -> None:
    """What `--labels.actor hash` shows for each Okta user id (or login) given."""
    policy = LabelPolicy(
        actor="hash", max_length=config.labels.max_length, hash_key=await load_hash_key(store)
    )
    for identity in args.identity:
        print(f"{identity}\t{policy.actor_value(Entity(id=identity))}")


Action = Callable[[Store, Config, argparse.Namespace], Awaitable[None]]
STATE_ACTIONS: dict[str, tuple[str, Action]] = {
    "summary": ("Series, dedup entries, oldest entry and size.", _summary),
    "export": ("All counter and gauge values as JSON.", _export),
    "prune": ("Forget dedup entries older than --storage.dedup-window now.", _prune),
    "hook-secret": ("Print the generated event hook secret (to set it in Okta).", _hook_secret),
    "hash-actor": (
        "Print the actor label --labels.actor=hash gives each Okta user id (to find a person).",
        _hash_actor,
    ),
}


async def _state(args: argparse.Namespace, config: Config) -> int:
    store = make_store(config)
    try:
        await store.open()
        await STATE_ACTIONS[args.action][1](store, config, args)
    except StoreError as exc:
        print(f"okta-group-push-exporter: {exc}", file=sys.stderr)
        return 1
    finally:
        await store.close()
    return 0


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = parser().parse_args(_split_default(sys.argv[1:] if argv is None else argv))
    config = load_config(args, os.environ if environ is None else environ)
    if config is None:
        return 1
    if args.command == "check-config":
        for flag, value in config.describe().items():
            print(f"{flag} = {value}")
        print("configuration OK")
        return 0
    if args.command == "healthcheck":
        return healthcheck(config)
    if args.command == "state":
        return asyncio.run(_state(args, config))
    if args.command == "backfill":
        return _backfill(args, config)
    if args.command == "replay":
        return _replay(args, config)
    return serve(config)
