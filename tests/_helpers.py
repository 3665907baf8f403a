"""What the test modules share, so that no test module imports another.

Fixtures live in conftest.py and the float64/mpmath references in reference.py; here:

* the fused ufuncs (:data:`FUSED`) and :func:`call`, which runs any ufunc by name;
* bit comparison (:func:`as_bits`, :func:`assert_same_bits`,
  :func:`assert_same_float_bits`) and the mixed-value :func:`sample`;
* the accuracy samples and bounds (:func:`f32_sample`, :func:`f64_table`,
  :data:`ULP_BOUNDS`) and the 16-bit float checks shared by test_float16.py and
  test_bfloat16.py;
* :func:`run_script` (a fresh interpreter) and :func:`run_doctests`;
* the call mix of the memory tests (:func:`call_mix`, :func:`rss_mib`; tools/rss_soak.py
  runs a million of them).
"""
from __future__ import annotations

import doctest
import functools
import mmap
import os
import subprocess
import sys
import warnings

import numpy as np
from reference import (
    FUNC_NAMES,
    GELU_GRAD_ZERO,
    GELU_TANH_GRAD_ZERO,
    REF64,
    assert_within_ulps,
    f64_sample_inputs,
    mp_reference,
)

import fastgelu
from fastgelu import _config, _reference, _ufuncs

# =======================================================================================
# The ufuncs
# =======================================================================================
UNARY_UFUNCS = [getattr(fastgelu, n) for n in FUNC_NAMES]

# The fused ufuncs beyond the one-input functions, from the package's kernel table
# (_ufuncs.KERNELS) and what each multiplies (_reference.FUSED):
# name: (nin, nout, forward function f, its gradient).
FUSED = {
    k.name: (k.nin, k.nout, f, f + "_grad")
    for k in _ufuncs.KERNELS if k.nin > 1
    for f in [_reference.FUSED[k.name][1][0][0].removesuffix("_grad")]
}


def ufunc_of(name, tier="exact"):
    """fastgelu's ufunc ``name`` of a tier ("exact": fastgelu.<name>, "fast":
    fastgelu.fast.<name>)."""
    return _ufuncs.UFUNCS[tier][name]


def tier_of(ufunc):
    """The tier ("exact" or "fast") of one of fastgelu's ufuncs."""
    return next(t for t, ufs in _ufuncs.UFUNCS.items() if ufs.get(ufunc.__name__) is ufunc)


def call(name, *args, tier="exact", **kw):
    """fastgelu's ufunc ``name`` (of ``tier``) with every floating-point flag ignored; a
    tuple always."""
    with np.errstate(all="ignore"):
        out = ufunc_of(name, tier)(*args, **kw)
    return out if isinstance(out, tuple) else (out,)


# =======================================================================================
# Bits
# =======================================================================================
BITS = {2: np.uint16, 4: np.uint32, 8: np.uint64}


def as_bits(a):
    """Bit patterns of ``a`` in native byte order (a contiguous unsigned-int copy)."""
    a = np.asarray(a)
    a = np.ascontiguousarray(a.astype(a.dtype.newbyteorder("="), copy=False))
    return a.view(BITS[a.dtype.itemsize])


def assert_same_bits(actual, expected, dtype=None):
    """Equal dtypes (byte order included; both ``dtype`` if given), equal shapes and the
    same bit pattern in every element."""
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert dtype is None or actual.dtype == dtype, (actual.dtype, dtype)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    np.testing.assert_array_equal(as_bits(actual), as_bits(expected))


def assert_same_float_bits(actual, expected):
    """Floats of one size in either byte order (an ``out=`` field may be big-endian):
    equal shapes and the same bit patterns once in native order."""
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert actual.dtype.kind == expected.dtype.kind == "f"
    assert actual.dtype.itemsize == expected.dtype.itemsize
    np.testing.assert_array_equal(as_bits(actual), as_bits(expected))


def sample(dtype, n=1000, seed=0):
    """Mixed values: core, tails, tiny and huge magnitudes, and the special values."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-12.0, 8.0, n)
    x[::7] *= 1e-30
    x[3::11] = rng.uniform(-1e30, 1e30, x[3::11].size)
    x[:6] = [np.nan, np.inf, -np.inf, 0.0, -0.0, -0.75][: min(n, 6)]
    return x.astype(dtype)


# =======================================================================================
# Accuracy: bounds and samples
# =======================================================================================
# The product's promise, per tier, in ulps of the result dtype (float32, float64): the
# exact tier 1 ulp, the fast tier (fastgelu.fast) 4 ulp, for every function (the fused
# ones included); ULP_BOUNDS by tier, dtype and function. Written once, in
# fastgelu._config (test_build.py pins the figures).
TIER_BOUND = _config.TIER_BOUNDS
ULP_BOUNDS = {
    tier: {dt: dict.fromkeys(FUNC_NAMES, bound) for dt in ("float32", "float64")}
    for tier, bound in TIER_BOUND.items()
}

TABLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "reference_f64.npz")
# Size of the sample computed with mpmath at test time when the table is missing
# (f64_sample_inputs scale; ~2500 inputs, a few seconds).
FALLBACK_SCALE = 0.06

F32_STRIDE = 1031  # prime, so the low mantissa bits vary; 2**32 / 1031 ~ 4.2 million


def _f32_patterns(lo, hi, step=1):
    """float32 values lo..hi (inclusive, same sign) by bit pattern, every step-th."""
    a, b = np.float32(lo).view(np.uint32), np.float32(hi).view(np.uint32)
    a, b = min(a, b), max(a, b)
    return np.arange(a, b + 1, step, dtype=np.uint32).view(np.float32)


def _f32_around(x0, k):
    """The 2k+1 float32 values around x0 (by bit pattern)."""
    b = np.int64(np.float32(x0).view(np.uint32))
    return np.arange(b - k, b + k + 1, dtype=np.int64).astype(np.uint32).view(np.float32)


# Where tools/check_exhaustive_f32.py found each fast-tier float32 maximum over all 2**32
# inputs (AVX2 build; README "Which tier?"): gelu 3.566 ulp, gelu_grad 3.298, gelu_tanh 3.198.
FAST_F32_WORST = (np.float32(-1.8225589), np.float32(-0.0103684375), np.float32(-1.8370575))


@functools.lru_cache(maxsize=1)
def f32_sample():
    """A strided sample of all 2**32 float32 bit patterns plus the hard regions."""
    f32max = np.finfo(np.float32).max
    parts = [
        # every F32_STRIDE-th pattern over all 2**32 (both signs, NaNs and infs included)
        np.arange(0, 2**32, F32_STRIDE, dtype=np.uint64).astype(np.uint32).view(np.float32),
        # the gradient zeros: every float32 within 2**14 patterns (about +-1e-3)
        _f32_around(GELU_GRAD_ZERO, 2**14),
        _f32_around(GELU_TANH_GRAD_ZERO, 2**14),
        # the underflow edge of all four (results go subnormal, then to 0)
        _f32_patterns(-9.5, -14.5, 3),
        # subnormal inputs (both signs) and the smallest normals
        _f32_patterns(np.float32(1e-45), np.float32(2.0**-120), 61),
        _f32_patterns(-np.float32(1e-45), -np.float32(2.0**-120), 61),
        # huge: the largest finite values, and around sqrt(max) / cbrt(max) (where x*x
        # and x**3 overflow float32)
        _f32_around(f32max, 2**15)[: 2**15 + 1],
        _f32_around(-f32max, 2**15)[: 2**15 + 1],
    ]
    # the fast tier's exhaustive maxima, and their neighbours
    parts += [_f32_around(x0, 2**8) for x0 in FAST_F32_WORST]
    for x0 in (np.sqrt(np.float64(f32max)), np.cbrt(np.float64(f32max))):
        for sgn in (1, -1):
            parts.append(_f32_around(sgn * x0, 2**12))
    parts.append(np.array([np.inf, -np.inf, 0.0, -0.0, np.nan, -np.nan], np.float32))
    # unique by bit pattern: keeps -0.0 apart from 0.0 and every NaN payload
    # (sort + mask: np.unique is ~100x slower on 8M elements in NumPy 2.4)
    bits = np.sort(np.concatenate(parts).view(np.uint32))
    return bits[np.concatenate([[True], bits[1:] != bits[:-1]])].view(np.float32)


@functools.lru_cache(maxsize=1)
def f64_table():
    """{'x': inputs, name: hi, name + '_err_ulp': residual} (see make_reference_f64.py)."""
    if os.path.exists(TABLE):
        with np.load(TABLE) as data:
            return {k: data[k] for k in data.files if k != "meta"}
    warnings.warn(
        f"{TABLE} is missing (run tools/make_reference_f64.py); "
        f"computing a smaller float64 reference with mpmath now",
        stacklevel=1,
    )
    x = f64_sample_inputs(FALLBACK_SCALE)
    table = {"x": x}
    for name in FUNC_NAMES:
        table[name], table[name + "_err_ulp"] = mp_reference(name, x)
    return table


# ---------------------------------------------------------------------------------------
# 16-bit floats (float16, bfloat16): every value of the dtype against the float64 reference
# ---------------------------------------------------------------------------------------
#: The promise for float16 and bfloat16 results, in ulps of that dtype, in both tiers
#: (measured 0.5001 in the exact tier); fastgelu._config's.
ULP_BOUND_16 = _config.BOUND_16


def check_within_bound(name, y, exact, inputs, bound=ULP_BOUND_16):
    """Every result within `bound` ulps of its dtype; returns the largest error."""
    return float(assert_within_ulps(f"{name} {y.dtype}", y, exact, inputs, bound).max())


def unary_max_error(name, every, tier="exact"):
    """`name` (of `tier`) on every value of a 16-bit dtype against the float64 reference."""
    with np.errstate(all="ignore"):
        y = ufunc_of(name, tier)(every)
        exact = REF64[name](every.astype(np.float64))
    assert y.dtype == every.dtype
    return check_within_bound(name, y, exact, [every])


def fused_max_error(name, every, tier="exact"):
    """Every value of a 16-bit dtype as x (or a) against a few multipliers (24 takes the
    largest ones past the largest finite value), and 300,000 random pairs (`name` of
    `tier`)."""
    nin, _nout, f, grad = FUSED[name]
    dtype = every.dtype
    rng = np.random.default_rng(nin)
    w_all = np.concatenate([np.repeat(v, every.size) for v in (1.0, -0.375, 24.0)])
    x_all = np.tile(every, 3)
    k = 300_000
    w_all = np.concatenate([w_all, rng.standard_normal(k) * 4]).astype(dtype)
    x_all = np.concatenate([x_all, rng.uniform(-12, 12, k).astype(dtype)])
    with np.errstate(all="ignore"):  # bfloat16: casting a signaling NaN flags it
        x64, w64 = x_all.astype(np.float64), w_all.astype(np.float64)
        if name.endswith("backward") and nin == 2:
            inputs, exact = (w_all, x_all), [w64 * REF64[grad](x64)]
        elif nin == 2:
            inputs, exact = (x_all, w_all), [REF64[f](x64) * w64]
        else:
            b = np.roll(w_all, 3)
            b64 = b.astype(np.float64)
            inputs = (w_all, x_all, b)
            exact = [w64 * b64 * REF64[grad](x64), w64 * REF64[f](x64)]
        out = call(name, *inputs, tier=tier)
    for y in out:
        assert y.dtype == dtype
    return max(check_within_bound(name, y, e, inputs) for y, e in zip(out, exact))


def results_and_float32_results(name, every, others, tier="exact"):
    """`name` on every value of a 16-bit dtype (as x or a) and `others` (random values of
    that dtype) for the other inputs; then the same inputs widened to float32. Returns
    both results and where two inputs are NaN (IEEE leaves open whose payload the
    product keeps)."""
    nin = FUSED[name][0] if name in FUSED else 1
    args = [every] + others[: nin - 1]
    if name in FUSED and name.endswith("backward") and nin == 2:
        args = args[::-1]  # x = every value, grad_out random
    with np.errstate(all="ignore"):
        narrow = call(name, *args, tier=tier)
        single = call(name, *[a.astype(np.float32) for a in args], tier=tier)
        two_nans = np.sum([np.isnan(a) for a in args], axis=0) >= 2
    for y in narrow:
        assert y.dtype == every.dtype
    return narrow, single, two_nans


# =======================================================================================
# Subprocesses and doctests
# =======================================================================================
def run_script(tmp_path, name, text):
    """Run a script in a fresh interpreter (a hang fails by timeout); its stdout."""
    script = tmp_path / name
    script.write_text(text)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    print("\n" + done.stdout)
    return done.stdout


def run_doctests(text, name, globs=None):
    """Run the examples in ``text``; (doctest's TestResults, the failure report)."""
    parser = doctest.DocTestParser()
    test = parser.get_doctest(text, dict(globs or {}), name, None, 0)
    runner = doctest.DocTestRunner(
        optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS, verbose=False)
    out = []
    runner.run(test, out=out.append)
    return runner.summarize(verbose=False), "".join(out)


# =======================================================================================
# Memory: the call mix of tests/test_memory.py and tools/rss_soak.py
# =======================================================================================
def rss_mib():
    """The resident set size of this process, in MiB (Linux: /proc/self/statm)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * mmap.PAGESIZE / 2**20


def call_mix():
    """One round of calls over the paths users hit.

    Eight calls of the four unary ufuncs -- new result, out=, strided, big-endian
    (buffered), where=, a Python scalar, an integer input (cast), dtype= -- plus two calls
    of one of the other exported ufuncs (binary, two outputs; contiguous and strided with
    out=), and every 50th round two calls that raise (complex input, an impossible cast).

    Returns (one_round(i), the arrays and ufuncs it uses, beyond UNARY_UFUNCS, whose
    reference counts must not change, a one-element list counting the raising calls,
    calls per round).
    """
    x64 = np.linspace(-4, 4, 16)
    x32 = x64.astype(np.float32)
    xs = np.linspace(-4, 4, 48)[::3]
    be = x64.astype(">f8")
    mask = x64 > 0
    o64, o32 = np.empty(16), np.empty(16, np.float32)
    ints = np.arange(-8, 8)
    cplx = np.ones(2, complex)
    g, gg, gt, gtg = UNARY_UFUNCS
    others = [getattr(fastgelu, n) for n in fastgelu.__all__
              if isinstance(getattr(fastgelu, n), np.ufunc) and getattr(fastgelu, n)
              not in UNARY_UFUNCS]  # binary and two-output ufuncs, if the build has them
    other_outs = [tuple(np.empty(16) for _ in range(u.nout)) for u in others]
    errors = [0]

    def one_round(i):
        if others:
            k = i % len(others)
            others[k](*(x64,) * others[k].nin)
            others[k](*(xs,) * others[k].nin, out=other_outs[k])
        g(x64)
        gg(x32, out=o32)
        gt(xs)
        gtg(be, out=o64)
        g(x64, out=o64, where=mask)
        gg(0.5)
        gt(ints)
        gtg(x32, dtype=np.float64)
        if i % 50 == 0:
            try:
                g(cplx)
            except TypeError:
                errors[0] += 1
            try:
                g(x64, out=o32, casting="no")
            except TypeError:
                errors[0] += 1

    per_round = 10 if others else 8
    tracked = [x64, x32, xs, be, mask, o64, o32, ints, cplx, *others,
               *[o for t in other_outs for o in t]]
    return one_round, tracked, errors, per_round
