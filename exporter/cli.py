"""Command line: `serve` (the default) and `check-config`."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace

from aiohttp import web

from exporter import __version__, logs
from exporter.app import make_app
from exporter.config import Config, ConfigError, add_flags, build
from exporter.hooksecret import load_or_generate
from exporter.store.memory import MemoryStore

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
    return root


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
    logs.setup(config.log_level, config.log_format)
    if not config.hook_secrets:
        config = replace(
            config, hook_secrets=load_or_generate(config.storage_path, config.hook_header)
        )
    store = MemoryStore(config.dedup_window)
    app = make_app(config, store)
    log.info(
        "starting",
        extra={"fields": {"version": __version__, "listen": str(config.listen)}},
    )
    web.run_app(
        app,
        host=config.listen.host,
        port=config.listen.port,
        print=None,
        access_log=None,
        handle_signals=True,
    )
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
    return serve(config)
