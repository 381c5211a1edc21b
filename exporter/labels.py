"""Label values that can never break a scrape. Pure.

Okta payloads are controlled by whoever holds a hook secret (or by a noisy org), so every
value is made valid UTF-8, stripped of control characters and cut to a bounded length
before it becomes part of a series.
"""

from __future__ import annotations

import re
from typing import Final

DEFAULT_MAX_LENGTH: Final = 128
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean(value: str, max_length: int = DEFAULT_MAX_LENGTH) -> str:
    """`value` as a safe label value: valid UTF-8, no control characters, bounded length."""
    if not value.isascii():
        # A lone surrogate cannot be encoded as UTF-8 and would fail the whole scrape.
        value = value.encode("utf-8", "replace").decode("utf-8")
    value = _CONTROL.sub("", value).strip()
    return value[:max_length]
