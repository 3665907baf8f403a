"""Side-by-side throughput of fastgelu and its peers, measured in one run.

The engine behind ``python -m fastgelu bench``, ``benchmarks/plot.py``,
``benchmarks/threshold.py`` and the pytest-benchmark suite in ``benchmarks/``: the
inputs, the check of each implementation's output against the float64 reference
(:mod:`fastgelu._reference`; fastgelu's own tiers also against their ulp bounds), the
timing, and :func:`run`. The implementations are in :mod:`fastgelu._peers`, the table
and JSON output in :mod:`fastgelu._report`, the plot in :mod:`fastgelu._plot`.

Figures are million elements per second (Melem/s), the median over repeats. Absolute
figures move from run to run on a shared machine; compare the ratios of one run.

>>> from fastgelu import _bench, _report
>>> rows = _bench.run(_bench.Options(sizes=[1000], dtypes=["float32"], kinds=["gelu"],
...                                  min_time=0.01, repeat=3))   # doctest: +SKIP
>>> print(_report.format_table(rows))                             # doctest: +SKIP
"""
from __future__ import annotations

import contextlib
import functools
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _reference
from ._check import ulp_errors
from ._config import tier_bound
from ._peers import (
    ALL_IMPLS,
    ALL_KINDS,
    FUSED_KINDS,
    IMPLS,
    KINDS,
    Impl,
    Unavailable,
    as_numpy,
    implementations,
)
from ._report import format_n, format_row

#: The dtypes timed by default (``--dtype both``), and every dtype with loops
#: (``--dtype all``): bfloat16 is ml_dtypes' dtype, there only where ml_dtypes imports.
DTYPES = ("float32", "float64")
ALL_DTYPES = ("float16", "bfloat16", "float32", "float64")
SEED = 0


def loop_dtype(name: str | np.dtype) -> np.dtype:
    """The NumPy dtype of one of :data:`ALL_DTYPES` (ValueError for any other, and for
    bfloat16 where ml_dtypes is not installed)."""
    from . import _ufuncs

    if str(name) == "bfloat16":
        if _ufuncs.bfloat16 is None:
            raise ValueError("bfloat16 needs ml_dtypes (pip install ml_dtypes); "
                             "it does not import here")
        return _ufuncs.bfloat16
    try:
        dtype = np.dtype(name)
    except TypeError:
        dtype = None
    if dtype is None or dtype.name not in ALL_DTYPES:
        raise ValueError(f"unsupported dtype {name!r}; choose from {', '.join(ALL_DTYPES)}")
    return dtype


def available_dtypes() -> tuple[str, ...]:
    """:data:`ALL_DTYPES` but bfloat16 where ml_dtypes does not import."""
    from . import _ufuncs

    return tuple(d for d in ALL_DTYPES if d != "bfloat16" or _ufuncs.bfloat16 is not None)


# ---------------------------------------------------------------------------------------
# Inputs, reference and correctness check
# ---------------------------------------------------------------------------------------
#: Input distributions: typical activations, the negative tail (where accurate kernels
#: could be tempted into a slow path), and subnormal inputs (which cost microcode assists
#: on some CPUs).
DISTS = ("normal", "tail", "subnormal")


def make_input(n: int, dtype: str | np.dtype, seed: int = SEED, dist: str = "normal") -> np.ndarray:
    """Contiguous samples of the given dtype (fixed seed): ``normal`` is 3*N(0, 1),
    ``tail`` uniform on [-20, 0], ``subnormal`` uniform over the subnormal numbers of
    the dtype, both signs."""
    rng = np.random.default_rng(seed)
    n = int(n)
    if dist == "normal":
        return (3.0 * rng.standard_normal(n)).astype(dtype)
    if dist == "tail":
        return rng.uniform(-20.0, 0.0, n).astype(dtype)
    if dist == "subnormal":
        dtype = loop_dtype(dtype)
        if dtype.name == "bfloat16":  # np.finfo does not know ml_dtypes' types
            import ml_dtypes

            tiny = float(ml_dtypes.finfo(dtype).smallest_normal)
        else:
            tiny = float(np.finfo(dtype).smallest_normal)
        return (rng.uniform(-tiny, tiny, n)).astype(dtype)
    raise ValueError(f"unknown input distribution {dist!r}; choose from {', '.join(DISTS)}")


def make_inputs(kind: str, n: int, dtype: str | np.dtype, seed: int = SEED,
                dist: str = "normal") -> np.ndarray:
    """The benchmark input of ``kind``: :func:`make_input` for the one-input kinds; for the
    fused kinds the two operands stacked, shape ``(2, n)``, in argument order, the GELU
    argument from ``dist`` and the other operand N(0, 1)."""
    x = make_input(n, dtype, seed, dist)
    if kind not in FUSED_KINDS:
        return x
    other = np.random.default_rng(seed + 1).standard_normal(int(n)).astype(dtype)
    return np.stack([other, x] if kind == "gelu_backward" else [x, other])


def check_indices(n: int, max_points: int = 4096) -> np.ndarray:
    """Where outputs are checked: everything for small n, else the first 256 elements
    and an even spread of ``max_points`` (keeps checks at 1e7 elements cheap)."""
    if n <= max_points + 256:
        return np.arange(n)
    spread = np.linspace(0, n - 1, max_points).astype(np.intp)
    return np.unique(np.concatenate([np.arange(256), spread]))


def expected(kind: str, x: np.ndarray) -> np.ndarray:
    """The float64 reference of ``kind`` at the benchmark input ``x`` (for the fused
    kinds, the operands stacked as :func:`make_inputs` makes them).

    Meant for a few thousand points (see :func:`check_indices`), not for whole arrays.
    """
    if kind in FUSED_KINDS:
        return _reference.fused(kind, *x)[0]
    if kind not in _reference.REF:
        raise ValueError(f"unknown kind {kind!r}; choose from {', '.join(ALL_KINDS)}")
    return _reference.REF[kind](x)


#: (rtol, atol) per dtype: |y - ref| <= atol * max(1, |x|) + rtol * |ref|. Loose enough for
#: every peer's float32 approximations (PyTorch's erf has absolute error 1.5e-7), tight
#: enough that the exact and tanh forms (which differ by up to 5e-4) are told apart. The
#: 16-bit types cannot tell those apart; theirs allow a few roundings in the peers'
#: 16-bit temporaries (unit roundoff 2^-11 and 2^-8) and still catch a wrong function.
TOLERANCE = {"float16": (4e-3, 2e-3), "bfloat16": (3e-2, 1.6e-2),
             "float32": (2e-5, 2e-6), "float64": (1e-10, 1e-12)}


def check(kind: str, x: np.ndarray, y: Any, expect: np.ndarray | None = None,
          idx: np.ndarray | None = None, tier: str | None = None) -> str | None:
    """None if ``y`` is the right result for ``kind`` of ``x``, else what is wrong.

    Parameters
    ----------
    kind : str
        The function, or ``"copy"`` (then y must equal x).
    x, y : array
        The benchmark input (:func:`make_inputs`) and the implementation's result.
    expect, idx : array, optional
        A precomputed ``expected(kind, x[..., idx])`` and its indices, to reuse across
        implementations.
    tier : str, optional
        For fastgelu's own implementations: their accuracy tier. Besides the tolerance
        every implementation gets (:data:`TOLERANCE`), float16, bfloat16 and float32
        results are then held to the tier's bound in ulps
        (:func:`fastgelu._config.tier_bound`: exact 1, fast 4, 16-bit results 1). float64
        results keep the tolerance alone: the float64 reference is not accurate to a
        float64 ulp (``python -m fastgelu check`` holds them to the bound, against an
        mpmath table).

    Returns
    -------
    str or None
        What is wrong, or None.
    """
    y = as_numpy(y)
    stacked = x.ndim == 2 and y.ndim == 1  # fused kinds: (2, n) operands
    shape = x.shape[1:] if stacked else x.shape
    if y.shape != shape:
        return f"shape {y.shape}, expected {shape}"
    if y.dtype != x.dtype:
        return f"dtype {y.dtype}, expected {x.dtype}"
    if kind == "copy":
        same = np.array_equal(y, x[-1] if stacked else x)
        return None if same else "copy differs from its input"
    if idx is None:
        idx = check_indices(shape[0] if stacked else x.size)
    xs = x[:, idx] if stacked else x.reshape(-1)[idx]
    ys = y.reshape(-1)[idx].astype(np.float64)
    ref = expected(kind, xs) if expect is None else expect
    rtol, atol = TOLERANCE[x.dtype.name]
    # absolute slack in proportion to the inputs (for the products: to both operands)
    scale = np.prod(np.maximum(1.0, np.abs(np.atleast_2d(xs).astype(np.float64))), axis=0)
    bound = atol * scale + rtol * np.abs(ref)
    err = np.abs(ys - ref)
    bad = ~(err <= bound)  # NaN counts as bad
    if bad.any():
        i = int(np.argmax(np.where(bad, err / bound, 0.0))) if not np.isnan(err).any() \
            else int(np.flatnonzero(np.isnan(err))[0])
        return (f"{kind}: {int(bad.sum())} of {idx.size} checked points off, worst at "
                f"x={xs[..., i]!r}: got {ys[i]!r}, expected {ref[i]!r}")
    if tier is not None and x.dtype.itemsize < 8:
        ulps = ulp_errors(ys, ref, x.dtype)
        limit = tier_bound(tier, x.dtype)
        i = int(np.argmax(ulps))
        if ulps[i] > limit:
            return (f"{kind}: {int((ulps > limit).sum())} of {idx.size} checked points above "
                    f"the {tier} tier's {limit:g} ulp, worst {ulps[i]:.3g} ulp at "
                    f"x={xs[..., i]!r}: got {ys[i]!r}, expected {ref[i]!r}")
    return None


# ---------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------
def throughput(fn: Callable[[], Any], n: int, min_time: float = 0.25, repeat: int = 7) -> float:
    """Median Melem/s of ``fn()`` over ``repeat`` batches lasting about ``min_time`` in all.

    One warm-up call, one call to size the batches, then ``repeat`` timed batches of
    ``inner`` calls each; the median batch gives the figure.
    """
    fn()
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    inner = max(1, int(min_time / repeat / max(dt, 1e-7)))
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner)
    times.sort()
    return n / times[len(times) // 2] / 1e6


def background_load(interval: float = 0.3) -> float | None:
    """CPUs kept busy by *other* processes, sampled over ``interval`` seconds.

    From /proc/stat minus this process's own CPU time; None where that is not available
    (not Linux). Benchmarks on a machine shared with other work are unreliable, threaded
    ones most of all: a figure above ~0.2 is worth a warning.
    """
    def busy_seconds():
        with open("/proc/stat") as fh:
            vals = [int(v) for v in fh.readline().split()[1:9]]
        return (sum(vals) - vals[3] - vals[4]) / os.sysconf("SC_CLK_TCK")

    try:
        b0, t0, w0 = busy_seconds(), os.times(), time.perf_counter()
        time.sleep(interval)
        b1, t1, w1 = busy_seconds(), os.times(), time.perf_counter()
    except (OSError, ValueError, AttributeError):
        return None
    own = (t1.user + t1.system) - (t0.user + t0.system)
    return max(0.0, (b1 - b0 - own) / (w1 - w0))


def load_warning(interval: float = 0.3) -> str | None:
    """A warning line if other processes are using the CPUs now, else None."""
    load = background_load(interval)
    if load is None or load < 0.2:
        return None
    return (f"warning: other processes keep {load:.1f} of {os.cpu_count()} CPUs busy; "
            "figures (threaded ones most) will be noisy -- rerun when the machine is idle")


@contextlib.contextmanager
def pinned_threads(threads: int) -> Iterator[None]:
    """fastgelu (and, if loaded, PyTorch) on ``threads`` threads; restored afterwards."""
    import fastgelu

    old = fastgelu.get_num_threads()
    torch = sys.modules.get("torch")
    old_torch = torch.get_num_threads() if torch is not None else None
    fastgelu.set_num_threads(threads)
    if torch is not None:  # else the torch peer sets them when it is made
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        fastgelu.set_num_threads(old)
        torch = sys.modules.get("torch")
        if torch is not None:
            torch.set_num_threads(old_torch if old_torch is not None else old)


# ---------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------
@dataclass
class Options:
    """What :func:`run` measures, and how long.

    ``impls`` (empty: the default) is :data:`~fastgelu._peers.IMPLS`, plus ``unfused``
    when a fused kind is asked for; ``threads`` (default: fastgelu's current setting) applies to
    fastgelu and PyTorch for the run. With ``rounds > 1`` the implementations are timed
    round-robin that many times and each keeps its best figure (robust to bursts of
    interference on a shared machine, at ``rounds`` times the cost). ``verify``: check
    each implementation's output before timing it.
    """

    sizes: Sequence[int] = (1_000, 100_000, 1_000_000)
    dtypes: Sequence[str] = DTYPES
    kinds: Sequence[str] = KINDS
    impls: Sequence[str] = ()
    threads: int | None = None
    min_time: float = 0.25
    repeat: int = 7
    rounds: int = 1
    verify: bool = True
    seed: int = SEED
    dist: str = "normal"

    def __post_init__(self) -> None:
        for kind in self.kinds:
            if kind not in ALL_KINDS:
                raise ValueError(f"unknown kind {kind!r}; choose from {', '.join(ALL_KINDS)}")
        self.dtypes = [loop_dtype(dt).name for dt in self.dtypes]
        self.sizes = [int(n) for n in self.sizes]
        if not self.impls:  # the unfused peer only means something for the fused kinds
            self.impls = ALL_IMPLS if any(k in FUSED_KINDS for k in self.kinds) else IMPLS


def run(opts: Options | None = None, progress: Callable[[str], None] | None = None,
        status: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Time the implementations on every size x dtype x kind of ``opts``; one row each.

    Each row: ``dtype``, ``n``, ``kind``, ``dist``, ``threads``, ``melem_s`` ({impl:
    Melem/s}, implementations that cannot run that kind left out), ``wrong`` ({impl:
    message} for implementations whose result failed the check; they are not timed) and
    ``skipped`` ({impl: reason}). ``copy`` is timed once per (dtype, n) and repeated in
    each row. ``progress`` receives each finished row as a table line, ``status`` a
    short "[k/N] what" line before each row is measured.
    """
    import fastgelu

    opts = Options() if opts is None else opts
    threads = fastgelu.get_num_threads() if opts.threads is None else opts.threads
    total = len(opts.dtypes) * len(opts.sizes) * len(opts.kinds)
    rows: list[dict[str, Any]] = []
    with pinned_threads(threads):
        impls, skipped = implementations(opts.impls, threads)
        for dt in opts.dtypes:
            for n in opts.sizes:
                case = _Case(dt, n, opts)
                for kind in opts.kinds:
                    if status is not None:
                        status(f"[{len(rows) + 1}/{total}] {dt} {kind} n={format_n(n)}")
                    rows.append(case.measure(kind, impls, skipped, threads))
                    if progress is not None:
                        progress(format_row(rows[-1], opts.impls))
    return rows


class _Case:
    """One dtype and size: the inputs, output array and checked indices the kinds share,
    and np.copyto's figure once measured."""

    def __init__(self, dtype: str, n: int, opts: Options):
        self.dtype, self.n, self.opts = dtype, n, opts
        self.unary_x = make_input(n, loop_dtype(dtype), opts.seed, opts.dist)
        self.out = np.empty_like(self.unary_x)
        self.idx = check_indices(n)
        self.copy_figure: float | None = None

    def inputs(self, kind: str) -> np.ndarray:
        if kind not in FUSED_KINDS:
            return self.unary_x
        return make_inputs(kind, self.n, loop_dtype(self.dtype), self.opts.seed, self.opts.dist)

    def measure(self, kind: str, impls: dict[str, Impl], skipped: dict[str, str],
                threads: int) -> dict[str, Any]:
        """The row of ``kind``: check each implementation, then time those that passed."""
        x, opts = self.inputs(kind), self.opts
        row: dict[str, Any] = {"dtype": self.dtype, "n": self.n, "kind": kind,
                               "dist": opts.dist, "threads": threads, "melem_s": {},
                               "wrong": {}, "skipped": dict(skipped)}
        expect = expected(kind, x[..., self.idx]) if opts.verify else None
        timed: dict[str, Callable[[], Any]] = {}
        for name, impl in impls.items():
            try:
                fn = impl.get(kind)
            except Unavailable as e:
                row["skipped"][name] = str(e)
                continue
            if name == "copy" and self.copy_figure is not None:
                row["melem_s"][name] = self.copy_figure
                continue
            self.out.fill(np.nan)
            try:  # one call, checked or not: a peer may have no loop for this dtype
                result = fn(x, self.out)
            except (TypeError, RuntimeError) as e:
                row["skipped"][name] = f"cannot run {self.dtype}: {e}"
                continue
            if opts.verify:  # fastgelu's tiers also against their bounds
                problem = check("copy" if name == "copy" else kind, x, result, expect, self.idx,
                                impl.tier)
                if problem is not None:
                    row["wrong"][name] = problem
                    continue
            row["melem_s"][name] = None  # keeps the implementations' order
            timed[name] = functools.partial(fn, x, self.out)
        row["melem_s"].update(self._round_robin(timed))
        if "copy" in timed:
            self.copy_figure = row["melem_s"]["copy"]
        return row

    def _round_robin(self, timed: dict[str, Callable[[], Any]]) -> dict[str, float]:
        """Each implementation's best over ``rounds`` rounds: a burst of interference
        then spoils one round, not the comparison."""
        best = dict.fromkeys(timed, 0.0)
        for _ in range(self.opts.rounds):
            for name, fn in timed.items():
                figure = throughput(fn, self.n, self.opts.min_time, self.opts.repeat)
                best[name] = max(best[name], figure)
        return best
