"""Atomic file writes: a file is either absent or complete, never half-written."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

__all__ = ["atomic_writer", "part_files"]


@contextlib.contextmanager
def atomic_writer(path):
    """Open a temporary ``.part`` file next to ``path`` for binary writing.

    On normal exit it is flushed, fsynced and renamed onto ``path`` (``os.replace``, atomic on
    POSIX and Windows); if the block raises, the temporary file is deleted and ``path`` is left
    as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.part")
    try:
        with open(tmp, "xb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def part_files(folder) -> list[Path]:
    """Temporary ``.part`` files left in ``folder`` (there should never be any)."""
    folder = Path(folder)
    return sorted(folder.glob(".*.part")) if folder.is_dir() else []
