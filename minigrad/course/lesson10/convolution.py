"""Sections 1 and 2: a convolution as one matrix product (exercises 10.1 and 10.2, im2col and
the forward), and its weight gradient, checked against central differences (exercise 10.3).

Every array here is NumPy, (N, C, H, W) in PyTorch's layout. The references are minigrad's own:
:func:`minigrad.ops.conv.im2col` and :func:`minigrad.conv2d` (run in float64), and the weight
gradient that minigrad's autograd computes for ``sum(g * conv2d(x, w))``.
"""

from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad.course.checks import Case, Exercise, compare_values, register
from minigrad.ops.conv import im2col as _library_im2col


def _pair(v):
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


def out_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """The output length of a convolution or pooling along one axis: windows of ``kernel``
    every ``stride`` over ``size`` + 2 ``padding``: (size + 2 padding - kernel) // stride + 1."""
    return (int(size) + 2 * int(padding) - int(kernel)) // int(stride) + 1


def _checker(make_cases, reference, diagnose, rtol: float, atol: float):
    """A checker for :class:`~minigrad.course.checks.Exercise`: each case of ``make_cases()``
    through ``reference`` and the learner's function (on copies of its arrays), compared with
    ``compare_values``; a difference gets ``diagnose(case, got, expected)`` appended, the
    likely slip in words (or "")."""

    def run(fn):
        for case in make_cases():
            expected = reference(*case.args, **case.kwargs)
            got = fn(*[np.array(a) if isinstance(a, np.ndarray) else a for a in case.args],
                     **case.kwargs)
            problem = compare_values(got, expected, rtol=rtol, atol=atol)
            if problem is not None:
                try:
                    arr = np.asarray(got, dtype=np.float64)
                except (TypeError, ValueError):
                    arr = None
                if arr is not None:
                    problem += diagnose(case, arr, np.asarray(expected))
            yield case.label, problem

    return run


def _register(exercise_id: str, title: str, reference, cases, diagnose, tolerance, hint: str):
    """Register an exercise checked by :func:`_checker` (``tolerance``: rtol, atol); the hint
    ends by pointing at the collapsed code hint."""
    register(Exercise(id=exercise_id, title=title, reference=reference,
                      checker=_checker(cases, reference, diagnose, *tolerance),
                      hint=hint + " Still stuck: the collapsed 'Hint 2' below the exercise."))


# ============================================================================================
# Exercise 10.1: im2col


def library_im2col(x, kernel, stride=1, padding=0):
    """minigrad's im2col (:func:`minigrad.ops.conv.im2col`) with the exercise's arguments:
    ``kernel`` a pair (kh, kw), ``stride`` and ``padding`` ints. Reference of exercise 10.1."""
    x = np.asarray(x)
    return np.ascontiguousarray(_library_im2col(x, _pair(kernel), _pair(stride), _pair(padding)))


def _im2col_cases():
    rng = np.random.default_rng(10)
    small = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
    two = np.arange(2 * 2 * 5 * 5, dtype=np.float64).reshape(2, 2, 5, 5)
    return [
        Case((small, (3, 3)), label="one 4x4 image, 3x3 windows"),
        Case((small, (2, 2)), {"stride": 2}, label="the same image, 2x2 windows, stride 2"),
        Case((small, (3, 3)), {"padding": 1}, label="3x3 windows with padding 1"),
        Case((two, (3, 3)), label="two images of two channels"),
        Case((two, (2, 3)), {"stride": 2, "padding": 1},
             label="two images of two channels, 2x3 windows, stride 2, padding 1"),
        Case((rng.standard_normal((3, 3, 7, 6)), (3, 3)), {"stride": 2, "padding": 2},
             label="3 random images of 3 channels, 7x6, stride 2, padding 2"),
    ]


def _windows_as(x, kernel, stride, padding, order):
    """im2col with the rows in another order (a typical slip): ``order`` of (c, i, j)."""
    (kh, kw), s, p = _pair(kernel), int(stride), int(padding)
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::s, ::s]
    n, c, oh, ow = win.shape[:4]
    axes = {"c": 1, "i": 4, "j": 5}
    return win.transpose(0, *[axes[a] for a in order], 2, 3).reshape(n, c * kh * kw, oh * ow)


def _im2col_diagnosis(case, g, exp) -> str:
    x, kernel = case.args
    stride, padding = case.kwargs.get("stride", 1), case.kwargs.get("padding", 0)
    n, rows, cols = exp.shape
    (kh, kw), h, w = _pair(kernel), x.shape[2], x.shape[3]
    if g.shape == (n, cols, rows) and rows != cols:
        return (" (rows and columns swapped: each COLUMN is one window, its C*kh*kw entries "
                "down the rows)")
    if padding and g.shape == (n, rows, out_size(h, kh, stride) * out_size(w, kw, stride)):
        return (f" (that is the shape without padding: pad {padding} zeros on every side of "
                "H and W first, e.g. with np.pad)")
    if stride > 1 and g.shape == (n, rows, out_size(h, kh, 1, padding)
                                  * out_size(w, kw, 1, padding)):
        return (f" (that is every window: keep one window in {stride} along each axis, "
                "windows[:, :, ::s, ::s])")
    if g.shape == exp.shape:
        for order in (("i", "j", "c"), ("c", "j", "i"), ("j", "i", "c")):
            if np.array_equal(g, _windows_as(x, kernel, stride, padding, order)):
                return (" (the rows are in the order (" + ", ".join(order) + "); the weight "
                        "(O, C, kh, kw) flattens in the order (c, i, j): move the window axes "
                        "next to the channel axis before reshaping)")
    return ""


_register(
    "10.1", "im2col with sliding_window_view", library_im2col, _im2col_cases,
    _im2col_diagnosis, (1e-12, 0.0),
    "Pad H and W with zeros, then let sliding_window_view give you every (kh, kw) window as a "
    "view of shape (N, C, H', W', kh, kw); keep every stride-th window along H' and W'. Each "
    "output position becomes one column, its C*kh*kw entries in the order (c, i, j) down the "
    "rows, and the columns in row-major order of the positions.")


# ============================================================================================
# Exercise 10.2: the forward pass, one matrix product


def library_conv2d(x, w, b=None, stride=1, padding=0):
    """minigrad's conv2d on float64 copies of NumPy arrays, as a NumPy array (N, O, OH, OW).
    Reference of exercise 10.2."""
    t = mg.conv2d(mg.tensor(np.asarray(x, np.float64)), mg.tensor(np.asarray(w, np.float64)),
                  None if b is None else mg.tensor(np.asarray(b, np.float64)),
                  stride=stride, padding=padding)
    return t.numpy()


def _true_convolution(x, w, b, stride, padding):
    """The kernel flipped in space: a convolution in the signal-processing sense."""
    return library_conv2d(x, w[:, :, ::-1, ::-1], b, stride, padding)


def _conv_cases():
    rng = np.random.default_rng(11)
    return [
        Case((rng.standard_normal((1, 1, 5, 5)), rng.standard_normal((1, 1, 3, 3)),
              np.zeros(1)), label="one 5x5 image, one 3x3 filter, zero bias"),
        Case((rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3)),
              rng.standard_normal(4)), label="2 images, 3 -> 4 channels, 3x3, with bias"),
        Case((rng.standard_normal((2, 2, 7, 7)), rng.standard_normal((3, 2, 5, 5)),
              rng.standard_normal(3)), {"padding": 2},
             label="5x5 filters, padding 2 ('same' size)"),
        Case((rng.standard_normal((3, 1, 9, 8)), rng.standard_normal((2, 1, 3, 2)),
              rng.standard_normal(2)), {"stride": 2, "padding": 1},
             label="3x2 filters, stride 2, padding 1"),
    ]


def _conv_diagnosis(case, g, exp) -> str:
    x, w, b = case.args
    stride, padding = case.kwargs.get("stride", 1), case.kwargs.get("padding", 0)
    n, o, oh, ow = exp.shape
    if g.shape == (n, o, oh * ow):
        return " (reshape the product (N, O, OH*OW) to (N, O, OH, OW))"
    if g.shape == (o, n, oh, ow) and n != o:
        return (" (the batch axis comes first: W @ cols broadcasts over the images, giving "
                "(N, O, OH*OW))")
    if g.shape != exp.shape:
        return ""
    if np.allclose(g, _true_convolution(x, w, b, stride, padding), rtol=1e-9, atol=1e-10):
        return (" (that is the kernel flipped, the convolution of signal processing; deep "
                "learning's conv2d is a cross-correlation: each window is multiplied by the "
                "filter as it is)")
    if np.any(b) and np.allclose(g, library_conv2d(x, w, None, stride, padding), rtol=1e-9,
                                 atol=1e-10):
        return " (add the bias: one number per output channel, b[:, None])"
    return ""


_register(
    "10.2", "conv2d forward as one matrix product", library_conv2d, _conv_cases,
    _conv_diagnosis, (1e-9, 1e-10),
    "im2col turns each image into columns, one per output position; the weight (O, C, kh, kw) "
    "flattened to (O, C*kh*kw) has one row per filter in the same (c, i, j) order. One matrix "
    "product gives every filter at every position of every image; add each channel's bias and "
    "give the result its (N, O, OH, OW) shape.")


# ============================================================================================
# Exercise 10.3: the weight gradient, checked against central differences


def library_weight_grad(x, g, kernel, stride=1, padding=0):
    """dL/dw for L = sum(g * conv2d(x, w)), computed by minigrad's autograd in float64
    (the gradient does not depend on w: conv2d is linear in it). ``kernel`` is (kh, kw);
    ``g`` has the output's shape (N, O, OH, OW). Reference of exercise 10.3."""
    x = np.asarray(x, np.float64)
    g = np.asarray(g, np.float64)
    kh, kw = _pair(kernel)
    w = mg.tensor(np.zeros((g.shape[1], x.shape[1], kh, kw)), requires_grad=True)
    y = mg.conv2d(mg.tensor(x), w, stride=stride, padding=padding)
    (gw,) = mg.grad(mg.sum(y * mg.tensor(g)), [w])
    return gw.numpy()


def _grad_cases():
    rng = np.random.default_rng(12)

    def case(n, c, h, w, o, kh, kw, stride=1, padding=0, label=""):
        x = rng.standard_normal((n, c, h, w))
        g = rng.standard_normal((n, o, out_size(h, kh, stride, padding),
                                 out_size(w, kw, stride, padding)))
        return Case((x, g, (kh, kw)), {"stride": stride, "padding": padding}, label=label)

    return [
        case(1, 1, 5, 5, 1, 3, 3, label="one image, one 3x3 filter"),
        case(3, 2, 6, 6, 4, 3, 3, label="3 images, 2 -> 4 channels"),
        case(2, 3, 7, 7, 2, 5, 5, padding=2, label="5x5 filters, padding 2"),
        case(2, 1, 9, 8, 3, 3, 2, stride=2, padding=1, label="3x2 filters, stride 2, padding 1"),
    ]


def _grad_diagnosis(case, a, exp) -> str:
    n = case.args[0].shape[0]
    o, c, kh, kw = exp.shape
    if a.shape in ((n, o, c * kh * kw), (n, o, c, kh, kw)):
        return (" (one gradient per image: sum them over the batch, since the same filter is "
                "used on every image)")
    if a.shape == (o, c * kh * kw):
        return " (reshape (O, C*kh*kw) to the weight's shape (O, C, kh, kw))"
    if a.shape == (c * kh * kw, o):
        return (" (that is the transpose: g_n (O, OH*OW) times cols_n^T (OH*OW, C*kh*kw) "
                "gives (O, C*kh*kw))")
    if a.shape == exp.shape and n > 1 and np.allclose(a * n, exp, rtol=1e-9, atol=1e-10):
        return " (sum over the images, not their mean)"
    return ""


_register(
    "10.3", "the weight gradient of conv2d", library_weight_grad, _grad_cases, _grad_diagnosis,
    (1e-9, 1e-10),
    "For one image the forward is Y = W @ cols, a matrix product, so dL/dW = G @ cols^T with "
    "G = dL/dY as a matrix (O, OH*OW): the same columns as the forward, transposed. The same W "
    "acts on every image, so the images' gradients add up.")


def weight_gradient_check(conv_forward, weight_grad, h: float = 1e-6, seed: int = 0) -> dict:
    """A gradient check of ``weight_grad`` (exercise 10.3) against central differences of
    ``conv_forward`` (exercise 10.2), in float64, on 2 images of 3 channels, 4 filters 3x3,
    stride 2 and padding 1.

    The loss is L(w) = sum(g * conv_forward(x, w, b)) with a fixed random g; each entry of w is
    moved by +-h and (L(w + h e) - L(w - h e)) / 2h estimates dL/dw there. Returns the three
    gradients (``analytic``: yours, ``numeric``: central differences, ``autograd``: minigrad's)
    and the largest relative errors between them (``rel_numeric``, ``rel_autograd``)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 3, 7, 7))
    w = rng.standard_normal((4, 3, 3, 3))
    b = rng.standard_normal(4)
    kw = {"stride": 2, "padding": 1}
    g = rng.standard_normal(np.shape(conv_forward(x, w, b, **kw)))

    def loss(weights):
        return float(np.sum(g * conv_forward(x, weights, b, **kw)))

    numeric = np.zeros_like(w)
    for idx in np.ndindex(w.shape):
        e = np.zeros_like(w)
        e[idx] = h
        numeric[idx] = (loss(w + e) - loss(w - e)) / (2 * h)
    analytic = np.asarray(weight_grad(x, g, w.shape[2:], **kw), dtype=np.float64)
    autograd = library_weight_grad(x, g, w.shape[2:], **kw)

    def rel(a, ref):
        return float(np.max(np.abs(a - ref)) / max(np.max(np.abs(ref)), 1e-300))

    return {"analytic": analytic, "numeric": numeric, "autograd": autograd,
            "rel_numeric": rel(analytic, numeric), "rel_autograd": rel(analytic, autograd),
            "entries": int(w.size), "h": h}


# ============================================================================================
# The picture: one window becomes one column


def draw_im2col(size: int = 4, kernel: int = 3, stride: int = 1, padding: int = 0,
                window: int = 0, im2col=library_im2col):
    """A single-channel ``size`` x ``size`` image holding 0, 1, 2, ... (left, padded with
    zeros) and its im2col matrix (right); the window of output position ``window`` and the
    column it becomes are outlined. ``im2col`` makes the matrix (the learner's after the
    check). Returns the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    x = np.arange(size * size, dtype=np.float64).reshape(1, 1, size, size) + 1
    cols = np.asarray(im2col(x, (kernel, kernel), stride=stride, padding=padding))[0]
    padded = np.pad(x[0, 0], padding)
    oh = out_size(size, kernel, stride, padding)
    p, q = divmod(int(window) % cols.shape[1], oh)
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(9.5, 3.8),
                                 gridspec_kw={"width_ratios": [1, max(1.2, cols.shape[1] / 6)]})
    for ax, m in ((a0, padded), (a1, cols)):
        ax.imshow(m == 0, cmap="Greys", vmin=0, vmax=3, aspect="equal")
        for (r, c), v in np.ndenumerate(m):
            ax.text(c, r, f"{v:g}", ha="center", va="center", fontsize=8,
                    color="gray" if v == 0 else "black")
        ax.set_xticks([])
        ax.set_yticks([])
    a0.add_patch(Rectangle((q * stride - 0.5, p * stride - 0.5), kernel, kernel, fill=False,
                           ec="tab:red", lw=2.5))
    a1.add_patch(Rectangle((window - 0.5, -0.5), 1, cols.shape[0], fill=False, ec="tab:red",
                           lw=2.5))
    a0.set_title(f"input {size}x{size}" + (f", padded by {padding}" if padding else "")
                 + f"\n{kernel}x{kernel} window number {window} (stride {stride})", fontsize=9)
    a1.set_title(f"im2col: {cols.shape[0]} rows (a window's entries)\nx {cols.shape[1]} "
                 "columns (one per output position)", fontsize=9)
    fig.tight_layout()
    return fig
