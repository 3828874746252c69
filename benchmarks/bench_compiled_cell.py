"""Benchmark: would a compiled kernel speed up the fused LSTM cell? (not a test)

The performance issue allowed a compiled kernel (numba) as an optional path for the fused
cell's elementwise work. This measures the idea before building it: the cell's forward over
one MNIST-sized batch (B = 16,384 coordinates, H = 20, blocks of 512, float32, the CPU's
flush-to-zero mode on), three ways in the same run:

* ``numpy``: :func:`minigrad.nn.fused_lstm._forward_block`, the cell as it is (one matrix
  product, then NumPy ufuncs over the (4H, n) block);
* ``numba``: the same matrix product, then ONE numba-compiled pass that computes every gate,
  c', tanh(c') and h' per entry (the fused elementwise kernel the idea asks for);
* ``matmul only``: the matrix products alone, the part neither can remove.

It prints the best time of each over the repeats and the ratios. Both paths give the same
numbers to float32 rounding (checked before timing).

What decides the outcome is the exponential: NumPy 2.x computes float32 ``exp`` with SIMD
(AVX-512 or AVX2 where the CPU has it), while numba's kernel calls a scalar ``expf`` per entry
unless LLVM can use Intel's SVML, which the llvmlite wheels from PyPI are not built with
(``numba -s``: "SVML Operational: False"). Run it on your machine before deciding.

    pip install numba
    python benchmarks/bench_compiled_cell.py --repeats 20
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from minigrad.nn.fused_lstm import BLOCK, _forward_block  # noqa: E402
from minigrad.subnormals import cpu_flush_to_zero  # noqa: E402
from minigrad.threads import blas_threads  # noqa: E402


def _compile_kernel(numba):
    one, two = np.float32(1.0), np.float32(2.0)

    @numba.njit(nogil=True, fastmath=True)
    def forward_elementwise(gates, c_t, out, tanh_c):
        """gates (4H, n): the exponents in, the activated gates out (as _forward_block)."""
        H, n = c_t.shape
        for r in range(H):
            for j in range(n):
                i = one / (one + np.exp(gates[r, j]))
                f = one / (one + np.exp(gates[H + r, j]))
                g = two / (one + np.exp(gates[2 * H + r, j])) - one
                o = one / (one + np.exp(gates[3 * H + r, j]))
                c = f * c_t[r, j] + i * g
                t = two / (one + np.exp(-two * c)) - one
                gates[r, j], gates[H + r, j], gates[2 * H + r, j], gates[3 * H + r, j] = i, f, g, o
                out[1, r, j], tanh_c[r, j], out[0, r, j] = c, t, o * t

    return forward_elementwise


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--batch", type=int, default=16384)
    args = ap.parse_args(argv)
    try:
        import numba
    except ImportError:
        print("numba is not installed: pip install numba", file=sys.stderr)
        return 2
    kernel = _compile_kernel(numba)

    rng = np.random.default_rng(0)
    H, In, B, n = 20, 22, args.batch, BLOCK
    w = (rng.normal(size=(4 * H, In + H + 1)) * 0.3).astype(np.float32)
    x = rng.normal(size=(B, In)).astype(np.float32)
    h = rng.normal(size=(B, H)).astype(np.float32)
    c_t = rng.normal(size=(H, B)).astype(np.float32)
    blocks = [slice(j, min(j + n, B)) for j in range(0, B, n)]

    def stacked(cols):
        m = cols.stop - cols.start
        xh = np.empty((In + H + 1, m), np.float32)
        xh[:In], xh[In:In + H], xh[In + H] = x[cols].T, h[cols].T, 1.0
        return w @ xh

    def numpy_path():
        out = np.empty((2, H, B), np.float32)
        for cols in blocks:
            _forward_block(w, x[cols], h[cols], c_t[:, cols], out[:, :, cols], np)
        return out

    def numba_path():
        out = np.empty((2, H, B), np.float32)
        for cols in blocks:
            gates = stacked(cols)
            part = np.empty((2, H, gates.shape[1]), np.float32)
            kernel(gates, np.ascontiguousarray(c_t[:, cols]), part,
                   np.empty((H, gates.shape[1]), np.float32))
            out[:, :, cols] = part
        return out

    def matmul_only():
        for cols in blocks:
            stacked(cols)

    with blas_threads(1), cpu_flush_to_zero():
        diff = float(np.abs(numpy_path() - numba_path()).max())
        best = {f.__name__: float("inf") for f in (numpy_path, numba_path, matmul_only)}
        for _ in range(args.repeats):  # alternate, so load changes hit all three alike
            for f in (numpy_path, numba_path, matmul_only):
                t = time.perf_counter()
                f()
                best[f.__name__] = min(best[f.__name__], time.perf_counter() - t)
    print(f"fused LSTM forward, B = {B}, H = {H}, blocks of {n}, float32, 1 thread; "
          f"{platform.processor() or platform.machine()}, NumPy {np.__version__}, "
          f"numba {numba.__version__}; best of {args.repeats}")
    print(f"max |numpy - numba| = {diff:.1e}")
    for name, t in best.items():
        print(f"{name:12s} {t * 1e3:7.2f} ms")
    mm = best["matmul_only"]
    ew_np, ew_nb = best["numpy_path"] - mm, best["numba_path"] - mm
    print(f"numba / numpy, whole forward: {best['numba_path'] / best['numpy_path']:.2f}; "
          f"elementwise part (minus the products): {ew_nb / ew_np:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
