"""All optimizee arrays as one flat vector of coordinates.

The learned optimizer is coordinatewise: it does not care which array a coordinate belongs
to. So the optimizee's arrays (of any shapes) are laid end to end in one vector theta of
length N = sum of their sizes, and the problem's loss reads them back as views:

    theta = [w1.ravel(), b1.ravel(), w2.ravel(), ...]          (N,)
    params[k] = theta[offset_k : offset_k + size_k].reshape(shape_k)

One LSTM batch of N rows then updates every coordinate at once, and the gradient with respect
to the flat vector is the concatenation of the per-array gradients.
"""

from __future__ import annotations

from .. import ops
from ..tensor import Tensor

__all__ = ["Flattener"]


class Flattener:
    """Shapes and offsets of a list of arrays packed into one flat vector."""

    def __init__(self, shapes):
        self.shapes = [tuple(int(d) for d in s) for s in shapes]
        self.sizes = [int(_prod(s)) for s in self.shapes]
        self.offsets = [0]
        for s in self.sizes:
            self.offsets.append(self.offsets[-1] + s)
        self.size = self.offsets[-1]

    @classmethod
    def like(cls, arrays) -> Flattener:
        return cls([a.shape for a in arrays])

    def flatten(self, arrays):
        """Concatenate raveled arrays (NumPy/CuPy) into one new (N,) array."""
        if len(arrays) != len(self.shapes):
            raise ValueError(f"flatten: expected {len(self.shapes)} arrays, got {len(arrays)}")
        xp = _xp(arrays[0])
        for a, s in zip(arrays, self.shapes):
            if tuple(a.shape) != s:
                raise ValueError(f"flatten: array of shape {a.shape}, expected {s}")
        return xp.concatenate([a.reshape(-1) for a in arrays])

    def views(self, theta):
        """The arrays as views of ``theta`` (Tensor -> list of Tensors in the graph, or array
        -> list of array views)."""
        if theta.shape != (self.size,):
            raise ValueError(f"views: theta has shape {theta.shape}, expected ({self.size},)")
        out = []
        for k, shape in enumerate(self.shapes):
            a, b = self.offsets[k], self.offsets[k + 1]
            if isinstance(theta, Tensor):
                part = theta if (a == 0 and b == self.size) else ops.getitem(theta, slice(a, b))
                out.append(ops.reshape(part, shape))
            else:
                out.append(theta[a:b].reshape(shape))
        return out

    def leaves(self, theta):
        """One new leaf Tensor (requires grad) per array, each a VIEW of the array ``theta``.

        The gradient of a loss with respect to the flat vector is then
        ``flatten(grad(loss, leaves))``: one concatenation, no indexing nodes in the graph.
        """
        return [Tensor.from_array(v, requires_grad=True) for v in self.views(theta)]

    def __len__(self):
        return self.size

    def __repr__(self):
        return f"Flattener({self.shapes}, size={self.size})"


def _prod(shape):
    p = 1
    for d in shape:
        p *= d
    return p


def _xp(a):
    from ..backend import get_array_module

    return get_array_module(a)
