"""Errors raised by :mod:`minigrad.data`.

Every message names the file (or URL) and the problem, and says what to do about it.
"""

from __future__ import annotations

__all__ = ["ChecksumError", "DataError", "DownloadError"]


class DataError(ValueError):
    """A data file is missing, truncated, corrupt or inconsistent with its partner file."""


class ChecksumError(DataError):
    """A downloaded file's size, SHA-256 or MD5 differs from the published value."""


class DownloadError(DataError):
    """No mirror could deliver a file (offline, unreachable, interrupted transfer, bad file)."""
