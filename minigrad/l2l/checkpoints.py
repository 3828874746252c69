"""Learned-optimizer checkpoints: weights, meta-optimizer state and the whole configuration.

One ``.npz`` file (written atomically by :func:`minigrad.nn.save_checkpoint`, read with
``allow_pickle=False``) holds

* ``net.<name>``: the LSTM optimizer's weights phi at the end of the last complete
  meta-iteration (an optimizer with one LSTM per parameter group prefixes each name with its
  group, ``net.conv.lstm.weight_ih_l0``, ``net.fc.head.bias``, and its metadata ``net`` names
  the ``groups`` and which parameters each held, ``assignment``:
  :mod:`minigrad.l2l.grouped`); ``best.<name>``: the weights that did best on validation
  problems (when validation ran);
* ``optimizer.<i>.<state>``: Adam's state for phi (so training resumes exactly);
* metadata (JSON): ``format``, the problem family, the network and meta-training
  configurations, ``iteration`` (meta-iterations completed), the training ``curve`` (mean
  optimizee loss per meta-iteration), ``final_losses``, the validation history, the command
  line, the data version (MNIST) and the minigrad version.

Training is deterministic given the configuration and the iteration count: the problem of
meta-iteration i is drawn from seed ``(seed, 1, i)`` and nothing else is random, so resuming
from a checkpoint gives the same numbers as never stopping.

What training changes is one :class:`RunState` (weights, Adam state, iteration, curves,
running average): the trainer's in-memory snapshot
(:meth:`~minigrad.l2l.meta.MetaTrainer.snapshot`, the last good weights a divergence rolls back
to) and the checkpoint (:meth:`RunState.to_checkpoint`, :meth:`RunState.from_checkpoint`) are
the same object, put back by the same :meth:`RunState.put`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..files import file_digest
from ..nn import CheckpointError, load_checkpoint, save_checkpoint
from ..optim import flatten_state_dict, unflatten_state_dict

__all__ = [
    "FORMAT", "PRETRAINED_DIR", "CheckpointMismatch", "RunState", "check_finite",
    "load_learned_optimizer", "load_pretrained", "read_checkpoint", "resolve_checkpoint",
    "restore_trainer", "split_arrays", "write_checkpoint",
]

FORMAT = "minigrad.l2l/1"
PRETRAINED_DIR = Path(__file__).with_name("pretrained")


class CheckpointMismatch(CheckpointError):
    """A checkpoint does not fit what was asked, or is incomplete or damaged (the message names
    the file and says what differs or is missing). A :class:`~minigrad.nn.CheckpointError`,
    hence a ValueError."""


def resolve_checkpoint(spec, problem: str) -> Path:
    """``"pretrained"`` -> the shipped file for ``problem``; otherwise the path itself.

    Raises FileNotFoundError with a clear message when the file is not there.
    """
    if str(spec) == "pretrained":
        path = PRETRAINED_DIR / f"{problem}.npz"
        if not path.is_file():
            raise FileNotFoundError(
                f"no pretrained checkpoint shipped yet for {problem} (looked for {path}); "
                "train one with `python -m minigrad.l2l train` and pass --checkpoint PATH")
        return path
    path = Path(spec)
    if not path.is_file():
        raise FileNotFoundError(f"no such checkpoint file: {path}")
    return path


@dataclass
class RunState:
    """Everything meta-training changes, as copies: the weights phi (``net``, ``{name:
    array}``), Adam's state dict (``optimizer``; None: leave the trainer's Adam as it is),
    ``iteration`` (meta-iterations completed), the ``curve`` and ``final_losses`` (one entry
    per meta-iteration) and the running average of phi (``averaged``, None when the trainer
    keeps none). The collapse guard's state (``MetaConfig.collapse_guard``, see
    :mod:`minigrad.l2l.meta`): ``lr_scale``, the factor on the meta learning rate's schedule
    (halved at each rollback); ``rollbacks``, ``[collapsed iteration, iteration whose start it
    rolled back to]`` pairs (counted from 1, as the log does); ``strikes``, the horizons back
    at chance in a row since the last good one; and ``guard``, the weights to
    roll back to (a RunState of weights, Adam state and running average, whose ``iteration``
    counts the meta-iterations done before them; None until a horizon has left chance). A
    checkpoint stores the guard's arrays as ``guard.net.*``, ``guard.optimizer.*`` and
    ``guard.average.*``.

    The one representation of a run's state: :meth:`of` takes it from a trainer (a
    :class:`~minigrad.l2l.meta.MetaTrainer`) and :meth:`put` puts it back, for the trainer's
    snapshot of its last good weights and for checkpoints alike; :meth:`to_checkpoint` and
    :meth:`from_checkpoint` are its form in a checkpoint file (see the module docstring).
    """

    net: dict
    optimizer: dict | None
    iteration: int
    curve: list
    final_losses: list
    averaged: dict | None = None
    lr_scale: float = 1.0
    rollbacks: list = field(default_factory=list)
    guard: RunState | None = None
    strikes: int = 0

    @classmethod
    def of(cls, trainer) -> RunState:
        """A copy of ``trainer``'s state."""
        averaged = getattr(trainer, "averaged", None)
        return cls(net=trainer.net.state_dict(), optimizer=trainer.meta_opt.state_dict(),
                   iteration=trainer.iteration, curve=list(trainer.curve),
                   final_losses=list(trainer.final_losses),
                   averaged=None if averaged is None else
                   {k: v.copy() for k, v in averaged.items()},
                   lr_scale=float(getattr(trainer, "lr_scale", 1.0)),
                   rollbacks=[list(r) for r in getattr(trainer, "rollbacks", [])],
                   guard=getattr(trainer, "guard_state", None),
                   strikes=int(getattr(trainer, "strikes", 0)))

    def weights_only(self) -> RunState:
        """The weights, Adam state and running average alone (what the collapse guard keeps
        and rolls back to)."""
        return RunState(net=self.net, optimizer=self.optimizer, iteration=self.iteration,
                        curve=[], final_losses=[], averaged=self.averaged)

    def put_weights(self, trainer) -> None:
        """Make this state's weights, Adam state (unless None) and running average (only if
        the trainer keeps one, in its dtype) ``trainer``'s, as copies. ValueError when the
        weights do not fit its network."""
        trainer.net.load_state_dict(self.net)
        if self.optimizer is not None:
            trainer.meta_opt.load_state_dict(self.optimizer)
        if getattr(trainer, "averaged", None) is not None:
            trainer.averaged = {k: np.array(v, dtype=trainer.averaged[k].dtype)
                                for k, v in self.averaged.items()}

    def put(self, trainer) -> None:
        """Make this ``trainer``'s state: :meth:`put_weights`, the counters and curves, and
        the collapse guard's state."""
        self.put_weights(trainer)
        trainer.iteration = int(self.iteration)
        trainer.curve, trainer.final_losses = list(self.curve), list(self.final_losses)
        trainer.lr_scale = float(self.lr_scale)
        trainer.rollbacks = [list(r) for r in self.rollbacks]
        trainer.guard_state = self.guard
        trainer.strikes = int(self.strikes)

    def to_checkpoint(self) -> tuple[dict, dict]:
        """``(arrays, metadata)``: the state's entries of a checkpoint, ``net.*``,
        ``average.*`` and ``optimizer.*`` arrays (and the guard's, prefixed ``guard.``) and
        the metadata ``iteration``, ``curve``, ``final_losses``, ``optimizer`` (Adam's
        settings), ``lr_scale``, ``rollbacks`` and ``guard`` (its iteration and Adam's
        settings)."""
        arrays = {f"net.{k}": v for k, v in self.net.items()}
        if self.averaged is not None:
            arrays.update({f"average.{k}": v for k, v in self.averaged.items()})
        opt_arrays, opt_meta = flatten_state_dict(self.optimizer, "optimizer.")
        arrays.update(opt_arrays)
        meta = {"iteration": self.iteration, "curve": list(self.curve),
                "final_losses": list(self.final_losses), "optimizer": opt_meta,
                "lr_scale": self.lr_scale, "rollbacks": [list(r) for r in self.rollbacks],
                "strikes": self.strikes}
        if self.guard is not None:
            guard_arrays, guard_meta = self.guard.to_checkpoint()
            arrays.update({f"guard.{k}": v for k, v in guard_arrays.items()})
            meta["guard"] = {"iteration": guard_meta["iteration"],
                             "optimizer": guard_meta["optimizer"]}
        return arrays, meta

    @classmethod
    def from_checkpoint(cls, arrays: dict, meta: dict, *, path=None,
                        optimizer: bool = True) -> RunState:
        """The state a checkpoint's ``(arrays, meta)`` hold (``optimizer`` False: none of
        Adam's, so :meth:`put` leaves the trainer's). Raises :class:`CheckpointMismatch`
        naming ``path`` when Adam's state is absent or incomplete."""
        guard = None
        if meta.get("guard") is not None:
            guard = cls.from_checkpoint(split_arrays(arrays, "guard"), meta["guard"],
                                        path=path, optimizer=optimizer).weights_only()
        return cls(net=split_arrays(arrays, "net"),
                   optimizer=optimizer_state(arrays, meta, path) if optimizer else None,
                   iteration=int(meta["iteration"]), curve=list(meta.get("curve", [])),
                   final_losses=list(meta.get("final_losses", [])),
                   averaged=split_arrays(arrays, "average") or None,
                   lr_scale=float(meta.get("lr_scale", 1.0)),
                   rollbacks=[list(r) for r in meta.get("rollbacks", [])], guard=guard,
                   strikes=int(meta.get("strikes", 0)))


def write_checkpoint(path, trainer, problem_config: dict, *, best=None, extra=None) -> Path:
    """Save ``trainer`` (a :class:`~minigrad.l2l.meta.MetaTrainer`) to ``path`` atomically:
    its :class:`RunState`, ``best`` (the best-on-validation weights) and the configuration,
    with ``extra`` metadata."""
    state, state_meta = trainer.snapshot().to_checkpoint()
    # the arrays in the order they always had: net.*, best.*, then average.* and optimizer.*
    arrays = {k: v for k, v in state.items() if k.startswith("net.")}
    if best is not None:
        arrays.update({f"best.{k}": v for k, v in best.items()})
    arrays.update(state)
    meta = {
        "format": FORMAT,
        "problem": problem_config,
        "net": trainer.net.config(),
        "meta": trainer.config.to_dict(),
        "dtype": str(trainer.net.dtype),
        **state_meta,
    }
    meta.update(extra or {})
    return save_checkpoint(path, arrays, meta)


def split_arrays(arrays: dict, prefix: str) -> dict:
    """The entries ``prefix.<name>`` of a checkpoint as ``{name: array}``."""
    n = len(prefix) + 1
    return {k[n:]: v for k, v in arrays.items() if k.startswith(prefix + ".")}


def read_checkpoint(path, problem: str | None = None):
    """``(arrays, metadata)`` of an l2l checkpoint, checked to be one (and, if ``problem`` is
    given, to be trained on that problem family): the format, the metadata entries every use
    needs, network weights present and every weight and optimizer array finite. Raises
    :class:`CheckpointMismatch` naming the file and what is wrong or missing."""
    try:
        arrays, meta = load_checkpoint(path)
    except CheckpointError as exc:
        raise CheckpointMismatch(str(exc)) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise CheckpointMismatch(
            f"{path} is not a learned-optimizer checkpoint (format {found!r}, expected "
            f"{FORMAT!r}); it must come from `python -m minigrad.l2l train`")
    for key in ("problem", "net", "meta", "iteration"):
        if key not in meta:
            raise CheckpointMismatch(f"{path}: the metadata has no {key!r} entry")
    if not split_arrays(arrays, "net"):
        raise CheckpointMismatch(f"{path}: holds no network weights (net.*)")
    check_finite(path, arrays)
    trained_on = meta["problem"].get("name")
    if problem is not None and trained_on != problem:
        raise CheckpointMismatch(
            f"{path} holds an optimizer trained on the {trained_on!r} problem, not the "
            f"{problem!r} one asked for")
    return arrays, meta


def check_finite(path, arrays: dict) -> None:
    """Refuse NaN or infinite weights (``net.*``, ``best.*``, ``average.*``) or optimizer
    state: resuming would train them on and save them back, and evaluating them reports a
    divergence that is the file's, not the optimizer's. Raises :class:`CheckpointMismatch`
    naming the array."""
    for name, value in arrays.items():
        if name.split(".")[0] not in ("net", "best", "average", "optimizer", "guard"):
            continue
        value = np.asarray(value)
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            bad = int(value.size - np.isfinite(value).sum())
            raise CheckpointMismatch(
                f"{path}: array {name!r} holds {bad} non-finite value(s) (NaN or inf) of "
                f"{value.size}; expected finite numbers. Resume or evaluate an earlier "
                "checkpoint instead")


def optimizer_state(arrays: dict, meta: dict, path=None) -> dict:
    """The Adam state dict stored in a checkpoint, checked to be complete: the ``optimizer``
    metadata entry, and the same state arrays for every parameter. Raises
    :class:`CheckpointMismatch` naming ``path`` and what is missing."""
    if "optimizer" not in meta:
        raise CheckpointMismatch(f"{path}: the metadata has no 'optimizer' entry (the meta-"
                                 "optimizer's settings); cannot resume it exactly")
    state = unflatten_state_dict(arrays, meta["optimizer"], "optimizer.")
    if int(meta.get("iteration", 0)) > 0 and not state["state"]:
        raise CheckpointMismatch(f"{path}: holds no meta-optimizer state (optimizer.* arrays) "
                                 f"after {meta['iteration']} meta-iterations")
    expected = [i for g in state["param_groups"] for i in g.get("params", [])]
    names = {k for entry in state["state"].values() for k in entry}
    missing = [f"optimizer.{i}.{k}" for i in expected for k in sorted(names)
               if k not in state["state"].get(i, {})]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5
                                          else "")
        raise CheckpointMismatch(f"{path}: the meta-optimizer state is incomplete: missing "
                                 f"{shown}")
    return state


def restore_trainer(trainer, arrays: dict, meta: dict, *, path=None,
                    reset_optimizer: bool = False):
    """Put a checkpoint's :class:`RunState` back into ``trainer`` (weights, Adam state,
    iteration, curves, the running average of the weights if the trainer keeps one).

    Returns ``(best, val_history, elapsed_s)``: the best-on-validation weights (None if the
    run never validated), the validation history and the training time so far. Raises
    ValueError when the arrays do not fit the trainer's network, and
    :class:`CheckpointMismatch` when the meta-optimizer's state is absent or incomplete,
    unless ``reset_optimizer`` (then Adam starts afresh from the checkpoint's weights), or
    when the trainer keeps a running average and the checkpoint's is missing or incomplete.
    """
    state = RunState.from_checkpoint(arrays, meta, path=path, optimizer=not reset_optimizer)
    if getattr(trainer, "averaged", None) is not None:
        averaged = state.averaged or {}
        if set(averaged) != set(trainer.averaged):
            missing = sorted(set(trainer.averaged) - set(averaged))
            raise CheckpointMismatch(
                f"{path or 'checkpoint'}: its settings keep a running average of the weights "
                f"(average {trainer.config.average:g}) but the arrays average.* are missing or "
                f"incomplete (missing: {', '.join(missing) or 'none'})")
    state.put(trainer)
    best = split_arrays(arrays, "best") or None
    history = [list(r) for r in (meta.get("validation") or {}).get("history", [])]
    return best, history, float(meta.get("elapsed_s", 0.0))


def load_learned_optimizer(spec, problem: str | None = None, weights: str = "best"):
    """The learned optimizer stored in a checkpoint, ready to use: ``(net, meta)``.

    ``spec`` is a path or ``"pretrained"`` (the shipped file for ``problem``). The network is
    rebuilt from the checkpoint's own configuration and given its best-on-validation weights
    when it has them and ``weights="best"`` (the default, as in the paper), else its last
    ones; ``meta["weights_used"]`` says which. Raises FileNotFoundError for a missing file and
    :class:`CheckpointMismatch` for one that is not a learned optimizer of ``problem``, or
    whose weights do not fit its configuration.
    """
    from .grouped import build_net

    if weights not in ("best", "last"):
        raise ValueError(f"load_learned_optimizer: weights must be 'best' or 'last', got "
                         f"{weights!r}")
    if problem is None and str(spec) == "pretrained":
        raise ValueError("load_learned_optimizer: 'pretrained' needs the problem's name")
    path = resolve_checkpoint(spec, problem) if problem is not None else Path(spec)
    arrays, meta = read_checkpoint(path, problem)
    chosen = split_arrays(arrays, "best") if weights == "best" else {}
    try:
        net = build_net(meta["net"], dtype=meta.get("dtype", "float32"))
        net.load_state_dict(chosen or split_arrays(arrays, "net"))
    except (ValueError, TypeError) as exc:
        raise CheckpointMismatch(f"{path}: does not fit its own configuration: {exc}") from None
    return net, dict(meta, weights_used="best" if chosen else "last", path=str(path))


def load_pretrained(problem: str, spec="pretrained", weights: str = "best"):
    """A learned optimizer to use and read about: ``(net, info)``.

    The shipped optimizer for ``problem`` (``minigrad/l2l/pretrained/<problem>.npz``), or the
    checkpoint at path ``spec``, loaded by :func:`load_learned_optimizer` (same rule for the
    weights). ``info`` is the checkpoint's metadata plus what a reader wants at hand:
    ``weights`` ("best" or "last", the ones used), ``sha256`` (of the file), ``status``,
    ``command`` and ``elapsed_s`` (None when not recorded), ``note`` (the context recorded
    when the file was shipped, or None), ``curve`` (mean optimizee loss per
    meta-iteration, floats) and ``validation_history`` (``(meta-iteration, score)`` pairs).
    """
    net, meta = load_learned_optimizer(spec, problem, weights)
    validation = meta.get("validation") or {}
    info = dict(meta)
    info.update(
        weights=meta["weights_used"], sha256=file_digest(meta["path"]),
        iteration=int(meta["iteration"]), status=meta.get("status", "unknown"),
        command=meta.get("command"), elapsed_s=meta.get("elapsed_s"),
        note=(meta.get("shipped") or {}).get("note"),
        curve=[float(v) for v in meta.get("curve", [])],
        validation_history=[tuple(r) for r in validation.get("history", [])])
    return net, info
