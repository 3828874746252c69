"""A meta-training *run*: the loop around :class:`~minigrad.l2l.meta.MetaTrainer` that a long
job needs: validation and best weights, a log file, periodic atomic checkpoints, and a clean
stop on Ctrl-C / SIGTERM that ``--resume`` continues exactly.

The numbers of a run depend only on its configuration and the iteration count (see
:mod:`minigrad.l2l.checkpoints`), so a run that is stopped and resumed any number of times ends
with the same weights, best weights, Adam state and validation history as one that never
stopped (``tests/test_l2l_cli.py``).

The *run settings* (:class:`RunSettings`: how far to train, how often to validate and on how
many problems, how often to checkpoint) are stored in the checkpoint with everything else. On
``--resume`` every setting left out on the command line takes the checkpoint's value, and the
run says which settings it took and which a flag changed.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .checkpoints import write_checkpoint
from .evaluate import LearnedRule, evaluate_rule, problem_seeds
from .meta import MetaTrainingDiverged

#: How validation scores weights: the mean loss over the horizon, or the final loss.
VAL_METRICS = ("mean", "final")

__all__ = ["VAL_METRICS", "RunSettings", "TrainingRun", "resolve_run_settings", "validation_score"]


@dataclass
class RunSettings:
    """How a meta-training run proceeds (none of these changes a single number of it, except
    which weights are kept as the best on validation)."""

    meta_iters: int = 1000          # train until this many meta-iterations are done
    val_every: int = 0              # validate every N meta-iterations (0: never)
    val_runs: int = 16              # validation problems (MNIST nets / quadratic batches)
    checkpoint_every: float = 120.0  # seconds between checkpoints
    minutes: float | None = None    # or until the run's wall-clock time reaches this budget
    val_metric: str = "mean"        # the best weights have the lowest validation loss: "mean"
    #                                 over steps 1..T, or "final" (step T, what the claims compare)

    def __post_init__(self):
        if self.val_metric not in VAL_METRICS:
            raise ValueError(f"RunSettings: val_metric must be one of {', '.join(VAL_METRICS)}, "
                             f"got {self.val_metric!r}")
        if self.meta_iters < 1 or self.val_every < 0 or self.val_runs < 1:
            raise ValueError(f"RunSettings: need meta_iters >= 1, val_every >= 0, val_runs >= 1; "
                             f"got {self.meta_iters}, {self.val_every}, {self.val_runs}")
        if self.minutes is not None and not self.minutes > 0:
            raise ValueError(f"RunSettings: minutes must be > 0, got {self.minutes}")
        if not self.checkpoint_every > 0:
            raise ValueError(f"RunSettings: checkpoint_every must be > 0 seconds, got "
                             f"{self.checkpoint_every}")


def resolve_run_settings(flags: dict, checkpoint_meta: dict | None):
    """Run settings from the command line's ``flags`` (None: left out), then the checkpoint's
    (on resume), then the defaults. Returns ``(settings, notes)``, ``notes`` saying what was
    taken from the checkpoint and what a flag changed (empty for a new run)."""
    stored = {}
    if checkpoint_meta is not None:
        stored = dict(checkpoint_meta.get("run") or {})
        validation = checkpoint_meta.get("validation") or {}
        # checkpoints written before the run settings were stored kept these two here
        stored.setdefault("val_every", validation.get("every"))
        stored.setdefault("val_runs", validation.get("runs"))
    values, taken, changed = asdict(RunSettings()), [], []
    for key in values:
        flag, old = flags.get(key), stored.get(key)
        if key == "val_metric" and None not in (flag, old) and flag != old:
            raise ValueError(f"--val-metric {flag}: the checkpoint's validation history holds "
                             f"{old} losses, and its best weights were chosen by them; resume "
                             f"without --val-metric, or train into a new --out")
        if flag is not None:
            values[key] = flag
            if old is not None and old != flag:
                changed.append(f"--{key.replace('_', '-')} {flag} (checkpoint: {old})")
        elif old is not None:
            values[key] = old
            taken.append(f"{key.replace('_', '-')} {old}")
    notes = []
    if taken:
        notes.append("resuming with the checkpoint's " + ", ".join(taken))
    if changed:
        notes.append("changed by flags: " + ", ".join(changed))
    return RunSettings(**values), notes


def validation_losses(net, val_problem, config, runs: int, seed: int, evaluate=None):
    """The optimizee losses (runs, T + 1) of ``net`` on ``runs`` validation problems.
    ``evaluate(problem, split, seeds, steps, runs)``, if given, runs the problems instead of
    :func:`~minigrad.l2l.evaluate.evaluate_rule` (the parallel trainer shares them out between
    its processes; same numbers)."""
    seeds = problem_seeds(val_problem, seed, "val", runs)
    if evaluate is not None:
        return evaluate(val_problem, "val", seeds, config.steps, runs)
    return evaluate_rule(lambda: LearnedRule(net), val_problem, seeds, config.steps, runs)


def validation_score(net, val_problem, config, runs: int, seed: int, evaluate=None) -> float:
    """Mean optimizee loss over steps 1..T on ``runs`` validation problems (lower is better);
    +inf if it is not finite (see :func:`validation_losses`)."""
    return _finite(validation_losses(net, val_problem, config, runs, seed, evaluate)[:, 1:])


def _finite(losses) -> float:
    value = float(losses.mean())
    return value if math.isfinite(value) else math.inf


class TrainingRun:
    """Meta-trains ``trainer`` until ``settings.meta_iters``, validating, logging and saving.

    ``best`` and ``val_history`` continue a resumed run; ``extra`` is static metadata for the
    checkpoint (command, data version, ...); ``log_path`` receives one line per meta-iteration.
    ``out`` None: no checkpoint is written (a run from Python that keeps its result in memory).
    ``callback(event)``, if given, is called after every meta-iteration with a dict:
    ``iteration``, ``train_loss`` (the mean optimizee loss per run over its horizon),
    ``final_loss``, ``seconds``, ``elapsed`` (the run's, what ``minutes`` budgets),
    ``validation`` (the score if the iteration was validated, else None) and ``val_seconds``;
    if it returns True the run ends there, as done. ``report`` False: no closing message on
    stderr.
    """

    def __init__(self, trainer, problem_config: dict, out, settings: RunSettings, *,
                 val_problem=None, best=None, val_history=None, elapsed_s: float = 0.0,
                 extra=None, log_path=None, progress: bool = True, callback=None,
                 report: bool = True):
        self.trainer, self.problem_config = trainer, problem_config
        self.out = None if out is None else Path(out)
        self.callback, self.report = callback, report
        self.settings, self.val_problem = settings, val_problem
        self.best, self.val_history = best, list(val_history or [])
        self.elapsed0, self.extra = float(elapsed_s), dict(extra or {})
        self.log_path = None if log_path is None else Path(log_path)
        self.progress = progress
        self.started = time.time()

    # ----- checkpoint and log ------------------------------------------------------------------
    def save(self, status: str) -> None:
        if self.out is None:
            return
        s = self.settings
        history = self.val_history
        meta = {
            **self.extra,
            "status": status,
            "elapsed_s": self.elapsed(),
            "run": asdict(s),
            "validation": {"every": s.val_every, "runs": s.val_runs, "history": history,
                           "best": min(history, key=lambda r: r[1]) if history else None},
        }
        write_checkpoint(self.out, self.trainer, self.problem_config, best=self.best, extra=meta)

    def log(self, line: str) -> None:
        if self.log_path is not None:
            with open(self.log_path, "a") as f:
                f.write(line + "\n")

    # ----- the loop ------------------------------------------------------------------------------
    def validate(self) -> float:
        """Score the current weights on the validation problems (by ``settings.val_metric``;
        the mean and final losses both go to ``last_val``); keep them if they are the best."""
        t = self.trainer
        losses = validation_losses(t.net, self.val_problem, t.config, self.settings.val_runs,
                                   t.config.seed, evaluate=getattr(t, "evaluate", None))
        mean, final = _finite(losses[:, 1:]), _finite(losses[:, -1])
        value = final if self.settings.val_metric == "final" else mean
        self.last_val = {"mean": mean, "final": final}
        if not self.val_history or value < min(r[1] for r in self.val_history):
            self.best = t.net.state_dict()
        self.val_history.append([t.iteration, value])
        return value

    def run(self) -> int:
        """Train; returns the exit status (0 done, 130 interrupted, 1 diverged)."""
        from tqdm.auto import tqdm

        t, s = self.trainer, self.settings
        self.log(f"# start at iteration {t.iteration} of {s.meta_iters}, "
                 f"{time.strftime('%Y-%m-%d %H:%M:%S')}: {self.extra.get('command', '')}")
        # with a time budget the bar counts meta-iterations without a total (it ends on time)
        bar = tqdm(total=None if s.minutes else s.meta_iters,
                   initial=min(t.iteration, s.meta_iters),
                   desc=f"meta-train {self.problem_config.get('name')}", unit="it",
                   disable=not self.progress, file=sys.stderr, dynamic_ncols=True)
        # The bar shows, by name and on one scale, the optimizee loss per run (one quadratic
        # function, one MNIST net) averaged over the horizon's steps 1..T: on the training
        # problems of the last `window` meta-iterations, and on the validation problems at the
        # latest validation (the score that picks the best weights). A paper quadratic's
        # meta-loss sums its batch of functions, so it is divided by the batch size here.
        window = 20
        problem = getattr(t, "problem", None)
        per_run = (getattr(problem, "runs_per_sample", 1)
                   if getattr(problem, "reduction", "mean") == "sum" else 1)
        latest_val = tuple(self.val_history[-1]) if self.val_history else None
        last_save = time.monotonic()
        previous = _sigterm_as_interrupt()
        try:
            while t.iteration < s.meta_iters and not self.out_of_time():
                t0 = time.perf_counter()
                value = t.train_iteration()
                seconds = time.perf_counter() - t0
                recent = t.curve[-window:]
                post = f"train loss {sum(recent) / len(recent) / per_run:.4g} (last {len(recent)})"
                line = (f"iteration {t.iteration} mean_loss {value:.6g} final_loss "
                        f"{t.final_losses[-1]:.6g} seconds {seconds:.2f}")
                v = val_seconds = None
                if self.val_problem is not None and s.val_every and t.iteration % s.val_every == 0:
                    v0 = time.perf_counter()
                    v = self.validate()
                    val_seconds = time.perf_counter() - v0
                    latest_val = (t.iteration, v)
                    line += (f" val {self.last_val['mean']:.6g} "
                             f"val_final {self.last_val['final']:.6g}"
                             + (" best" if self.best_iteration() == t.iteration else ""))
                if latest_val is not None:
                    post += f", val loss {latest_val[1]:.4g} (at {latest_val[0]})"
                self.log(line)
                bar.set_postfix_str(post, refresh=False)
                bar.update(1)
                if time.monotonic() - last_save >= s.checkpoint_every:
                    self.save("running")
                    last_save = time.monotonic()
                if self.callback is not None and self.callback({
                        "iteration": t.iteration, "train_loss": value / per_run,
                        "final_loss": t.final_losses[-1] / per_run, "seconds": seconds,
                        "elapsed": self.elapsed(), "validation": v, "val_seconds": val_seconds}):
                    self.log(f"# stopped by the callback after iteration {t.iteration}")
                    break
        except KeyboardInterrupt:
            bar.close()
            _restore_sigterm(previous)
            self.save("interrupted")
            self.log(f"# interrupted: saved {t.iteration} complete meta-iterations")
            if self.out is None:
                self._say(f"\ninterrupted after {t.iteration} complete meta-iterations")
            else:
                self._say(f"\ninterrupted: saved {t.iteration} complete meta-iterations to "
                          f"{self.out}; continue with --resume")
            return 130
        except MetaTrainingDiverged as exc:
            bar.close()
            _restore_sigterm(previous)
            self.save(f"diverged: {exc}")
            self.log(f"# diverged: {exc}")
            self._say(f"error: {exc}." + ("" if self.out is None else
                                          f" Saved the last good weights to {self.out}"))
            return 1
        bar.close()
        _restore_sigterm(previous)
        self.save("done")
        self.log(f"# done: {t.iteration} meta-iterations")
        last = f"{t.curve[-1] / per_run:.4g}" if t.curve else "n/a"
        self._say(f"trained {t.iteration} meta-iterations (last train loss {last})"
                  + ("" if self.out is None else f"; checkpoint: {self.out}"))
        return 0

    def _say(self, message: str) -> None:
        if self.report:
            print(message, file=sys.stderr)

    def elapsed(self) -> float:
        """Seconds of this run so far, over every session (what ``minutes`` budgets)."""
        return self.elapsed0 + (time.time() - self.started)

    def out_of_time(self) -> bool:
        m = self.settings.minutes
        return m is not None and self.elapsed() >= 60.0 * m

    def best_iteration(self):
        if not self.val_history:
            return None
        return min(self.val_history, key=lambda r: r[1])[0]


def _sigterm_as_interrupt():
    """Treat SIGTERM (a job scheduler stopping us) like Ctrl-C: save, then exit 130."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, handler)


def _restore_sigterm(previous):
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)
