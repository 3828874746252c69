"""Full MNIST and Fashion-MNIST from their standard IDX files.

Both come as four files, ``{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz``: 60,000 training
and 10,000 test images of 28 x 28 uint8 pixels, labels 0-9. They are read from the first of
these folders that holds both files of the requested split, gzipped or not:

1. ``root`` and ``root/<name>`` if you pass ``root=``; otherwise
2. the cache ``$MINIGRAD_DATA/<name>`` (default ``$XDG_CACHE_HOME/minigrad/<name>``, i.e.
   ``~/.cache/minigrad/<name>``), then
3. system folders: Debian's package ``dataset-fashion-mnist`` installs Fashion-MNIST under
   ``/usr/share/datasets/fashion-mnist/``.

With ``download=True`` missing files are fetched (only then) into ``root`` or the cache from
the public mirrors below, each checked against its published size, SHA-256 and MD5 (see
:mod:`minigrad.data.download`). The mirror list can be replaced with ``mirrors=[...]`` or the
environment variable ``MINIGRAD_MNIST_MIRRORS`` / ``MINIGRAD_FASHION_MNIST_MIRRORS`` (base URLs
separated by commas or spaces; ``file://`` URLs work too).

Files found locally are checked for structure (IDX magic numbers, sizes, 28 x 28 images, labels
0-9, as many labels as images), not for their checksum: Debian recompresses the ``.gz`` files,
so their bytes differ from the published ones while their content is the same.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .download import download_file
from .errors import DataError
from .idx import read_idx
from .normalize import check_normalize, pixel_stats, standardize, to_unit
from .splits import Split, Splits, stratified_indices

__all__ = [
    "DATASETS",
    "IDXDataset",
    "RemoteFile",
    "data_home",
    "download_idx_dataset",
    "find_idx_files",
    "idx_splits",
    "load_idx_dataset",
]


@dataclass(frozen=True)
class RemoteFile:
    """A published file: name, size in bytes, SHA-256 and MD5 of the (gzipped) bytes."""

    filename: str
    size: int
    sha256: str
    md5: str


@dataclass(frozen=True)
class IDXDataset:
    """Where an IDX dataset lives and what its files must hash to."""

    name: str
    mirrors: tuple[str, ...]
    files: dict = field(repr=False)  # (split, "images" | "labels") -> RemoteFile
    classes: tuple[str, ...]
    system_dirs: tuple[str, ...] = ()
    homepage: str = ""
    license: str = ""

    @property
    def env_mirrors(self) -> str:
        """Name of the environment variable that replaces the default mirrors."""
        return "MINIGRAD_" + re.sub(r"[^A-Z0-9]", "_", self.name.upper()) + "_MIRRORS"


def _pair(prefix, images, labels):
    return {(prefix, "images"): images, (prefix, "labels"): labels}


# Sizes, SHA-256 and MD5 as published and as used by torchvision and tensorflow_datasets
# (torchvision lists the MD5s; its prototype datasets and TFDS list the SHA-256s).
MNIST = IDXDataset(
    name="mnist",
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    files={
        **_pair("train",
                RemoteFile("train-images-idx3-ubyte.gz", 9912422,
                           "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                           "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
                RemoteFile("train-labels-idx1-ubyte.gz", 28881,
                           "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                           "d53e105ee54ea40749a09fcbcd1e9432")),
        **_pair("test",
                RemoteFile("t10k-images-idx3-ubyte.gz", 1648877,
                           "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                           "9fb629c4189551a2d022fa330f9573f3"),
                RemoteFile("t10k-labels-idx1-ubyte.gz", 4542,
                           "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                           "ec29112dd5afa0611ce80d1b7f02629c")),
    },
    classes=tuple("0123456789"),
    homepage="http://yann.lecun.com/exdb/mnist/",
    license="CC BY-SA 3.0 (Yann LeCun and Corinna Cortes)",
)

FASHION_MNIST = IDXDataset(
    name="fashion-mnist",
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
    files={
        **_pair("train",
                RemoteFile("train-images-idx3-ubyte.gz", 26421880,
                           "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                           "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
                RemoteFile("train-labels-idx1-ubyte.gz", 29515,
                           "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                           "25c81989df183df01b3e8a0aad5dffbe")),
        **_pair("test",
                RemoteFile("t10k-images-idx3-ubyte.gz", 4422102,
                           "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                           "bef4ecab320f06d8554ea6380940ec79"),
                RemoteFile("t10k-labels-idx1-ubyte.gz", 5148,
                           "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                           "bb300cfdad3c16e7a12a480ee83cd310")),
    },
    classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
             "Sneaker", "Bag", "Ankle boot"),
    system_dirs=("/usr/share/datasets/fashion-mnist",),
    homepage="https://github.com/zalandoresearch/fashion-mnist",
    license="MIT (Zalando SE)",
)

DATASETS = {"mnist": MNIST, "fashion-mnist": FASHION_MNIST}
SPLITS = ("train", "test")
KINDS = ("images", "labels")


def _dataset(name) -> IDXDataset:
    key = str(name).lower().replace("_", "-")
    if key == "fashion":
        key = "fashion-mnist"
    if key not in DATASETS:
        raise ValueError(f"unknown IDX dataset {name!r}; expected one of {sorted(DATASETS)}")
    return DATASETS[key]


def _check_split(split) -> str:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected 'train' or 'test'")
    return split


def data_home() -> Path:
    """minigrad's data cache: ``$MINIGRAD_DATA``, else ``$XDG_CACHE_HOME/minigrad``, else
    ``~/.cache/minigrad``."""
    env = os.environ.get("MINIGRAD_DATA")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "minigrad"


def _target_dir(ds: IDXDataset, root) -> Path:
    return Path(root).expanduser() if root is not None else data_home() / ds.name


def _search_dirs(ds: IDXDataset, root) -> list[Path]:
    if root is not None:
        root = Path(root).expanduser()
        return [root, root / ds.name]
    return [data_home() / ds.name, *map(Path, ds.system_dirs)]


def _candidates(filename: str) -> list[str]:
    raw = filename[:-3] if filename.endswith(".gz") else filename
    dotted = raw.replace("-idx", ".idx")  # e.g. train-images.idx3-ubyte, as some mirrors name it
    return [filename, raw, dotted + ".gz", dotted]


def _find_in(folder: Path, remote: RemoteFile) -> Path | None:
    for name in _candidates(remote.filename):
        if (folder / name).is_file():
            return folder / name
    return None


def _mirrors(ds: IDXDataset, mirrors) -> list[str]:
    if mirrors is None:
        env = os.environ.get(ds.env_mirrors, "").strip()
        mirrors = re.split(r"[,\s]+", env) if env else ds.mirrors
    elif isinstance(mirrors, str):
        mirrors = [mirrors]
    return [m if m.endswith("/") else m + "/" for m in mirrors if m]


def _manual_hint(ds: IDXDataset, split: str, mirrors, root=None) -> str:
    target = _target_dir(ds, root)
    lines = [f"To install {ds.name} by hand, put these files (gzipped or not) in {target} (or in "
             f"a folder you pass as root=..., or set MINIGRAD_DATA):"]
    for kind in KINDS:
        remote = ds.files[split, kind]
        lines.append(f"  {remote.filename}  ({remote.size:,} bytes, sha256 {remote.sha256})")
    lines.append("They are published at: " + ", ".join(_mirrors(ds, mirrors)))
    return "\n".join(lines)


def find_idx_files(name="mnist", split="train", root=None) -> tuple[Path, Path]:
    """``(images_path, labels_path)`` of a split, from the first folder holding both.

    Raises :class:`DataError` listing the folders searched and the file names expected.
    """
    ds, split = _dataset(name), _check_split(split)
    searched = []
    for folder in _search_dirs(ds, root):
        found = [_find_in(folder, ds.files[split, kind]) for kind in KINDS]
        if all(found):
            return found[0], found[1]
        searched.append(f"  {folder}: " + (
            "no such folder" if not folder.is_dir() else
            "missing " + " and ".join(ds.files[split, k].filename
                                      for k, f in zip(KINDS, found) if f is None)))
    raise DataError(
        f"{ds.name} {split} files not found. Searched:\n" + "\n".join(searched) + "\n"
        + "Pass download=True to download them, or install them by hand.\n"
        + _manual_hint(ds, split, None, root))


def download_idx_dataset(name="mnist", splits=SPLITS, root=None, *, mirrors=None,
                         timeout: float = 30.0, verbose: bool = True) -> Path:
    """Download the missing files of ``splits`` into ``root`` (default the cache folder).

    Files already there (gzipped or not) are kept. Each download is verified (size, SHA-256,
    MD5) and written atomically. Returns the folder.
    """
    ds = _dataset(name)
    splits = (splits,) if isinstance(splits, str) else tuple(splits)
    target = _target_dir(ds, root)
    for split in map(_check_split, splits):
        for kind in KINDS:
            remote = ds.files[split, kind]
            if _find_in(target, remote) is None:
                urls = [m + remote.filename for m in _mirrors(ds, mirrors)]
                download_file(urls, target / remote.filename, sha256=remote.sha256,
                              md5=remote.md5, size=remote.size, timeout=timeout,
                              verbose=verbose, hint=_manual_hint(ds, split, mirrors, root))
    return target


def _read_pair(ds: IDXDataset, images_path: Path, labels_path: Path):
    images = read_idx(images_path, expected_dtype=np.uint8, expected_ndim=3)
    labels = read_idx(labels_path, expected_dtype=np.uint8, expected_ndim=1)
    if images.shape[0] == 0:
        raise DataError(f"{images_path}: holds no images (its header says 0 x "
                        f"{images.shape[1]} x {images.shape[2]}); expected at least one")
    if images.shape[1:] != (28, 28):
        raise DataError(f"{images_path}: images are {images.shape[1]} x {images.shape[2]}, "
                        "expected 28 x 28")
    if images.shape[0] != labels.shape[0]:
        raise DataError(f"image/label count mismatch: {images_path} holds {images.shape[0]:,} "
                        f"images but {labels_path} holds {labels.shape[0]:,} labels")
    if labels.size and labels.max() >= len(ds.classes):
        raise DataError(f"{labels_path}: label {int(labels.max())} out of range 0.."
                        f"{len(ds.classes) - 1} for {ds.name}")
    return images, labels


def _bad_files(paths) -> list[Path]:
    """The files of an inconsistent pair that are unreadable by themselves (else both)."""
    bad = []
    for path, ndim in zip(paths, (3, 1)):
        try:
            read_idx(path, expected_dtype=np.uint8, expected_ndim=ndim)
        except DataError:
            bad.append(path)
    return bad or list(paths)


def _load_raw(ds: IDXDataset, split: str, root, download: bool, mirrors, timeout, verbose):
    try:
        paths = find_idx_files(ds.name, split, root)
    except DataError:
        if not download:
            raise
        download_idx_dataset(ds.name, split, root, mirrors=mirrors, timeout=timeout,
                             verbose=verbose)
        paths = find_idx_files(ds.name, split, root)
    try:
        return _read_pair(ds, *paths)
    except DataError as exc:
        target = _target_dir(ds, root).resolve()
        bad = _bad_files(paths)
        if not (download and all(p.parent.resolve() == target for p in bad)):
            raise DataError(f"{exc}\nDelete or replace {' and '.join(map(str, bad))} (with "
                            f"download=True, bad files in {target} are replaced).") from exc
        for p in bad:  # a corrupt file where we download to: replace it with a verified copy
            p.unlink()
        download_idx_dataset(ds.name, split, root, mirrors=mirrors, timeout=timeout,
                             verbose=verbose)
        return _read_pair(ds, *find_idx_files(ds.name, split, root))


def load_idx_dataset(name="mnist", split="train", root=None, download: bool = False, *,
                     normalize="unit", dtype=None, flatten: bool = True, mirrors=None,
                     timeout: float = 30.0, verbose: bool = True):
    """Load MNIST or Fashion-MNIST (``name="mnist" | "fashion-mnist"``), ``split="train"``
    (60,000) or ``"test"`` (10,000), from IDX files (see the module docstring for where).

    Returns ``(images, labels)``: ``images`` (N, 784) (or (N, 28, 28) with ``flatten=False``),
    ``x = p / 255`` in [0, 1] as ``dtype`` (default float32) for ``normalize="unit"``, or the
    uint8 pixels for ``normalize=None``; ``labels`` (N,) int64 in 0-9. For standardised inputs
    use :func:`idx_splits` (statistics from the training split only). ``download=True`` fetches
    missing files; without it nothing touches the network.
    """
    check_normalize(normalize, ("unit", None))
    ds, split = _dataset(name), _check_split(split)
    images, labels = _load_raw(ds, split, root, download, mirrors, timeout, verbose)
    if flatten:
        images = images.reshape(images.shape[0], -1)
    if normalize == "unit":
        images = to_unit(images, dtype)
    return images, labels.astype(np.int64)


def idx_splits(name="mnist", val_size: int = 10000, seed=0, root=None, download: bool = False,
               *, normalize="unit", dtype=None, standardize_inputs: bool = False,
               mirrors=None, timeout: float = 30.0, verbose: bool = True) -> Splits:
    """Train / validation / test :class:`Splits` of the full dataset.

    ``val`` is a seeded, stratified sample of ``val_size`` examples of the official training
    file, ``train`` the other ``60000 - val_size``, ``test`` the official test file (in file
    order). ``Split.indices`` index into the file each split came from. Standardisation
    (``standardize_inputs=True`` or ``normalize="standard"``): ``(x - mu) / sigma`` with the
    scalar ``mu, sigma`` of ``train``, applied to all three.
    """
    check_normalize(normalize)
    if normalize == "standard":
        normalize, standardize_inputs = "unit", True
    if standardize_inputs and normalize is None:
        raise ValueError("idx_splits: standardize_inputs=True needs normalize='unit'")
    kw = dict(root=root, download=download, normalize=None, mirrors=mirrors, timeout=timeout,
              verbose=verbose)
    train_px, train_y = load_idx_dataset(name, "train", **kw)
    test_px, test_y = load_idx_dataset(name, "test", **kw)
    n = train_y.shape[0]
    if not 0 <= val_size <= n:
        raise ValueError(f"idx_splits: val_size {val_size} must be in 0..{n}")
    tr, va = stratified_indices(train_y, (n - val_size, val_size), seed)
    te = np.arange(test_y.shape[0], dtype=np.int64)
    parts = [(train_px, train_y, tr), (train_px, train_y, va), (test_px, test_y, te)]
    xs = [px[i] if normalize is None else to_unit(px[i], dtype) for px, _, i in parts]
    mean = std = None
    if standardize_inputs:
        mean, std = pixel_stats(xs[0])
        xs = [standardize(x, mean, std) for x in xs]
    made = [Split(x, y[i], i) for x, (_, y, i) in zip(xs, parts)]
    return Splits(*made, mean=mean, std=std)
