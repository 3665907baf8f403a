"""Runtime configuration: kernel build (ISA), threads, the accuracy tiers, and what the
build is."""
from __future__ import annotations

import os
import platform
import sys
from typing import Any, SupportsIndex

import numpy as np
import numpy.typing as npt

from . import _ufuncs
from ._version import __version__

#: Each accuracy tier's promise (:data:`fastgelu._ufuncs.TIERS`), in ulps of the result
#: dtype for float32 and float64 results: the exact tier (``fastgelu.<name>``) 1 ulp, the
#: fast tier (``fastgelu.fast.<name>``) 4 ulp. The one place the bounds are written: the
#: self-test (``python -m fastgelu check``), the benchmark's check, show_config() and the
#: tests take them from here.
TIER_BOUNDS: dict[str, float] = {"exact": 1.0, "fast": 4.0}
#: The promise for float16 and bfloat16 results, in ulps of that dtype, in every tier
#: (both run the float32 kernels, whose error is far below a 16-bit ulp).
BOUND_16: float = 1.0


def tier_bound(tier: str, dtype: npt.DTypeLike) -> float:
    """Return the accuracy promise of a tier for results of one dtype.

    Parameters
    ----------
    tier : str
        One of :data:`fastgelu._ufuncs.TIERS` (``"exact"``, ``"fast"``).
    dtype : str or dtype-like
        The result's dtype (or its name): float16, bfloat16, float32 or float64.

    Returns
    -------
    float
        The bound in ulps of ``dtype``: :data:`BOUND_16` for the 16-bit types, else
        ``TIER_BOUNDS[tier]``.

    Raises
    ------
    KeyError
        If ``tier`` is not a tier.
    """
    bound = TIER_BOUNDS[tier]
    name = dtype if isinstance(dtype, str) else np.dtype(dtype).name
    return BOUND_16 if name in ("float16", "bfloat16") else bound


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
        "tiers": tiers(),
    }


def tiers() -> dict[str, dict[str, Any]]:
    """Return each accuracy tier's module, bound and kernel path, in the order of
    :data:`fastgelu._ufuncs.TIERS`.

    Returns
    -------
    dict
        ``{tier: {"module": str, "bound_ulp": float, "isa": str}}``: the module of the
        tier's ufuncs (``"fastgelu"``, ``"fastgelu.fast"``), its bound in float32/float64
        ulps (:data:`TIER_BOUNDS`) and the ISA build its kernels run on (the tiers share
        one dispatch: :func:`set_isa` switches both).
    """
    return {tier: {"module": _ufuncs.TIER_MODULES[tier], "bound_ulp": TIER_BOUNDS[tier],
                   "isa": get_isa()}
            for tier in _ufuncs.TIERS}


def format_tiers(info: dict[str, dict[str, Any]]) -> str:
    """Name every tier, its functions and its bound in one line, e.g. ``exact
    (fastgelu.<name>, <= 1 ulp), fast (fastgelu.fast.<name>, <= 4 ulp)``.

    Parameters
    ----------
    info : dict
        What :func:`tiers` returns.

    Returns
    -------
    str
        The line (without show_config()'s label).
    """
    return ", ".join(f"{tier} ({t['module']}.<name>, <= {t['bound_ulp']:g} ulp)"
                     for tier, t in info.items())


def _openmp_state(enabled: bool) -> str:
    """'on', or 'off' with why: the build found no OpenMP in its compiler."""
    if enabled:
        return "on"
    state = "off (compiler without OpenMP: serial build"
    if sys.platform == "darwin":
        state += "; for threads: brew install libomp, then reinstall from source"
    return state + ")"


def show_config() -> None:
    """Print the version, compiler, OpenMP and thread count, the kernel path in use, the
    accuracy tiers (each one's functions, bound and kernel path), and whether the bfloat16
    loops are registered (they are where ml_dtypes is installed).

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
        f"  kernel path      : {c['isa']} ({' and '.join(c['tiers'])} tiers)",
        f"  tiers            : {format_tiers(c['tiers'])}",
        f"  builds compiled  : {', '.join(c['isa_compiled'])}",
        f"  builds this CPU runs: {', '.join(c['isa_supported'])}",
        f"  threaded above   : {thr['float32']} float32 / {thr['float64']} float64 elements",
        f"  bfloat16 loops   : "
        f"{'registered (ml_dtypes)' if c['bfloat16'] else 'no (ml_dtypes not importable)'}",
    ]
    print("\n".join(lines))
