"""The gate between batches in flight and series expiry (see `Gate`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class Gate:
    """Shared by any number of holders, or held by one alone.

    Batches share it from planning to commit; series expiry holds it alone, so a series
    is never dropped from the store while a commit that counts it is in flight.
    """

    def __init__(self) -> None:
        self._holders = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._open = asyncio.Event()
        self._open.set()

    def shared(self) -> _Shared:
        """Hold the gate alongside any other sharer (`async with gate.shared():`)."""
        return _Shared(self)

    async def _enter_shared(self) -> None:
        while not self._open.is_set():
            await self._open.wait()
        self._holders += 1
        self._idle.clear()

    def _leave_shared(self) -> None:
        self._holders -= 1
        if not self._holders:
            self._idle.set()

    @contextlib.asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        while not self._open.is_set():
            await self._open.wait()
        self._open.clear()  # new batches wait from now on: the exclusive holder never starves
        try:
            await self._idle.wait()
            yield
        finally:
            self._open.set()


class _Shared:
    """`Gate.shared()`: a class, not a generator, as it is entered once per delivery."""

    __slots__ = ("_gate",)

    def __init__(self, gate: Gate) -> None:
        self._gate = gate

    async def __aenter__(self) -> None:
        await self._gate._enter_shared()

    async def __aexit__(self, *exc_info: object) -> None:
        self._gate._leave_shared()
