"""Constants the parts of this lesson share."""

from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad.tensor import Tensor

DTYPE = "float64"  # the gradient experiments run in float64: their numbers span 30 decades


def _t(array, requires_grad=False, dtype=DTYPE) -> Tensor:
    return mg.tensor(np.asarray(array), requires_grad=requires_grad, dtype=dtype)
