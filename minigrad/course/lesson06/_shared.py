"""Constants the parts of this lesson share."""

from __future__ import annotations

#: The MLP 784-20-10's arrays, in the order the optimizee lists them.
ARRAY_NAMES = ("W1 (784x20)", "b1 (20)", "W2 (20x10)", "b2 (10)")
