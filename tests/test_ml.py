"""The fused ML ufuncs: gelu_backward, gelu_tanh_backward, geglu, geglu_tanh,
geglu_backward, geglu_tanh_backward.

Accuracy in ulps of the result dtype, on every ISA build this CPU runs: float32 against
the float64 reference of tests/reference.py (the product of a float32 multiplier and a
float64 value is exact enough), float64 against mpmath (the committed table's exact
values times the multiplier, rounded at 600 bits). Then: they are real ufuncs that
broadcast, take out=/where=, run in place, give the same bits for every layout and
thread count, and have the special values and floating-point flags of the unfused
product ``w * f(x)``.

Contract beyond the kernels' clamp: far left (float32 x < -24 for the exact pair, -16 for
the tanh pair; float64 -38.75 / -22), f(x) is taken as -0, as the unary kernels round it
and as the unfused product does. float32: |f| < 2**-410 there and |w| <= FLT_MAX**2 =
2**256, so the bound covers every input. float64: the exact product there is below
|w| * 2**-1079, so the 1-ulp bound covers every x only for |w| <= TAIL_SAFE_W; the
samples keep larger |w| to x inside the clamp.
"""
from __future__ import annotations

import functools
import importlib
import os
import pickle
import subprocess
import sys

import mpmath
import numpy as np
import pytest
from _helpers import (
    FUSED,
    TIER_BOUND,
    as_bits,
    assert_same_bits,
    call,
    f32_sample,
    f64_table,
    run_doctests,
    ufunc_of,
)
from reference import REF64, assert_within_ulps, mp_parts, round_parts, ulp_of

import fastgelu
from fastgelu import _ufuncs

NAMES = sorted(FUSED)

# The promise: _helpers.TIER_BOUND, in ulps of the result dtype (measured in the exact
# tier: float32 <= 0.533, float64 <= 0.709 where the result is near the subnormal range,
# <= 0.53 elsewhere; float16 <= 0.5001).

#: Where the kernels clamp: beyond x < -CLAMP the function is taken as -0.
CLAMP = {
    np.dtype(np.float32): {"gelu": 24.0, "gelu_grad": 24.0,
                           "gelu_tanh": 16.0, "gelu_tanh_grad": 16.0},
    np.dtype(np.float64): {"gelu": 38.75, "gelu_grad": 38.75,
                           "gelu_tanh": 22.0, "gelu_tanh_grad": 22.0},
}
#: |w| for which w * f(x) beyond the clamp is below half the smallest subnormal (so -0
#: is within 1 ulp); the exact pair's gradient is the tightest (|f| < 2**-151 / 2**-1079).
TAIL_SAFE_W = {np.dtype(np.float32): np.inf, np.dtype(np.float64): 32.0}


def ufunc(name, tier="exact"):
    return ufunc_of(name, tier)


def expected_unfused(name, *args, tier="exact"):
    """The two-step NumPy product with fastgelu's unary kernels of the tier (rounds twice). For
    grad_a = grad_out * b * f'(a) in float32, grad_out * b is formed in float64 (exact,
    as the kernel does: it cannot overflow there)."""
    nin, _nout, f, grad = FUSED[name]
    F, G = ufunc(f, tier), ufunc(grad, tier)
    if name.endswith("backward") and nin == 2:
        g, x = args
        return g * G(x)
    if nin == 2:
        a, b = args
        return F(a) * b
    g, a, b = args
    gb = g.astype(np.float64) * b if g.dtype == np.float32 else g * b
    return (gb * G(a)).astype(g.dtype), g * F(a)


# ---------------------------------------------------------------------------------------
# The ufunc objects
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_is_a_real_ufunc(name, tier):
    uf = ufunc(name, tier)
    nin, nout = FUSED[name][:2]
    assert isinstance(uf, np.ufunc) and uf.__name__ == name
    assert (uf.nin, uf.nout) == (nin, nout) and uf.signature is None
    # float16 first, so float16 input keeps float16 and float32 keeps float32
    assert uf.types == [c * nin + "->" + c * nout for c in "efd"]
    module = importlib.import_module(_ufuncs.TIER_MODULES[tier])
    assert name in module.__all__ and getattr(module, name) is uf
    assert pickle.loads(pickle.dumps(uf)) is uf


@pytest.mark.parametrize("name", NAMES)
def test_docstring_is_numpy_style_and_runs(name, tier):
    doc = ufunc(name, tier).__doc__
    nin = FUSED[name][0]
    args = ", ".join(f"x{i + 1}" for i in range(nin))
    assert doc.startswith(f"{name}({args}")  # NumPy prepends the call signature
    for section in ("Parameters\n----------", "Returns\n-------", "Examples\n--------",
                    "See Also\n--------", "Notes\n-----"):
        assert section in doc, section
    results, report = run_doctests(doc, name)
    assert results.attempted >= 2 and results.failed == 0, report


# ---------------------------------------------------------------------------------------
# Accuracy
# ---------------------------------------------------------------------------------------
def _multipliers(n, dtype, seed, lo_exp, hi_exp):
    """Random signs and log-uniform magnitudes 2**lo_exp .. 2**hi_exp; every 5th is 1."""
    rng = np.random.default_rng(seed)
    w = np.where(rng.random(n) < 0.5, -1.0, 1.0) * 2.0 ** rng.uniform(lo_exp, hi_exp, n)
    w[::5] = 1.0
    return w.astype(dtype)


def _tame_tail(w, x, dtype, fname):
    """Keep |w| <= TAIL_SAFE_W where x is beyond the clamp (see the module docstring)."""
    beyond = x.astype(np.float64) < -CLAMP[dtype][fname]
    safe = np.float64(TAIL_SAFE_W[dtype])
    return np.where(beyond & (np.abs(w) > safe), np.sign(w) * safe, w).astype(dtype)


def _cases(name, dtype, x, seed):
    """(inputs, [(function, multipliers) per output]) for one fused ufunc."""
    nin, _nout, f, grad = FUSED[name]
    dtype = np.dtype(dtype)
    lo, hi = (-40, 40) if dtype == np.float32 else (-300, 300)
    w = _multipliers(x.size, dtype, seed, lo, hi)
    w = _tame_tail(w, x, dtype, grad)
    if dtype == np.float64:  # keep products finite (overflow is tested separately)
        with np.errstate(all="ignore"):
            lim = 1e300 / np.maximum(np.abs(REF64[f](x)), 1.0)
        w = np.clip(w, -lim, lim)
    if name.endswith("backward") and nin == 2:
        return (w, x), [(grad, [w])]
    if nin == 2:
        return (x, w), [(f, [w])]
    b = np.roll(w, 7)
    if dtype == np.float64:
        with np.errstate(over="ignore"):
            b = np.clip(b, -1e300 / np.abs(w), 1e300 / np.abs(w))
    b = _tame_tail(b * np.abs(w), x, dtype, grad) / np.abs(w)  # |g b| tame in the tail
    b = b.astype(dtype)
    return (w, x, b), [(grad, [w, b]), (f, [w])]


@functools.lru_cache(maxsize=1)
def f32_points():
    x = f32_sample()[::6]
    return x[np.isfinite(x)]


@functools.cache
def f32_expected(name):
    x = f32_points()
    inputs, outs = _cases(name, np.float32, x, seed=len(name))
    refs = []
    for fname, ws in outs:
        v = REF64[fname](x.astype(np.float64))
        v = np.where(x < -CLAMP[np.dtype(np.float32)][fname], -0.0, v)
        for w in ws:
            v = v * w.astype(np.float64)
        refs.append(v)  # ulp_error counts a value that rounds past FLT_MAX as inf
    return inputs, refs


@pytest.mark.parametrize("name", NAMES)
def test_float32_within_the_bound(name, tier, isa):
    inputs, refs = f32_expected(name)
    outs = call(name, *inputs, tier=tier)
    for k, (y, ref) in enumerate(zip(outs, refs)):
        assert y.dtype == np.float32
        assert_within_ulps(f"{name}[{k}] float32 [{tier}, {isa}]", y, ref, inputs,
                           TIER_BOUND[tier])


@functools.lru_cache(maxsize=1)
def f64_points():
    """Every 3rd point of the mpmath table (the hard regions stay well covered)."""
    tab = f64_table()
    idx = np.arange(0, tab["x"].size, 3)
    return tab["x"][idx], idx


def _mp_value(fname, i_table, x):
    """f(x) exactly (an mpf): the table's (hi, err_ulp) where that is precise enough, else
    mpmath directly (subnormal values: hi has too few bits there); -0 beyond the clamp."""
    tab = f64_table()
    hi, err = tab[fname][i_table], tab[fname + "_err_ulp"][i_table]
    if abs(hi) >= 2.0**-1000:
        ulp = float(ulp_of(hi, np.float64, (err * np.sign(hi)) < 0))
        return mpmath.mpf(hi) + mpmath.mpf(err) * mpmath.mpf(ulp)
    if x < -CLAMP[np.dtype(np.float64)][fname]:
        return mpmath.mpf(0)
    a, b = mp_parts(fname, x)
    return a + b


@functools.cache
def f64_expected(name):
    x, idx = f64_points()
    inputs, outs = _cases(name, np.float64, x, seed=len(name))
    refs = []
    for fname, ws in outs:
        hi = np.empty(x.size)
        err = np.empty(x.size)
        with mpmath.workprec(600):
            for i in range(x.size):
                v = _mp_value(fname, idx[i], float(x[i]))
                for w in ws:
                    v *= mpmath.mpf(float(w[i]))
                hi[i], err[i] = round_parts(mpmath.mpf(0), v)
        refs.append((hi, err))
    return inputs, refs


@pytest.mark.parametrize("name", NAMES)
def test_float64_within_the_bound_of_mpmath(name, tier, isa):
    inputs, refs = f64_expected(name)
    outs = call(name, *inputs, tier=tier)
    for k, (y, (hi, err_ulp)) in enumerate(zip(outs, refs)):
        err = assert_within_ulps(f"{name}[{k}] float64 [{tier}, {isa}]", y, hi, inputs,
                                 TIER_BOUND[tier], err_ulp)
        if tier != "exact":
            continue
        # away from the subnormal edge (where the 2**-600 scaling rounds twice) the
        # product is rounded once from a value within ~2**-57 (the cores' own error;
        # measured <= 0.523 ulp, baseline build)
        normal = np.abs(hi) >= 2.0**-1000
        assert err[normal].max() <= 0.53, (name, k, isa, err[normal].max())


def test_multiplier_one_gives_the_unary_kernels_bits(dtype):
    """grad_out = 1 reproduces the gradient kernels bit for bit (no second rounding)."""
    x = f32_points()[::4].astype(dtype) if dtype == np.float32 else f64_points()[0]
    one = dtype.type(1)
    with np.errstate(all="ignore"):
        assert_same_bits(fastgelu.gelu_backward(one, x), fastgelu.gelu_grad(x))
        assert_same_bits(fastgelu.gelu_tanh_backward(one, x), fastgelu.gelu_tanh_grad(x))
        ga, gb = fastgelu.geglu_backward(one, x, one)
        assert_same_bits(ga, fastgelu.gelu_grad(x))
        assert_same_bits(gb, fastgelu.geglu(x, one))
        # geglu(x, 1) vs gelu(x): the same value, except for subnormal x, where gelu(x)
        # is a near-tie at x/2: the unary kernels break it exactly (toward +inf), the
        # products' final 2^-600 scaling rounds to even; both within 0.5 ulp + a hair
        for gate, f in (("geglu", "gelu"), ("geglu_tanh", "gelu_tanh")):
            y, ref = ufunc(gate)(x, one), ufunc(f)(x)
            same = as_bits(y) == as_bits(ref)
            assert np.all(same | (np.abs(x) < np.finfo(dtype).smallest_normal)), gate


def test_grad_b_is_geglu_with_grad_out_as_b(dtype):
    rng = np.random.default_rng(3)
    g, a, b = (rng.standard_normal(1000).astype(dtype) * 3 for _ in range(3))
    for gate in ("geglu", "geglu_tanh"):
        _grad_a, grad_b = ufunc(gate + "_backward")(g, a, b)
        assert_same_bits(grad_b, ufunc(gate)(a, g))


@pytest.mark.parametrize("name", NAMES)
def test_float32_far_tail_with_huge_multipliers(name, tier, isa):
    """float32 products stay within the bound where f(x) is far below float32's range but
    w f(x) is not: x in [-24, -9.6] (the tanh pair: [-16, -6.4]) with |w| up to FLT_MAX
    (two operands: |g b| up to 2**250). Reference: mpmath, 50 digits."""
    rng = np.random.default_rng(11)
    n = 500
    nin, _, f, grad = FUSED[name]
    lo = -24.0 if f == "gelu" else -16.0
    x = rng.uniform(lo, lo * 0.4, n).astype(np.float32)
    w = (np.where(rng.random(n) < 0.5, -1.0, 1.0) * 2.0 ** rng.uniform(60, 127.9, n)
         ).astype(np.float32)
    if nin == 2 and name.endswith("backward"):
        inputs, outs = (w, x), [(grad, [w])]
    elif nin == 2:
        inputs, outs = (x, w), [(f, [w])]
    else:
        b = np.roll(w, 3)
        inputs, outs = (w, x, b), [(grad, [w, b]), (f, [w])]
    got = call(name, *inputs, tier=tier)
    for k, (y, (fname, ws)) in enumerate(zip(got, outs)):
        ref = np.empty(n)
        with mpmath.workdps(50):
            for i in range(n):
                a, c = mp_parts(fname, float(x[i]))
                m = mpmath.mpf(1)
                for v in ws:
                    m *= mpmath.mpf(float(v[i]))
                ref[i] = float((a + c) * m)
        assert np.count_nonzero(y) > n // 2, f"{name}[{k}]: the products should not vanish"
        assert_within_ulps(f"{name}[{k}] float32 [{tier}, {isa}]", y, ref, inputs,
                           TIER_BOUND[tier])


def test_far_left_tail_is_zero_like_the_unfused_product(tier, dtype):
    x = np.array([-40.0, -1e3, -1e30, -np.inf], dtype)
    w = np.array([1e30, -1e30, 3.0, 7.0], dtype)
    for name in ("gelu_backward", "gelu_tanh_backward"):
        y = ufunc(name, tier)(w, x)
        assert np.all(y == 0)
        assert_same_bits(y, expected_unfused(name, w, x, tier=tier))


# ---------------------------------------------------------------------------------------
# Ufunc behaviour: broadcasting, out=, in place, layouts, threads
# ---------------------------------------------------------------------------------------
def sample_inputs(name, dtype, n, seed=0):
    rng = np.random.default_rng(seed)
    nin = FUSED[name][0]
    xs = [rng.uniform(-12.0, 8.0, n) for _ in range(nin)]
    xs[1 if name.endswith("backward") else 0][:6] = [np.nan, np.inf, -np.inf, 0.0, -0.0, -0.75][:n]
    return [x.astype(dtype) for x in xs]


@pytest.mark.parametrize("name", NAMES)
def test_broadcasting_a_scalar_grad_out(name, tier, dtype):
    args = sample_inputs(name, dtype, 3000)
    for k in range(len(args)):
        scalar_args = list(args)
        scalar_args[k] = dtype.type(1.5)
        dense = list(args)
        dense[k] = np.full(3000, 1.5, dtype)
        for a, b in zip(call(name, *scalar_args, tier=tier), call(name, *dense, tier=tier)):
            assert_same_bits(a, b)
    # 2-D broadcasting: a row of inputs against a column
    col = [a[:40, None] for a in args]
    row = [a[None, :50] for a in args]
    mixed = [col[0]] + row[1:]
    out = call(name, *mixed, tier=tier)
    expect = call(name, *np.broadcast_arrays(*mixed), tier=tier)
    for a, b in zip(out, expect):
        assert a.shape == (40, 50)
        assert_same_bits(a, np.ascontiguousarray(b))
    # all scalars: a scalar result, as for np.multiply
    r = call(name, *[dtype.type(0.5)] * len(args), tier=tier)
    assert all(type(v) is dtype.type for v in r)
    assert type(call(name, *[0.5] * len(args), tier=tier)[0]) is np.float64


@pytest.mark.parametrize("name", NAMES)
def test_out_and_in_place(name, tier, dtype):
    args = sample_inputs(name, dtype, 2000)
    expect = call(name, *args, tier=tier)
    nout = FUSED[name][1]
    outs = tuple(np.empty_like(args[0]) for _ in range(nout))
    got = call(name, *args, out=outs, tier=tier)
    assert all(g is o for g, o in zip(got, outs))
    for a, b in zip(outs, expect):
        assert_same_bits(a, b)
    # in place: every output on top of an input
    for targets in ([0], [1]) if nout == 1 else ([1, 2], [2, 1], [0, 1]):
        work = [a.copy() for a in args]
        call(name, *work, out=tuple(work[t] for t in targets), tier=tier)
        for t, b in zip(targets, expect):
            assert_same_bits(work[t], b)


@pytest.mark.parametrize("name", NAMES)
def test_where(name, tier, dtype):
    args = sample_inputs(name, dtype, 500)
    mask = np.random.default_rng(1).random(500) < 0.5
    nout = FUSED[name][1]
    outs = tuple(np.full(500, 7.0, dtype) for _ in range(nout))
    call(name, *args, out=outs, where=mask, tier=tier)
    for o, e in zip(outs, call(name, *args, tier=tier)):
        assert_same_bits(o[mask], e[mask])
        assert np.all(o[~mask] == 7.0)


def _layouts(arr):
    base = np.concatenate([arr, arr, arr])[: 3 * arr.size]
    return {
        "step 3": base[::3][: arr.size],
        "reversed": arr[::-1].copy()[::-1],
        "negative step": base[::-1][::3][: arr.size],
        "zero stride": np.broadcast_to(arr[5], arr.shape),
    }


@pytest.mark.parametrize("name", NAMES)
def test_strided_and_broadcast_layouts_give_the_contiguous_bits(name, tier, dtype):
    n = 2500  # more than one 1024-element block of the strided path
    args = sample_inputs(name, dtype, n)
    for k in range(len(args)):
        for layout, arr in _layouts(args[k]).items():
            mixed = list(args)
            mixed[k] = arr
            expect = call(name, *[np.ascontiguousarray(a) for a in mixed], tier=tier)
            for a, b in zip(call(name, *mixed, tier=tier), expect):
                assert_same_bits(a, b)
            # strided outputs too
            outs = tuple(np.empty(2 * n, dtype)[::2] for _ in expect)
            call(name, *mixed, out=outs, tier=tier)
            for a, b in zip(outs, expect):
                assert_same_bits(a, b), (layout, k)


@pytest.mark.parametrize("name", NAMES)
def test_unaligned_operands(name, tier, dtype):
    args = sample_inputs(name, dtype, 1500)
    expect = call(name, *args, tier=tier)
    unaligned = []
    for a in args:
        buf = bytearray(a.nbytes + 1)
        u = np.frombuffer(buf, dtype=dtype, count=a.size, offset=1)
        u[...] = a
        unaligned.append(u)
    for a, b in zip(call(name, *unaligned, tier=tier), expect):
        assert_same_bits(a, b)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_threads_give_the_same_bits(name, tier, dtype, threads, restore_threading):
    n = 20_011
    args = sample_inputs(name, dtype, n, seed=threads)
    _ufuncs.set_parallel_threshold(dtype, 10**12)
    serial = call(name, *args, tier=tier)
    serial_scalar = call(name, dtype.type(0.75), *args[1:], tier=tier)
    _ufuncs.set_parallel_threshold(dtype, 1)
    fastgelu.set_num_threads(threads)
    for a, b in zip(call(name, *args, tier=tier), serial):
        assert_same_bits(a, b)
    # a broadcast scalar input (grad_out = const) takes the threaded path too
    for a, b in zip(call(name, dtype.type(0.75), *args[1:], tier=tier), serial_scalar):
        assert_same_bits(a, b)
    # forward-overlapping output: runs serially, still right
    work = args[-1].copy()
    head = [a[:-1] for a in args[:-1]]
    call(name, *head, work[:-1], out=(work[1:],) + tuple(
        np.empty(n - 1, dtype) for _ in range(FUSED[name][1] - 1)), tier=tier)
    assert_same_bits(work[1:], call(name, *head, args[-1][:-1], tier=tier)[0])


def test_float16_runs_threaded_and_strided(restore_threading):
    x = np.random.default_rng(0).uniform(-8, 8, 50_000).astype(np.float16)
    g = np.float16(0.5)
    _ufuncs.set_parallel_threshold("float32", 10**12)
    serial = fastgelu.gelu_backward(g, x)
    _ufuncs.set_parallel_threshold("float32", 1)
    fastgelu.set_num_threads(2)
    assert_same_bits(fastgelu.gelu_backward(g, x), serial)
    assert_same_bits(fastgelu.gelu_backward(g, x[::-1])[::-1], serial)


# ---------------------------------------------------------------------------------------
# Special values and floating-point flags: those of the unfused product
# ---------------------------------------------------------------------------------------
SPECIALS = [np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, -0.75, 3.0, -40.0]


def _special_grid(name, dtype):
    nin = FUSED[name][0]
    vals = np.array(SPECIALS + [np.finfo(dtype).max, -np.finfo(dtype).max,
                                np.finfo(dtype).smallest_subnormal], dtype)
    grids = np.meshgrid(*([vals] * nin), indexing="ij")
    return [g.ravel() for g in grids]


@pytest.mark.parametrize("name", NAMES)
def test_special_values_match_the_unfused_product(name, tier, dtype, isa):
    args = _special_grid(name, dtype)
    with np.errstate(all="ignore"):
        fused = call(name, *args, tier=tier)
        unfused = expected_unfused(name, *args, tier=tier)
        unfused = unfused if isinstance(unfused, tuple) else (unfused,)
    # f(a) for nonzero subnormal a is a near-tie at a/2 that the unary kernel may round
    # either way (or to 0), so the unfused product is no judge there (the mpmath test
    # is); times +-inf the fused product gives the limit, +-inf
    a_ = args[0] if FUSED[name][0] == 2 and not name.endswith("backward") else args[1]
    subnormal = (a_ != 0) & (np.abs(a_) < np.finfo(dtype).smallest_normal)
    if not name.endswith("backward"):
        inf_b = subnormal & np.isinf(args[1])
        assert np.all(fused[0][inf_b] == args[1][inf_b] * np.sign(a_[inf_b]))
    if not name.startswith("gelu"):
        args = [v[~subnormal] for v in args]
        fused = call(name, *args, tier=tier)
        with np.errstate(all="ignore"):
            unfused = expected_unfused(name, *args, tier=tier)
        unfused = unfused if isinstance(unfused, tuple) else (unfused,)
    for k, (a, b) in enumerate(zip(fused, unfused)):
        bad = (np.isnan(a) != np.isnan(b)) | (np.isinf(a) != np.isinf(b))
        bad |= np.isinf(b) & (a != b)
        bad |= (b == 0) & (a == 0) & (np.signbit(a) != np.signbit(b))
        # finite nonzero results: within 2 bounds (2 ulp, exact tier) of the twice-rounded
        # product of the same tier
        tol = 2 * TIER_BOUND[tier]
        fin = np.isfinite(b) & np.isfinite(a) & (b != 0)
        with np.errstate(all="ignore"):
            bad[fin] |= np.abs(a[fin] - b[fin]) > tol * np.spacing(np.abs(b[fin]))
        i = np.flatnonzero(bad)
        assert i.size == 0, (
            f"{name}[{k}] [{dtype.name}, {isa}]: inputs {[float(x[i[0]]) for x in args]} "
            f"give {a[i[0]]!r}, the unfused product {b[i[0]]!r} ({i.size} cases)")


@pytest.mark.parametrize("name", NAMES)
def test_no_spurious_floating_point_flags(name, tier, dtype, isa, single_thread):
    """Where the unfused product raises nothing, neither does the fused one (underflow
    aside, which NumPy ignores by default)."""
    args = _special_grid(name, dtype)
    strict = dict(all="raise", under="ignore")
    clean = np.ones(args[0].size, bool)
    for i in range(args[0].size):
        try:
            with np.errstate(**strict):
                expected_unfused(name, *[a[i:i + 1] for a in args], tier=tier)
        except FloatingPointError:
            clean[i] = False
    assert clean.sum() > 20
    rng = np.random.default_rng(5)
    extra = [rng.uniform(-30, 10, 5000).astype(dtype) for _ in args]
    try:
        with np.errstate(**strict):  # the ufunc itself: call() would ignore the flags
            ufunc(name, tier)(*[a[clean] for a in args])
            ufunc(name, tier)(*extra)
    except FloatingPointError as exc:
        pytest.fail(f"{name} [{dtype.name}, {isa}] raised {exc}")


@pytest.mark.parametrize("name", ["gelu_backward", "geglu", "geglu_backward"])
def test_overflow_warns_like_the_unfused_product(name, tier, dtype):
    big = np.finfo(dtype).max
    args = [np.array([big], dtype), np.array([3.0], dtype)]
    if FUSED[name][0] == 3:
        args = [np.array([2.0], dtype), np.array([big], dtype), np.array([3.0], dtype)]
    elif name == "geglu":
        args = [np.array([big], dtype), np.array([2.0], dtype)]
    with pytest.raises(FloatingPointError, match="overflow"), np.errstate(over="raise"):
        ufunc(name, tier)(*args)


@pytest.mark.parametrize("threads", [1, 2])
def test_flags_do_not_depend_on_threads(threads, restore_threading, dtype):
    n = 50_001
    g = np.ones(n, dtype)
    x = np.ones(n, dtype)
    g[-1] = np.finfo(dtype).max  # overflows in the last thread's chunk
    x[-1] = 2.0
    _ufuncs.set_parallel_threshold(dtype, 1)
    fastgelu.set_num_threads(threads)
    with pytest.raises(FloatingPointError, match="overflow"), np.errstate(over="raise"):
        fastgelu.gelu_backward(g, x)


# ---------------------------------------------------------------------------------------
# Threads under control: threadpoolctl, OMP_NUM_THREADS, set_num_threads
# ---------------------------------------------------------------------------------------
def test_threadpool_limits_caps_fastgelu_and_keeps_the_bits(restore_threading):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if not _ufuncs.openmp_enabled():
        pytest.skip("serial build: always 1 thread")
    x = np.random.default_rng(0).standard_normal(300_000).astype(np.float32)
    g = np.random.default_rng(1).standard_normal(300_000).astype(np.float32)
    fastgelu.set_num_threads(2)
    threaded = fastgelu.gelu_backward(g, x)
    with threadpoolctl.threadpool_limits(1):
        assert fastgelu.get_num_threads() == 1
        info = [p for p in threadpoolctl.threadpool_info() if p["user_api"] == "openmp"]
        assert info and all(p["num_threads"] == 1 for p in info)
        assert_same_bits(fastgelu.gelu_backward(g, x), threaded)
    assert fastgelu.get_num_threads() == 2


def test_omp_num_threads_and_set_num_threads_agree():
    if not _ufuncs.openmp_enabled():
        pytest.skip("serial build: always 1 thread")
    code = (
        "import fastgelu, numpy as np, threadpoolctl; "
        "n0 = fastgelu.get_num_threads(); "
        "omp = [p['num_threads'] for p in threadpoolctl.threadpool_info() "
        "       if p['user_api'] == 'openmp']; "
        "fastgelu.set_num_threads(2); "
        "print(n0, min(omp), fastgelu.get_num_threads())"
    )
    pytest.importorskip("threadpoolctl")
    for env_threads in ("1", "3"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env={**os.environ, "OMP_NUM_THREADS": env_threads}, check=True)
        n0, omp, after = map(int, out.stdout.split())
        assert n0 == omp == int(env_threads), out.stdout
        assert after == 2
