"""Where counted uuids and counter values are kept: one interface, several backends."""

from __future__ import annotations

from exporter.config import Config
from exporter.store.base import Store


def make_store(config: Config) -> Store:
    """The backend the configuration chose (`build` has resolved `auto` already)."""
    if config.storage.backend == "redis" and config.storage.redis_url:
        from exporter.store.redis_store import RedisStore  # noqa: PLC0415 - only with Redis

        return RedisStore(config.storage.redis_url, prefix=config.storage.redis_prefix)
    if config.storage.backend == "memory":
        from exporter.store.memory import MemoryStore  # noqa: PLC0415

        return MemoryStore(config.storage.dedup_window)
    from exporter.store.sqlite import SqliteStore  # noqa: PLC0415

    return SqliteStore(config.storage.path, max_size=config.storage.max_size)
