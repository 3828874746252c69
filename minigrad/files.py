"""Files: atomic writes (a file is either absent or complete, never half-written) and digests.

The one place where minigrad writes files (checkpoints, downloads, figures, reports, stored
results): everything goes to a temporary ``.part`` file in the destination's folder, which is
flushed, fsynced and then renamed over the destination (``os.replace`` is atomic on POSIX and
Windows). An error or Ctrl-C in the middle leaves the old file, or none, and no ``.part``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from pathlib import Path

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_writer", "file_digest",
           "part_files"]


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
        os.chmod(tmp, 0o644)  # like any file we create, not the 0600 of a private temp file
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    with atomic_writer(path) as f:
        f.write(data)
    return Path(path)


def atomic_write_text(path, text: str) -> Path:
    """Write ``text`` (UTF-8, ending with one newline) to ``path`` atomically."""
    return atomic_write_bytes(path, (text if text.endswith("\n") else text + "\n").encode())


def part_files(folder) -> list[Path]:
    """Temporary ``.part`` files left in ``folder`` (there should never be any)."""
    folder = Path(folder)
    return sorted(folder.glob(".*.part")) if folder.is_dir() else []


def file_digest(path, algorithm: str = "sha256") -> str:
    """Hex digest of a file (SHA-256 by default), read in 1 MiB chunks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
