"""pytest-benchmark suite: fastgelu's tiers next to NumPy, PyTorch and np.copyto.

    python -m pytest benchmarks --benchmark-only -p no:cacheprovider           # all of it
    python -m pytest benchmarks --benchmark-only -k "gelu-float32 and 1e+06"   # a subset
    python -m pytest benchmarks --benchmark-only -k "gelu_backward or geglu"   # fused kinds
    python -m pytest benchmarks --benchmark-disable                            # smoke test

Groups are function x dtype x size (``gelu-float32-1e+06``), so pytest-benchmark's
table puts the implementations of one case side by side; a Melem/s table with
fastgelu's ratios follows it (benchmarks/conftest.py). fastgelu's accuracy tiers are
implementations of their own (``fastgelu``: the exact tier, ``fast``: fastgelu.fast;
extra_info ``tier``): ``gelu-float32-1e+06-fast``. Every benchmark also checks the
output of the call it timed against a float64 reference (a few thousand points, at a
loose tolerance; fastgelu's tiers, but float64 results, also at their ulp bounds), so a
benchmark that measures a wrong path fails. With
``--benchmark-disable`` each case runs once: that is the smoke test of the normal
test run. Threads: 2 (FASTGELU_BENCH_THREADS), for fastgelu and PyTorch alike.

The fused kinds (gelu_backward, geglu: two inputs) run next to PyTorch
(``aten.gelu_backward(g, x)``, ``F.gelu(a) * b``), the NumPy formula and ``unfused``,
fastgelu's own two-step form (``gelu(a) * b``): groups ``geglu-float32-1e+06``. Their
rows carry no ``func`` in extra_info, so conftest's Melem/s summary (which orders the
one-input kinds) leaves them out; ``python -m fastgelu bench --kinds all`` prints their
ratios.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

from fastgelu import _bench, _peers

SIZES = [10**k for k in range(2, 8)]  # 1e2 .. 1e7
DTYPES = list(_bench.DTYPES)
FUNCS = list(_peers.KINDS)
IMPLS = list(_peers.IMPLS)

# Outer loops dtype and size, so that the (large) cached inputs are reused by the
# consecutive tests that need them and dropped afterwards.
CASES = [
    pytest.param(func, dtype, n, "normal", impl, id=f"{func}-{dtype}-{n:.0e}-{impl}")
    for dtype in DTYPES
    for n in SIZES
    for func in FUNCS
    for impl in IMPLS
]
# What accuracy costs in the tail, and whether subnormal inputs hit a slow path: the
# same functions on x uniform on [-20, 0] and on subnormal x, next to PyTorch and
# next to fastgelu's own normal-input rows above (groups gelu-float32-1e+06-tail ...).
CASES += [
    pytest.param(func, dtype, n, dist, impl, id=f"{func}-{dtype}-{n:.0e}-{dist}-{impl}")
    for dist in ("tail", "subnormal")
    for dtype in DTYPES
    for n in (10**5, 10**6)
    for func in FUNCS
    for impl in (*_peers.FASTGELU_IMPLS, "torch")
]


@functools.lru_cache(maxsize=2)
def arrays(dtype: str, n: int, dist: str) -> tuple[np.ndarray, np.ndarray]:
    """(x, out) for one dtype, size and input distribution (_bench.make_input: normal is
    3*N(0,1)), fixed seed; out is reused."""
    x = _bench.make_input(n, dtype, dist=dist)
    return x, np.empty_like(x)


@functools.cache
def expected(func: str, dtype: str, n: int, dist: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(indices checked, x there, reference there): computed once per case."""
    x, _ = arrays(dtype, n, dist)
    idx = _bench.check_indices(n)
    xs = x[idx].copy()
    return idx, xs, _bench.expected(func, xs)


FUSED_CASES = [
    pytest.param(func, dtype, n, impl, id=f"{func}-{dtype}-{n:.0e}-{impl}")
    for dtype in DTYPES
    for n in (10**4, 10**5, 10**6)
    for func in _peers.FUSED_KINDS
    for impl in _peers.ALL_IMPLS
]


@functools.lru_cache(maxsize=2)
def fused_arrays(func: str, dtype: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """((2, n) stacked operands, out) for a fused kind (_bench.make_inputs)."""
    x = _bench.make_inputs(func, n, dtype)
    return x, np.empty(n, dtype)


@pytest.mark.parametrize("func,dtype,n,impl", FUSED_CASES)
def test_fused_throughput(benchmark, get_impl, pinned_threads, func, dtype, n, impl):
    fn = get_impl(impl, func)
    x, out = fused_arrays(func, dtype, n)
    idx = _bench.check_indices(n)
    xs = x[:, idx].copy()
    out.fill(np.nan)

    benchmark.group = f"{func}-{dtype}-{n:.0e}"
    benchmark.extra_info.update(impl=impl, fused_func=func, dtype=dtype, n=n,
                                threads=pinned_threads, tier=_peers.IMPL_TIERS.get(impl))
    result = benchmark(fn, x, out)

    assert np.array_equal(x[:, idx], xs), f"{impl} modified its input"
    problem = _bench.check("copy" if impl == "copy" else func, x, result, None, idx,
                           _peers.IMPL_TIERS.get(impl))
    assert problem is None, f"{impl}: {problem}"


@pytest.mark.parametrize("func,dtype,n,dist,impl", CASES)
def test_throughput(benchmark, get_impl, pinned_threads, func, dtype, n, dist, impl):
    fn = get_impl(impl, func)  # skips if this implementation can't run here
    x, out = arrays(dtype, n, dist)
    idx, xs, ref = expected(func, dtype, n, dist)
    out.fill(np.nan)  # a path that doesn't write out can't pass on stale results

    benchmark.group = f"{func}-{dtype}-{n:.0e}" + ("" if dist == "normal" else f"-{dist}")
    benchmark.extra_info.update(impl=impl, func=func, dtype=dtype, n=n, dist=dist,
                                threads=pinned_threads, tier=_peers.IMPL_TIERS.get(impl))
    result = benchmark(fn, x, out)

    assert np.array_equal(x[idx], xs), f"{impl} modified its input"
    problem = _bench.check("copy" if impl == "copy" else func, x, result, ref, idx,
                           _peers.IMPL_TIERS.get(impl))
    assert problem is None, f"{impl}: {problem}"
