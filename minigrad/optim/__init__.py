"""Hand-written optimizers with PyTorch's update formulas: SGD (momentum, Nesterov), RMSprop,
Adam; gradient-norm clipping; and the update rules as pure functions on arrays
(:mod:`minigrad.optim.update_rules`) for baselines that run on raw arrays."""

from . import update_rules
from .adam import Adam
from .clip import clip_grad_norm_, grad_norm
from .optimizer import Optimizer, flatten_state_dict, unflatten_state_dict
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
    "SGD", "Adam", "Optimizer", "RMSprop", "clip_grad_norm_", "grad_norm", "flatten_state_dict",
    "unflatten_state_dict", "update_rules",
]
