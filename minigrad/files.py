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

__all__ = ["FileLocked", "atomic_write_bytes", "atomic_write_text", "atomic_writer",
           "exclusive_lock", "file_digest", "part_files", "probe_writable"]


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


def probe_writable(path) -> None:
    """Check, before any work, that ``path`` can be written the way :func:`atomic_writer` and
    an appending log write it: a probe file is created and removed in its folder, and an
    existing ``path`` is opened for appending (nothing is written to it). A device or pipe
    (``/dev/stderr``, ``/dev/full``) is only opened: nothing is created beside it. Raises
    OSError (e.g. PermissionError for a read-only folder) saying which file could not be
    written."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    probe = folder / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.probe"
    special = path.exists() and not path.is_file() and not path.is_dir()
    try:
        if not special:
            os.close(os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            os.unlink(probe)
        if path.exists() and not path.is_dir():
            with open(path, "ab"):
                pass
    except OSError as exc:
        raise type(exc)(exc.errno, f"cannot write {path} ({exc.strerror}: "
                                   f"{exc.filename})") from None


class FileLocked(OSError):
    """Another process holds the lock; ``owner`` is what it wrote in the lock file."""

    def __init__(self, lock_path, owner: str):
        super().__init__(f"{lock_path} is locked by {owner or 'another process'}")
        self.lock_path, self.owner = Path(lock_path), owner


@contextlib.contextmanager
def exclusive_lock(lock_path, owner: str):
    """Hold an exclusive ``fcntl.flock`` on ``lock_path`` for the block, writing ``owner``
    (e.g. the process id and command) into it for whoever is refused.

    Raises :class:`FileLocked` at once, naming the holder, if another process holds it. The
    file exists only while locked: it is removed at the end of the block, and the operating
    system releases the lock if the holder dies, so a file left by a crash blocks nothing. A
    process that locked a file just removed by its holder sees that the path no longer names
    the file it locked, and starts again.
    """
    import fcntl  # POSIX only: imported here so that the rest of this module works everywhere

    lock_path = Path(lock_path)
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            held_by = os.pread(fd, 4096, 0).decode(errors="replace").strip()
            os.close(fd)
            raise FileLocked(lock_path, held_by) from None
        try:
            if os.stat(lock_path).st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)  # the holder removed it between our open and our lock
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, (owner + "\n").encode(), 0)
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock_path)
        os.close(fd)
