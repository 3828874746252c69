"""How many threads NumPy's matrix products (BLAS) use: one scoped helper for the whole course.

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

Everywhere a ``--threads`` option appears it means this count (``0``: the library's default).
"""

from __future__ import annotations

import contextlib

from threadpoolctl import threadpool_info, threadpool_limits

__all__ = ["DEFAULT_THREADS", "blas_thread_counts", "blas_threads"]

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
