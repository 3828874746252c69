"""Constants the parts of this lesson share."""

from __future__ import annotations

# Eight functions of dimension 10 = 80 coordinates: every LSTM call here stays this small.
FUNCTIONS = 8
