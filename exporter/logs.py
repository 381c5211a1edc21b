"""Logging as data: one line per record, JSON for machines or key=value for people.

Callers pass structured fields with `extra={"fields": {...}}`. Secrets are never passed.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import sys
from datetime import UTC, datetime
from typing import Any, Final

import msgspec

LEVELS: Final = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}


# Fields are str, int, float, bool, None and lists of them, which msgspec writes byte for
# byte as orjson did before it (strings checked for every code point), except floats of
# 1e16 and more: 1e16 where orjson wrote 1e+16. Other types would differ (no field holds
# them): str() stands in only for what msgspec cannot write, and it writes bytes as base64,
# sets as arrays, timedeltas as PT1S and UTC datetimes with Z, where orjson called str()
# on the first three and wrote +00:00. Integers past 64 bits and dicts with keys not str,
# which orjson refused (the line was lost), are written.
_ENCODER: Final = msgspec.json.Encoder(enc_hook=str)


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
        return _ENCODER.encode(line).decode()


class TextFormatter(logging.Formatter):
    """`time level message key=value ...`, one line per record whatever the values hold.

    Field values come from requests (a delivery id, an error text): a newline, tab or any
    other character that is not printable is escaped, so no value can start a forged line
    or hide text on a terminal.
    """

    def format(self, record: logging.LogRecord) -> str:
        parts = [_time(record), record.levelname.lower(), _escape(record.getMessage())]
        parts += [f"{_quote(key)}={_quote(value)}" for key, value in _fields(record).items()]
        text = " ".join(parts)
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def _quote(value: object) -> str:
    """The value as is when it is one plain word, else quoted with JSON's escapes."""
    text = str(value)
    if text and text.isprintable() and not _BREAKS_WORD.search(text):
        return text
    return _escape(_ENCODER.encode(text).decode())


_BREAKS_WORD: Final = re.compile(r'[ "=\\]')


def _escape(text: str) -> str:
    """Characters that are not printable (controls, line separators, ...) as \\uXXXX."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _code(char) for char in text)


def _code(char: str) -> str:
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


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
