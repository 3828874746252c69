"""CIFAR-10 from the official binary batches, for learners who have the files (nothing downloads).

CIFAR-10 (Alex Krizhevsky, 2009) has 50,000 training and 10,000 test colour images of 32 x 32
pixels in ten classes (:data:`CIFAR10_CLASSES`). Get the **binary version** by hand from
https://www.cs.toronto.edu/~kriz/cifar.html ("CIFAR-10 binary version (suitable for C
programs)", ``cifar-10-binary.tar.gz``, 162 MiB, MD5 ``c32a1d4ab5d03f1284b67883e8d87530`` as
published there). minigrad never downloads it.

Format. The tarball holds ``cifar-10-batches-bin/`` with ``data_batch_1.bin`` ...
``data_batch_5.bin`` (training) and ``test_batch.bin`` (test), 10,000 records each. A record is
3,073 bytes: one label byte (0-9), then 3,072 pixel bytes, the 1,024 red values of the image in
row-major order, then the 1,024 green, then the 1,024 blue. So each file is exactly
10,000 x 3,073 = 30,730,000 bytes, and a record read as ``pixels.reshape(3, 32, 32)`` is the
image in channel-first (NCHW) order, as the file stores it.

Where the files are looked for (the first that applies):

1. the ``folder`` argument of :func:`load_cifar10`;
2. the environment variable ``MINIGRAD_CIFAR10``;
3. ``data_home()/cifar10``, i.e. ``$MINIGRAD_DATA/cifar10``, by default
   ``~/.cache/minigrad/cifar10`` (``$XDG_CACHE_HOME/minigrad/cifar10`` when that is set).

That location may be the folder holding the six ``.bin`` files, a folder holding
``cifar-10-batches-bin/``, a folder holding ``cifar-10-binary.tar.gz``, or the tarball itself.
A tarball is checked against the published MD5 and extracted once, beside itself, into
``cifar-10-batches-bin/``: only the expected regular files are taken from it, written under
names minigrad chooses (no member name is ever used as a path), into a temporary folder that is
renamed into place only when every file has its exact size, so the folder is either absent or
complete. A tarball holding a link, an absolute path or ``..`` where a batch should be is refused.

What is checked, since no SHA-256 of the extracted files is published: the tarball's MD5 (when a
tarball is extracted), each file's exact size, and every label in 0-9. Errors are
:class:`~minigrad.data.errors.DataError` and name the folder or file, what is wrong and what to
do.
"""

from __future__ import annotations

import gzip
import os
import secrets
import shutil
import tarfile
import zlib
from pathlib import Path, PurePosixPath

import numpy as np

from ..files import atomic_writer, file_digest
from .errors import ChecksumError, DataError
from .idx_datasets import data_home
from .normalize import check_normalize, float_dtype

__all__ = [
    "CIFAR10_CLASSES",
    "CIFAR10_DIRNAME",
    "CIFAR10_ENV",
    "CIFAR10_RECORDS_PER_BATCH",
    "CIFAR10_TARBALL",
    "CIFAR10_TARBALL_MD5",
    "CIFAR10_TEST_FILES",
    "CIFAR10_TRAIN_FILES",
    "CIFAR10_URL",
    "cifar10_channel_stats",
    "cifar10_folder",
    "cifar10_to_float",
    "load_cifar10",
    "write_cifar10_batch",
]

#: Label i is ``CIFAR10_CLASSES[i]`` (the order of ``batches.meta.txt``).
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar.html"
CIFAR10_ENV = "MINIGRAD_CIFAR10"
CIFAR10_TARBALL = "cifar-10-binary.tar.gz"
#: MD5 of ``cifar-10-binary.tar.gz`` as published on :data:`CIFAR10_URL`.
CIFAR10_TARBALL_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"
CIFAR10_DIRNAME = "cifar-10-batches-bin"
CIFAR10_TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
CIFAR10_TEST_FILES = ("test_batch.bin",)
CIFAR10_RECORDS_PER_BATCH = 10000
IMAGE_SHAPE = (3, 32, 32)
PIXELS = 3 * 32 * 32
RECORD_BYTES = 1 + PIXELS  # 3,073
_FILES = CIFAR10_TRAIN_FILES + CIFAR10_TEST_FILES
_EXTRAS = ("batches.meta.txt", "readme.html")  # extracted too when present; never required


def cifar10_folder(folder=None) -> Path:
    """The location :func:`load_cifar10` reads: ``folder``, else ``$MINIGRAD_CIFAR10``, else
    ``data_home() / "cifar10"`` (see the module docstring)."""
    if folder is not None:
        return Path(folder).expanduser()
    env = os.environ.get(CIFAR10_ENV, "").strip()
    return Path(env).expanduser() if env else data_home() / "cifar10"


def _download_hint(target: Path) -> str:
    return (f"Download the CIFAR-10 binary version ({CIFAR10_TARBALL}, 'CIFAR-10 binary version "
            f"(suitable for C programs)') from {CIFAR10_URL}; minigrad never downloads it. Then "
            f"put the tarball, or the {CIFAR10_DIRNAME}/ folder it holds, in {target}, or point "
            f"minigrad at where it is: load_cifar10(folder='/path/to/{CIFAR10_DIRNAME}') or "
            f"export {CIFAR10_ENV}=/path/to/{CIFAR10_DIRNAME} (the tarball's path works too).")


def _missing(folder: Path) -> list[str]:
    return [name for name in _FILES if not (folder / name).is_file()]


def _is_tarball(path: Path) -> bool:
    return path.is_file() and path.name.endswith((".tar.gz", ".tgz", ".tar"))


def _locate(location: Path, tarball_md5: str | None, records_per_batch: int) -> Path:
    """The folder holding the six batch files, extracting a tarball first if that is all there
    is. Raises DataError naming what was searched and what is missing."""
    if _is_tarball(location):
        extracted = location.parent / CIFAR10_DIRNAME
        if not _missing(extracted):
            return extracted
        return _extract(location, tarball_md5, records_per_batch)
    if not location.is_dir():
        what = "is not a folder or a tarball" if location.exists() else "does not exist"
        raise DataError(f"CIFAR-10 folder {location} {what}.\n" + _download_hint(location))
    searched = []
    for candidate in (location, location / CIFAR10_DIRNAME):
        missing = _missing(candidate)
        if not missing:
            return candidate
        searched.append(f"  {candidate}: " + (f"missing {', '.join(missing)}"
                                              if candidate.is_dir() else "no such folder"))
    tarball = location / CIFAR10_TARBALL
    if _is_tarball(tarball):
        return _extract(tarball, tarball_md5, records_per_batch)
    searched.append(f"  {tarball}: no such file")
    raise DataError(f"CIFAR-10 binary batches not found in {location}. Searched:\n"
                    + "\n".join(searched) + "\n" + _download_hint(location))


def _check_size(path: Path, records_per_batch: int) -> None:
    size, expected = path.stat().st_size, records_per_batch * RECORD_BYTES
    if size != expected:
        problem = "truncated" if size < expected else "too long"
        raise DataError(
            f"{path} is {problem} or corrupt: {size:,} bytes, expected {expected:,} "
            f"({records_per_batch:,} records of {RECORD_BYTES:,} bytes). Delete it and extract "
            f"it again from {CIFAR10_TARBALL} (the binary version from {CIFAR10_URL}).")


def _members(tar: tarfile.TarFile, tarball: Path, records_per_batch: int) -> dict:
    """``{name: member}`` for the files to extract, ``cifar-10-batches-bin/<name>`` (a leading
    ``./`` allowed). The whole tarball is refused if any member has an absolute path or ``..``,
    or is anything but a folder or a regular file (a link, a device), or if a batch is missing
    or has the wrong size."""
    found = {}
    for member in tar.getmembers():
        path = PurePosixPath(member.name)
        if path.is_absolute() or ".." in path.parts or not (member.isfile() or member.isdir()):
            kind = ("a link" if member.issym() or member.islnk() else
                    "not a regular file or folder" if not (member.isfile() or member.isdir())
                    else "an absolute path or one with '..'")
            raise DataError(f"{tarball}: member {member.name!r} is {kind}; refusing to extract "
                            f"anything from it. Use the official {CIFAR10_TARBALL} from "
                            f"{CIFAR10_URL}.")
        parts = tuple(part for part in path.parts if part != ".")
        if (member.isfile() and len(parts) == 2 and parts[0] == CIFAR10_DIRNAME
                and parts[1] in _FILES + _EXTRAS):
            found[parts[1]] = member
    absent = [name for name in _FILES if name not in found]
    if absent:
        raise DataError(f"{tarball} holds no {', '.join(f'{CIFAR10_DIRNAME}/{n}' for n in absent)}"
                        f": it is not the CIFAR-10 binary version. {_download_hint(tarball)}")
    expected = records_per_batch * RECORD_BYTES
    for name in _FILES:
        if found[name].size != expected:
            raise DataError(f"{tarball}: member {found[name].name} has {found[name].size:,} "
                            f"bytes, expected {expected:,} ({records_per_batch:,} records of "
                            f"{RECORD_BYTES:,} bytes): the tarball is corrupt. Download it "
                            f"again from {CIFAR10_URL}.")
    return found


def _extract(tarball: Path, tarball_md5: str | None, records_per_batch: int) -> Path:
    """Verify ``tarball`` and extract the batch files atomically into its folder."""
    if tarball_md5 is not None:
        got = file_digest(tarball, "md5")
        if got != tarball_md5.lower():
            raise ChecksumError(
                f"{tarball}: MD5 {got}, expected {tarball_md5.lower()} (the published MD5 of "
                f"{CIFAR10_TARBALL}): the tarball is corrupt, truncated or not the binary "
                f"version. Download it again from {CIFAR10_URL}.")
    target = tarball.parent / CIFAR10_DIRNAME
    if target.exists():
        raise DataError(
            f"{target} exists but is incomplete (missing {', '.join(_missing(target))}); "
            f"delete it so that minigrad extracts {tarball} again, or complete it by hand.")
    tmp = tarball.parent / f".{CIFAR10_DIRNAME}.{os.getpid()}.{secrets.token_hex(4)}.part"
    try:
        try:
            with tarfile.open(tarball, "r:*") as tar:
                members = _members(tar, tarball, records_per_batch)
                tmp.mkdir()
                for member in sorted(members.values(), key=lambda m: m.offset_data):
                    name = PurePosixPath(member.name).name  # one of ours, never a path
                    with tar.extractfile(member) as src, open(tmp / name, "xb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
                    if name in _FILES and (tmp / name).stat().st_size != member.size:
                        raise EOFError(f"{member.name} ends early")
        except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise DataError(f"{tarball} is corrupt or truncated ({type(exc).__name__}: "
                            f"{exc}); download it again from {CIFAR10_URL}") from exc
        except OSError as exc:
            raise DataError(f"cannot extract {tarball} into {tarball.parent} ({exc}); extract "
                            f"it by hand (tar xzf) and point minigrad at {CIFAR10_DIRNAME}/"
                            ) from exc
        try:
            os.rename(tmp, target)
        except OSError:
            if _missing(target):  # not another process extracting the same tarball meanwhile
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _read_batch(path: Path, records_per_batch: int) -> tuple[np.ndarray, np.ndarray]:
    _check_size(path, records_per_batch)
    try:
        raw = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    if raw.size != records_per_batch * RECORD_BYTES:
        raise DataError(f"{path}: read {raw.size:,} bytes, expected "
                        f"{records_per_batch * RECORD_BYTES:,}")
    records = raw.reshape(records_per_batch, RECORD_BYTES)
    labels = records[:, 0].astype(np.int64)
    bad = np.flatnonzero(labels >= len(CIFAR10_CLASSES))
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{path}: record {i} (byte offset {i * RECORD_BYTES:,}) has label {labels[i]}, "
            f"expected 0-9 ({bad.size:,} bad label(s) in all): the file is corrupt or not a "
            f"CIFAR-10 binary batch (CIFAR-100's binary files have two label bytes).")
    return records[:, 1:].reshape(records_per_batch, *IMAGE_SHAPE).copy(), labels


def load_cifar10(folder=None, *, tarball_md5: str | None = CIFAR10_TARBALL_MD5,
                 records_per_batch: int = CIFAR10_RECORDS_PER_BATCH):
    """Load CIFAR-10 from the official binary batches; nothing is downloaded.

    ``folder``: where the files are (see the module docstring: the ``.bin`` files' folder, its
    parent, a folder holding ``cifar-10-binary.tar.gz``, or the tarball); default
    ``$MINIGRAD_CIFAR10``, else ``data_home() / "cifar10"``.

    Returns ``(train_images, train_labels, test_images, test_labels)``: images uint8
    (50000, 3, 32, 32) and (10000, 3, 32, 32), channel-first (NCHW) as the files store them, in
    file order (``data_batch_1`` ... ``data_batch_5``); labels int64 in 0-9, names in
    :data:`CIFAR10_CLASSES`. Same files, same arrays. :func:`cifar10_to_float` scales them.

    ``tarball_md5``: the MD5 a tarball must have before it is extracted (default the published
    one; None skips the check, e.g. for a tarball you made). ``records_per_batch``: records in
    every batch file, 10,000 in the real data set; a smaller value is only for small synthetic
    copies in the same format (tests). Every file must have exactly
    ``records_per_batch * 3073`` bytes.
    """
    if (isinstance(records_per_batch, bool) or not isinstance(records_per_batch, (int, np.integer))
            or records_per_batch < 1):
        raise ValueError(f"records_per_batch must be a positive int, got {records_per_batch!r}")
    location = cifar10_folder(folder)
    batches = _locate(location, tarball_md5, int(records_per_batch))
    train = [_read_batch(batches / name, int(records_per_batch)) for name in CIFAR10_TRAIN_FILES]
    test_images, test_labels = _read_batch(batches / CIFAR10_TEST_FILES[0], int(records_per_batch))
    train_images = np.concatenate([images for images, _ in train])
    train_labels = np.concatenate([labels for _, labels in train])
    return train_images, train_labels, test_images, test_labels


def write_cifar10_batch(path, images, labels) -> Path:
    """Write uint8 ``images`` (N, 3, 32, 32) and ``labels`` (N,) in 0-9 as one binary batch
    (N records of a label byte and 3,072 pixel bytes), atomically. For synthetic test data."""
    images, labels = np.asarray(images), np.asarray(labels)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"images must be uint8 (N, 3, 32, 32), got {images.dtype} "
                         f"{images.shape}")
    if labels.shape != images.shape[:1]:
        raise ValueError(f"labels must have shape ({images.shape[0]},), got {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= len(CIFAR10_CLASSES)):
        raise ValueError("labels must be in 0-9")
    records = np.empty((images.shape[0], RECORD_BYTES), dtype=np.uint8)
    records[:, 0] = labels
    records[:, 1:] = images.reshape(images.shape[0], PIXELS)
    with atomic_writer(path) as f:
        f.write(records.tobytes())
    return Path(path)


def cifar10_channel_stats(images) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel ``(mean, std)``, each (3,) float64, of ``x = p / 255`` over images (N, 3, H,
    W). Take them from the training images only and apply them to every split."""
    x = np.asarray(images)
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"images must be (N, 3, H, W), got shape {x.shape}")
    scale = 255.0 if x.dtype == np.uint8 else 1.0
    mean = x.mean(axis=(0, 2, 3), dtype=np.float64) / scale
    std = x.std(axis=(0, 2, 3), dtype=np.float64) / scale
    if not np.all(std > 0):
        raise ValueError(f"cannot standardise: a channel has standard deviation 0 ({std})")
    return mean, std


def cifar10_to_float(images, normalize="unit", *, mean=None, std=None, dtype=None) -> np.ndarray:
    """uint8 images (N, 3, H, W) as floats (default minigrad's dtype, float32).

    ``normalize="unit"``: ``x = p / 255`` in [0, 1]. ``"standard"``: ``(x - mean[c]) / std[c]``
    per channel ``c``; pass the training images' :func:`cifar10_channel_stats` as ``mean`` and
    ``std`` (without them the statistics of ``images`` themselves are used).
    """
    check_normalize(normalize, ("unit", "standard"))
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be (N, 3, H, W), got shape {images.shape}")
    dt = float_dtype(dtype)
    x = images.astype(dt) / dt.type(255)
    if normalize == "standard":
        if (mean is None) != (std is None):
            raise ValueError("pass both mean and std, or neither")
        if mean is None:
            mean, std = cifar10_channel_stats(images)
        shape = (1, 3, 1, 1)
        x = (x - np.asarray(mean, dtype=dt).reshape(shape)) / np.asarray(std, dtype=dt).reshape(
            shape)
    return x.astype(dt, copy=False)
