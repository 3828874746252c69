"""Convolution and max pooling over batches of 2-d feature maps, in PyTorch's layout (N, C, H, W).

Both rest on one pair of array helpers, written with ``sliding_window_view`` so that NumPy and
CuPy share one code path:

* :func:`im2col`: the (kh, kw) patches of the padded input, one every (sh, sw) pixels, as the
  columns of a matrix per image: (N, C, H, W) -> (N, C*kh*kw, OH*OW). The windows are a view;
  arranging them as columns copies them once.
* :func:`col2im`, its adjoint: every column added back where its patch came from, kh*kw strided
  additions into a zero padded array whose padding is then cut off.

Output sizes: OH = (H + 2 ph - kh) // sh + 1, and likewise OW (rows and columns that do not fill
a last window are left out, as in PyTorch).

A convolution is one matrix product per image, y_n = W @ im2col(x)_n, with the weight
(O, C, kh, kw) seen as W, a matrix (O, C*kh*kw) (cross-correlation, as in every deep-learning
library). Its derivatives are the two other products, dL/dx = col2im(W^T @ g_n) and
dL/dW = sum_n g_n @ im2col(x)_n^T. All three are linear in each argument and each is the
others' derivative, so each is an op whose backward calls the other two: second derivatives
come for free. (dL/dx is computed as the correlation it equals, of g spread out by the stride
with the kernel flipped, by im2col and one product again: in NumPy, on small feature maps, that
is faster than col2im's strided additions; see :func:`_transposed_correlate`.)

Max pooling keeps each window's largest entry; its gradient goes back to that entry (one-hot
columns through col2im), and the gradient of that scatter is the gather again.
"""

from __future__ import annotations

import numbers

from ..backend import get_array_module
from ..function import Function, _check_inputs
from ..tensor import Tensor
from .shape import reshape


# ----- array helpers -------------------------------------------------------------------------
def _out_size(size, kernel, stride, padding):
    return (size + 2 * padding - kernel) // stride + 1


def _pad(x, padding):
    """x with ``padding`` zero rows and columns on every side (a copy, unless no padding)."""
    ph, pw = padding
    if ph == pw == 0:
        return x
    n, c, h, w = x.shape
    out = get_array_module(x).zeros((n, c, h + 2 * ph, w + 2 * pw), x.dtype)
    out[:, :, ph:ph + h, pw:pw + w] = x
    return out


def im2col(x, kernel, stride=(1, 1), padding=(0, 0)):
    """(N, C, H, W) -> (N, C*kh*kw, OH*OW): column p*OW + q holds the patch of output (p, q),
    its entries in the order (c, i, j), like the weight's (O, C, kh, kw)."""
    xp = get_array_module(x)
    windows = xp.lib.stride_tricks.sliding_window_view(_pad(x, padding), kernel, axis=(2, 3))
    windows = windows[:, :, ::stride[0], ::stride[1]]  # (N, C, OH, OW, kh, kw), a view
    n, c, oh, ow, kh, kw = windows.shape
    return windows.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, oh * ow)


def col2im(cols, x_shape, kernel, stride=(1, 1), padding=(0, 0)):
    """The adjoint of :func:`im2col`: (N, C*kh*kw, OH*OW) -> (N, C, H, W), every column added
    back where its patch came from (overlapping patches add up)."""
    n, c, h, w = x_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    oh, ow = _out_size(h, kh, sh, ph), _out_size(w, kw, sw, pw)
    cols = cols.reshape(n, c, kh, kw, oh, ow)
    out = get_array_module(cols).zeros((n, c, h + 2 * ph, w + 2 * pw), cols.dtype)
    overlapping = kh > sh or kw > sw
    for i in range(kh):
        for j in range(kw):
            pixels = out[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw]
            if overlapping:
                pixels += cols[:, :, i, j]
            else:  # every pixel lies in one window at most: nothing to add up, a copy is enough
                pixels[...] = cols[:, :, i, j]
    return out[:, :, ph:ph + h, pw:pw + w]


# ----- convolution ---------------------------------------------------------------------------
def _correlate(x, w, stride, padding):
    """y_n = W @ im2col(x)_n on arrays, as (N, O, OH, OW); also returns the columns."""
    o, c, kh, kw = w.shape
    n, _, h, wd = x.shape
    cols = im2col(x, (kh, kw), stride, padding)  # (N, C*kh*kw, OH*OW)
    y = w.reshape(o, -1) @ cols  # (N, O, OH*OW)
    oh, ow = _out_size(h, kh, stride[0], padding[0]), _out_size(wd, kw, stride[1], padding[1])
    return y.reshape(n, o, oh, ow), cols


def _transposed_correlate(g, w, x_shape, stride, padding):
    """col2im(W^T @ g_n) on arrays, computed as a correlation, which is faster in NumPy than
    kh*kw strided additions: g spread out by the stride (zeros between its entries) and
    bordered by kh-1 zeros, correlated with w flipped in space and with its channel axes
    swapped, gives the gradient of the padded input; the rows and columns of x are cut out.
    (The entry of window (p, q) at offset (i, j) reaches x at (s p + i, s q + j) either way.)
    """
    n, o, oh, ow = g.shape
    _, c, kh, kw = w.shape
    (sh, sw), (ph, pw), (h, wd) = stride, padding, x_shape[2:]
    spread = get_array_module(g).zeros((n, o, h + 2 * ph + kh - 1, wd + 2 * pw + kw - 1),
                                       g.dtype)
    spread[:, :, kh - 1:kh - 1 + sh * oh:sh, kw - 1:kw - 1 + sw * ow:sw] = g
    spread = spread[:, :, ph:ph + h + kh - 1, pw:pw + wd + kw - 1]  # the outputs over x only
    flipped = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)  # (C, O, kh, kw)
    return _correlate(spread, flipped, (1, 1), (0, 0))[0]


class Conv2d(Function):
    """y[n, o, p, q] = sum_{c, i, j} w[o, c, i, j] * xpad[n, c, sh p + i, sw q + j],
    i.e. y_n = W @ im2col(x)_n.

    dL/dx = col2im(W^T @ g_n) (:class:`Conv2dInputGrad`),
    dL/dw = sum_n g_n @ im2col(x)_n^T (:class:`Conv2dWeightGrad`).
    """

    @staticmethod
    def forward(ctx, x, w, stride, padding):
        ctx.geometry = dict(stride=stride, padding=padding)
        y, ctx.cols = _correlate(x, w, stride, padding)  # the columns are kept for dL/dw
        return y

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.inputs
        gx = gw = None
        if ctx.next[0] is not None:
            gx = Conv2dInputGrad.apply(g, w, x_shape=x.shape, **ctx.geometry)
        if ctx.next[1] is not None:
            gw = Conv2dWeightGrad.apply(x, g, kernel=w.shape[2:], cols=ctx.cols, **ctx.geometry)
        return gx, gw


class Conv2dInputGrad(Function):
    """dx = col2im(W^T @ g_n): the gradient of a convolution with respect to its input
    (the transposed convolution of g, computed as a correlation), bilinear in (g, w).

    With h the upstream gradient (shaped like x): dL/dg = conv2d(h, w),
    dL/dw = Conv2dWeightGrad(h, g).
    """

    @staticmethod
    def forward(ctx, g, w, x_shape, stride, padding):
        ctx.geometry = dict(stride=stride, padding=padding)
        return _transposed_correlate(g, w, x_shape, stride, padding)

    @staticmethod
    def backward(ctx, h):
        g, w = ctx.inputs
        gg = gw = None
        if ctx.next[0] is not None:
            gg = Conv2d.apply(h, w, **ctx.geometry)
        if ctx.next[1] is not None:
            gw = Conv2dWeightGrad.apply(h, g, kernel=w.shape[2:], **ctx.geometry)
        return gg, gw


class Conv2dWeightGrad(Function):
    """dw = sum_n g_n @ im2col(x)_n^T: the gradient of a convolution with respect to its
    weight, bilinear in (x, g).

    With h the upstream gradient (shaped like w): dL/dx = Conv2dInputGrad(g, h),
    dL/dg = conv2d(x, h).
    """

    @staticmethod
    def forward(ctx, x, g, kernel, stride, padding, cols=None):
        ctx.geometry = dict(stride=stride, padding=padding)
        n, o = g.shape[:2]
        if cols is None:  # im2col(x) when the convolution's forward did not hand it over
            cols = im2col(x, kernel, stride, padding)  # (N, C*kh*kw, OH*OW)
        gw = (g.reshape(n, o, -1) @ cols.transpose(0, 2, 1)).sum(axis=0)
        return gw.reshape((o, x.shape[1]) + tuple(kernel))

    @staticmethod
    def backward(ctx, h):
        x, g = ctx.inputs
        gx = gg = None
        if ctx.next[0] is not None:
            gx = Conv2dInputGrad.apply(g, h, x_shape=x.shape, **ctx.geometry)
        if ctx.next[1] is not None:
            gg = Conv2d.apply(x, h, **ctx.geometry)
        return gx, gg


# ----- max pooling ---------------------------------------------------------------------------
def _pool_columns(x, kernel, stride):
    """x's windows as (N, C, kh*kw, OH*OW) (im2col with the channels kept apart)."""
    n, c = x.shape[:2]
    return im2col(x, kernel, stride).reshape(n, c, kernel[0] * kernel[1], -1)


def _first_max(cols):
    """Each window's maximum (N, C, OH*OW), and a one-hot mask (N, C, kh*kw, OH*OW) of where
    it is: where several entries tie, only the first in window order (t = i*kw + j)."""
    y = cols.max(axis=2)
    mask = cols == y[:, :, None]
    taken = mask[:, :, 0].copy()
    for t in range(1, mask.shape[2]):
        mask[:, :, t] &= ~taken
        taken |= mask[:, :, t]
    return y, mask


class MaxPool2d(Function):
    """y[n, c, p, q] = max_{i, j} x[n, c, sh p + i, sw q + j] (0 <= i < kh, 0 <= j < kw).

    The max picks one entry of each window (``mask``, one-hot over the window), so dy/dx is 1
    there and 0 elsewhere: dL/dx = g sent to where each window's maximum was, added up where
    windows overlap (:class:`MaxUnpool2d`).

    Ties: the FIRST maximal entry in row-major order (smallest i, then smallest j) takes the
    whole gradient, as in PyTorch's CPU kernel. A window holding NaN gives NaN and passes no
    gradient. Given ``mask`` (its double backward does), forward sums the entries it selects.
    """

    save_inputs = False

    @staticmethod
    def forward(ctx, x, kernel, stride, mask=None):
        cols = _pool_columns(x, kernel, stride)  # (N, C, kh*kw, OH*OW)
        if mask is None:
            y, mask = _first_max(cols)
        else:
            y = (cols * mask).sum(axis=2)
        ctx.pool = dict(mask=mask, kernel=kernel, stride=stride)
        n, c, h, w = x.shape
        return y.reshape(n, c, _out_size(h, kernel[0], stride[0], 0),
                         _out_size(w, kernel[1], stride[1], 0))

    @staticmethod
    def backward(ctx, g):
        return MaxUnpool2d.apply(g, x_shape=ctx.input_shapes[0], **ctx.pool)


class MaxUnpool2d(Function):
    """dx = zeros shaped like x, with g[n, c, p, q] added where window (p, q) had its maximum:
    the one-hot mask times g, through col2im. Linear in g; its adjoint sums the entries the
    mask selects, so dL/dg = MaxPool2d(h, mask)."""

    save_inputs = False

    @staticmethod
    def forward(ctx, g, x_shape, mask, kernel, stride):
        ctx.pool = dict(mask=mask, kernel=kernel, stride=stride)
        n, c = g.shape[:2]
        return col2im(mask * g.reshape(n, c, 1, -1), x_shape, kernel, stride)

    @staticmethod
    def backward(ctx, h):
        return MaxPool2d.apply(h, **ctx.pool)


# ----- the functions that check and apply them -----------------------------------------------
def _pair(value, name, op, minimum):
    """``value`` (an int or a pair of ints) as a pair, each at least ``minimum``."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                                 for v in pair):
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value!r}")
    return int(pair[0]), int(pair[1])


def _check_feature_maps(op, x, name="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(
            f"{op}: {name} must have shape (N, C, H, W) (4 dims), got shape {x.shape}"
        )


def _check_window_fits(op, x, kernel, padding):
    h, w = x.shape[2] + 2 * padding[0], x.shape[3] + 2 * padding[1]
    if kernel[0] > h or kernel[1] > w:
        raise ValueError(
            f"{op}: kernel {kernel[0]}x{kernel[1]} is larger than the padded input {h}x{w} "
            f"(input {x.shape[2]}x{x.shape[3]}, padding {padding[0]}x{padding[1]})"
        )


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
           padding=0) -> Tensor:
    """2-d convolution (``torch.nn.functional.conv2d`` without dilation and groups).

    x (N, C, H, W), weight (O, C, kh, kw), bias (O,) or None; ``stride`` and ``padding``
    (zeros on every side) an int or a pair (rows, columns). Returns (N, O, OH, OW).
    """
    op = "conv2d"
    _check_feature_maps(op, x)
    _check_feature_maps(op, weight, "weight")
    stride = _pair(stride, "stride", op, 1)
    padding = _pair(padding, "padding", op, 0)
    _check_inputs(op, (x, weight) if bias is None else (x, weight, bias))
    o, c = weight.shape[:2]
    if x.shape[1] != c:
        raise ValueError(
            f"{op}: input has {x.shape[1]} channels but weight {weight.shape} expects {c} "
            "(weight: out_channels, in_channels, kh, kw)"
        )
    if bias is not None and bias.shape != (o,):
        raise ValueError(f"{op}: bias has shape {bias.shape}, expected ({o},)")
    _check_window_fits(op, x, weight.shape[2:], padding)
    y = Conv2d.apply(x, weight, stride=stride, padding=padding)
    return y if bias is None else y + reshape(bias, (1, o, 1, 1))


def max_pool2d(x: Tensor, kernel_size, stride=None) -> Tensor:
    """2-d max pooling (``torch.nn.functional.max_pool2d`` without padding and dilation).

    x (N, C, H, W); ``kernel_size`` and ``stride`` an int or a pair, ``stride`` defaulting to
    the kernel size (windows side by side). Ties: see :class:`MaxPool2d`.
    """
    op = "max_pool2d"
    _check_feature_maps(op, x)
    kernel = _pair(kernel_size, "kernel_size", op, 1)
    stride = kernel if stride is None else _pair(stride, "stride", op, 1)
    _check_window_fits(op, x, kernel, (0, 0))
    return MaxPool2d.apply(x, kernel=kernel, stride=stride)
