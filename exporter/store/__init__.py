"""Where counted uuids and counter values are kept: one interface, several backends."""

from __future__ import annotations

from exporter.config import Config
from exporter.store.base import Store


def make_store(config: Config) -> Store:
    """The backend the configuration chose (`build` has resolved `auto` already)."""
    if config.storage_backend == "redis" and config.redis_url:
        from exporter.store.redis_store import RedisStore  # noqa: PLC0415 - only with Redis

        return RedisStore(config.redis_url, prefix=config.redis_prefix)
    if config.storage_backend == "memory":
        from exporter.store.memory import MemoryStore  # noqa: PLC0415

        return MemoryStore(config.dedup_window)
    from exporter.store.sqlite import SqliteStore  # noqa: PLC0415

    return SqliteStore(config.storage_path, max_size=config.storage_max_size)
