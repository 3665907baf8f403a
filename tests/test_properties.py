"""Property tests (Hypothesis): for any dtype and byte order, shape (up to 3-D), slicing
strides (negative included), transposition, ``out=`` layout, ``where=`` mask, aliasing
of ``out`` with the input (in place and partial overlaps) and thread setting, every
result is

* within the product's ulp bounds (_helpers.ULP_BOUNDS) of tests/reference.py's
  references (float32: the float64 SciPy reference; float64: mpmath at 50 digits), and
* bit-for-bit the result of the same call on a contiguous native-order copy,

and nothing outside the selected output elements is written.
"""
from __future__ import annotations

import functools
import os

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from _helpers import ULP_BOUNDS, as_bits, ufunc_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from reference import (
    FUNC_NAMES,
    GELU_GRAD_ZERO,
    GELU_TANH_GRAD_ZERO,
    REF64,
    mp_value,
    ulp_error,
)

import fastgelu
from fastgelu import _ufuncs

DTYPES = [np.dtype(s) for s in ("<f4", ">f4", "<f8", ">f8")]
TIERS = st.sampled_from(_ufuncs.TIERS)  # both tiers: the same behaviour, their own bounds
if all("e->e" in getattr(fastgelu, n).types for n in FUNC_NAMES):
    # float16 loops: layouts, aliasing and masks here; accuracy in test_float16.py
    DTYPES += [np.dtype("<f2"), np.dtype(">f2")]

SETTINGS = settings(
    # FASTGELU_HYPOTHESIS_EXAMPLES lowers it for slow runs (tools/memcheck.sh)
    max_examples=int(os.environ.get("FASTGELU_HYPOTHESIS_EXAMPLES", "120")),
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
)

# Values where the functions are hard: the gradient zeros, the underflow edges of the
# four functions, where the tails turn subnormal, and the specials.
HARD = [GELU_GRAD_ZERO, GELU_TANH_GRAD_ZERO, -0.75, -0.0, 0.0, -1e-310, 5e-324,
        -9.5, -13.2, -14.5, -20.6, -21.8, -26.5, -37.2, -38.6, -38.8, 1e30, -1e30,
        3.4028235e38, -3.4028235e38, 1.7976931348623157e308, -np.inf, np.inf, np.nan]


def elements(dtype):
    width = 8 * dtype.itemsize
    return st.one_of(
        st.floats(width=width),  # anything: NaN, inf, subnormal, huge
        st.floats(-45.0, 12.0, width=width),  # the core and the tails
        st.sampled_from(_hard(dtype)),
    )


@functools.cache
def _hard(dtype):
    """HARD rounded to dtype (values beyond its range left out)."""
    big = float(np.finfo(dtype).max)
    with np.errstate(under="ignore"):
        return [float(dtype.type(v)) for v in HARD if not abs(v) > big or np.isinf(v)]


@functools.lru_cache(maxsize=200_000)
def _mp64(name, bits):
    return mp_value(name, float(np.array(bits, np.uint64).view(np.float64)))


def assert_accurate(name, x, y, tier):
    """``y`` (result dtype = x's kind and size) within the tier's ULP_BOUNDS of the
    reference."""
    dtype = np.dtype(x.dtype.newbyteorder("="))
    if dtype.name not in ULP_BOUNDS[tier]:
        return  # float16: judged by test_float16.py
    x = np.asarray(x, dtype=dtype).ravel()
    y = np.asarray(y).astype(dtype).ravel()
    if dtype == np.float32:
        with np.errstate(all="ignore"):
            hi, err = REF64[name](x.astype(np.float64)), None
    else:
        hi = np.empty(x.size)
        err = np.zeros(x.size)
        for i, (v, b) in enumerate(zip(x, x.view(np.uint64))):
            if np.isfinite(v):
                hi[i], err[i] = _mp64(name, int(b))
            else:
                hi[i] = REF64[name](np.array([v]))[0]
    e = ulp_error(y, hi, dtype, err)
    bound = ULP_BOUNDS[tier][dtype.name][name]
    bad = np.flatnonzero(e > bound)
    assert not bad.size, [
        f"{name}({float(x[i]).hex()}) = {float(y[i])!r}, reference {hi[i]!r}, "
        f"{e[i]:.3g} ulp > {bound}" for i in bad[:5]]


@st.composite
def views(draw, dtype=None):
    """(base, view, apply): a random array, a random strided, possibly transposed view
    of it, and the function that takes the same view of any array shaped like base."""
    dtype = dtype or draw(st.sampled_from(DTYPES))
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=6))
    base = draw(hnp.arrays(dtype, shape, elements=elements(dtype)))
    index = []
    for side in shape:
        step = draw(st.sampled_from([1, 1, 2, 3, -1, -2, -3]))
        start = draw(st.integers(0, max(side - 1, 0)))
        stop = draw(st.integers(0, side))
        if step < 0:
            start, stop = side - 1 - start, draw(st.sampled_from([None, 0, 1]))
        index.append(slice(start, stop, step))
    index = tuple(index)
    axes = None
    if base[index].ndim > 1 and draw(st.booleans()):
        axes = draw(st.permutations(range(base.ndim)))

    def apply(arr):
        v = arr[index]
        return v.transpose(axes) if axes is not None else v

    return base, apply(base), apply


def call_with_threads(threaded, f, *args, **kwargs):
    """f(*args, **kwargs) on 2 threads with the parallel threshold at 1 (threaded) or on
    one thread, FP warnings off (NaN/inf inputs are drawn on purpose); the thread
    settings are restored afterwards."""
    saved = (fastgelu.get_num_threads(), _ufuncs.get_parallel_threshold("float32"),
             _ufuncs.get_parallel_threshold("float64"))
    if threaded:
        fastgelu.set_num_threads(2)
        _ufuncs.set_parallel_threshold("float32", 1)
        _ufuncs.set_parallel_threshold("float64", 1)
    else:
        fastgelu.set_num_threads(1)
    try:
        with np.errstate(all="ignore"):
            return f(*args, **kwargs)
    finally:
        fastgelu.set_num_threads(saved[0])
        _ufuncs.set_parallel_threshold("float32", saved[1])
        _ufuncs.set_parallel_threshold("float64", saved[2])


def native_result(f, x):
    """The reference call: contiguous, native byte order."""
    with np.errstate(all="ignore"):
        return f(np.ascontiguousarray(x.astype(x.dtype.newbyteorder("="))))


@SETTINGS
@given(name=st.sampled_from(FUNC_NAMES), tier=TIERS, bv=views(), threaded=st.booleans())
def test_any_layout(name, tier, bv, threaded):
    base, x, _ = bv
    f = ufunc_of(name, tier)
    before = base.copy()
    y = call_with_threads(threaded, f, x)
    assert y.dtype == x.dtype.newbyteorder("=") and y.shape == x.shape
    np.testing.assert_array_equal(as_bits(y), as_bits(native_result(f, x)))
    np.testing.assert_array_equal(as_bits(base), as_bits(before))  # input untouched
    assert_accurate(name, x, y, tier)


@st.composite
def out_for(draw, x):
    """A fresh out array of x's shape: same or other byte order (or the wider float),
    contiguous, strided or reversed, filled with sentinels."""
    kinds = [x.dtype, x.dtype.newbyteorder("S")]
    if x.dtype.itemsize == 4:
        kinds += [np.dtype(">f8"), np.dtype("<f8")]
    elif x.dtype.itemsize == 2:
        kinds += [np.dtype(">f4"), np.dtype("<f8")]
    dt = draw(st.sampled_from(kinds))
    step = draw(st.sampled_from([1, 2, -1, -3]))
    big = tuple(s * abs(step) for s in x.shape)
    store = np.arange(int(np.prod(big)), dtype=np.float64).astype(dt).reshape(big) + 0.5
    out = store[tuple(slice(None, None, step) for _ in x.shape)]
    assert out.shape == x.shape
    return out


@SETTINGS
@given(data=st.data(), name=st.sampled_from(FUNC_NAMES), tier=TIERS, threaded=st.booleans())
def test_out_and_where(data, name, tier, threaded):
    base, x, _ = data.draw(views())
    f = ufunc_of(name, tier)
    out = data.draw(out_for(x))
    where_kind = data.draw(st.sampled_from(["none", "full", "last axis", "scalar"]))
    if where_kind == "full":
        where = data.draw(hnp.arrays(bool, x.shape))
    elif where_kind == "last axis":
        where = data.draw(hnp.arrays(bool, x.shape[-1:]))
    elif where_kind == "scalar":
        where = data.draw(st.booleans())
    else:
        where = True
    mask = np.broadcast_to(where, x.shape)
    out_before = out.copy()
    before = base.copy()
    r = call_with_threads(threaded, f, x, out=out, where=where)
    assert r is out
    with np.errstate(all="ignore"):
        expected = native_result(f, x).astype(out.dtype)
    np.testing.assert_array_equal(as_bits(out)[mask], as_bits(expected)[mask])
    np.testing.assert_array_equal(as_bits(out)[~mask], as_bits(out_before)[~mask])
    np.testing.assert_array_equal(as_bits(base), as_bits(before))
    if out.dtype.itemsize == x.dtype.itemsize:
        assert_accurate(name, x[mask], out[mask], tier)


@SETTINGS
@given(data=st.data(), name=st.sampled_from(FUNC_NAMES), tier=TIERS, threaded=st.booleans(),
       use_where=st.booleans())
def test_in_place(data, name, tier, threaded, use_where):
    """out=x for any view: x gets the result, the rest of its base is untouched."""
    base, x, apply = data.draw(views())
    f = ufunc_of(name, tier)
    where = data.draw(hnp.arrays(bool, x.shape)) if use_where else np.ones(x.shape, bool)
    x_before = x.copy()
    before = base.copy()
    expected = native_result(f, x_before)
    call_with_threads(threaded, f, x, out=x, where=where)
    np.testing.assert_array_equal(as_bits(x)[where], as_bits(expected)[where])
    np.testing.assert_array_equal(as_bits(x)[~where], as_bits(x_before)[~where])
    # nothing of base outside the selected elements of x is written
    selected = np.zeros(base.shape, bool)
    apply(selected)[where] = True
    changed = as_bits(base) != as_bits(before)
    assert not (changed & ~selected).any()
    assert_accurate(name, x_before[where], x[where], tier)


@st.composite
def overlapping(draw):
    """(base, x, out): two 1-D views of one base with any steps and offsets."""
    dtype = draw(st.sampled_from(DTYPES))
    # long runs cross the strided path's 1024-element blocks and the threads' chunks
    n = draw(st.one_of(st.integers(0, 40), st.integers(1000, 2600)))
    sx = draw(st.sampled_from([1, 2, 3, -1, -2, -3, 0]))
    sy = draw(st.sampled_from([1, 2, 3, -1, -2, -3]))
    span = max(abs(sx), abs(sy)) * max(n - 1, 0) + 1
    size = span + draw(st.integers(0, 8))
    if size <= 200:
        base = draw(hnp.arrays(dtype, size, elements=elements(dtype)))
    else:  # every element distinct, so a value read after it was overwritten shows
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        base = rng.uniform(-12.0, 8.0, size).astype(dtype)
        base[rng.integers(0, size, 8)] = rng.choice(_hard(np.dtype(dtype.char)), 8)

    def pick(step):
        extent = abs(step) * max(n - 1, 0)
        a = draw(st.integers(0, size - 1 - extent)) if size - 1 - extent >= 0 else 0
        start = a + extent if step < 0 else a
        return np.lib.stride_tricks.as_strided(
            base[start:], (n,), (step * base.itemsize,))

    return base, pick(sx), pick(sy)


@SETTINGS
@given(bxo=overlapping(), name=st.sampled_from(FUNC_NAMES), tier=TIERS, threaded=st.booleans(),
       use_where=st.booleans(), data=st.data())
def test_overlapping_input_and_output(bxo, name, tier, threaded, use_where, data):
    """Any overlap of out with the input gives the answer of the unaliased call; no
    element of the base outside out is written."""
    base, x, out = bxo
    f = ufunc_of(name, tier)
    where = data.draw(hnp.arrays(bool, x.shape)) if use_where else np.ones(x.shape, bool)
    x_before = x.copy()
    expected = native_result(f, x_before)
    out_before = out.copy()
    before = base.copy()
    call_with_threads(threaded, f, x, out=out, where=where)
    np.testing.assert_array_equal(as_bits(out)[where], as_bits(expected)[where])
    np.testing.assert_array_equal(as_bits(out)[~where], as_bits(out_before)[~where])
    probe = np.zeros(base.size, bool)
    offs = (out.__array_interface__["data"][0] - base.__array_interface__["data"][0])
    idx = offs // base.itemsize + np.arange(out.size) * (out.strides[0] // base.itemsize)
    probe[idx[where]] = True
    changed = as_bits(base) != as_bits(before)
    assert not (changed & ~probe).any()
    keep = slice(None, None, max(1, x.size // 64))  # mpmath is slow: a subsample
    assert_accurate(name, x_before[where][keep], out[where][keep], tier)
