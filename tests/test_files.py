"""minigrad.files: the one atomic writer every file of the project goes through."""

import os
import stat

import pytest

from minigrad.files import atomic_write_text, atomic_writer, part_files


def test_write_text_replaces_whole_file_with_readable_permissions(tmp_path):
    path = tmp_path / "sub" / "report.md"
    atomic_write_text(path, "first")
    assert path.read_text() == "first\n"
    atomic_write_text(path, "second\n")
    assert path.read_text() == "second\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert part_files(path.parent) == []


def test_an_error_midway_leaves_the_old_file_and_no_part_file(tmp_path):
    path = tmp_path / "ckpt.bin"
    path.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt), atomic_writer(path) as f:
        f.write(b"half of the new")
        raise KeyboardInterrupt
    assert path.read_bytes() == b"old"
    assert part_files(tmp_path) == []
