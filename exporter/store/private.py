"""Files that hold secrets (the state holds the generated hook secret and the actor-hash
key): readable by the exporter's user only, however they were made."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)


def make_private(path: Path, mode: int, *, create: bool = False) -> None:
    """Take from `path` every permission `mode` does not grant, on every open: a file or
    directory made readable by others before (an older version, a copy, a restore) is
    tightened, not only a new one. A file that does not exist is created only if `create`.
    """
    flags = os.O_RDONLY | (os.O_CREAT if create else 0) | (os.O_DIRECTORY if mode & 0o100 else 0)
    try:
        descriptor = os.open(path, flags, mode)
    except FileNotFoundError:
        return
    try:
        current = stat.S_IMODE(os.fstat(descriptor).st_mode)
        if current & ~mode:
            os.fchmod(descriptor, current & mode)
    except PermissionError:  # not ours (a volume owned by another user): say so, go on
        log.warning(
            "cannot make the state private",
            extra={"fields": {"path": str(path), "mode": oct(mode)}},
        )
    finally:
        os.close(descriptor)
