"""HTTP basic auth against bcrypt hashes, without stalling the event loop.

The habits of the exporter-toolkit's handler (research/reliability.md section 4): bcrypt
runs on a worker thread, one at a time; verdicts are cached by a hash of the credentials,
so a scrape every 15 s costs one bcrypt per restart, not one per scrape; an unknown user is
checked against a fixed dummy hash, so timing does not tell which users exist.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import secrets
from collections import OrderedDict
from collections.abc import Mapping
from typing import Final

import bcrypt

CACHE_SIZE: Final = 100
# A valid hash of a random password, computed once: the cost of a check for a user that
# does not exist equals that of one that does.
_DUMMY_HASH: Final = bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt(rounds=10))


def parse_header(value: str | None) -> tuple[str, str] | None:
    """`Authorization: Basic base64(user:password)` -> (user, password), else None."""
    if not value:
        return None
    scheme, _, encoded = value.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


class BasicAuth:
    """Checks credentials against `users` (user -> bcrypt hash)."""

    def __init__(self, users: Mapping[str, bytes]) -> None:
        self._users = dict(users)
        self._key = secrets.token_bytes(32)  # keys the cache: no password kept in memory
        self._cache: OrderedDict[bytes, bool] = OrderedDict()
        self._lock = asyncio.Lock()

    @property
    def enabled(self) -> bool:
        return bool(self._users)

    def replace(self, users: Mapping[str, bytes]) -> None:
        """New users (a SIGHUP reload): forget every cached verdict."""
        self._users = dict(users)
        self._cache.clear()

    async def check(self, header: str | None) -> bool:
        """True when the header carries valid credentials of a configured user."""
        credentials = parse_header(header)
        if credentials is None:
            return False
        user, password = credentials
        digest = hmac.new(self._key, f"{user}\0{password}".encode(), hashlib.sha256).digest()
        cached = self._cache.get(digest)
        if cached is not None:
            self._cache.move_to_end(digest)
            return cached
        hashed = self._users.get(user)
        async with self._lock:  # one bcrypt at a time: a flood of guesses queues, not fans out
            verdict = await asyncio.to_thread(
                bcrypt.checkpw, password.encode(), hashed if hashed is not None else _DUMMY_HASH
            )
        verdict = verdict and hashed is not None
        self._cache[digest] = verdict
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return verdict
