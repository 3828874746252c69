"""Verified downloads with the standard library only (``urllib``).

:func:`download_file` tries each URL in turn and keeps the first copy that passes every check:

1. the number of bytes received equals the ``Content-Length`` the server announced (an
   interrupted transfer is caught even when the connection closes quietly);
2. the size equals the published size, when given;
3. the SHA-256 (and the MD5, when given) equal the published digests.

The bytes go to a temporary ``.part`` file in the destination folder that is renamed onto the
destination only after all checks pass (``os.replace``, atomic). On any failure the ``.part``
file is deleted, so the destination is either absent, as before, or complete and verified.
"""

from __future__ import annotations

import hashlib
import http.client
import sys
import urllib.error
import urllib.request
from pathlib import Path

from ..files import atomic_writer, file_digest
from .errors import ChecksumError, DownloadError

__all__ = ["download_file", "file_digest"]

CHUNK = 1 << 20
USER_AGENT = "minigrad-data/1 (+urllib)"


def _fetch(url: str, dest: Path, sha256: str, md5: str | None, size: int | None,
           timeout: float) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response, \
            atomic_writer(dest) as out:
        announced = response.headers.get("Content-Length")
        announced = int(announced) if announced and announced.isdigit() else None
        h256 = hashlib.sha256()
        h5 = hashlib.md5(usedforsecurity=False) if md5 else None
        got = 0
        while True:
            try:
                block = response.read(CHUNK)
            except http.client.IncompleteRead as exc:
                got += len(exc.partial)
                raise DownloadError(
                    f"{url}: transfer interrupted after {got:,} of {announced or '?'} bytes"
                ) from exc
            if not block:
                break
            got += len(block)
            out.write(block)
            h256.update(block)
            if h5 is not None:
                h5.update(block)
        if announced is not None and got != announced:
            raise DownloadError(f"{url}: transfer interrupted: received {got:,} bytes, the "
                                f"server announced {announced:,}")
        if size is not None and got != size:
            raise ChecksumError(f"{url}: {got:,} bytes, but the published file has {size:,}")
        if h256.hexdigest() != sha256.lower():
            raise ChecksumError(f"{url}: SHA-256 mismatch: got {h256.hexdigest()}, "
                                f"expected {sha256.lower()}")
        if h5 is not None and h5.hexdigest() != md5.lower():
            raise ChecksumError(f"{url}: MD5 mismatch: got {h5.hexdigest()}, expected "
                                f"{md5.lower()}")


def download_file(urls, dest, *, sha256: str, md5: str | None = None, size: int | None = None,
                  timeout: float = 30.0, verbose: bool = False, hint: str = "") -> Path:
    """Download ``dest`` from the first of ``urls`` that delivers a verified copy.

    Raises :class:`ChecksumError` when every URL delivered a file with the wrong size or digest,
    :class:`DownloadError` otherwise (offline, unreachable, HTTP error, interrupted transfer);
    the message lists each URL's failure, followed by ``hint``. Nothing is left at ``dest``
    (nor any ``.part`` file) after a failure.
    """
    dest = Path(dest)
    urls = [urls] if isinstance(urls, str) else list(urls)
    if not urls:
        raise DownloadError(f"no URL to download {dest.name} from. {hint}".strip())
    failures: list[Exception] = []
    unreachable = 0  # URLs that could not be connected to at all (DNS, refused, timeout)
    for url in urls:
        if verbose:
            print(f"minigrad.data: downloading {url} -> {dest}", file=sys.stderr)
        try:
            _fetch(url, dest, sha256, md5, size, timeout)
            return dest
        except (ChecksumError, DownloadError) as exc:
            failures.append(exc)
        except urllib.error.HTTPError as exc:
            failures.append(DownloadError(f"{url}: {exc}"))
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            unreachable += isinstance(exc, (urllib.error.URLError, ConnectionError, TimeoutError))
            failures.append(DownloadError(f"{url}: {type(exc).__name__}: {reason}"))
    lines = "\n".join(f"  - {exc}" for exc in failures)
    if all(isinstance(e, ChecksumError) for e in failures):
        raise ChecksumError(f"could not download {dest.name}: every copy failed verification; "
                            f"no file was saved:\n{lines}\n{hint}".rstrip())
    note = " (is this machine offline?)" if unreachable == len(urls) else ""
    raise DownloadError(f"could not download {dest.name} from {len(urls)} URL(s){note}; "
                        f"no file was saved:\n{lines}\n{hint}".rstrip())
