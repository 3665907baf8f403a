"""Side-by-side throughput of fastgelu and its peers, measured in one run.

This module is the engine behind ``python -m fastgelu bench``, ``benchmarks/plot.py``
and the pytest-benchmark suite in ``benchmarks/``. It imports only NumPy and fastgelu;
the optional peers (SciPy for the exact NumPy formula, PyTorch) are imported when asked
for and skipped, with the reason recorded, when they are not installed.

Implementations (``IMPLS``), each a callable ``fn(x, out)`` per function kind:

``fastgelu``
    the ufunc, writing into a preallocated ``out=``.
``numpy``
    the textbook formulas in plain NumPy: ``0.5*x*(1 + erf(x/sqrt(2)))`` with
    ``scipy.special.erf`` (the exact kinds need SciPy), the tanh form with ``np.tanh``,
    and the gradients; the last operation writes into ``out``.
``torch``
    ``torch.nn.functional.gelu(torch.from_numpy(x))`` (``approximate='tanh'`` for the
    tanh kinds) and ``torch.ops.aten.gelu_backward(ones, t)`` for the gradients, with
    ``torch.set_num_threads`` set to the same thread count as fastgelu. PyTorch
    allocates its result (there is no ``out=`` in ``F.gelu``), as in normal use.
``copy``
    ``np.copyto(out, x)``: one read and one write stream, the memory-bandwidth limit
    for any elementwise function on large arrays.
``unfused`` (fused kinds only)
    the two-step form with fastgelu's own unary ufunc: ``gelu(a) * b`` and
    ``grad_out * gelu_grad(x)`` (a temporary, two passes, two roundings): what the fused
    ufuncs save.

The fused kinds (``FUSED_KINDS``: ``gelu_backward``, ``geglu``) take two inputs; their
benchmark input ``x`` is the two operands stacked, shape ``(2, n)``, in argument order
(``grad_out, x`` and ``a, b``): the GELU argument follows the chosen distribution, the
other operand is N(0, 1). Their peers: ``numpy`` (the textbook formula times the other
operand), ``torch`` (``torch.ops.aten.gelu_backward(grad_out, x)``,
``F.gelu(a) * b``) and ``unfused``.

Figures are million elements per second (Melem/s), the median over repeats. Absolute
figures move from run to run on a shared machine; compare the ratios of one run.

>>> from fastgelu import _bench
>>> rows = _bench.run(sizes=[1000], dtypes=["float32"], kinds=["gelu"],
...                   min_time=0.01, repeat=3)          # doctest: +SKIP
>>> print(_bench.format_table(rows))                     # doctest: +SKIP
"""
from __future__ import annotations

import functools
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

KINDS = ("gelu", "gelu_tanh", "gelu_grad", "gelu_tanh_grad")
#: Two-input kinds: gelu_backward(grad_out, x) and geglu(a, b).
FUSED_KINDS = ("gelu_backward", "geglu")
ALL_KINDS = KINDS + FUSED_KINDS
DTYPES = ("float32", "float64")
#: Table order; "copy" is the bandwidth limit, not a GELU.
IMPLS = ("fastgelu", "numpy", "torch", "copy")
#: With the fused kinds, also fastgelu's unfused two-step form.
ALL_IMPLS = ("fastgelu", "numpy", "torch", "unfused", "copy")
#: fastgelu is compared against these in the ratio columns.
RATIO_TO = ("torch", "numpy", "unfused", "copy")

SEED = 0
SQRT1_2 = 1.0 / math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
TANH_C = math.sqrt(2.0 / math.pi)
TANH_A = 0.044715

Kernel = Callable[[np.ndarray, np.ndarray], Any]


class Unavailable(Exception):
    """An implementation (or one kind of it) cannot run here; the message says why."""


@dataclass
class Impl:
    """One implementation: a callable ``fn(x, out)`` per kind it can run."""

    name: str
    label: str
    funcs: dict[str, Kernel]
    #: kind -> why this implementation cannot run it here
    missing: dict[str, str] = field(default_factory=dict)

    def get(self, kind: str) -> Kernel:
        if kind in self.funcs:
            return self.funcs[kind]
        raise Unavailable(self.missing.get(kind, f"{self.name} has no {kind}"))


# ---------------------------------------------------------------------------------------
# Implementations
# ---------------------------------------------------------------------------------------
def _fastgelu_impl(threads: int | None) -> Impl:
    import fastgelu

    if threads is not None:
        fastgelu.set_num_threads(threads)

    def bind(uf):
        return lambda x, out: uf(x, out=out)

    def bind2(uf):
        return lambda x, out: uf(x[0], x[1], out=out)

    funcs = {kind: bind(getattr(fastgelu, kind)) for kind in KINDS}
    funcs.update({kind: bind2(getattr(fastgelu, kind)) for kind in FUSED_KINDS})
    return Impl("fastgelu", f"fastgelu {fastgelu.__version__} ({fastgelu.get_isa()})", funcs)


def _numpy_impl(threads: int | None) -> Impl:
    # Written as people write it: temporaries everywhere, the last step into out.
    # x*x*x, not x**3: NumPy's float power is a libm pow() call, 5x slower than the rest
    def gelu_tanh(x, out):
        inner = TANH_C * x * (1 + TANH_A * (x * x))
        return np.multiply(0.5 * x, 1 + np.tanh(inner), out=out)

    def gelu_tanh_grad(x, out):
        x2 = x * x
        t = np.tanh(TANH_C * x * (1 + TANH_A * x2))
        dinner = TANH_C * (1 + 3 * TANH_A * x2)
        return np.add(0.5 * (1 + t), 0.5 * x * (1 - t * t) * dinner, out=out)

    funcs: dict[str, Kernel] = {"gelu_tanh": gelu_tanh, "gelu_tanh_grad": gelu_tanh_grad}
    missing: dict[str, str] = {}
    try:
        from scipy.special import erf
    except ImportError as e:
        for kind in ("gelu", "gelu_grad") + FUSED_KINDS:
            missing[kind] = f"the exact NumPy formula needs scipy.special.erf ({e})"
        label = f"NumPy {np.__version__}"
    else:
        import scipy

        def gelu(x, out):
            return np.multiply(0.5 * x, 1 + erf(x * SQRT1_2), out=out)

        def gelu_grad(x, out):
            pdf = np.exp(-0.5 * x * x) * INV_SQRT_2PI
            return np.add(0.5 * (1 + erf(x * SQRT1_2)), x * pdf, out=out)

        def gelu_backward(x, out):
            return np.multiply(x[0], gelu_grad(x[1], None), out=out)

        def geglu(x, out):
            return np.multiply(gelu(x[0], None), x[1], out=out)

        funcs.update(gelu=gelu, gelu_grad=gelu_grad, gelu_backward=gelu_backward, geglu=geglu)
        label = f"NumPy {np.__version__} + SciPy {scipy.__version__} erf"
    return Impl("numpy", label, funcs, missing)


def _torch_impl(threads: int | None) -> Impl:
    try:
        import torch
        import torch.nn.functional as F
    except ImportError as e:
        raise Unavailable(f"PyTorch is not installed ({e})") from None

    if threads is not None:
        torch.set_num_threads(threads)
    ones: dict[tuple, Any] = {}

    def ones_like(t):
        key = (tuple(t.shape), t.dtype)
        if key not in ones:
            ones.clear()  # keep one: the benchmarks walk sizes in order
            ones[key] = torch.ones_like(t)
        return ones[key]

    def gelu(x, out):
        return F.gelu(torch.from_numpy(x))

    def gelu_tanh(x, out):
        return F.gelu(torch.from_numpy(x), approximate="tanh")

    def gelu_grad(x, out):
        t = torch.from_numpy(x)
        return torch.ops.aten.gelu_backward(ones_like(t), t)

    def gelu_tanh_grad(x, out):
        t = torch.from_numpy(x)
        return torch.ops.aten.gelu_backward(ones_like(t), t, approximate="tanh")

    def gelu_backward(x, out):
        return torch.ops.aten.gelu_backward(torch.from_numpy(x[0]), torch.from_numpy(x[1]))

    def geglu(x, out):
        return F.gelu(torch.from_numpy(x[0])) * torch.from_numpy(x[1])

    funcs = {"gelu": gelu, "gelu_tanh": gelu_tanh, "gelu_grad": gelu_grad,
             "gelu_tanh_grad": gelu_tanh_grad, "gelu_backward": gelu_backward,
             "geglu": geglu}
    return Impl("torch", f"PyTorch {torch.__version__}", funcs)


def _unfused_impl(threads: int | None) -> Impl:
    import fastgelu

    if threads is not None:
        fastgelu.set_num_threads(threads)

    def gelu_backward(x, out):
        return np.multiply(x[0], fastgelu.gelu_grad(x[1]), out=out)

    def geglu(x, out):
        return np.multiply(fastgelu.gelu(x[0]), x[1], out=out)

    missing = dict.fromkeys(KINDS, "unfused is the two-step form of the fused kinds")
    return Impl("unfused", "fastgelu unary ufunc, then np.multiply",
                {"gelu_backward": gelu_backward, "geglu": geglu}, missing)


def _copy_impl(threads: int | None) -> Impl:
    def copy(x, out):
        np.copyto(out, x[-1] if x.ndim > out.ndim else x)  # fused kinds: the last operand
        return out

    return Impl("copy", "np.copyto (bandwidth limit)", dict.fromkeys(ALL_KINDS, copy))


_FACTORIES: dict[str, Callable[[int | None], Impl]] = {
    "fastgelu": _fastgelu_impl,
    "numpy": _numpy_impl,
    "torch": _torch_impl,
    "unfused": _unfused_impl,
    "copy": _copy_impl,
}


def make_impl(name: str, threads: int | None = None) -> Impl:
    """Build one implementation; ``threads`` sets its thread count (None: leave it).

    Raises
    ------
    ValueError
        If ``name`` is not one of :data:`ALL_IMPLS`.
    Unavailable
        If it cannot run here (e.g. PyTorch is not installed).
    """
    if name not in _FACTORIES:
        raise ValueError(f"unknown implementation {name!r}; choose from {', '.join(ALL_IMPLS)}")
    return _FACTORIES[name](threads)


def implementations(
    names: Iterable[str] = IMPLS, threads: int | None = None
) -> tuple[dict[str, Impl], dict[str, str]]:
    """The implementations that can run here, and ``{name: reason}`` for those that can't."""
    impls: dict[str, Impl] = {}
    skipped: dict[str, str] = {}
    for name in names:
        try:
            impls[name] = make_impl(name, threads)
        except Unavailable as e:
            skipped[name] = str(e)
    return impls, skipped


def as_numpy(result: Any) -> np.ndarray:
    """An implementation's result as a NumPy array (PyTorch tensors share memory)."""
    if isinstance(result, np.ndarray):
        return result
    if hasattr(result, "numpy"):
        return result.numpy()
    return np.asarray(result)


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


_erfc = np.frompyfunc(math.erfc, 1, 1)


def reference(kind: str, x: np.ndarray) -> np.ndarray:
    """The function in float64 without cancellation (``erfc`` form; math.erfc), for checks.

    Meant for a few thousand points (see :func:`check_indices`), not for whole arrays.
    """
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore"):
        if kind == "gelu_backward":
            return x[0] * _reference("gelu_grad", x[1])
        if kind == "geglu":
            return _reference("gelu", x[0]) * x[1]
        return _reference(kind, x)


def _reference(kind: str, x: np.ndarray) -> np.ndarray:
    if kind in ("gelu", "gelu_grad"):
        cdf = 0.5 * np.asarray(_erfc(-x * SQRT1_2), dtype=np.float64)
        if kind == "gelu":
            return x * cdf
        return cdf + x * np.exp(-0.5 * x * x) * INV_SQRT_2PI
    if kind in ("gelu_tanh", "gelu_tanh_grad"):
        x2 = x * x
        t = np.tanh(TANH_C * x * (1 + TANH_A * x2))
        if kind == "gelu_tanh":
            # 0.5*x*(1+t) cancels for x << 0; 1 + tanh(u) = 2 / (1 + exp(-2u))
            return x / (1 + np.exp(-2 * TANH_C * x * (1 + TANH_A * x2)))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * TANH_C * (1 + 3 * TANH_A * x2)
    raise ValueError(f"unknown kind {kind!r}; choose from {', '.join(ALL_KINDS)}")


#: (rtol, atol) per dtype: |y - ref| <= atol * max(1, |x|) + rtol * |ref|. Loose enough for
#: every peer's float32 approximations (PyTorch's erf has absolute error 1.5e-7), tight
#: enough that the exact and tanh forms (which differ by up to 5e-4) are told apart.
TOLERANCE = {"float32": (2e-5, 2e-6), "float64": (1e-10, 1e-12)}


def check(kind: str, x: np.ndarray, y: Any, expect: np.ndarray | None = None,
          idx: np.ndarray | None = None) -> str | None:
    """None if ``y`` is the right result for ``kind`` of ``x``, else what is wrong.

    ``kind`` may be ``"copy"`` (then y must equal x). ``expect``/``idx``: a precomputed
    ``reference(kind, x[idx])`` and its indices, to reuse across implementations.
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
    ref = reference(kind, xs) if expect is None else expect
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


def _set_threads(threads: int) -> Callable[[], None]:
    """Set fastgelu's (and, if loaded, PyTorch's) threads; return a function restoring them."""
    import fastgelu

    old = fastgelu.get_num_threads()
    torch = sys.modules.get("torch")
    old_torch = torch.get_num_threads() if torch is not None else None
    fastgelu.set_num_threads(threads)

    def restore():
        fastgelu.set_num_threads(old)
        t = sys.modules.get("torch")
        if t is not None:
            t.set_num_threads(old_torch if old_torch is not None else old)

    return restore


def run(
    sizes: Sequence[int] = (1_000, 100_000, 1_000_000),
    dtypes: Sequence[str] = DTYPES,
    kinds: Sequence[str] = KINDS,
    impls: Sequence[str] | None = None,
    threads: int | None = None,
    min_time: float = 0.25,
    repeat: int = 7,
    rounds: int = 1,
    verify: bool = True,
    seed: int = SEED,
    progress: Callable[[str], None] | None = None,
    dist: str = "normal",
    status: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Time ``impls`` on every size x dtype x kind; return one row (dict) per triple.

    Each row: ``dtype``, ``n``, ``kind``, ``threads``, ``melem_s`` ({impl: Melem/s},
    implementations that cannot run that kind left out), ``wrong`` ({impl: message} for
    implementations whose result failed the check; they are not timed) and ``skipped``
    ({impl: reason}). ``copy`` is timed once per (dtype, n) and repeated in each row.
    ``impls`` defaults to :data:`IMPLS`, plus ``unfused`` when a fused kind is asked for.
    ``threads`` (default: fastgelu's current setting) is applied to fastgelu and PyTorch
    for the run and restored afterwards. ``progress`` receives each finished row as a
    table line, ``status`` a short "[k/N] what" line before each row is measured.
    With ``rounds > 1`` the implementations are
    timed round-robin that many times and each keeps its best figure (robust to bursts
    of interference on a shared machine, at ``rounds`` times the cost).
    """
    import fastgelu

    for kind in kinds:
        if kind not in ALL_KINDS:
            raise ValueError(f"unknown kind {kind!r}; choose from {', '.join(ALL_KINDS)}")
    if impls is None:  # the unfused peer only means something for the fused kinds
        impls = ALL_IMPLS if any(k in FUSED_KINDS for k in kinds) else IMPLS
    for dt in dtypes:
        if np.dtype(dt).name not in DTYPES:
            raise ValueError(f"unsupported dtype {dt!r}; choose from {', '.join(DTYPES)}")
    if threads is None:
        threads = fastgelu.get_num_threads()
    restore = _set_threads(threads)
    try:
        available, skipped = implementations(impls, threads)
        rows: list[dict[str, Any]] = []
        total = len(dtypes) * len(sizes) * len(kinds)
        for dt in dtypes:
            dt = np.dtype(dt).name
            for n in sizes:
                n = int(n)
                unary_x = make_input(n, dt, seed, dist)
                out = np.empty_like(unary_x)
                idx = check_indices(n)
                copy_figure = None
                for kind in kinds:
                    if status is not None:
                        status(f"[{len(rows) + 1}/{total}] {dt} {kind} n={format_n(n)}")
                    x = make_inputs(kind, n, dt, seed, dist) if kind in FUSED_KINDS else unary_x
                    row: dict[str, Any] = {"dtype": dt, "n": n, "kind": kind, "dist": dist,
                                           "threads": threads, "melem_s": {}, "wrong": {},
                                           "skipped": dict(skipped)}
                    expect = reference(kind, x[..., idx]) if verify else None
                    timed = []
                    for name, impl in available.items():
                        try:
                            fn = impl.get(kind)
                        except Unavailable as e:
                            row["skipped"][name] = str(e)
                            continue
                        if name == "copy" and copy_figure is not None:
                            row["melem_s"][name] = copy_figure
                            continue
                        if verify:
                            out.fill(np.nan)
                            msg = check("copy" if name == "copy" else kind, x,
                                        fn(x, out), expect, idx)
                            if msg is not None:
                                row["wrong"][name] = msg
                                continue
                        row["melem_s"][name] = None
                        timed.append((name, fn))
                    # Round-robin over the implementations, keeping each one's best round:
                    # a burst of interference then spoils one round, not the comparison.
                    for _ in range(rounds):
                        for name, fn in timed:
                            figure = throughput(functools.partial(fn, x, out), n, min_time,
                                                repeat)
                            row["melem_s"][name] = max(figure, row["melem_s"][name] or 0.0)
                    if any(name == "copy" for name, _ in timed):
                        copy_figure = row["melem_s"]["copy"]
                    rows.append(row)
                    if progress is not None:
                        progress(format_row(row, impls))
        return rows
    finally:
        restore()


# ---------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------
def format_n(n: int) -> str:
    """1000 -> '1e3', 1048576 -> '2^20', 3000 -> '3e3', else the integer."""
    if n > 0 and n & (n - 1) == 0 and n >= 1024:
        return f"2^{n.bit_length() - 1}"
    mant, exp = f"{n:.0e}".split("e")
    if int(mant) * 10 ** int(exp) == n:
        return f"{mant}e{int(exp)}"
    return str(n)


_COLW = 10


def _header(impls: Sequence[str]) -> str:
    cols = [f"{'dtype':8s}", f"{'kind':15s}", f"{'n':>6s}"]
    cols += [f"{name:>{_COLW}s}" for name in impls]
    cols += [f"{'fg/' + r:>{_COLW}s}" for r in _ratios(impls)]
    return " ".join(cols)


def _ratios(impls: Sequence[str]) -> list[str]:
    return [r for r in RATIO_TO if r in impls] if "fastgelu" in impls else []


def format_row(row: Mapping[str, Any], impls: Sequence[str] = IMPLS) -> str:
    """One table line: Melem/s per implementation, then fastgelu's ratios."""
    figs, wrong = row["melem_s"], row.get("wrong", {})
    cols = [f"{row['dtype']:8s}", f"{row['kind']:15s}", f"{format_n(row['n']):>6s}"]
    for name in impls:
        if name in figs:
            cols.append(f"{figs[name]:{_COLW}.1f}")
        else:
            cols.append(f"{'WRONG' if name in wrong else '-':>{_COLW}s}")
    fg = figs.get("fastgelu")
    for other in _ratios(impls):
        if fg is not None and figs.get(other):
            cols.append(f"{fg / figs[other]:{_COLW - 1}.2f}x")
        else:
            cols.append(f"{'-':>{_COLW}s}")
    return " ".join(cols)


def format_table(rows: Sequence[Mapping[str, Any]], impls: Sequence[str] | None = None,
                 title: bool = True) -> str:
    """The rows as a table in Melem/s, with fastgelu/torch, fastgelu/numpy, fastgelu/copy."""
    if impls is None:
        impls = ALL_IMPLS if any(r["kind"] in FUSED_KINDS for r in rows) else IMPLS
    lines = []
    if title and rows:
        thr = rows[0].get("threads")
        what = {"normal": "x = 3*N(0,1)", "tail": "x uniform on [-20, 0]",
                "subnormal": "x subnormal"}[rows[0].get("dist", "normal")]
        lines.append(f"Throughput in Melem/s (median), {what}, threads={thr}; "
                     "ratios > 1: fastgelu faster")
    lines.append(_header(impls))
    lines += [format_row(r, impls) for r in rows]
    notes: dict[str, None] = {}  # an ordered set
    for r in rows:
        for name, why in r.get("skipped", {}).items():
            notes.setdefault(f"{name} skipped: {why}", None)
        for name, why in r.get("wrong", {}).items():
            notes.setdefault(f"{name} WRONG ({r['dtype']} n={format_n(r['n'])}): {why}", None)
    lines += [f"  note: {s}" for s in notes]
    return "\n".join(lines)


def metadata(threads: int | None = None) -> dict[str, Any]:
    """Versions and settings to store with the figures."""
    from . import _config

    meta: dict[str, Any] = {"fastgelu": _config.config(), "numpy": np.__version__,
                            "threads": threads, "cpu_count": os.cpu_count(),
                            "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
    for mod in ("scipy", "torch"):
        m = sys.modules.get(mod)
        meta[mod] = getattr(m, "__version__", None) if m is not None else None
    return meta


def save_json(rows: Sequence[Mapping[str, Any]], path: str, meta: Mapping | None = None) -> None:
    """Write ``{"meta": ..., "rows": [...]}`` (what :func:`load_json` and plot.py read)."""
    thr = rows[0]["threads"] if rows else None
    with open(path, "w") as fh:
        json.dump({"meta": dict(meta) if meta is not None else metadata(thr),
                   "rows": list(rows)}, fh, indent=1)


def load_json(path: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(meta, rows) from a file written by :func:`save_json`."""
    with open(path) as fh:
        data = json.load(fh)
    if isinstance(data, list):  # a bare list of rows
        return {}, data
    return data.get("meta", {}), data["rows"]
