"""Section 6: the paper's experiment on its own convnet, from stored results, when they exist.

The two-LSTM optimizer for the paper's convnet (three convolutions of 16 channels, fc 32) is
meta-trained on the command line, for hours, and evaluated with the course's protocol against
SGD, NAG, RMSprop and Adam, each tuned on validation problems. The evaluation's JSON output
(``python -m minigrad.l2l evaluate --problem convnet --checkpoint ... --json FILE``; see
:func:`minigrad.l2l.cli.cmd_evaluate`) stored as :data:`RESULTS_PATH` is what this section
shows. Until that file exists, :func:`load_convnet_results` returns None and
:func:`describe_stored` says plainly that there is nothing to show yet: no number is made up.

When the shipped checkpoint (``minigrad/l2l/pretrained/convnet.npz``) exists too,
:func:`check_against_checkpoint` compares what the results file records about the checkpoint
it was computed with (meta-iterations, weights) with the shipped one.
"""

from __future__ import annotations

import json
from pathlib import Path

from minigrad.l2l.baselines import BASELINES

from ._shared import curves_figure

#: Where the stored evaluation of the trained two-LSTM convnet optimizer goes.
RESULTS_PATH = Path(__file__).resolve().parent / "convnet_results.json"

NOT_YET = ("No stored results yet: the two-LSTM optimizer for the paper's convnet has not been "
           "trained and evaluated. Meta-training it is a long command-line run (hours of CPU), "
           "and its recipe is still being tuned. When its evaluation is stored, this cell shows "
           "its test losses against tuned SGD, NAG, RMSprop and Adam, with confidence "
           "intervals and the paired verdict; until then, section 5's live run is this "
           "lesson's only learned convnet optimizer.")


def load_convnet_results(path=RESULTS_PATH) -> dict | None:
    """The stored evaluation (``evaluate --problem convnet --json``'s output), or None when
    the file does not exist. A file that is not such an evaluation is an error naming it and
    what is wrong."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        result = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON ({exc})") from None
    problems = []
    if not isinstance(result, dict):
        raise ValueError(f"{path}: expected a JSON object (an evaluation), got "
                         f"{type(result).__name__}")
    if result.get("problem") != "convnet":
        problems.append(f"problem is {result.get('problem')!r}, expected 'convnet'")
    names = result.get("optimizers") or []
    if "lstm" not in names or not any(b in names for b in BASELINES):
        problems.append(f"optimizers are {names!r}: expected 'lstm' and tuned baselines")
    for key in ("steps", "runs", "lr_grid"):
        if key not in result:
            problems.append(f"no {key!r}")
    for name in names:
        entry = result.get(name)
        if not isinstance(entry, dict) or not {"curve", "ci95", "final_loss",
                                               "finals"} <= set(entry):
            problems.append(f"no statistics for {name!r} (curve, ci95, final_loss, finals)")
    if problems:
        raise ValueError(f"{path}: not an evaluation of the convnet optimizer: "
                         + "; ".join(problems))
    return result


def describe_stored(result: dict | None) -> str:
    """What the stored evaluation says (or :data:`NOT_YET`): the problem, the table of tuned
    learning rates and final test losses, and the paired verdict in words from its numbers."""
    if result is None:
        return NOT_YET
    from minigrad.l2l.cli import evaluation_table

    cfg = result.get("problem_config", {})
    conv = "-".join(str(c) for c in cfg.get("conv_channels", [])) or "?"
    fc = "-".join(str(c) for c in cfg.get("linear", [])) or "?"
    head = (f"The paper's convnet (conv {conv}, fc {fc}) on {cfg.get('dataset', '?')}, test "
            f"images; {result['runs']} test runs of {result['steps']} steps.")
    ck = result.get("checkpoint") or {}
    if ck.get("iteration") is not None:
        head += (f" Learned optimizer: {ck['iteration']} meta-iterations, "
                 f"{ck.get('weights', '?')} weights.")
    return head + "\n\n" + evaluation_table(result)


def plot_stored(result: dict):
    """Mean test loss per step with 95% bands, every optimizer of the stored evaluation."""
    return curves_figure(result, "the paper's convnet: two LSTMs vs tuned baselines",
                         "mean loss (held-out images)")


def shipped_checkpoint():
    """``(net, info)`` of the shipped convnet optimizer, or None while none is shipped."""
    from minigrad.l2l.checkpoints import load_pretrained

    try:
        return load_pretrained("convnet")
    except FileNotFoundError:
        return None


def check_against_checkpoint(result: dict, info: dict) -> str | None:
    """None when the stored evaluation records the shipped checkpoint's meta-iterations and
    weights, else what differs (the results then belong to another checkpoint)."""
    ck = result.get("checkpoint") or {}
    want = (info.get("iteration"), info.get("weights"))
    got = (ck.get("iteration"), ck.get("weights"))
    if got == want:
        return None
    return (f"the stored results were computed with a checkpoint of {got[0]} meta-iterations "
            f"({got[1]} weights), but the shipped one has {want[0]} ({want[1]} weights): "
            "evaluate the shipped checkpoint again")

