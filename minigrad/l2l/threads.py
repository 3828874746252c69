"""How many threads NumPy's BLAS may use (the CLI's ``--threads``).

NumPy's elementwise work runs on one thread; only its matrix products (OpenBLAS, MKL) start a
thread pool, by default one thread per core. The learned optimizer's products are skinny,
(4H, K) @ (K, N) with K about 20, and gain little from more threads, while idle pool threads
spin and, on a machine whose cores are busy with other work, make every product wait for a
thread that is not running. So the command line uses ONE BLAS thread unless told otherwise.

The thread count of an already loaded BLAS can only be changed through its own API, which
``threadpoolctl`` wraps; the ``OPENBLAS_NUM_THREADS`` environment variable counts only when it
is set before NumPy is imported.
"""

from __future__ import annotations

import os

__all__ = ["DEFAULT_THREADS", "blas_threads", "set_blas_threads"]

#: The command line's default (``--threads 0`` leaves the BLAS library's own default).
DEFAULT_THREADS = 1


def set_blas_threads(n: int) -> bool:
    """Limit every BLAS/OpenMP thread pool of this process to ``n`` threads (``n >= 1``).

    Returns True when the limit was applied; False when ``threadpoolctl`` is missing, in which
    case only child processes started later see the new ``OPENBLAS_NUM_THREADS``.
    """
    n = int(n)
    if n < 1:
        raise ValueError(f"set_blas_threads: expected a positive thread count, got {n}")
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return False
    threadpool_limits(limits=n)  # stays in force for the rest of the process
    return True


def blas_threads():
    """The thread counts of the loaded BLAS libraries (a list), or None if unknown."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return [p.get("num_threads") for p in threadpool_info() if p.get("user_api") == "blas"]
