"""A meta-training *run*: the loop around :class:`~minigrad.l2l.meta.MetaTrainer` that a long
job needs: validation and best weights, a log file, periodic atomic checkpoints, and a clean
stop on Ctrl-C / SIGTERM that ``--resume`` continues exactly.

The numbers of a run depend only on its configuration and the iteration count (see
:mod:`minigrad.l2l.checkpoints`), so a run that is stopped and resumed any number of times ends
with the same weights, best weights, Adam state and validation history as one that never
stopped (``tests/test_l2l_cli.py``).

Nothing trained is lost to a fault. A checkpoint write that fails (a full disk, a folder
made read-only) keeps the training state in memory, says so in one line, records the failure
in the log and in the next checkpoint (``save_failures``), and is retried at the next
checkpoint interval; if the last save fails too, the state goes to a fallback file in the
temporary folder (then the home folder) whose path the run prints. Checkpoints are written by
the module attribute ``write_checkpoint``, which tests replace with one that fails on purpose.
A Ctrl-C or SIGTERM during a save is held until the save is complete, and every further one
is ignored while the run saves and stops. A stop during validation leaves the iteration
unvalidated in the checkpoint, and ``--resume`` validates it first, so the history is the one
of a run that never stopped.

The *run settings* (:class:`RunSettings`: how far to train, how often to validate and on how
many problems, how often to checkpoint) are stored in the checkpoint with everything else. On
``--resume`` every setting left out on the command line takes the checkpoint's value, and the
run says which settings it took and which a flag changed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ..nn import CheckpointError
from .checkpoints import write_checkpoint
from .evaluate import LearnedRule, evaluate_rule, problem_seeds
from .meta import COLLAPSE_STRIKES, MetaTrainingDiverged
from .stats import mean_or_inf

#: How validation scores weights: the mean loss over the horizon, the final loss, or the mean
#: over the horizon's last tenth (see :func:`validation_metrics`).
VAL_METRICS = ("mean", "final", "tail")

__all__ = ["VAL_METRICS", "RunSettings", "TrainingRun", "merge_settings", "resolve_run_settings",
           "validation_score"]


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
    #                                 over steps 1..T, "final" (step T, what the claims compare)
    #                                 or "tail" (steps 0.9 T..T: the final loss, less noisy)

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


def merge_settings(values: dict, flags: dict, stored: dict | None, names=None):
    """THE merge of settings on ``--resume``: each setting is its flag, else the
    checkpoint's, else what ``values`` holds.

    ``flags`` maps each setting to its value on the command line (None: left out); ``stored``
    holds the checkpoint's values (None: a new run; a setting it lacks, or holds as None, the
    checkpoint does not say). Returns ``(values, taken, changed)``: a copy of ``values`` with
    the flags given and, for the others, the checkpoint's values; ``taken`` ``{setting:
    checkpoint's value}`` for those taken from the checkpoint; ``changed`` ``{setting: "--flag
    value (checkpoint: value)"}`` for each flag that differs from a value the checkpoint
    holds (``names`` maps a setting to its flag's name, by default the setting's). Whether a
    change is allowed is the caller's policy: run settings may change (the run says so);
    settings that change the numbers may not (:func:`minigrad.l2l.cli._resolve_train_config`).
    """
    values, stored, names = dict(values), stored or {}, names or {}
    taken, changed = {}, {}
    for key, flag in flags.items():
        if flag is not None:
            if key in stored and stored[key] != flag:
                name = names.get(key, key).replace("_", "-")
                changed[key] = f"--{name} {flag} (checkpoint: {stored[key]})"
            values[key] = flag
        elif stored.get(key) is not None:
            values[key] = taken[key] = stored[key]
    return values, taken, changed


def resolve_run_settings(flags: dict, checkpoint_meta: dict | None):
    """Run settings from the command line's ``flags`` (None: left out), then the checkpoint's
    (on resume), then the defaults (:func:`merge_settings`). Returns ``(settings, notes)``,
    ``notes`` saying what was taken from the checkpoint and what a flag changed (empty for a
    new run). Only ``val_metric`` may not change: the best weights were chosen by it."""
    stored = {}
    if checkpoint_meta is not None:
        stored = dict(checkpoint_meta.get("run") or {})
        validation = checkpoint_meta.get("validation") or {}
        # checkpoints written before the run settings were stored kept these two here
        stored.setdefault("val_every", validation.get("every"))
        stored.setdefault("val_runs", validation.get("runs"))
    defaults = asdict(RunSettings())
    known = {k: v for k, v in stored.items() if v is not None}  # None: not recorded
    values, taken, changed = merge_settings(defaults, {k: flags.get(k) for k in defaults}, known)
    if "val_metric" in changed:
        raise ValueError(f"--val-metric {flags['val_metric']}: the checkpoint's validation "
                         f"history holds {known['val_metric']} losses, and its best weights "
                         f"were chosen by them; resume without --val-metric, or train into a "
                         f"new --out")
    notes = []
    if taken:
        notes.append("resuming with the checkpoint's "
                     + ", ".join(f"{k.replace('_', '-')} {v}" for k, v in taken.items()))
    if changed:
        notes.append("changed by flags: " + ", ".join(changed.values()))
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


def validation_metrics(losses) -> dict:
    """The scores of validation losses (runs, T + 1) that can pick the best weights.

    ``mean``: over steps 1..T. ``final``: step T, the number the claims compare; each run's is
    the loss on ONE minibatch, and a young learned optimizer's loss jumps from step to step
    (0.002 to 0.14 between neighbouring steps on the same net), so on 16 nets it picks weights
    by luck. ``tail``: over the last tenth of the horizon (steps 91..100 of 100), an estimate of
    the expected final loss with ten times the minibatches.
    """
    tail = max(1, (losses.shape[1] - 1) // 10)
    return {"mean": mean_or_inf(losses[:, 1:]), "final": mean_or_inf(losses[:, -1]),
            "tail": mean_or_inf(losses[:, -tail:])}


def validation_score(net, val_problem, config, runs: int, seed: int, evaluate=None) -> float:
    """Mean optimizee loss over steps 1..T on ``runs`` validation problems (lower is better);
    +inf if it is not finite (see :func:`validation_losses`)."""
    return mean_or_inf(validation_losses(net, val_problem, config, runs, seed, evaluate)[:, 1:])


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
        self.signals = _StopSignals()
        self.save_failures = []     # [iteration, error] of every checkpoint write that failed
        self._log_failed, self._out_error = False, None
        self._unlogged = None       # the line of an iteration trained but not yet logged

    # ----- checkpoint and log ------------------------------------------------------------------
    @property
    def stopped_by(self):
        """The signal (``signal.SIGINT`` or ``signal.SIGTERM``) that stopped the run, or None."""
        return self.signals.received

    def save(self, status: str, path=None) -> bool:
        """Write the checkpoint (to ``out``, or ``path``); False if the write failed, which is
        then said in one line and recorded in the log and in the next checkpoint. Signals
        arriving meanwhile wait until the file is complete."""
        if self.out is None:
            return True
        s, history, t = self.settings, self.val_history, self.trainer
        meta = {
            **self.extra,
            "status": status,
            "elapsed_s": self.elapsed(),
            "run": asdict(s),
            "validation": {"every": s.val_every, "runs": s.val_runs, "history": history,
                           "best": min(history, key=lambda r: r[1]) if history else None},
        }
        if self.save_failures:
            meta["save_failures"] = list(self.save_failures)
        target = self.out if path is None else Path(path)
        try:
            with self.signals.deferred():
                write_checkpoint(target, t, self.problem_config, best=self.best, extra=meta)
        except (OSError, CheckpointError) as exc:
            self.save_failures.append([t.iteration, f"{target}: {exc}"])
            if target == self.out:
                self._out_error = exc.strerror or str(exc)
            self.log(f"# save failed at iteration {t.iteration}: {target}: {exc}")
            self._say(f"\nwarning: could not save the checkpoint to {target} at iteration "
                      f"{t.iteration} ({exc}); the training state is kept in memory and the "
                      f"save retried in {s.checkpoint_every:g} s and at the end")
            return False
        return True

    def log(self, line: str) -> None:
        """Append ``line`` to the log; a failed write (a full disk) is said once on stderr and
        training goes on (failed saves are also kept in the checkpoint's metadata)."""
        if self.log_path is None:
            return
        try:
            with self.signals.deferred(), open(self.log_path, "a") as f:
                f.write(line + "\n")
        except OSError as exc:
            if not self._log_failed:
                self._say(f"\nwarning: cannot append to the log {self.log_path} ({exc}); "
                          "training goes on")
            self._log_failed = True

    # ----- the loop ------------------------------------------------------------------------------
    def validate(self) -> float:
        """Score the current weights (or their running average, if the trainer keeps one) on
        the validation problems (by ``settings.val_metric``;
        the mean and final losses both go to ``last_val``); keep them if they are the best."""
        t = self.trainer
        with t.evaluation_weights() as net:  # phi, or its running average (MetaConfig.average)
            losses = validation_losses(net, self.val_problem, t.config, self.settings.val_runs,
                                       t.config.seed, evaluate=getattr(t, "evaluate", None))
            scores = validation_metrics(losses)
            value = scores[self.settings.val_metric]
            if not self.val_history or value < min(r[1] for r in self.val_history):
                self.best = net.state_dict()
        self.last_val = scores
        self.val_history.append([t.iteration, value])
        return value

    def run(self) -> int:
        """Train; returns the exit status: 0 done, 130 stopped by Ctrl-C or SIGTERM
        (:attr:`stopped_by` says which), 1 diverged, or done but no checkpoint could be
        written to ``out`` (the state went to the fallback file named on stderr)."""
        t, s = self.trainer, self.settings
        self.log(f"# start at iteration {t.iteration} of {s.meta_iters}, "
                 f"{time.strftime('%Y-%m-%d %H:%M:%S')}: {self.extra.get('command', '')}")
        bar = self._progress_bar()
        self.signals.install()
        try:
            try:
                self._validate_if_missed()
                self._loop(bar)
                status, code = "done", 0
            except KeyboardInterrupt:
                status, code = "interrupted", 130
            except MetaTrainingDiverged as exc:
                status, code = f"diverged: {exc}", 1
            return self._stop(bar, status, code)
        finally:
            self.signals.restore()

    def _progress_bar(self):
        from tqdm.auto import tqdm

        s, t = self.settings, self.trainer
        # with a time budget the bar counts meta-iterations without a total (it ends on time)
        return tqdm(total=None if s.minutes else s.meta_iters,
                    initial=min(t.iteration, s.meta_iters),
                    desc=f"meta-train {self.problem_config.get('name')}", unit="it",
                    disable=not self.progress, file=sys.stderr, dynamic_ncols=True)

    def _per_run(self) -> int:
        # A paper quadratic's meta-loss sums its batch of functions: divided by the batch size
        # here, every loss shown is per run (one quadratic function, one MNIST net).
        problem = getattr(self.trainer, "problem", None)
        return (getattr(problem, "runs_per_sample", 1)
                if getattr(problem, "reduction", "mean") == "sum" else 1)

    def _validation_due(self) -> bool:
        t, s = self.trainer, self.settings
        return self.val_problem is not None and bool(s.val_every) and t.iteration % s.val_every == 0

    def _validate_if_missed(self) -> None:
        """A run stopped during a validation saved its iteration unvalidated: validate it now,
        before training on, so the history is that of a run that never stopped."""
        t = self.trainer
        if t.iteration == 0 or not self._validation_due():
            return
        if self.val_history and self.val_history[-1][0] >= t.iteration:
            return
        self.validate()
        self.log(f"validation {t.iteration} (interrupted before) val {self.last_val['mean']:.6g} "
                 f"val_final {self.last_val['final']:.6g} val_tail {self.last_val['tail']:.6g}"
                 + (" best" if self.best_iteration() == t.iteration else ""))

    def _loop(self, bar) -> None:
        """Meta-iterations until the target, the time budget or the callback ends the run."""
        t, s = self.trainer, self.settings
        # The bar shows, by name and on one scale, the optimizee loss per run averaged over the
        # horizon's steps 1..T: on the training problems of the last `window` meta-iterations,
        # and on the validation problems at the latest validation (the score that picks the
        # best weights).
        window, per_run = 20, self._per_run()
        latest_val = tuple(self.val_history[-1]) if self.val_history else None
        last_save = time.monotonic()
        while t.iteration < s.meta_iters and not self.out_of_time():
            t0 = time.perf_counter()
            rollbacks = len(getattr(t, "rollbacks", ()))
            value = t.train_iteration()
            seconds = time.perf_counter() - t0
            recent = t.curve[-window:]
            post = f"train loss {sum(recent) / len(recent) / per_run:.4g} (last {len(recent)})"
            line = (f"iteration {t.iteration} mean_loss {value:.6g} final_loss "
                    f"{t.final_losses[-1]:.6g} seconds {seconds:.2f} "
                    f"grad_norm {t.last_grad_norm:.3g}")
            v = val_seconds = None
            if self._validation_due():
                self._unlogged = line
                v0 = time.perf_counter()
                v = self.validate()
                val_seconds = time.perf_counter() - v0
                latest_val = (t.iteration, v)
                line += (f" val {self.last_val['mean']:.6g} val_final {self.last_val['final']:.6g}"
                         f" val_tail {self.last_val['tail']:.6g}"
                         + (" best" if self.best_iteration() == t.iteration else ""))
            if latest_val is not None:
                post += f", val loss {latest_val[1]:.4g} (at {latest_val[0]})"
            self._unlogged = None
            self.log(line)
            if len(getattr(t, "rollbacks", ())) > rollbacks:
                self._report_rollback()
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
                return

    def _report_rollback(self) -> None:
        """Log and say the collapse guard's latest rollback (:class:`~minigrad.l2l.meta.MetaConfig`
        ``collapse_guard``), with the horizon means that made it a collapse."""
        t = self.trainer
        collapsed, back_to = t.rollbacks[-1]
        per_run = self._per_run()
        means = ", ".join(f"{m / per_run:.4g}" for m in t.curve[-COLLAPSE_STRIKES:])
        message = (f"collapse at iteration {collapsed}: horizon means {means} in a row against "
                   f"the first's {t.curve[0] / per_run:.4g}; rolled the weights back to the "
                   f"start of iteration {back_to}, meta lr scale now {t.lr_scale:g}")
        self.log("# " + message)
        self._say("\n" + message)

    def _stop(self, bar, status: str, code: int) -> int:
        """Close the run: every further signal ignored, the last save (to the fallback file if
        ``out`` cannot be written), the log's last line and the closing message."""
        self.signals.ignore()
        bar.close()
        t = self.trainer
        self.final_status = status.split(":")[0]  # "done", "interrupted" or "diverged"
        if self._unlogged is not None:  # stopped during this iteration's validation
            self.log(self._unlogged + " val interrupted (validated on --resume)")
        saved = self.save(status)
        rescue = None if saved else self._save_elsewhere(status)
        where = self.out if saved else rescue
        if status == "interrupted":
            self.log(f"# interrupted: saved {t.iteration} complete meta-iterations"
                     + ("" if saved else f" to {rescue}"))
            message = (f"interrupted after {t.iteration} complete meta-iterations" if where is None
                       else f"interrupted: saved {t.iteration} complete meta-iterations to "
                            f"{where}; continue with --resume")
        elif code == 1:
            self.log(f"# {status}")
            message = f"error: {status[len('diverged: '):]}." + (
                "" if where is None else f" Saved the last good weights to {where}")
        else:
            self.log(f"# done: {t.iteration} meta-iterations")
            last = f"{t.curve[-1] / self._per_run():.4g}" if t.curve else "n/a"
            message = (f"trained {t.iteration} meta-iterations (last train loss {last})"
                       + ("" if where is None else f"; checkpoint: {where}"))
        if not saved:
            code, message = code or 1, self._unsaved_message(rescue, status)
        self._say(("\n" if status == "interrupted" else "") + message)
        return code

    def _unsaved_message(self, rescue, status: str) -> str:
        it, failed = self.trainer.iteration, self._out_error
        if rescue is None:
            return (f"error: no checkpoint could be written ({failed}), nor a fallback file; "
                    f"the meta-iterations since the last save, of {it}, are lost")
        return (f"error: could not write {self.out} ({failed}); saved the state after {it} "
                f"meta-iterations ({status.split(':')[0]}) to {rescue} instead: move it to "
                f"{self.out} and continue with --resume")

    def _save_elsewhere(self, status: str):
        """After the last save to ``out`` failed: the same checkpoint in the temporary folder,
        else the home folder; returns the path written, or None."""
        name = f"{self.out.stem}.rescued-{os.getpid()}{self.out.suffix}"
        for folder in (tempfile.gettempdir(), Path.home()):
            path = Path(folder) / name
            if self.save(status, path=path):
                self.log(f"# saved to the fallback file {path} instead of {self.out}")
                return path
        return None

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


class _StopSignals:
    """How a run meets SIGINT (Ctrl-C) and SIGTERM (a job scheduler stopping it).

    Outside a save the first one raises KeyboardInterrupt, and the run saves and stops. Inside
    :meth:`deferred` (a checkpoint or log write) a signal is only noted, and raised when the
    write is complete, so no file is ever cut short. After :meth:`ignore` (the run is saving
    and stopping) every signal is noted and dropped. ``received`` is the first signal's number.
    The handlers are installed by :meth:`install` on the main thread only (elsewhere Python
    delivers no signals) and the previous ones put back by :meth:`restore`.
    """

    def __init__(self):
        self.received, self.mode, self.pending, self.previous = None, "raise", False, None

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        # a signal ignored on purpose (SIGINT in a background job of a script) stays ignored
        self.previous = {sig: signal.signal(sig, self._handle)
                         for sig in (signal.SIGINT, signal.SIGTERM)
                         if signal.getsignal(sig) is not signal.SIG_IGN}

    def restore(self) -> None:
        for sig, handler in (self.previous or {}).items():
            signal.signal(sig, handler)
        self.previous = None

    def ignore(self) -> None:
        self.mode = "ignore"

    def _handle(self, signum, frame):
        if self.received is None:
            self.received = signum
        if self.mode == "raise":
            raise KeyboardInterrupt
        if self.mode == "defer":
            self.pending = True

    @contextlib.contextmanager
    def deferred(self):
        """Hold signals for the block; one that arrived stops the run after it."""
        outer = self.mode
        self.mode = "ignore" if outer == "ignore" else "defer"
        try:
            yield
        finally:
            self.mode = outer
        if self.pending and outer == "raise":
            self.pending = False
            raise KeyboardInterrupt
