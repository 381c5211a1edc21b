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
import functools
import hashlib
import hmac
import secrets
from collections import OrderedDict
from collections.abc import Mapping
from typing import Final

import bcrypt

CACHE_SIZE: Final = 100
# bcrypt reads at most 72 bytes of a password, and bcrypt 5 raises on a longer one; Go's
# bcrypt, behind exporter-toolkit, refuses it (ErrPasswordTooLong): a wrong password.
MAX_PASSWORD_BYTES: Final = 72
DEFAULT_COST: Final = 10


def cost_of(hashed: bytes) -> int:
    """The cost factor of a `$2b$12$...` hash (DEFAULT_COST when it cannot be read)."""
    field = hashed[4:6]
    return int(field) if field.isdigit() else DEFAULT_COST


@functools.cache
def dummy_hash(cost: int) -> bytes:
    """A valid hash of a random password at `cost`, computed once per cost: checking a user
    that does not exist costs what checking one that does costs."""
    return bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt(rounds=cost))


def _verify(password: bytes, hashed: bytes) -> bool:
    """bcrypt's verdict; a password over 72 bytes is checked (for equal timing) and refused."""
    too_long = len(password) > MAX_PASSWORD_BYTES
    return bcrypt.checkpw(password[:MAX_PASSWORD_BYTES], hashed) and not too_long


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
        self._cost = max(map(cost_of, self._users.values()), default=DEFAULT_COST)
        self._key = secrets.token_bytes(32)  # keys the cache: no password kept in memory
        self._cache: OrderedDict[bytes, bool] = OrderedDict()
        self._lock = asyncio.Lock()

    @property
    def enabled(self) -> bool:
        return bool(self._users)

    def replace(self, users: Mapping[str, bytes]) -> None:
        """New users (a SIGHUP reload): forget every cached verdict."""
        self._users = dict(users)
        self._cost = max(map(cost_of, self._users.values()), default=DEFAULT_COST)
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
            verdict = await asyncio.to_thread(self._verify, password.encode(), hashed)
        verdict = verdict and hashed is not None
        self._cache[digest] = verdict
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return verdict

    def _verify(self, password: bytes, hashed: bytes | None) -> bool:
        # Unknown users are checked against a dummy hash of the configured cost (the
        # highest, with several), made here on the worker thread by the first check of
        # any user, known or not, so that the first check does not tell either.
        dummy = dummy_hash(self._cost)
        return _verify(password, hashed if hashed is not None else dummy)
