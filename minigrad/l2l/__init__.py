"""Learning to learn by gradient descent by gradient descent (Andrychowicz et al., 2016).

* :mod:`~minigrad.l2l.preprocess`: the gradient preprocessing (LogAndSign, Identity).
* :mod:`~minigrad.l2l.lstm_optimizer`: :class:`LSTMOptimizer`, the coordinatewise learned optimizer.
* :mod:`~minigrad.l2l.problems`: optimizee families (quadratic, MNIST MLP, f(x) = x^2).
* :mod:`~minigrad.l2l.meta`: meta-training (:class:`MetaTrainer`, :func:`unroll`).
* :mod:`~minigrad.l2l.evaluate`: the evaluation protocol against tuned SGD/NAG/RMSprop/Adam.
* :mod:`~minigrad.l2l.learned_optimizer`: :class:`LearnedOptimizer`, a checkpoint as a drop-in
  :class:`minigrad.optim.Optimizer` (:mod:`~minigrad.l2l.torch_optimizer`: for PyTorch).
* :mod:`~minigrad.l2l.plots`, :mod:`~minigrad.l2l.checkpoints`, :mod:`~minigrad.l2l.cli`.

Command line: ``python -m minigrad.l2l train|evaluate ...`` (see :mod:`minigrad.l2l.cli`).
"""

from .baselines import BASELINES, DEFAULT_LR_GRID, lr_grid, make_baseline
from .evaluate import BaselineRule, LearnedRule, evaluate_rule, rollout, run_protocol, tune_lr
from .flat import Flattener
from .learned_optimizer import LearnedOptimizer
from .lstm_optimizer import LSTMOptimizer, net_defaults
from .meta import MetaConfig, MetaTrainer, MetaTrainingDiverged, unroll
from .preprocess import Identity, LogAndSign, make_preprocess
from .problems import MnistProblem, QuadraticProblem, SquareProblem, make_problem, parse_optimizee
from .stats import mean_ci95

__all__ = [
    "BASELINES", "DEFAULT_LR_GRID", "BaselineRule", "Flattener", "Identity", "LSTMOptimizer",
    "LearnedOptimizer", "LearnedRule", "LogAndSign", "MetaConfig", "MetaTrainer",
    "MetaTrainingDiverged", "MnistProblem", "QuadraticProblem", "SquareProblem", "evaluate_rule",
    "lr_grid", "make_baseline", "make_preprocess", "make_problem", "mean_ci95", "net_defaults",
    "parse_optimizee", "rollout", "run_protocol", "tune_lr", "unroll",
]
