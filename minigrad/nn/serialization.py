"""Checkpoints: a state dict (name -> array) and JSON metadata in one ``.npz`` file.

File format: an ordinary NumPy ``.npz`` archive with one array per state-dict entry, stored
under its name, plus ``__metadata__``: a one-element string array holding the metadata as JSON.
The archive is zip-deflated (``numpy.savez_compressed``): NumPy stores a string as 4 bytes per
character, and a long run's metadata (its whole log) would otherwise outweigh its weights
tenfold. Uncompressed archives (written before) load the same way. Everything loads with
``numpy.load(path, allow_pickle=False)``; nothing is ever unpickled.

Writes are atomic: the archive is written to a temporary file in the same directory, flushed
to disk, then moved over ``path`` with ``os.replace``, so a crash never leaves a half-written
checkpoint under the real name.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..files import atomic_writer
from ..tensor import Tensor
from .module import Module, StateDictError

__all__ = ["METADATA_KEY", "CheckpointError", "load_checkpoint", "save_checkpoint"]

METADATA_KEY = "__metadata__"


class CheckpointError(ValueError):
    """A checkpoint file cannot be read or written (the message names the file and why)."""


def _as_array(name, value, path):
    if isinstance(value, Tensor):
        value = value.numpy()
    if hasattr(value, "get") and type(value).__module__.startswith("cupy"):
        value = value.get()
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise CheckpointError(
            f"save_checkpoint({path}): array '{name}' has dtype {arr.dtype}; only numbers "
            "(bool, int, float) can be stored"
        )
    return arr


def save_checkpoint(path, state_dict, metadata: dict | None = None) -> Path:
    """Write ``state_dict`` (name -> array or Tensor) and ``metadata`` (JSON-able) to ``path``.

    The file is written exactly at ``path`` (no suffix is added; ``.npz`` is the convention),
    atomically. Returns the path.
    """
    path = Path(path)
    if not hasattr(state_dict, "items"):
        raise TypeError(
            f"save_checkpoint({path}): state_dict must be a dict name -> array, got "
            f"{type(state_dict).__name__}"
        )
    arrays = {}
    for name, value in state_dict.items():
        if not isinstance(name, str) or not name:
            raise CheckpointError(f"save_checkpoint({path}): names must be non-empty strings, "
                                  f"got {name!r}")
        if name == METADATA_KEY:
            raise CheckpointError(f"save_checkpoint({path}): the name {METADATA_KEY!r} is "
                                  "reserved for the metadata")
        arrays[name] = _as_array(name, value, path)
    try:
        meta_json = json.dumps(metadata, sort_keys=True, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(
            f"save_checkpoint({path}): metadata is not JSON-serialisable ({exc})"
        ) from None
    arrays[METADATA_KEY] = np.array([meta_json])

    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise CheckpointError(f"save_checkpoint({path}): directory {directory} does not exist")
    with atomic_writer(path) as f:
        np.savez_compressed(f, **arrays)
    return path


def load_checkpoint(path, into: Module | None = None, strict: bool = True):
    """Read a checkpoint written by :func:`save_checkpoint`: returns ``(state_dict, metadata)``.

    ``state_dict`` maps names to NumPy arrays, ``metadata`` is what was saved (None if none).
    With ``into=module`` the arrays are also loaded into the module
    (``module.load_state_dict(state_dict, strict)``), and a mismatch names the file.

    Raises FileNotFoundError for a missing file and :class:`CheckpointError` for a file that is
    not an ``.npz`` archive, is truncated or corrupt, or holds something other than number
    arrays (e.g. pickled objects).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load_checkpoint: no such file: {path}")
    arrays = _read_archive(path)
    metadata = None
    if METADATA_KEY in arrays:
        raw = arrays.pop(METADATA_KEY)
        try:
            metadata = json.loads(str(raw.reshape(-1)[0]))
        except (ValueError, IndexError) as exc:
            raise CheckpointError(
                f"load_checkpoint({path}): the metadata is not valid JSON ({exc})"
            ) from None
    for key, arr in arrays.items():
        if arr.dtype.kind not in "biuf":
            raise CheckpointError(
                f"load_checkpoint({path}): array '{key}' has dtype {arr.dtype}, expected numbers"
            )
    if into is not None:
        try:
            into.load_state_dict(arrays, strict=strict)
        except StateDictError as exc:
            raise StateDictError(f"checkpoint {path}: {exc}") from None
    return arrays, metadata


def _read_archive(path: Path) -> dict:
    """Every member of the ``.npz`` archive at ``path`` as ``{name: array}``, metadata
    included; :class:`CheckpointError` naming the file and the member for anything else."""
    arrays, name = {}, None
    try:
        z = np.load(path, allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):  # a bare .npy array
            raise CheckpointError(
                f"load_checkpoint({path}): not an .npz checkpoint (it holds a single .npy "
                "array, not an archive of named arrays)"
            )
        with z:
            for name in z.files:
                value = z[name]
                if not isinstance(value, np.ndarray):  # NumPy hands back raw bytes
                    raise CheckpointError(
                        f"load_checkpoint({path}): member '{name}' of the archive is not a "
                        "NumPy array"
                    )
                arrays[name] = value
    except CheckpointError:
        raise
    except Exception as exc:  # whatever a damaged archive raises, say so clearly
        # Seen: BadZipFile, zlib.error, EOFError, OSError, ValueError, and SyntaxError or
        # tokenize.TokenError when a deflated member inflates to a garbled .npy header.
        if name is None and isinstance(exc, ValueError) and "pickle" in str(exc):
            # NumPy tried its last resort, unpickling, which allow_pickle=False forbids.
            raise CheckpointError(
                f"load_checkpoint({path}): not an .npz checkpoint (the file starts with neither "
                "a zip nor a .npy header)"
            ) from None
        what = f" while reading array '{name}'" if name is not None else ""
        hint = ""
        if isinstance(exc, ValueError) and "pickle" in str(exc):
            hint = (" (it holds pickled objects; checkpoints hold number arrays only and are "
                    "never unpickled)")
        raise CheckpointError(
            f"load_checkpoint({path}): corrupt or not an .npz checkpoint{what}: "
            f"{type(exc).__name__}: {exc}{hint}"
        ) from None
    return arrays
