"""The event hook's shared secret: generated once when none is configured, then checked.

Okta signs nothing; it sends a static secret in a header the admin chooses
(research/okta.md section 2.3). So the check is a constant-time comparison against each
accepted secret (several during a rotation). A generated secret lives in the store: in
SQLite that is a 0600 file in the storage directory; with Redis every replica shares it.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from exporter.store.base import Store

META_KEY: Final = "hook_secret"
log = logging.getLogger(__name__)


def matches(presented: str | None, accepted: Sequence[str]) -> bool:
    """True when `presented` equals one of `accepted`, in time independent of where it differs."""
    if presented is None:
        return False
    given = presented.encode("utf-8", "surrogateescape")
    found = False
    for secret in accepted:
        # No early exit: the time taken does not say which secret (if any) matched.
        found |= hmac.compare_digest(given, secret.encode("utf-8"))
    return found


async def load_or_generate(store: Store, header: str, storage_path: Path) -> tuple[str, ...]:
    """The stored secret, generated on the first start (the first replica's wins)."""
    if await store.set_meta(META_KEY, secrets.token_urlsafe(32), only_if_absent=True):
        # Said once, on the start that creates it; the secret itself is never logged.
        log.warning(
            "generated an event hook secret; print it with `okta-group-push-exporter state "
            "hook-secret` (same storage flags) and set it in Okta as the value of the event "
            "hook's %r authentication header, or configure your own with "
            "--okta.hook-secret-file or OKTA_HOOK_SECRET",
            header,
            extra={"fields": {"storage_path": str(storage_path)}},
        )
    secret = await store.get_meta(META_KEY)
    return (secret,) if secret else ()
