"""The event hook's shared secret: generated once when none is configured, then checked.

Okta signs nothing; it sends a static secret in a header the admin chooses
(research/okta.md section 2.3). So the check is a constant-time comparison against each
accepted secret (several during a rotation).
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Final

GENERATED_FILE: Final = "hook-secret"
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


def load_or_generate(storage: Path, header: str) -> tuple[str, ...]:
    """The generated secret from `storage`, creating it (mode 0600) on first start."""
    path = storage / GENERATED_FILE
    try:
        return (path.read_text(encoding="utf-8").strip(),)
    except FileNotFoundError:
        pass
    storage.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret + "\n")
    # Said once, on the start that creates it; the secret itself is never logged.
    log.warning(
        "generated an event hook secret; in Okta set the event hook's authentication "
        "header %r to the contents of %s (or configure your own with "
        "--okta.hook-secret-file or OKTA_HOOK_SECRET)",
        header,
        path,
        extra={"fields": {"secret_file": str(path)}},
    )
    return (secret,)
