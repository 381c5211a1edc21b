"""Progress bars for `backfill` and `replay`: tqdm's when the `progress` extra is installed.

Only these two commands draw bars, so `serve` never needs tqdm; without it a `NoBar` counts
silently and a terminal user is told which extra draws one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, Final, Protocol, TextIO


class Progress(Protocol):
    """What backfill and replay tell a progress bar (tqdm's, or none)."""

    n: float

    def __enter__(self) -> Progress: ...
    def __exit__(self, *exc_info: object) -> object: ...
    def refresh(self) -> object: ...
    def update(self, n: float = 1) -> object: ...
    def set_postfix_str(self, s: str = "", refresh: bool = True) -> object: ...


BarFactory = Callable[[float, str], Progress]
BAR_FORMAT: Final = "{desc}: {percentage:3.0f}%|{bar}| {postfix}"


class NoBar:
    """Progress without a bar: tqdm (the optional `progress` extra) is not installed."""

    n: float = 0.0

    def __enter__(self) -> NoBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def refresh(self) -> None:
        return None

    def update(self, n: float = 1) -> None:
        self.n += n

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        return None


def _tqdm() -> Any:
    """tqdm's bar class, or None when the optional `progress` extra is not installed.

    Only backfill and replay draw bars, so serve does not need tqdm.
    """
    try:
        from tqdm import tqdm  # noqa: PLC0415 - optional
    except ImportError:
        return None
    return tqdm


def terminal_bar(total: float, description: str) -> Progress:
    """A bar on stderr when it is a terminal; silent otherwise (logs, CI, or no tqdm)."""
    bar = _tqdm()
    if bar is None:
        if sys.stderr.isatty():
            print(f"{description}: install okta-group-push-exporter[progress] for a progress bar",
                  file=sys.stderr)  # fmt: skip
        return NoBar()
    progress: Progress = bar(total=total, desc=description, file=sys.stderr, disable=None,
                             bar_format=BAR_FORMAT, dynamic_ncols=True)  # fmt: skip
    return progress


def bar_to(stream: TextIO) -> BarFactory:
    """A factory of always-shown bars on `stream` (for tests and `--progress`); needs tqdm."""
    bar = _tqdm()
    if bar is None:
        raise RuntimeError("progress bars need the `progress` extra (tqdm)")

    def factory(total: float, description: str) -> Progress:
        progress: Progress = bar(total=total, desc=description, file=stream, disable=False,
                                 bar_format=BAR_FORMAT, ncols=80, mininterval=0)  # fmt: skip
        return progress

    return factory
