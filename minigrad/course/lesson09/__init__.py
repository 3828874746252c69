"""Lesson 09 (beyond the paper): paper vs official code, second order, what the LSTM learned.

Everything the notebook ``09_beyond_the_paper`` computes lives here, so it can be tested
headless (``tests/test_lesson09.py``):

1. the shipped learned optimizer (:func:`load_pretrained`);
2. the five switches between the paper and the official code, each measured:
   LogAndSign's exponent (:func:`official_log_and_sign`;
   :func:`mnist_gradient`, :func:`preprocessing_report`, :func:`plot_preprocessing`), the
   output scale (:func:`untrained_first_steps`), the quadratic family
   (:class:`FamilyProblem`, :data:`FAMILIES`, :func:`family_stats`, :func:`transfer`,
   :func:`plot_transfer`) and the extra loss term (:func:`loss_terms_demo`);
3. first- vs second-order meta-gradients: on a tiny problem (:func:`unrolled_meta_gradient` with
   ``second_order``, the reference of exercise 09.1, :func:`tiny_problem`, :func:`cosine`), and
   larger (:func:`compare_meta_gradients`, :func:`order_race`, :func:`plot_order_race`);
4. the learned update as a function of the gradient history: synthetic sequences
   (:func:`gradient_sequence`), the hand-designed rules' steps (:func:`hand_designed_steps`),
   the LSTM's (:func:`learned_steps`,
   :func:`step_responses`, :func:`magnitude_response`), plots and the explorer
   :func:`make_sequence_explorer`;
5. a tiny meta-iteration on a GPU when CuPy finds one (:func:`gpu_meta_iteration`).
6. the learned optimizer as a drop-in optimizer on lesson 03's MLP, against Adam (:func:`race`),
   and why ReLU changes what it reads: exercise 09.2 predicts the ReLU/sigmoid ratio of W2's
   gradients (:func:`predict_w2_ratio`, :func:`w2_measurement`, :func:`w2_report`).

Every measurement is small enough for a notebook on a 2-core CPU: a handful of quadratic
functions (80 coordinates), unrolls of 20 steps, a few meta-iterations.

The parts, one file each::

* ``paper_vs_official.py``: Sections 1, 2.1 and 2.2: the shipped optimizer; LogAndSign with p =
  10 (paper) or k = 5 (official code); the output scale 0.1 or 0.01.
* ``quadratic_families.py``: Section 2.3: the quadratic family, Gaussian or uniform W and y,
  summed or batch-mean loss, and how an optimizer trained on one transfers to the others.
* ``meta_gradients.py``: Sections 2.4 and 3: the meta-loss's terms (20 in the paper, 21 in the
  official code) and first- against second-order meta-gradients.
* ``second_order.py``: exercise 09.1, the meta-gradient with the Hessian term kept.
* ``w2_prediction.py``: exercise 09.2, W2's gradients with ReLU against sigmoid.
* ``update_responses.py``: Section 4: what the LSTM learned, its update as a function of the
  gradient history, against momentum and Adam.
* ``gpu.py``: Section 5: one meta-iteration on a GPU through CuPy, or the reason it cannot run
  here.
* ``take_home.py``: the notebook's "Take it home": the shipped MNIST optimizer as a drop-in
  optimizer (:class:`minigrad.l2l.LearnedOptimizer`) on lesson 03's MLP, raced live against
  Adam (:func:`race`, :func:`race_summary`, :func:`race_reading`).
* ``quiz.py``: the end-of-lesson quiz, :data:`QUIZ` (shown with the widgets of
  :mod:`minigrad.course.quiz`).
"""

from __future__ import annotations

from minigrad.course.graphs import count_graph_nodes as count_graph_nodes
from minigrad.l2l.checkpoints import load_pretrained as load_pretrained

from ._shared import FUNCTIONS
from .gpu import gpu_meta_iteration
from .meta_gradients import (
    compare_meta_gradients,
    loss_terms_demo,
    meta_gradient,
    order_race,
    plot_order_race,
)
from .paper_vs_official import (
    describe_pretrained,
    mnist_gradient,
    official_log_and_sign,
    plot_preprocessing,
    preprocessing_report,
    untrained_first_steps,
)
from .quadratic_families import (
    FAMILIES,
    LR_GRID,
    ArrayRule,
    FamilyInstance,
    FamilyProblem,
    family_losses,
    family_stats,
    make_rule,
    plot_transfer,
    quadratic_rollout,
    transfer,
    tune_lr,
)
from .quiz import QUIZ
from .second_order import cosine, library_meta_gradient, tiny_problem, unrolled_meta_gradient
from .take_home import RACE_STEPS, race, race_reading, race_summary
from .update_responses import (
    SEQUENCES,
    gradient_sequence,
    hand_designed_steps,
    learned_steps,
    magnitude_response,
    make_sequence_explorer,
    plot_magnitude_response,
    plot_step_responses,
    step_responses,
)
from .w2_prediction import predict_w2_ratio, w2_measurement, w2_report

__all__ = [
    "QUIZ",
    "FAMILIES",
    "FUNCTIONS",
    "LR_GRID",
    "RACE_STEPS",
    "SEQUENCES",
    "ArrayRule",
    "FamilyInstance",
    "FamilyProblem",
    "compare_meta_gradients",
    "cosine",
    "count_graph_nodes",
    "describe_pretrained",
    "family_losses",
    "family_stats",
    "gpu_meta_iteration",
    "gradient_sequence",
    "hand_designed_steps",
    "learned_steps",
    "library_meta_gradient",
    "load_pretrained",
    "loss_terms_demo",
    "magnitude_response",
    "make_rule",
    "make_sequence_explorer",
    "meta_gradient",
    "mnist_gradient",
    "official_log_and_sign",
    "order_race",
    "plot_magnitude_response",
    "plot_order_race",
    "plot_preprocessing",
    "plot_step_responses",
    "plot_transfer",
    "predict_w2_ratio",
    "preprocessing_report",
    "quadratic_rollout",
    "race",
    "race_reading",
    "race_summary",
    "step_responses",
    "tiny_problem",
    "transfer",
    "tune_lr",
    "unrolled_meta_gradient",
    "untrained_first_steps",
    "w2_measurement",
    "w2_report",
]
