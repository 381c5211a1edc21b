"""Shared state in Redis, for several replicas behind one hook URL.

A batch's dedup and counter updates run as one Lua script, which Redis executes
atomically: two replicas that receive the same retried delivery at the same moment count
it once. Every replica reads the shared totals back (see `values` and `generation`), so
each one exposes the same numbers; dashboards aggregate with `max without (instance)`.

Durability is Redis's: run it with `appendonly yes` (and `appendfsync always` to lose
nothing an acknowledgement promised).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from exporter.records import Labels, Update, Values
from exporter.store.base import StoreError, Summary, encode_series, values_from_rows

DEFAULT_PREFIX: Final = "okta_group_push:"

# KEYS: seen (zset uuid -> first seen), series (hash), generation (string).
# ARGV: now, then for each update: uuid, n, n counter keys, m, m (gauge key, value) pairs.
# Returns each update's "new" flag, then the generation this commit made.
_COMMIT: Final = """
local now = ARGV[1]
local i = 2
local out = {}
while i <= #ARGV do
  local uuid = ARGV[i]
  local new = redis.call('ZADD', KEYS[1], 'NX', now, uuid)
  local n = tonumber(ARGV[i + 1])
  i = i + 2
  if new == 1 then
    for j = 0, n - 1 do redis.call('HINCRBY', KEYS[2], ARGV[i + j], 1) end
  end
  i = i + n
  local m = tonumber(ARGV[i])
  i = i + 1
  if new == 1 then
    for j = 0, m - 1 do
      local key, value = ARGV[i + 2 * j], ARGV[i + 2 * j + 1]
      local current = redis.call('HGET', KEYS[2], key)
      if (not current) or tonumber(current) < tonumber(value) then
        redis.call('HSET', KEYS[2], key, value)
      end
    end
  end
  i = i + 2 * m
  out[#out + 1] = new
end
out[#out + 1] = redis.call('INCR', KEYS[3])
return out
"""

# KEYS: series (hash), generation. ARGV: (series key, value) pairs. A series counted since
# (by any replica) no longer holds the value and stays. Returns how many were dropped, and
# the generation that made (0 when nothing was).
_DROP: Final = """
local dropped = 0
for i = 1, #ARGV, 2 do
  local current = redis.call('HGET', KEYS[1], ARGV[i])
  if current and tonumber(current) == tonumber(ARGV[i + 1]) then
    redis.call('HDEL', KEYS[1], ARGV[i])
    dropped = dropped + 1
  end
end
if dropped > 0 then return {dropped, redis.call('INCR', KEYS[2])} end
return {0, 0}
"""


# KEYS: the lease. ARGV: owner, ttl in ms, a gone holder it may replace ("" for none).
# Take it when free, renew it when ours, replace the gone holder: one atomic step.
_ACQUIRE: Final = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] or (ARGV[3] ~= '' and holder == ARGV[3]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
# KEYS: the lease. ARGV: owner. Delete it only when it is still ours.
_RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _error(exc: RedisError) -> StoreError:
    # redis-py's messages name host and port, never the password of the URL.
    return StoreError(f"Redis: {type(exc).__name__}: {exc}")


class RedisStore:
    """State under `prefix` in the Redis database at `url`."""

    shared = True  # other replicas write here too: re-read the totals

    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX, timeout: float = 1.0) -> None:
        # Timeouts well inside Okta's 3 s, so an unreachable Redis becomes a 503 in time.
        self._client: aioredis.Redis = aioredis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._seen = prefix + "seen"
        self._series = prefix + "series"
        self._meta = prefix + "meta"
        self._generation = prefix + "generation"
        self._commit = self._client.register_script(_COMMIT)
        self._prefix = prefix
        self._acquire = self._client.register_script(_ACQUIRE)
        self._release = self._client.register_script(_RELEASE)
        self._drop = self._client.register_script(_DROP)
        # The shared generation as far as this replica's view accounts for it, and how
        # many times it moved past that (what `generation` reports).
        self._accounted: int | None = None
        self._foreign = 0

    async def _call(self, coroutine: Any) -> Any:
        try:
            return await coroutine
        except RedisError as exc:
            raise _error(exc) from exc

    async def open(self) -> Values:
        await self._call(self._client.ping())
        # The baseline first: a commit by another replica during the read shows as a change.
        self._accounted, self._foreign = await self._shared_generation(), 0
        return await self.values()

    async def commit(self, updates: Sequence[Update], now: float) -> list[bool]:
        argv: list[str | float | int] = [repr(now)]
        for update in updates:
            argv += [update.uuid, len(update.increments)]
            argv += [encode_series(name, labels) for name, labels in update.increments]
            argv.append(len(update.maxima))
            for name, labels, value in update.maxima:
                argv += [encode_series(name, labels), repr(value)]
        keys = [self._seen, self._series, self._generation]
        *flags, made = await self._call(self._commit(keys=keys, args=argv))
        self._caught_up(int(made))
        return [bool(flag) for flag in flags]

    def _caught_up(self, made: int) -> None:
        """Account for a generation this replica's own write made.

        Only when nothing came between: the view has that write already. Anything else (a
        commit of another replica in between) leaves a gap that `generation` reports.
        """
        if self._accounted is not None and made == self._accounted + 1:
            self._accounted = made

    async def values(self) -> Values:
        rows = await self._call(self._client.hgetall(self._series))
        return values_from_rows(list(rows.items()))

    async def generation(self) -> int:
        shared = await self._shared_generation()
        if shared != self._accounted:
            self._accounted = shared
            self._foreign += 1
        return self._foreign

    async def _shared_generation(self) -> int:
        return int(await self._call(self._client.get(self._generation)) or 0)

    async def get_meta(self, key: str) -> str | None:
        value = await self._call(self._client.hget(self._meta, key))
        return None if value is None else bytes(value).decode()

    async def set_meta(self, key: str, value: str, *, only_if_absent: bool = False) -> bool:
        if only_if_absent:
            return bool(await self._call(self._client.hsetnx(self._meta, key, value)))
        await self._call(self._client.hset(self._meta, key, value))
        return True

    async def drop(self, series: Sequence[tuple[str, Labels, float]]) -> int:
        if not series:
            return 0
        argv: list[str] = []
        for name, labels, value in series:
            argv += [encode_series(name, labels), repr(value)]
        keys = [self._series, self._generation]
        dropped, made = await self._call(self._drop(keys=keys, args=argv))
        if dropped:
            self._caught_up(int(made))
        return int(dropped)

    async def prune(self, now: float, window: float) -> int:
        cutoff = f"({now - window!r}"  # "(" makes the bound exclusive
        removed = await self._call(self._client.zremrangebyscore(self._seen, "-inf", cutoff))
        return int(removed)

    async def probe(self) -> None:
        await self._call(self._client.ping())

    async def summary(self) -> Summary:
        series = await self._call(self._client.hlen(self._series))
        entries = await self._call(self._client.zcard(self._seen))
        oldest = await self._call(self._client.zrange(self._seen, 0, 0, withscores=True))
        size = 0
        for key in (self._seen, self._series, self._meta):
            size += int(await self._call(self._client.memory_usage(key)) or 0)
        location = self._client.connection_pool.connection_kwargs
        where = f"{location.get('host', '?')}:{location.get('port', '?')}/{location.get('db', 0)}"
        return Summary(
            "redis", where, int(series), int(entries), oldest[0][1] if oldest else None, size
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def acquire_lease(
        self, name: str, owner: str, ttl: float, now: float, *, replacing: str | None = None
    ) -> bool:
        keys = [self._prefix + "lease:" + name]
        args: list[str | int] = [owner, max(1, int(ttl * 1000)), replacing or ""]
        return bool(await self._call(self._acquire(keys=keys, args=args)))

    async def lease_holder(self, name: str, now: float) -> str | None:
        holder = await self._call(self._client.get(self._prefix + "lease:" + name))
        return None if holder is None else bytes(holder).decode()

    async def release_lease(self, name: str, owner: str) -> None:
        await self._call(self._release(keys=[self._prefix + "lease:" + name], args=[owner]))

    async def seen(self, uuids: Sequence[str]) -> list[bool]:
        if not uuids:
            return []
        scores = await self._call(self._client.zmscore(self._seen, list(uuids)))
        return [score is not None for score in scores]
