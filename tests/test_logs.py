"""Log lines: their time stamps, and the per-request fast path that skips the caller."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter import logs


def record_at(created: float) -> logging.LogRecord:
    record = logging.LogRecord("x", logging.INFO, "", 0, "m", (), None)
    record.created = created
    return record


@given(st.integers(0, 253_402_300_799_000), st.integers(0, 999))
def test_time_stamps_read_as_datetime_writes_them(millis: int, micros: int) -> None:
    created = millis / 1000 + micros / 1_000_000
    expected = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
    assert logs._time(record_at(created)) == expected


def test_emit_writes_one_json_line_with_the_fields() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("tests.logs.emit")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logs.emit(logger, logging.DEBUG, "hidden", {"a": 1})  # below the level: nothing
    logs.emit(logger, logging.INFO, "delivery", {"status": 204, "endpoint": "/hooks/okta"})
    (line,) = stream.getvalue().splitlines()
    parsed = orjson.loads(line)
    assert parsed["level"] == "info" and parsed["msg"] == "delivery"
    assert parsed["logger"] == "tests.logs.emit"
    assert parsed["status"] == 204 and parsed["endpoint"] == "/hooks/okta"
    assert datetime.fromisoformat(parsed["ts"]).tzinfo is not None


def test_a_json_line_is_byte_for_byte_what_it_was() -> None:
    """The line orjson, the encoder before msgspec, wrote for these fields."""
    record = record_at(1_764_324_000.25)
    record.fields = {
        "endpoint": "/hooks/okta",
        "status": 400,
        "duration_ms": 1.25,
        "retry_in_s": 0.1,
        "ok": False,
        "delivery_id": None,
        "reason": 'invalid "JSON"\n\t\x01\\ Zo\xeb \u2028 \U0001f600',
        "addresses": ["127.0.0.1:9100", "[::1]:9100"],
        "job": object,  # no JSON type: its str()
    }
    assert logs.JsonFormatter().format(record) == (
        '{"ts":"2025-11-28T10:00:00.250+00:00","level":"info","logger":"x","msg":"m",'
        '"endpoint":"/hooks/okta","status":400,"duration_ms":1.25,"retry_in_s":0.1,'
        '"ok":false,"delivery_id":null,'
        '"reason":"invalid \\"JSON\\"\\n\\t\\u0001\\\\ Zo\xeb \u2028 \U0001f600",'
        '"addresses":["127.0.0.1:9100","[::1]:9100"],"job":"<class \'object\'>"}'
    )


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_both_formats_print_the_same_time_stamp(fmt: str) -> None:
    formatter = logs.JsonFormatter() if fmt == "json" else logs.TextFormatter()
    text = formatter.format(record_at(1_764_324_000.25))
    assert "2025-11-28T10:00:00.250+00:00" in text


@given(st.floats(min_value=0, max_value=253_402_300_798.0))
def test_any_float_time_reads_as_datetime_writes_it(created: float) -> None:
    expected = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
    assert logs._time(record_at(created)) == expected


# --- text lines cannot be forged (issue 15, item 10) ----------------------------------------


def text_line(msg: str, fields: dict[str, object]) -> str:
    record = logging.LogRecord("t", logging.INFO, "", 0, msg, (), None)
    record.fields = fields
    return logs.TextFormatter().format(record)


def test_an_event_id_with_newlines_and_tabs_cannot_forge_a_text_line() -> None:
    forged = "abc\n2026-11-28T10:00:00.000+00:00 info delivery\tstatus=204 outcome=accepted"
    line = text_line("delivery", {"delivery_id": forged, "status": 400})
    assert "\n" not in line and "\t" not in line
    assert '"abc\\n2026-11-28T10:00:00.000+00:00 info delivery\\tstatus=204' in line
    assert line.endswith(" status=400")


@pytest.mark.parametrize("char", ["\r", "\x00", "\x1b", "\x7f", "\x85", "\u2028", "\u202e"])
def test_every_field_escapes_characters_that_are_not_printable(char: str) -> None:
    line = text_line(f"msg{char}", {f"key{char}": f"value{char}", "plain": "ok"})
    assert char not in line
    assert line.count("\\") == 3  # each one escaped
    assert line.endswith(" plain=ok")


@given(st.dictionaries(st.text(max_size=8), st.text(max_size=20), max_size=4), st.text())
def test_a_text_line_is_always_one_line_of_printable_text(
    fields: dict[str, object], msg: str
) -> None:
    line = text_line(msg, fields)
    assert line.isprintable()
