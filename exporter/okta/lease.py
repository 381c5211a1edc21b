"""One named lease in the store: only the replica that holds it talks to Okta for that job.

The System Log poller holds `poller`, the mapping reconciler `reconciler`: with shared
state in Redis each job runs in one replica, and the two jobs may run in different ones.
A holder renews its lease once a third of its life has passed (also while it waits) and
gives it up on shutdown, so a standby takes over at once, or within one lease period if
the holder died. A restarted process takes the lease of its own crashed predecessor at
once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import Final

from exporter.store.base import Store, StoreError

log = logging.getLogger(__name__)

LEASE_TTL: Final = 30.0  # a standby takes over at most this long after the holder died


def process_id() -> str:
    """This process as a lease owner: host, pid, and a random part for pid reuse."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def gone(holder: str, me: str, alive: Callable[[int], bool] = _alive) -> bool:
    """True when the lease holder was a process on this host that no longer runs.

    Such as this exporter before a crash and restart: no need to wait out its lease. A
    holder with this very pid is an earlier run of this process slot (a restarted
    container's pid 1); a holder on another host is never judged.
    """
    holder_host, holder_pid = _host_pid(holder)
    my_host, my_pid = _host_pid(me)
    if holder_host != my_host or not holder_pid.isdigit() or holder == me:
        return False
    return holder_pid == my_pid or not alive(int(holder_pid))


def _host_pid(owner: str) -> tuple[str, str]:
    host, _, rest = owner.partition(":")
    return host, rest.partition(":")[0]


class Lease:
    """The lease `name` for `owner`: take, renew, wait while holding, release."""

    def __init__(self, store: Store, name: str, owner: str, ttl: float = LEASE_TTL) -> None:
        self.name = name
        self.owner = owner
        self.ttl = ttl
        self.held = False
        self._store = store
        self._renewed = float("-inf")

    async def hold(self, now: float) -> bool:
        """Take or renew the lease (renewed once a third of its life has passed).

        Raises StoreError when the store cannot say.
        """
        if self.held and now - self._renewed < self.ttl / 3:
            return True
        held = await self._store.acquire_lease(self.name, self.owner, self.ttl, now)
        if not held:
            holder = await self._store.lease_holder(self.name, now)
            if holder is not None and gone(holder, self.owner):
                held = await self._store.acquire_lease(
                    self.name, self.owner, self.ttl, now, replacing=holder
                )
                log.info(f"took the {self.name} lease over from a process that is gone",
                         extra={"fields": {"holder": holder}})  # fmt: skip
        self.held = held
        self._renewed = now if held else float("-inf")
        return held

    async def wait(
        self,
        delay: float,
        sleep: Callable[[float], Awaitable[None]],
        clock: Callable[[], float],
    ) -> None:
        """Sleep `delay` seconds, renewing the lease on the way if it is held.

        Returns early when the lease is lost or the store fails (the next `hold` says so).
        """
        remaining = delay
        while remaining > 0:
            chunk = min(remaining, self.ttl / 3) if self.held else remaining
            await sleep(chunk)
            remaining -= chunk
            if remaining > 0 and self.held:
                try:
                    if not await self.hold(clock()):
                        return
                except StoreError:
                    return

    async def release(self) -> None:
        """Give the lease up now, if held, so a standby need not wait it out."""
        if self.held:
            with contextlib.suppress(StoreError):
                await self._store.release_lease(self.name, self.owner)
            self.held = False
            self._renewed = float("-inf")
