"""Batch normalisation (Ioffe and Szegedy, 2015), per channel, as PyTorch computes it.

For x of shape (N, C, H, W) (or (N, C)) and each channel c, over its m = N*H*W entries:

    training:   mu = mean(x_c),  var = mean((x_c - mu)^2)  (biased: divided by m)
    evaluation: mu = running_mean[c],  var = running_var[c]
    xhat_c = (x_c - mu) * inv_std,  inv_std = (var + eps)^(-1/2)
    y_c = weight[c] * xhat_c + bias[c]

In training the running statistics move towards the batch's, in place and outside the graph:
running = (1 - momentum) * running + momentum * batch, with the UNBIASED variance
var * m / (m - 1) (PyTorch's rule; the normalisation itself uses the biased one).

Training is one fused op, :class:`BatchNorm` (mu and var depend on every entry, and their
gradients fold into one short formula); evaluation is an affine map with constant statistics,
composed from ``*`` and ``+``.
"""

from __future__ import annotations

from ..backend import device_of
from ..function import Function, _check_inputs
from ..grad_mode import is_grad_enabled
from ..tensor import Tensor
from .reduce import sum as sum_
from .shape import reshape


def _normalize(x, axes, eps):
    """(xhat, inv_std, mu, var) over ``axes``, for arrays and Tensors alike."""
    mu = x.mean(axis=axes, keepdims=True)
    xc = x - mu
    var = (xc * xc).mean(axis=axes, keepdims=True)
    inv_std = (var + eps) ** -0.5
    return xc * inv_std, inv_std, mu, var


class BatchNorm(Function):
    """y = weight * xhat + bias, xhat = (x - mean(x)) * inv_std, with the batch's statistics
    over ``axes`` (all but the channel axis 1) and inv_std = (var + eps)^(-1/2).

    With sums and means per channel over its m entries:
    dL/dbias = sum(g),  dL/dweight = sum(g * xhat),
    dL/dx = weight * inv_std * (g - mean(g) - xhat * mean(g * xhat))
    (the last two terms are the paths through mu and var).

    Forward updates ``running_mean`` and ``running_var`` in place when given (see the module
    docstring). For second derivatives xhat and inv_std must be functions of x that the
    engine sees, so a backward that records a graph (``create_graph=True``) recomputes them
    from x with ops; a plain backward takes forward's arrays.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, axes, eps, running_mean=None, running_var=None,
                momentum=0.1):
        xhat, inv_std, mu, var = _normalize(x, axes, eps)
        ctx.axes, ctx.eps, ctx.saved = axes, eps, (xhat, inv_std)
        if running_mean is not None:
            m = x.size // x.shape[1]
            running_mean *= 1.0 - momentum
            running_mean += momentum * mu.reshape(-1)
            running_var *= 1.0 - momentum
            running_var += (momentum * m / (m - 1)) * var.reshape(-1)
        shape = inv_std.shape
        return xhat * weight.reshape(shape) + bias.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        x, weight, _ = ctx.inputs
        axes = ctx.axes
        if is_grad_enabled():
            xhat, inv_std, _, _ = _normalize(x, axes, ctx.eps)
        else:
            xhat, inv_std = (Tensor._make(a) for a in ctx.saved)
        g_sum = sum_(g, axis=axes, keepdims=True)
        gx_sum = sum_(g * xhat, axis=axes, keepdims=True)
        m = x.size // x.shape[1]
        scale = reshape(weight, inv_std.shape) * inv_std
        gx = scale * (g - g_sum * (1.0 / m) - xhat * (gx_sum * (1.0 / m)))
        return gx, reshape(gx_sum, weight.shape), reshape(g_sum, weight.shape)


def batch_norm(x: Tensor, running_mean=None, running_var=None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Batch normalisation (``torch.nn.functional.batch_norm``; see the module docstring).

    ``running_mean`` and ``running_var`` are arrays of shape (C,) (NumPy or CuPy, x's device
    and dtype), or None (then training must be True, and nothing is tracked). In training they
    are updated in place; in evaluation they normalise. ``weight`` and ``bias`` are (C,)
    Tensors, or None for 1 and 0.
    """
    op = "batch_norm"
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim not in (2, 4):
        raise ValueError(
            f"{op}: input must have shape (N, C, H, W) or (N, C), got shape {x.shape}"
        )
    c = x.shape[1]
    _check_inputs(op, (x,) + tuple(t for t in (weight, bias) if t is not None))
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"{op}: {name} has shape {tuple(t.shape)}, expected ({c},)")
    for name, a in (("running_mean", running_mean), ("running_var", running_var)):
        if a is not None and (a.dtype != x.dtype or device_of(a) != x.device):
            raise TypeError(
                f"{op}: {name} is a {device_of(a)}/{a.dtype} array, expected {x.device}/"
                f"{x.dtype} like the input (minigrad never casts or copies implicitly)"
            )
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{op}: give both running_mean and running_var, or neither")
    if not training and running_mean is None:
        raise ValueError(f"{op}: evaluation (training=False) needs running_mean and running_var")
    axes = (0,) + tuple(range(2, x.ndim))
    stat_shape = (1, c) + (1,) * (x.ndim - 2)
    if training:
        if x.size // c < 2:
            raise ValueError(
                f"{op}: training needs more than 1 value per channel, got input shape {x.shape}"
            )
        xp = x.xp
        weight = Tensor._make(xp.ones(c, x.dtype)) if weight is None else weight
        bias = Tensor._make(xp.zeros(c, x.dtype)) if bias is None else bias
        return BatchNorm.apply(x, weight, bias, axes=axes, eps=eps, running_mean=running_mean,
                               running_var=running_var, momentum=momentum)
    inv_std = Tensor._make(1.0 / x.xp.sqrt(running_var.reshape(stat_shape) + eps))
    scale = inv_std if weight is None else reshape(weight, stat_shape) * inv_std
    y = (x - Tensor._make(running_mean.reshape(stat_shape))) * scale
    return y if bias is None else y + reshape(bias, stat_shape)
