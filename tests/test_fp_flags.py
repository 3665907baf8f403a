"""Floating-point flags beyond the contiguous serial path (test_values.py's): the threaded,
strided, masked and byte-swapped paths (every exponent; every float16), and every
float32 bit pattern (``-m slow``).
"""
from __future__ import annotations

import numpy as np
import pytest
from _helpers import BITS, assert_same_float_bits, ufunc_of
from reference import FUNC_NAMES, is_signaling_nan

from fastgelu import _ufuncs

# The floating-point contract: no overflow, invalid or divide-by-zero for any
# input (underflow is legitimate: the tails of all four functions are subnormal).
FP_RAISE = dict(over="raise", invalid="raise", divide="raise")


def _every_exponent(dtype, per_exponent, seed=11):
    """Both signs of every biased exponent (subnormals and zeros included), mantissas 0,
    1, all-ones and random, plus +-inf and quiet NaNs of several payloads and signs."""
    info = np.finfo(dtype)
    mant_bits, exp_bits = info.nmant, info.iexp
    ut = BITS[dtype.itemsize]
    rng = np.random.default_rng(seed)
    exps = np.arange(2**exp_bits - 1, dtype=np.uint64)  # not the all-ones (inf/NaN)
    mants = np.concatenate([
        [0, 1, 2**mant_bits - 1],
        rng.integers(0, 2**mant_bits, per_exponent - 3, dtype=np.uint64),
    ]).astype(np.uint64)
    bits = (exps[:, None] << np.uint64(mant_bits)) | mants[None, :]
    bits = bits.ravel()
    sign = np.uint64(1) << np.uint64(mant_bits + exp_bits)
    bits = np.concatenate([bits, bits | sign]).astype(ut)
    x = bits.view(dtype)
    quiet = np.array([np.nan, -np.nan, np.inf, -np.inf], dtype)
    payload = (np.array([np.nan], dtype).view(ut) | ut(0x1234)).view(dtype)
    x = np.concatenate([x, quiet, payload, -payload])
    assert not is_signaling_nan(x).any()
    return np.random.default_rng(seed).permutation(x)


@pytest.mark.parametrize("path", ["threaded", "strided", "where", "big-endian"])
def test_no_fp_exception_for_any_exponent_on_any_path(ufunc, dtype, isa, path, threaded):
    """errstate(over, invalid, divide = raise): every finite value, +-inf and NaN is
    accepted on the threaded (flags gathered from the workers), strided, masked and
    byte-swapped paths; test_values.py covers the contiguous serial path."""
    x = _every_exponent(dtype, 64 if dtype == np.float32 else 16)
    with np.errstate(**FP_RAISE):
        if path == "threaded":
            y = ufunc(x)
        elif path == "strided":
            y = ufunc(np.repeat(x, 2)[::-2])[::-1]
        elif path == "where":
            y = np.zeros_like(x)
            ufunc(x, out=y, where=np.arange(x.size) % 3 != 0)
        else:
            y = ufunc(x.astype(dtype.newbyteorder(">")))
    assert y.shape == x.shape
    assert not np.isnan(y[~np.isnan(x)]).any()


def test_no_fp_exception_for_any_float16(ufunc, isa, threaded):
    """Every float16 bit pattern but the signaling NaNs (if the build has float16
    loops): contiguous threaded, strided and byte-swapped."""
    if "e->e" not in ufunc.types:
        pytest.skip("no float16 loop in this build")
    bits = np.arange(2**16, dtype=np.uint16)
    snan = ((bits & 0x7C00) == 0x7C00) & ((bits & 0x03FF) != 0) & ((bits & 0x0200) == 0)
    x = bits[~snan].view(np.float16)
    with np.errstate(**FP_RAISE):
        y = ufunc(x)
        assert y.dtype == np.float16
        assert_same_float_bits(ufunc(np.repeat(x, 2)[::-2])[::-1], y)
        assert_same_float_bits(ufunc(x.astype(">f2")), y)


@pytest.mark.slow
@pytest.mark.parametrize("name", FUNC_NAMES)
def test_no_fp_exception_for_any_float32(slow_only, name, tier, isa):
    """All 2**32 float32 bit patterns but the 2**24 - 2 signaling NaNs (IEEE lets any
    operation on those raise 'invalid'), threaded, in chunks of 2**24."""
    f = ufunc_of(name, tier)
    chunk = 1 << 24
    out = np.empty(chunk, np.float32)
    for start in range(0, 2**32, chunk):
        bits = np.arange(start, start + chunk, dtype=np.uint64).astype(np.uint32)
        x = bits.view(np.float32)
        exp_all_ones = (bits & np.uint32(0x7F800000)) == np.uint32(0x7F800000)
        if exp_all_ones.any():
            x = x[~is_signaling_nan(x)]
        try:
            with np.errstate(**FP_RAISE):
                f(x, out=out[: x.size])
        except FloatingPointError as exc:
            bad = []
            for i in range(0, x.size, 4096):
                try:
                    with np.errstate(**FP_RAISE):
                        f(x[i : i + 4096])
                except FloatingPointError:
                    for v in x[i : i + 4096]:
                        try:
                            with np.errstate(**FP_RAISE):
                                f(v)
                        except FloatingPointError:
                            bad.append(float(v).hex())
                        if len(bad) >= 5:
                            break
                if len(bad) >= 5:
                    break
            pytest.fail(f"{name} [isa={isa}] raised {exc} for x = {bad}")



# ---------------------------------------------------------------------------------------
# Underflow: raised only where the true result is nonzero and comes back subnormal or 0,
# as np.exp(-800.0) does; never for +-inf, +-0, NaN, or where the result is large or
# exact (gelu(x) = x for large x).
# ---------------------------------------------------------------------------------------
NEVER_UNDERFLOW = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 0.75, -0.75, 9.0, 10.0,
                   10.5, 16.0, 22.0, 24.0, 30.0, 37.0, 38.0, 38.75, 39.0, 40.0, 1e4, 1e30,
                   1e308]
# left tails: the true result is nonzero; underflow is right where it rounds to a subnormal
# or 0 (float16 from ~-4.5, float32 from ~-13, float64 from ~-37) and wrong where it is
# normal
MAYBE_UNDERFLOW = [-4.5, -9.0, -13.0, -16.0, -22.0, -24.0, -30.0, -36.0, -37.0, -37.5, -38.0,
                   -38.75, -40.0, -1e4, -1e30, -1e308]
ALL_UFUNCS = [k.name for k in _ufuncs.KERNELS]


def _args(name, tier, x, dtype):
    """The ufunc (of the tier) and its inputs with x where its GELU-family function is
    evaluated, 1 elsewhere (gelu_backward(g, x), geglu(a, b), geglu_backward(g, a, b))."""
    uf = ufunc_of(name, tier)
    with np.errstate(over="ignore"):
        xs = np.asarray(x, dtype=dtype)
    args = [np.ones_like(xs) for _ in range(uf.nin)]
    args[1 if name.endswith("backward") else 0] = xs
    return uf, args


def _outputs(uf, args):
    with np.errstate(all="ignore"):
        out = uf(*args)
    return out if isinstance(out, tuple) else (out,)


# bfloat16 (ml_dtypes' dtype) where its loops are registered
UNDERFLOW_DTYPES = ["float16", "float32", "float64"] + (
    ["bfloat16"] if _ufuncs.bfloat16 is not None else [])
SMALLEST_NORMAL = {"float16": 2.0**-14, "bfloat16": 2.0**-126, "float32": 2.0**-126,
                   "float64": 2.0**-1022}


@pytest.mark.parametrize("name", ALL_UFUNCS)
@pytest.mark.parametrize("dt", UNDERFLOW_DTYPES)
def test_underflow_only_where_the_result_underflows(name, tier, dt, isa):
    """Each grid value alone, under errstate(all='raise'): the values of NEVER_UNDERFLOW
    raise nothing; a left-tail value may raise underflow only if every output it gives
    is subnormal or zero."""
    dt = _ufuncs.bfloat16 if dt == "bfloat16" else np.dtype(dt)
    tiny = SMALLEST_NORMAL[dt.name]
    for x in NEVER_UNDERFLOW + MAYBE_UNDERFLOW:
        uf, args = _args(name, tier, [x], dt)
        try:
            with np.errstate(all="raise"):
                uf(*args)
        except FloatingPointError as exc:
            assert "underflow" in str(exc), (name, dt, x, exc)
            assert x in MAYBE_UNDERFLOW, f"{name}({x}) [{tier}, {dt}, {isa}] raised {exc}"
            for y in _outputs(uf, args):
                assert abs(float(y[0])) < tiny, f"{name}({x}) = {y[0]} [{dt}] raised underflow"


@pytest.mark.parametrize("name", ALL_UFUNCS)
@pytest.mark.parametrize("dt", UNDERFLOW_DTYPES)
def test_no_underflow_for_exact_or_large_results_threaded(name, tier, dt, threaded):
    """The same values as one array on the threaded path (flags gathered from the
    workers), repeated to span several chunks: nothing raised."""
    dt = _ufuncs.bfloat16 if dt == "bfloat16" else np.dtype(dt)
    uf, args = _args(name, tier, np.repeat(NEVER_UNDERFLOW, 4096), dt)
    with np.errstate(all="raise"):
        uf(*args)
