"""Downloads against a local HTTP server on 127.0.0.1 serving generated files."""

import hashlib
import http.server
import re
import socket
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from minigrad.data import (
    DATASETS,
    ChecksumError,
    DataError,
    DownloadError,
    download_file,
    download_idx_dataset,
    load_idx_dataset,
    write_idx,
)
from minigrad.data.idx_datasets import IDXDataset, RemoteFile


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.delenv("MINIGRAD_MNIST_MIRRORS", raising=False)


@pytest.fixture
def server():
    """A threaded HTTP server on a free port. ``files[path] = (bytes, mode)`` with mode
    "ok", or "truncate" (announce the full Content-Length, send half, close)."""
    files, log = {}, []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            log.append(self.path)
            if self.path not in files:
                self.send_error(404, "not here")
                return
            body, mode = files[self.path]
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body if mode == "ok" else body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield SimpleNamespace(url=f"http://127.0.0.1:{httpd.server_address[1]}", files=files,
                              log=log)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def dead_url():
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def digests(blob: bytes):
    return dict(sha256=hashlib.sha256(blob).hexdigest(),
                md5=hashlib.md5(blob, usedforsecurity=False).hexdigest(), size=len(blob))


def leftovers(folder: Path):
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


BLOB = np.random.default_rng(0).bytes(300_000)


# ----------------------------------------------------------------------------- download_file


def test_download_success(server, tmp_path):
    server.files["/f.bin"] = (BLOB, "ok")
    dest = download_file([server.url + "/f.bin"], tmp_path / "d" / "f.bin", **digests(BLOB))
    assert dest.read_bytes() == BLOB
    assert leftovers(tmp_path) == ["f.bin"]
    assert server.log == ["/f.bin"]


def test_checksum_mismatch_leaves_no_file(server, tmp_path):
    server.files["/f.bin"] = (BLOB, "ok")
    expected = digests(BLOB[:-1] + b"x")
    expected["size"] = len(BLOB)
    with pytest.raises(ChecksumError, match="SHA-256 mismatch") as info:
        download_file([server.url + "/f.bin"], tmp_path / "f.bin", **expected)
    assert "f.bin" in str(info.value) and "no file was saved" in str(info.value)
    assert leftovers(tmp_path) == []


def test_checksum_mismatch_keeps_the_previous_good_file(server, tmp_path):
    (tmp_path / "f.bin").write_bytes(b"previous")
    server.files["/f.bin"] = (BLOB, "ok")
    with pytest.raises(ChecksumError):
        download_file([server.url + "/f.bin"], tmp_path / "f.bin", sha256="0" * 64)
    assert (tmp_path / "f.bin").read_bytes() == b"previous"
    assert leftovers(tmp_path) == ["f.bin"]


def test_md5_and_size_are_checked(server, tmp_path):
    server.files["/f.bin"] = (BLOB, "ok")
    good = digests(BLOB)
    with pytest.raises(ChecksumError, match="MD5 mismatch"):
        download_file([server.url + "/f.bin"], tmp_path / "f.bin", **{**good, "md5": "0" * 32})
    with pytest.raises(ChecksumError, match="published file has 5"):
        download_file([server.url + "/f.bin"], tmp_path / "f.bin", **{**good, "size": 5})
    assert leftovers(tmp_path) == []


def test_interrupted_transfer_leaves_no_file(server, tmp_path):
    server.files["/f.bin"] = (BLOB, "truncate")
    with pytest.raises(DownloadError, match=r"interrupted.*150,000.*300,000"):
        download_file([server.url + "/f.bin"], tmp_path / "f.bin", **digests(BLOB))
    assert leftovers(tmp_path) == []


def test_next_mirror_after_404_bad_copy_and_interruption(server, tmp_path):
    server.files["/bad/f.bin"] = (b"not the file", "ok")
    server.files["/cut/f.bin"] = (BLOB, "truncate")
    server.files["/good/f.bin"] = (BLOB, "ok")
    urls = [f"{server.url}/{m}/f.bin" for m in ("missing", "bad", "cut", "good")]
    download_file(urls, tmp_path / "f.bin", **digests(BLOB))
    assert (tmp_path / "f.bin").read_bytes() == BLOB
    assert server.log == ["/missing/f.bin", "/bad/f.bin", "/cut/f.bin", "/good/f.bin"]
    assert leftovers(tmp_path) == ["f.bin"]


def test_all_mirrors_failing_lists_each_failure(server, tmp_path):
    server.files["/cut/f.bin"] = (BLOB, "truncate")
    urls = [server.url + "/missing/f.bin", server.url + "/cut/f.bin"]
    with pytest.raises(DownloadError) as info:
        download_file(urls, tmp_path / "f.bin", **digests(BLOB), hint="PUT IT THERE")
    msg = str(info.value)
    assert "HTTP Error 404" in msg and "interrupted" in msg and msg.endswith("PUT IT THERE")
    assert leftovers(tmp_path) == []


def test_unreachable_server_says_offline(dead_url, tmp_path):
    with pytest.raises(DownloadError, match=r"offline\?.*\n.*127\.0\.0\.1.*refused") as info:
        download_file([dead_url + "f.bin"], tmp_path / "f.bin", sha256="0" * 64, timeout=5,
                      hint="put f.bin in /some/folder")
    assert "put f.bin in /some/folder" in str(info.value)
    assert leftovers(tmp_path) == []


def test_file_url_mirror(tmp_path):
    (tmp_path / "mirror").mkdir()
    (tmp_path / "mirror" / "f.bin").write_bytes(BLOB)
    dest = download_file([(tmp_path / "mirror").as_uri() + "/f.bin"], tmp_path / "out" / "f.bin",
                         **digests(BLOB))
    assert dest.read_bytes() == BLOB


# ----------------------------------------------------------------------------- the loader


@pytest.fixture
def fake_mnist(tmp_path, monkeypatch):
    """Register generated IDX files (with their own checksums) as the 'mnist' dataset."""
    rng = np.random.default_rng(1)
    arrays = {
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, 20).astype(np.uint8),
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (40, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, 40).astype(np.uint8),
    }
    blobs = {}
    for name, array in arrays.items():
        blobs[name] = write_idx(tmp_path / "src" / name, array).read_bytes()
    files = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        for kind, tag in (("images", "images-idx3"), ("labels", "labels-idx1")):
            name = f"{prefix}-{tag}-ubyte.gz"
            d = digests(blobs[name])
            files[split, kind] = RemoteFile(name, d["size"], d["sha256"], d["md5"])
    real = DATASETS["mnist"]
    fake = IDXDataset(name="mnist", mirrors=("http://127.0.0.1:9/never-used/",), files=files,
                      classes=real.classes)
    monkeypatch.setitem(DATASETS, "mnist", fake)
    monkeypatch.setenv("MINIGRAD_DATA", str(tmp_path / "cache"))
    return SimpleNamespace(arrays=arrays, blobs=blobs, cache=tmp_path / "cache" / "mnist")


def serve(server, fake_mnist, prefix="/mnist/", mode="ok"):
    for name, blob in fake_mnist.blobs.items():
        server.files[prefix + name] = (blob, mode)
    return server.url + prefix


def test_load_downloads_into_the_cache_once(server, fake_mnist, monkeypatch):
    monkeypatch.setenv("MINIGRAD_MNIST_MIRRORS", serve(server, fake_mnist))
    x, y = load_idx_dataset("mnist", "test", download=True, normalize=None, verbose=False)
    images, labels = "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"
    np.testing.assert_array_equal(x.reshape(-1, 28, 28), fake_mnist.arrays[images])
    assert y.tolist() == fake_mnist.arrays[labels].tolist()
    assert leftovers(fake_mnist.cache) == [images, labels]
    assert len(server.log) == 2
    load_idx_dataset("mnist", "test", download=True, verbose=False)
    assert len(server.log) == 2  # cached: no second download


def test_no_network_without_download_true(server, fake_mnist, monkeypatch):
    monkeypatch.setenv("MINIGRAD_MNIST_MIRRORS", serve(server, fake_mnist))
    with pytest.raises(DataError, match="download=True"):
        load_idx_dataset("mnist", "train")
    assert server.log == []


def test_mirrors_argument_and_root(server, fake_mnist, tmp_path):
    url = serve(server, fake_mnist, prefix="/elsewhere/")
    folder = download_idx_dataset("mnist", root=tmp_path / "mine", mirrors=[url.rstrip("/")],
                                  verbose=False)
    assert folder == tmp_path / "mine" and len(leftovers(folder)) == 4
    x, _ = load_idx_dataset("mnist", "train", root=folder)
    assert x.shape == (40, 784)


def test_loader_checksum_mismatch_leaves_cache_empty(server, fake_mnist):
    url = server.url + "/wrong/"
    for name, blob in fake_mnist.blobs.items():
        server.files["/wrong/" + name] = (blob[:-4] + b"abcd", "ok")
    with pytest.raises(ChecksumError, match="SHA-256 mismatch"):
        load_idx_dataset("mnist", "test", download=True, mirrors=[url], verbose=False)
    assert leftovers(fake_mnist.cache) == []


def test_loader_interrupted_transfer_leaves_cache_empty(server, fake_mnist):
    url = serve(server, fake_mnist, mode="truncate")
    with pytest.raises(DownloadError, match="interrupted"):
        load_idx_dataset("mnist", "test", download=True, mirrors=[url], verbose=False)
    assert leftovers(fake_mnist.cache) == []


def test_loader_offline_message_says_where_to_put_files(dead_url, fake_mnist):
    with pytest.raises(DownloadError) as info:
        load_idx_dataset("mnist", "test", download=True, mirrors=[dead_url], timeout=5,
                         verbose=False)
    msg = str(info.value)
    assert "offline?" in msg
    assert re.search(r"put these files .* in " + re.escape(str(fake_mnist.cache)), msg)
    assert "t10k-images-idx3-ubyte.gz" in msg
    assert leftovers(fake_mnist.cache) == []


def test_corrupt_cached_file_is_replaced_when_downloading(server, fake_mnist):
    fake_mnist.cache.mkdir(parents=True)
    name = "t10k-images-idx3-ubyte.gz"
    (fake_mnist.cache / name).write_bytes(fake_mnist.blobs[name][:100])  # truncated gzip
    labels = "t10k-labels-idx1-ubyte.gz"
    (fake_mnist.cache / labels).write_bytes(fake_mnist.blobs[labels])
    with pytest.raises(DataError, match="corrupt or truncated gzip"):
        load_idx_dataset("mnist", "test", download=False)
    url = serve(server, fake_mnist)
    x, _ = load_idx_dataset("mnist", "test", download=True, mirrors=[url], normalize=None,
                            verbose=False)
    np.testing.assert_array_equal(x.reshape(-1, 28, 28), fake_mnist.arrays[name])
    assert (fake_mnist.cache / name).read_bytes() == fake_mnist.blobs[name]
    assert server.log == [f"/mnist/{name}"]  # only the bad file was fetched again


def test_published_checksums_are_well_formed():
    for ds in DATASETS.values():
        assert len(ds.files) == 4
        for remote in ds.files.values():
            assert re.fullmatch(r"[0-9a-f]{64}", remote.sha256)
            assert re.fullmatch(r"[0-9a-f]{32}", remote.md5)
            assert remote.size > 1000 and remote.filename.endswith("-ubyte.gz")
        assert all(m.startswith(("http://", "https://")) for m in ds.mirrors)
