"""Logging as data: one line per record, JSON for machines or key=value for people.

Callers pass structured fields with `extra={"fields": {...}}`. Secrets are never passed.
"""

from __future__ import annotations

import functools
import logging
import math
import sys
from datetime import UTC, datetime
from typing import Any, Final

import orjson

LEVELS: Final = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = getattr(record, "fields", None)
    return fields if isinstance(fields, dict) else {}


def _time(record: logging.LogRecord) -> str:
    """UTC with milliseconds, e.g. 2026-11-28T10:00:00.123+00:00."""
    # As datetime.fromtimestamp does: microseconds rounded half to even, then cut.
    fraction, whole = math.modf(record.created)
    second, micros = int(whole), round(fraction * 1e6)
    if micros >= 1_000_000:
        second, micros = second + 1, micros - 1_000_000
    return f"{_second(second)}.{micros // 1000:03d}+00:00"


@functools.lru_cache(maxsize=2)
def _second(second: int) -> str:
    # Formatted once per second: a datetime per record cost more than the rest of it.
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def emit(logger: logging.Logger, level: int, msg: str, fields: dict[str, Any]) -> None:
    """`logger.log(level, msg, extra={"fields": fields})`, without looking up the caller.

    For lines logged on every request: neither format prints the caller, and finding it
    walks the stack for every record.
    """
    if logger.isEnabledFor(level):
        extra = {"fields": fields}
        logger.handle(logger.makeRecord(logger.name, level, "", 0, msg, (), None, extra=extra))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _time(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        parts = [_time(record), record.levelname.lower(), record.getMessage()]
        parts += [f"{key}={_quote(value)}" for key, value in _fields(record).items()]
        text = " ".join(parts)
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def _quote(value: object) -> str:
    text = str(value)
    return orjson.dumps(text).decode() if (not text or " " in text or '"' in text) else text


def setup(level: str, fmt: str) -> None:
    """Route the root logger to stderr in the chosen format (auto: text on a terminal)."""
    if fmt == "auto":
        fmt = "text" if sys.stderr.isatty() else "json"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(LEVELS[level])
    # Neither format prints threads or processes: do not look them up for every record.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # aiohttp's access log would duplicate our one line per delivery.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
