"""Fashion-MNIST: the same net on another dataset."""

from __future__ import annotations

import functools

from minigrad.backend import default_device, to_device
from minigrad.l2l.evaluate import Experiment
from minigrad.l2l.problems import MnistProblem, mnist_problem_factory


def fashion_available(root=None) -> tuple[bool, str]:
    """``(True, where)`` when the Fashion-MNIST test files are on this machine, else
    ``(False, why)``, ``why`` whole: every folder searched, the files expected and how to get
    them (Debian's ``dataset-fashion-mnist`` package installs them under
    /usr/share/datasets/fashion-mnist; minigrad.data also looks in its cache folder)."""
    from minigrad.data import DataError, find_idx_files

    try:
        images, _ = find_idx_files("fashion-mnist", "test", root)
    except DataError as exc:
        return False, str(exc) + (
            "\nOr install Debian's dataset-fashion-mnist, or call "
            "minigrad.data.download_idx_dataset('fashion-mnist', 'test').")
    return True, str(images.parent)


@functools.lru_cache(maxsize=2)
def load_fashion(root=None, dtype: str = "float32", seed: int = 0):
    """The 10,000 official Fashion-MNIST test images split (stratified, seeded) into
    ``{"val": (images, labels), "test": (images, labels)}`` of 5,000 each, pixels in [0, 1].
    The optimizer never meta-trained on any of them; the baselines tune on ``val``."""
    from minigrad.data import load_idx_dataset, stratified_indices

    images, labels = load_idx_dataset("fashion-mnist", "test", root, dtype=dtype)
    val, test = stratified_indices(labels, (5000, 5000), seed=seed)
    return {"val": (images[val], labels[val]), "test": (images[test], labels[test])}


class FashionProblem(MnistProblem):
    """The MNIST MLP family, on Fashion-MNIST images (``split``: "val" or "test", the two
    halves of the official test file; see :func:`load_fashion`)."""

    name = "fashion-mnist"

    def __init__(self, optimizee: str = "sigmoid-20", split: str = "test", root=None, **kwargs):
        if split not in ("val", "test"):
            raise ValueError(f"FashionProblem: split must be 'val' or 'test', got {split!r} "
                             "(the learned optimizer is never meta-trained on Fashion-MNIST)")
        super().__init__(optimizee, split=split, **kwargs)
        self.root = root

    def data(self):
        images, labels = load_fashion(self.root, self.dtype.name, self.data_seed)[self.split]
        device = default_device()
        return to_device(images, device), to_device(labels, device)

    def config(self) -> dict:
        return {**super().config(), "name": self.name}

    def describe(self) -> str:
        return super().describe().replace("MNIST MLP", "MLP").replace(
            "digits", "Fashion-MNIST images")


def problem_factory(problem_config: dict | None = None, dtype="float32", root=None):
    """``factory(experiment, split)`` for MNIST and Fashion-MNIST experiments."""
    mnist = mnist_problem_factory(problem_config, dtype)
    cfg = {k: v for k, v in (problem_config or {}).items()
           if k in ("batch_size", "init_std", "data_seed")}

    def factory(exp: Experiment, split: str):
        if exp.dataset == "fashion-mnist":
            return FashionProblem(exp.optimizee, split=split, root=root, dtype=dtype, **cfg)
        return mnist(exp, split)

    return factory
