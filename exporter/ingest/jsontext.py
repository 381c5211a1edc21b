"""JSON text to Python values, leniently, with a guard on nesting depth. Pure.

The lenient decoder serves the hook bodies the fast decoder (ingest/hookbody.py) does not
fit and the Workflows bodies, which any holder of the hook secret can send; its `DECODER`
also reads a card's `Event Details` text (ingest/workflows.py).
"""

from __future__ import annotations

import re
from typing import Any, Final

import msgspec

from exporter.ingest.events import PayloadError

MAX_DEPTH: Final = 32  # Okta's LogEvents nest about 6 deep
# The depth scan reads each byte once: outside strings it searches for the next quote or
# bracket; at a quote it matches the string's content from there, possessively (no
# backtracking), and goes on after it. A regex that matches whole strings and is retried
# from every quote re-reads the rest of an unterminated string from each one: quadratic
# (issue 15: 20 KB took 1.7 s).
_STRUCTURE: Final = re.compile(rb'["\[\]{}]')
_STRING_CONTENT: Final = re.compile(rb'(?:[^"\\]++|\\.)*+', re.DOTALL)


def json_depth(body: bytes) -> int:
    """How deeply the JSON text nests arrays and objects (brackets inside strings ignored).

    Checked before decoding: the decoder accepts as many levels as Python's recursion
    limit leaves it, deep enough that repr, logging or re-serialising the result would hit
    that limit (reliability.md s3).
    Linear in the body's length, whatever it holds (an unterminated string ends the scan:
    the decoder refuses the text anyway).
    """
    depth = deepest = position = 0
    while (found := _STRUCTURE.search(body, position)) is not None:
        char = body[found.start()]
        position = found.end()
        if char == 0x22:  # "
            content = _STRING_CONTENT.match(body, position)  # matches, if only ""
            position = (content.end() if content else position) + 1
        elif char in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


# The lenient decoder (untyped: dicts, lists, str, int, float, bool, None), as msgspec
# decodes. Checked against orjson, which this replaced: the same values for every valid
# document but one kind, and a refusal for every invalid one (invalid UTF-8 anywhere, a
# lone surrogate escape, control characters in strings, NaN, comments, trailing commas or
# content, a BOM, an empty body); a duplicate key keeps its last value in both. Integers
# outside 64 bits are that one kind: msgspec decodes them exactly (up to 4300 digits, then
# refuses), orjson made them floats and refused those past float's range. Only the reason
# after "invalid JSON: " is worded differently.
DECODER: Final = msgspec.json.Decoder()
# What decoding a text that is not JSON this exporter can read raises: msgspec's own error,
# and RecursionError for a text nested past what Python's recursion limit leaves msgspec
# (orjson, before it, refused past 1024 levels). `loads` checks the depth first; a decoder
# of Okta's API answers or of export files catches both.
NOT_JSON: Final = (msgspec.DecodeError, RecursionError)


def loads(body: bytes | str) -> Any:
    """JSON text -> Python value; PayloadError with a one-line reason when it is not JSON."""
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    if data.count(b"[") + data.count(b"{") > MAX_DEPTH and json_depth(data) > MAX_DEPTH:
        raise PayloadError(f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        return DECODER.decode(data)
    except msgspec.DecodeError as exc:
        raise PayloadError(f"invalid JSON: {exc}") from None
