"""Runtime configuration: kernel build (ISA), threads, and what the build is."""
from __future__ import annotations

import os
import platform
import sys
from typing import Any, SupportsIndex

import numpy as np

from . import _ufuncs
from ._version import __version__


def get_num_threads() -> int:
    """Return the number of threads fastgelu uses for large arrays.

    This is OpenMP's max-threads setting of the calling thread (which follows
    ``OMP_NUM_THREADS`` and ``threadpoolctl.threadpool_limits``), capped by
    :func:`set_num_threads`.

    Returns
    -------
    int
        Number of threads (1 if the build has no OpenMP).
    """
    return _ufuncs.get_num_threads()


def set_num_threads(n: SupportsIndex) -> None:
    """Set the number of threads fastgelu uses for large arrays.

    Parameters
    ----------
    n : int
        Number of threads, at least 1 (a Python or NumPy integer). It caps calls from
        every Python thread; in the calling thread it also sets OpenMP's max-threads
        (``omp_set_num_threads``). Arrays shorter than the parallel threshold always
        run on the calling thread. Results do not depend on ``n``.

        More threads than CPUs is taken as asked, as ``torch.set_num_threads``,
        ``omp_set_num_threads`` and threadpoolctl take it: the CPUs a process gets
        (affinity masks, container quotas, other work) are not reliably known here,
        and a cap would make :func:`get_num_threads` disagree with the request. Such a
        setting oversubscribes the CPUs and runs slower, not faster (100 threads on 2
        CPUs: 2.4x the time); ``len(os.sched_getaffinity(0))`` (else
        ``os.cpu_count()``) is the useful maximum.

    Raises
    ------
    TypeError
        If ``n`` is not an integer (a float, a string, a bool).
    ValueError
        If ``n`` is outside 1 .. 2**31 - 1.
    """
    _ufuncs.set_num_threads(n)


def get_isa() -> str:
    """Return the name of the kernel build in use: ``"avx512"``, ``"avx2"`` or ``"baseline"``."""
    return _ufuncs.active_isa()


def set_isa(name: str = "auto") -> str:
    """Choose the kernel build (instruction set) the ufuncs run on.

    Parameters
    ----------
    name : str
        ``"auto"`` (the best this CPU supports), or one of the builds compiled in:
        ``"avx512"``, ``"avx2"``, ``"baseline"``; in any case (``"AVX2"``). Also set
        at import from the ``FASTGELU_ISA`` environment variable.

    Returns
    -------
    str
        The build now in use.

    Raises
    ------
    TypeError
        If ``name`` is not a string.
    ValueError
        If ``name`` is not a known build (the message names the builds this CPU runs).
    RuntimeError
        If this CPU or this build cannot run it.
    """
    _ufuncs.select_isa(name)
    return get_isa()


def config() -> dict[str, Any]:
    """Return what :func:`show_config` prints, as a dict."""
    isas = _ufuncs.compiled_isas()
    return {
        "version": __version__,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "platform": f"{platform.system()} {platform.machine()}",
        "compiler": _ufuncs.compiler(),
        "openmp": _ufuncs.openmp_enabled(),
        "num_threads": get_num_threads(),
        "cpu_count": os.cpu_count(),
        "isa": get_isa(),
        "isa_compiled": isas,
        "isa_supported": [name for name in isas if _ufuncs.cpu_supports(name)],
        "parallel_threshold": {
            dt: _ufuncs.get_parallel_threshold(dt) for dt in ("float32", "float64")
        },
        # bfloat16 loops are registered at import where ml_dtypes imports
        "bfloat16": _ufuncs.bfloat16 is not None,
    }


def _openmp_state(enabled: bool) -> str:
    """'on', or 'off' with why: the build found no OpenMP in its compiler."""
    if enabled:
        return "on"
    state = "off (compiler without OpenMP: serial build"
    if sys.platform == "darwin":
        state += "; for threads: brew install libomp, then reinstall from source"
    return state + ")"


def show_config() -> None:
    """Print the version, compiler, OpenMP and thread count, the kernel path in use, and
    whether the bfloat16 loops are registered (they are where ml_dtypes is installed).

    Examples
    --------
    >>> import fastgelu
    >>> fastgelu.show_config()  # doctest: +SKIP
    fastgelu 0.1.0
    ...
    """
    c = config()
    thr = c["parallel_threshold"]
    lines = [
        f"fastgelu {c['version']}  (Python {c['python']}, NumPy {c['numpy']}, {c['platform']})",
        f"  compiler         : {c['compiler']}",
        f"  OpenMP           : {_openmp_state(c['openmp'])}",
        f"  threads          : {c['num_threads']} (cpu_count {c['cpu_count']})",
        f"  kernel path      : {c['isa']}",
        f"  builds compiled  : {', '.join(c['isa_compiled'])}",
        f"  builds this CPU runs: {', '.join(c['isa_supported'])}",
        f"  threaded above   : {thr['float32']} float32 / {thr['float64']} float64 elements",
        f"  bfloat16 loops   : "
        f"{'registered (ml_dtypes)' if c['bfloat16'] else 'no (ml_dtypes not importable)'}",
    ]
    print("\n".join(lines))
