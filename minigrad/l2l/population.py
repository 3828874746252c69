"""A population start: several members meta-trained side by side for the first minutes of a
budget, then the best on validation goes on alone, on every core.

Why: under a short budget the training seed is a lottery. The same recipe wins on two seeds in
three, and the losing seeds are already behind on validation after a few minutes. Meta-training
splits one horizon's coordinates between processes (:mod:`minigrad.l2l.parallel`), so two
processes on one run and one process on each of two runs cost the same machine; the second
way buys a choice::

    minutes 0 .. M:   member i (seed  s * K + i, one process each), i = 0 .. K-1, side by side
    at M:             i* = argmin_i  (member i's best validation score)
    minutes M .. T:   member i*'s checkpoint resumed on every process, up to the budget T

Each member is an ordinary ``train`` run with its own checkpoint and log next to ``--out``
(``NAME.member<i>.npz``), so it stops on Ctrl-C or SIGTERM and resumes with ``--resume`` like
any run. The chosen member's checkpoint becomes ``--out`` with a ``population`` record (each
member's seed, iterations and best validation score, and which was chosen) and the stage's
wall-clock time as the run's time so far: the budget counts the members' minutes once (they
ran at the same time) plus their start-up.

The functions here are the stage's parts; ``python -m minigrad.l2l train --population K
--population-minutes M`` (:mod:`minigrad.l2l.cli`) puts them together.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing as mp
import signal
from collections.abc import Callable
from pathlib import Path

from ..files import atomic_write_bytes
from ..nn import save_checkpoint

__all__ = ["SHARE", "adopt_member", "choose_member", "member_log", "member_path", "member_seeds",
           "run_members", "sigterm_interrupts"]

#: The members' share of the budget when none is given (``--population-minutes``).
SHARE = 0.5


def member_seeds(seed: int, population: int) -> list[int]:
    """The members' seeds for training seed ``seed``: ``seed * K + i`` for i < K, distinct
    across training seeds; a population of one is the plain run (its seed is ``seed``)."""
    return [int(seed) * population + i for i in range(population)]


def member_path(out, index: int) -> Path:
    """Member ``index``'s checkpoint next to ``out``: ``runs/x.npz`` -> ``runs/x.member0.npz``."""
    out = Path(out)
    return out.with_name(f"{out.stem}.member{index}{out.suffix}")


def member_log(log, index: int):
    """Member ``index``'s log next to ``log`` (``'-'``: none, for every member)."""
    return log if str(log) == "-" else member_path(log, index)


def choose_member(metas: list[dict]) -> int:
    """The index of the member with the lowest best validation score (a score that is not a
    finite number counts as the worst; ties go to the lowest index). ValueError naming the
    member when one has no validation score: the choice needs every member validated."""
    scores = []
    for i, meta in enumerate(metas):
        best = (meta.get("validation") or {}).get("best")
        if not best:
            raise ValueError(f"population member {i} has no validation score to be chosen by; "
                             "members need validation (--val-every)")
        score = float(best[1])
        scores.append(score if math.isfinite(score) else math.inf)
    return min(range(len(scores)), key=lambda i: (scores[i], i))


def adopt_member(out, arrays: dict, meta: dict, record: dict, elapsed_s: float, log=None,
                 member_log_text: str | None = None) -> Path:
    """Write the chosen member's checkpoint (``arrays``, ``meta``) to ``out`` atomically, with
    ``record`` as its ``population`` entry and ``elapsed_s`` (the stage's wall-clock time) as
    the run's time so far; copy the member's log (``member_log_text``) to ``log`` (None: no
    log) with a line that says which member it continues."""
    meta = dict(meta, population=record, elapsed_s=float(elapsed_s))
    if log is not None:
        chosen = record["members"][record["chosen"]]
        note = (f"# population: member {record['chosen']} of {len(record['members'])} (seed "
                f"{chosen['seed']}) chosen after {elapsed_s / 60:.2f} minutes by its best "
                f"validation {chosen['best'][1]:.6g}; its log above, the continued run below\n")
        atomic_write_bytes(log, ((member_log_text or "") + note).encode())
    return save_checkpoint(out, arrays, meta)


def run_members(target: Callable, member_args: list, start_method: str = "spawn") -> list[int]:
    """Run ``target(args)`` for every entry of ``member_args`` at the same time, each in its
    own process; wait for all of them and return their exit codes (``target``'s return value;
    1 for an exception). A Ctrl-C or SIGTERM here is passed on to every member as SIGTERM (each
    then checkpoints and exits with 143), and waited for."""
    ctx = mp.get_context(start_method)
    procs = [ctx.Process(target=_exit_with, args=(target, a), name=f"population member {i}")
             for i, a in enumerate(member_args)]
    with sigterm_interrupts():
        for p in procs:
            p.start()
        try:
            for p in procs:
                p.join()
        except KeyboardInterrupt:
            for p in procs:
                if p.is_alive():
                    p.terminate()  # SIGTERM: the member saves its checkpoint and stops
            for p in procs:
                p.join()
    return [p.exitcode for p in procs]


@contextlib.contextmanager
def sigterm_interrupts():
    """Within the block SIGTERM raises KeyboardInterrupt, as Ctrl-C does."""
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _exit_with(target: Callable, args) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent passes a Ctrl-C on as SIGTERM
    raise SystemExit(target(args))


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt
