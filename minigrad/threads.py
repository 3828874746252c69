"""How many threads minigrad's array work uses: BLAS, and the fused LSTM cell's blocks.

NumPy's elementwise work runs on one thread; only its matrix products (OpenBLAS, MKL) start a
thread pool, by default one thread per core. The learned optimizer's products are skinny,
(4H, K) @ (K, n) with K about 40, and gain little from more threads, while idle pool threads
spin and, on a machine whose cores are busy with other work, make every product wait for a
thread that is not running. So the command line, the lessons and the tests run with ONE BLAS
thread unless told otherwise.

The thread count of an already loaded BLAS can only be changed through its own API, which
``threadpoolctl`` wraps; environment variables such as ``OPENBLAS_NUM_THREADS`` count only when
set before NumPy is imported. Nothing here touches the environment::

    with blas_threads(2):
        ...                 # matrix products on at most 2 threads
    # the previous count again

The coordinatewise LSTM of the learned optimizer is the same small network over ~16,000
independent coordinates, which the fused cell processes in blocks (:mod:`minigrad.nn.fused_lstm`).
:func:`worker_threads` runs those blocks on a pool of threads; NumPy releases the GIL inside
its array loops and BLAS calls, so two threads keep two cores busy. Each block's matrix products
are small, so BLAS runs single-threaded inside the pool. With a given thread count the numbers
are always the same (the weight gradients are summed over the blocks in block order); across
thread counts they agree to float32 rounding (the blocks are larger on several threads).

Everywhere a ``--threads`` option appears it means the threads of the array work, set by
:func:`array_threads` (``0``: leave the libraries' defaults).
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor

from threadpoolctl import threadpool_info, threadpool_limits

__all__ = ["DEFAULT_THREADS", "array_threads", "blas_thread_counts", "blas_threads",
           "cpu_model", "map_blocks", "worker_count", "worker_threads"]

_pool = {"threads": 1, "executor": None}

#: The command line's and the lessons' default BLAS thread count.
DEFAULT_THREADS = 1


def blas_threads(n: int | None):
    """A context manager limiting every BLAS thread pool of this process to ``n`` threads
    inside the block and restoring the previous counts after it. ``n`` None or 0: no change."""
    if n is None or n == 0:
        return contextlib.nullcontext()
    if int(n) != n or n < 0:
        raise ValueError(f"blas_threads: expected a thread count >= 1 (or 0/None for no "
                         f"change), got {n!r}")
    return threadpool_limits(limits=int(n), user_api="blas")


def blas_thread_counts() -> list[int]:
    """The thread count of each BLAS library loaded in this process (e.g. ``[1]``)."""
    return [p.get("num_threads") for p in threadpool_info() if p.get("user_api") == "blas"]


@contextlib.contextmanager
def worker_threads(n: int | None):
    """Inside the block, the fused LSTM cell's blocks run on ``n`` threads (None or 0: no
    change; 1: in the calling thread, the default)."""
    if n is None or n == 0:
        yield
        return
    if int(n) != n or n < 1:
        raise ValueError(f"worker_threads: expected a thread count >= 1, got {n!r}")
    previous = dict(_pool)
    _pool["threads"], _pool["executor"] = int(n), None
    try:
        yield
    finally:
        if _pool["executor"] is not None:
            _pool["executor"].shutdown(wait=True)
        _pool.update(previous)


def array_threads(n: int | None):
    """``--threads n``: the fused cell's blocks on ``n`` threads, BLAS on one thread inside
    them; with ``n = 1`` everything on the calling thread with one BLAS thread. None or 0: no
    change at all."""
    if n is None or n == 0:
        return contextlib.nullcontext()
    stack = contextlib.ExitStack()
    stack.enter_context(worker_threads(n))
    stack.enter_context(blas_threads(1))
    return stack


def worker_count() -> int:
    """How many threads :func:`map_blocks` uses now (1 outside :func:`worker_threads`)."""
    return _pool["threads"]


def map_blocks(fn, items) -> list:
    """``[fn(item) for item in items]``, on the worker threads when there are several."""
    items = list(items)
    if _pool["threads"] <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    if _pool["executor"] is None:
        _pool["executor"] = ThreadPoolExecutor(max_workers=_pool["threads"],
                                               thread_name_prefix="minigrad-block")
    return list(_pool["executor"].map(fn, items))


def cpu_model() -> str:
    """The CPU's model name, as benchmarks and timings record it (``/proc/cpuinfo`` on Linux,
    else what :mod:`platform` knows)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine() or "unknown CPU"
