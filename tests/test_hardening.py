"""Hardening: what a user can throw at the ufuncs never corrupts data, hangs, leaks or
warns for no reason.

Complements test_ufunc_api.py (ufunc behaviour, layouts, casting errors), test_values.py
(accuracy, special values, floating-point flags of the contiguous serial path) and
test_fork.py (children forked after the parent ran threaded, or while another thread
is inside a parallel region). Here:

* bad input: object arrays, every wrong ``out=``/``where=``/``dtype=`` -- NumPy's error
  (the same one np.exp gives) and ``out`` left untouched; read-only inputs; aliasing
  that NumPy may leave to the loop; unaligned big-endian strided fields;
* 64-bit index arithmetic: byte offsets beyond 2**31 (default run, a sparse memory map)
  and single loop calls over more than 2**31 elements (``-m slow``);
* floating-point flags on the threaded, strided, masked and byte-swapped paths (every
  exponent; every float16), and over every float32 bit pattern (``-m slow``);
* threads: many Python threads at once (every exported ufunc), the GIL released during a
  call, OpenMP teams of short-lived threads cleaned up, flags of one thread never
  reported in another, threads with the smallest stack Python allows; Ctrl-C during a
  call;
* memory: RSS and reference counts over 100k calls of tools/rss_soak.py's call mix (the
  tool runs a million;
  tools/memcheck.sh runs a subset of the tests under valgrind).
"""
from __future__ import annotations

import gc
import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
from numpy.lib.stride_tricks import as_strided
from reference import FUNC_NAMES, is_signaling_nan

import fastgelu
from fastgelu import _ufuncs

# tools/rss_soak.py: the call mix of the memory test (the tool runs a million of them).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tools"))
import rss_soak

UFUNCS = [getattr(fastgelu, n) for n in FUNC_NAMES]
DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
BITS = {2: np.uint16, 4: np.uint32, 8: np.uint64}
# The floating-point contract: no overflow, invalid or divide-by-zero for any
# input (underflow is legitimate: the tails of all four functions are subnormal).
FP_RAISE = dict(over="raise", invalid="raise", divide="raise")


def as_bits(a):
    """Bit patterns of ``a`` in native byte order (a contiguous unsigned-int copy)."""
    a = np.asarray(a)
    a = np.ascontiguousarray(a.astype(a.dtype.newbyteorder("="), copy=False))
    return a.view(BITS[a.dtype.itemsize])


def assert_same_bits(actual, expected):
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


def outcome(call):
    """The exception type ``call`` raises, or None."""
    try:
        with np.errstate(all="ignore"):
            call()
    except Exception as exc:
        return type(exc)
    return None


@pytest.fixture
def threaded(restore_threading):
    """Two threads and a parallel threshold low enough that small arrays use them."""
    fastgelu.set_num_threads(2)
    for dt in ("float32", "float64"):
        _ufuncs.set_parallel_threshold(dt, 64)


def _slow_selected(config):
    return "slow" in (config.getoption("markexpr") or "")


@pytest.fixture
def slow_only(request):
    """pyproject registers the 'slow' marker but does not deselect it by default."""
    if not _slow_selected(request.config):
        pytest.skip("slow: run with -m slow")


# =======================================================================================
# Bad input gets NumPy's clear error and changes nothing
# =======================================================================================
OBJECT_ARRAYS = {
    "python floats": lambda: np.array([1.0, -2.5, 0.0, 3e300], dtype=object),
    "python ints": lambda: np.array([1, -2, 0, 7], dtype=object),
    "numpy float32 scalars": lambda: np.array([np.float32(1.5), np.float32(-2)], dtype=object),
    "2-D mixed numbers": lambda: np.array([[1.0, 2], [np.float64(-3.0), True]], dtype=object),
}


@pytest.mark.parametrize("kind", sorted(OBJECT_ARRAYS))
def test_object_arrays_raise_type_error_like_np_exp(ufunc, kind):
    """No object loop: a TypeError (np.exp raises one too, for want of a .exp method),
    never a silent cast; an out= array is left as it was."""
    x = OBJECT_ARRAYS[kind]()
    assert outcome(lambda: np.exp(x)) is not None
    with pytest.raises(TypeError):
        ufunc(x)
    out = np.full(x.shape, 1234.5)
    with pytest.raises(TypeError):
        ufunc(x, out=out)
    assert np.all(out == 1234.5)


@pytest.mark.parametrize("kind", sorted(OBJECT_ARRAYS))
def test_object_arrays_with_an_explicit_unsafe_cast_give_the_right_answer(ufunc, kind):
    """Asking for the cast (dtype=float64, casting='unsafe', as np.exp needs too) gives
    exactly the result on the float64 array."""
    x = OBJECT_ARRAYS[kind]()
    y = ufunc(x, dtype=np.float64, casting="unsafe")
    assert y.dtype == np.float64
    assert_same_bits(y, ufunc(x.astype(np.float64)))
    with np.errstate(over="ignore"):  # NumPy's cast of 3e300 to float32
        y32 = ufunc(x, signature=("f", "f"), casting="unsafe")
        assert_same_bits(y32, ufunc(x.astype(np.float32)))


@pytest.mark.parametrize("bad", ["abc", None, 1j, 10**400, [1.0], "2.5"], ids=repr)
def test_object_elements_that_cannot_be_cast_behave_like_np_exp(ufunc, bad):
    """An element the float64 cast rejects: np.exp's error, out untouched. One it
    accepts (None -> nan, "2.5" -> 2.5, as NumPy casts): the result on the cast array."""
    x = np.empty(3, dtype=object)
    x[:] = [1.0, 2.0, 3.0]
    x[1] = bad
    expected = outcome(lambda: np.exp(x, dtype=np.float64, casting="unsafe"))
    out = np.full(3, 7.0)
    if expected is None:
        ufunc(x, dtype=np.float64, casting="unsafe", out=out)
        assert_same_bits(out, ufunc(x.astype(np.float64)))
        return
    with pytest.raises(expected):
        ufunc(x, dtype=np.float64, casting="unsafe", out=out)
    assert np.all(out == 7.0)  # the cast fails before the (single) buffer is computed


def test_a_failing_cast_stops_where_np_exp_stops(ufunc):
    """A cast error past NumPy's first buffer: the elements already written are exactly
    those np.exp writes (NumPy's buffered iteration; nothing beyond it, no crash)."""
    x = np.array([1.0] * 10_000 + ["abc"] + [2.0] * 100, dtype=object)
    written = {}
    for f in (np.exp, ufunc):
        out = np.full(x.shape, 7.0)
        with pytest.raises(ValueError, match="could not convert"):
            f(x, out=out, dtype=np.float64, casting="unsafe")
        written[f] = out != 7.0
    np.testing.assert_array_equal(written[ufunc], written[np.exp])


def _x3():
    return np.array([-1.5, 0.25, 2.0])


# Each case: (make the out array, call f(x, out)); the error must be np.exp's and the
# out array's bytes unchanged. "ok" cases (NumPy accepts them) must give what np.exp's
# casting gives.
BAD_CALLS = {
    "out too long": (lambda: np.full(4, 7.0), lambda f, x, o: f(x, out=o)),
    "out too short": (lambda: np.full(2, 7.0), lambda f, x, o: f(x, out=o)),
    "out of fewer dims": (lambda: np.full(3, 7.0),
                          lambda f, x, o: f(np.tile(x, (2, 1)), out=o)),
    "out read-only": (lambda: _read_only(np.full(3, 7.0)), lambda f, x, o: f(x, out=o)),
    "out read-only broadcast": (lambda: np.broadcast_to(7.0, (3,)),
                                lambda f, x, o: f(x, out=o)),
    "out int64": (lambda: np.full(3, 7, np.int64), lambda f, x, o: f(x, out=o)),
    "out int8": (lambda: np.full(3, 7, np.int8), lambda f, x, o: f(x, out=o)),
    "out bool": (lambda: np.ones(3, bool), lambda f, x, o: f(x, out=o)),
    "out datetime64": (lambda: np.full(3, 7, "M8[s]"), lambda f, x, o: f(x, out=o)),
    "out float32, casting=no": (lambda: np.full(3, 7, np.float32),
                                lambda f, x, o: f(x, out=o, casting="no")),
    "out float16, casting=safe": (lambda: np.full(3, 7, np.float16),
                                  lambda f, x, o: f(x, out=o, casting="safe")),
    "out big-endian, casting=no": (lambda: np.full(3, 7, ">f8"),
                                   lambda f, x, o: f(x, out=o, casting="no")),
    "out a list": (lambda: np.full(3, 7.0), lambda f, x, o: f(x, out=[0.0, 0.0, 0.0])),
    "out tuple of two": (lambda: np.full(3, 7.0),
                         lambda f, x, o: f(x, out=(o, np.empty(3)))),
    "out twice": (lambda: np.full(3, 7.0), lambda f, x, o: f(x, o, out=np.empty(3))),
    "where of ints": (lambda: np.full(3, 7.0),
                      lambda f, x, o: f(x, out=o, where=np.array([1, 0, 1]))),
    "where of the wrong shape": (lambda: np.full(3, 7.0),
                                 lambda f, x, o: f(x, out=o, where=np.ones(4, bool))),
    "signature with no loop": (lambda: np.full(3, 7.0),
                               lambda f, x, o: f(x, out=o, signature=("d", "f"))),
    "unknown keyword": (lambda: np.full(3, 7.0), lambda f, x, o: f(x, out=o, axis=0)),
    "two inputs": (lambda: np.full(3, 7.0), lambda f, x, o: f(x, x, o)),
    # accepted by NumPy (np.exp too): casting into strings, big-endian and float16 outs
    "out unicode (NumPy casts)": (lambda: np.full(3, "7", "U5"),
                                  lambda f, x, o: f(x, out=o)),
    "out big-endian (NumPy casts)": (lambda: np.full(3, 7, ">f8"),
                                     lambda f, x, o: f(x, out=o, casting="equiv")),
    "out float16 (NumPy casts)": (lambda: np.full(3, 7, np.float16),
                                  lambda f, x, o: f(x.astype(np.float32), out=o)),
}


def _read_only(a):
    a.flags.writeable = False
    return a


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_bad_out_and_where_raise_like_np_exp_and_change_nothing(ufunc, case):
    make_out, call = BAD_CALLS[case]
    x = _x3()
    x_before = x.copy()
    expected = outcome(lambda: call(np.exp, x, make_out()))
    out = make_out()
    before = out.copy()
    got = outcome(lambda: call(ufunc, x, out))
    assert got is expected, f"{case}: np.exp -> {expected}, {ufunc.__name__} -> {got}"
    assert_same_bits(x, x_before)
    if expected is None:  # NumPy accepts it: the cast of our result, as for np.exp
        xin = x.astype(np.float32) if out.dtype == np.float16 else x
        np.testing.assert_array_equal(out, ufunc(xin).astype(out.dtype))
    else:
        assert out.tobytes() == before.tobytes(), f"{case}: out changed by a failing call"


def test_dtype_without_a_loop_raises_type_error_and_changes_nothing(ufunc):
    """complex (a loop np.exp has and fastgelu has not) and strings."""
    x = _x3()
    for kw in (dict(dtype=np.complex128), dict(dtype="U8"), dict(signature=("D", "D"))):
        out = np.full(3, 7.0)
        with pytest.raises(TypeError):
            ufunc(x, out=out, **kw)
        assert np.all(out == 7.0)
    out = np.full(3, 7 + 7j)  # a complex out is fine: float64 casts to it
    ufunc(x, out=out)
    np.testing.assert_array_equal(out, ufunc(x).astype(complex))


def test_read_only_inputs_work_and_are_not_written(ufunc, dtype, tmp_path):
    x = sample(dtype, 3000)
    expected = ufunc(x)
    path = tmp_path / "x.bin"
    x.tofile(path)
    mapped = np.memmap(path, dtype=dtype, mode="r", shape=x.shape)
    variants = {
        "read-only": _read_only(x.copy()),
        "read-only strided": _read_only(np.repeat(x, 2))[::2],
        "read-only reversed": _read_only(x[::-1].copy())[::-1],
        "read-only memmap": mapped,
        "read-only bytes buffer": np.frombuffer(x.tobytes(), dtype=dtype),
    }
    for label, v in variants.items():
        assert not v.flags.writeable, label
        assert_same_bits(ufunc(v), expected)
        out = np.empty_like(x)
        ufunc(v, out=out)
        assert_same_bits(out, expected)
        with pytest.raises(ValueError, match="read-only"):
            ufunc(v, out=v)
        assert_same_bits(v, x)
    del mapped


def test_inputs_are_never_written(ufunc, dtype, threaded):
    """Every path (contiguous threaded, strided, buffered cast, where=) reads only."""
    x = sample(dtype, 5000)
    keep = x.copy()
    with np.errstate(all="ignore"):
        ufunc(x)
        ufunc(x[::3])
        ufunc(x[::-1], out=np.empty(x.size, np.float64))
        ufunc(x.astype(dtype.newbyteorder(">")))
        ufunc(x, out=np.zeros_like(x), where=x > 0)
        ufunc(x, dtype=np.float32 if dtype == np.float64 else np.float64)
    assert_same_bits(x, keep)


# ---------------------------------------------------------------------------------------
# Aliasing: any overlap of input and output gives the answer of the unaliased call
# ---------------------------------------------------------------------------------------
def _overlap_cases(dtype):
    n = 5000
    return {
        # NumPy leaves these to the loop (the input is "ahead" of the output) ...
        "input stride 2 ahead of output stride 1":
            (lambda b: (b[: 2 * n : 2], b[:n]), 2 * n),
        "input shifted 1 ahead": (lambda b: (b[1 : n + 1], b[:n]), n + 1),
        "input stride -1 into stride -2 (same end)":
            (lambda b: (b[n - 1 :: -1], b[2 * n - 1 :: -2]), 2 * n),
        # ... and copies these
        "output stride 2 over input stride 1": (lambda b: (b[:n], b[: 2 * n : 2]), 2 * n),
        "output shifted 3 ahead": (lambda b: (b[:n], b[3 : n + 3]), n + 3),
        "output reversed over input": (lambda b: (b[:n], b[n - 1 :: -1]), n),
        "interleaved: output odd, input even": (lambda b: (b[0 : 2 * n : 2], b[1 : 2 * n : 2]),
                                                2 * n),
        "transpose into itself": (lambda b: (b[: 60 * 60].reshape(60, 60).T,
                                             b[: 60 * 60].reshape(60, 60)), 3600),
        "rows shifted by one": (lambda b: (b[: 50 * 80].reshape(50, 80)[1:],
                                           b[: 50 * 80].reshape(50, 80)[:-1]), 4000),
        "zero-stride input from the output": (lambda b: (as_strided(b[n // 2 :], (n,), (0,)),
                                                         b[:n]), n),
    }


@pytest.mark.parametrize("case", sorted(_overlap_cases(np.float64)))
@pytest.mark.parametrize("mode", ["serial", "threaded"])
def test_overlapping_input_and_output_give_the_unaliased_answer(
        ufunc, dtype, case, mode, restore_threading):
    if mode == "threaded":
        fastgelu.set_num_threads(2)
        _ufuncs.set_parallel_threshold(dtype.name, 64)
    else:
        fastgelu.set_num_threads(1)
    views, size = _overlap_cases(dtype)[case]
    base = sample(dtype, size, seed=3)
    x, out = views(base)
    expected = ufunc(x.copy())
    with np.errstate(all="ignore"):
        ufunc(x, out=out)
    assert_same_bits(out, expected)


def test_output_viewing_the_input_as_another_dtype(ufunc):
    """float32 input, float64 out over the same bytes: NumPy must buffer the cast and the
    overlap; the answer is the cast of the unaliased call."""
    n = 4000
    buf = np.empty(8 * n, np.uint8)
    x = buf.view(np.float32)[:n]
    x[...] = sample(np.float32, n, seed=5)
    out = buf.view(np.float64)[:n]
    expected = ufunc(x.copy()).astype(np.float64)
    ufunc(x, out=out)
    assert_same_bits(out, expected)


def test_self_overlapping_output_gets_the_last_element_like_np_exp(ufunc, dtype):
    """A writable zero-stride out: every element lands on one address; as for np.exp
    (a forward loop), the last one stays. No copy of 2**k elements is made."""
    x = sample(dtype, 5000, seed=6)
    x[-1] = 1.25
    buf = np.zeros(1, dtype)
    out = as_strided(buf, (x.size,), (0,))
    ufunc(x, out=out)
    ebuf = np.zeros(1, dtype)
    with np.errstate(all="ignore"):
        np.exp(x, out=as_strided(ebuf, (x.size,), (0,)))
    assert ebuf[0] == np.exp(x[-1])
    assert_same_bits(buf, ufunc(x[-1:]))


# ---------------------------------------------------------------------------------------
# Byte order, alignment and strides at once
# ---------------------------------------------------------------------------------------
def test_unaligned_big_endian_strided_field(ufunc, dtype):
    """A packed structured array's big-endian float field is unaligned, byte-swapped and
    strided at once (9- or 5-byte steps); as input and as out: the contiguous bits."""
    n = 3001
    rec = np.zeros(n, dtype=np.dtype([("tag", "i1"), ("v", dtype.newbyteorder(">"))]))
    field = rec["v"]
    assert not field.flags.aligned and field.strides[0] == 1 + dtype.itemsize
    x = sample(dtype, n, seed=7)
    field[...] = x
    expected = ufunc(x)
    assert_same_bits(ufunc(field), expected)
    assert_same_bits(ufunc(field[::-3]), ufunc(x[::-3]))
    out = np.zeros(n, dtype=rec.dtype)
    ufunc(x, out=out["v"])
    assert_same_bits(out["v"], expected)
    assert np.all(out["tag"] == 0)  # the neighbouring field is untouched
    ufunc(field, out=field)  # in place, all three at once
    assert_same_bits(field, expected)
    assert np.all(rec["tag"] == 0)


def test_zero_stride_big_endian_input(ufunc, dtype):
    for v in sample(dtype, 40, seed=8):
        be = np.array(v, dtype=dtype.newbyteorder(">"))
        x = np.broadcast_to(be, (1500,))
        assert_same_bits(ufunc(x), np.full(1500, ufunc(np.array([v]))[0], dtype))


# =======================================================================================
# 64-bit index arithmetic
# =======================================================================================
def _sparse_memmap(path, dtype, n):
    mm = np.memmap(path, dtype=dtype, mode="w+", shape=(n,))
    if os.stat(path).st_blocks * 512 > 64 << 20:
        del mm
        os.remove(path)
        pytest.skip("the temporary file system has no sparse files")
    return mm


@pytest.mark.parametrize("stride_bytes", [2**31 + 8, 2**32 + 8, 3 * 2**32 + 24])
def test_byte_offsets_beyond_2_31(dtype, stride_bytes, tmp_path):
    """Views with steps of more than 2 GiB (and more than 4 GiB) over a sparse memory
    map: the strided loop's offsets i * step and pointer steps need 64 bits. Positive
    and negative steps, as input, as out, and in place; only a few pages are touched."""
    k = stride_bytes // dtype.itemsize
    n = 6
    path = tmp_path / "sparse.bin"
    mm = _sparse_memmap(path, dtype, k * (n - 1) + 1)
    x = y = None
    try:
        x = mm[::k]
        assert x.strides == (stride_bytes,) and x.size == n
        vals = np.array([-0.75, 1.5, -3.0, 20.0, 1e-3, -9.0], dtype)
        x[...] = vals
        for f in UFUNCS:
            expected = f(vals)
            assert_same_bits(f(x), expected)
            assert_same_bits(f(mm[::-k]), expected[::-1])
            out = np.empty(n, dtype)
            f(x, out=out, where=np.array([True] * n))
            assert_same_bits(out, expected)
            f(vals[::-1], out=mm[::-k])  # write through a negative huge step
            assert_same_bits(x, expected)
            x[...] = vals
        for f in UFUNCS:  # in place through a negative huge step
            y = mm[k * (n - 1) :: -k]
            f(y, out=y)
            assert_same_bits(x, f(vals))
            x[...] = vals
    finally:
        del mm, x, y
        gc.collect()
        os.remove(path)  # a 8-51 GB (apparent size) file should not outlive the test


def _mem_available():
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@pytest.mark.slow
def test_more_than_2_31_elements_in_one_loop_call(slow_only, restore_threading):
    """One inner-loop call over 2**31 + 4101 float32 elements (8.6 GB): NumPy hands the
    whole run to one call. In place (the threaded contiguous path: chunk arithmetic and
    the kernels' ptrdiff_t counts) and from a zero-stride input (a broadcast scalar:
    staged once, written straight into out). Sentinels on both sides of 2**31 and at the
    end; every other element checked."""
    n = 2**31 + 4101
    if _mem_available() < n * 4 + (2 << 30):
        pytest.skip("needs ~10 GB of free memory")
    fastgelu.set_num_threads(max(2, fastgelu.get_num_threads()))
    a = np.empty(n, np.float32)
    idx = np.array([0, 1, 2**31 - 1, 2**31, 2**31 + 1, n // 2, n - 2, n - 1])
    vals = np.array([-0.75, 3.0, -2.0, 0.5, -9.0, 7.0, -20.0, 1e-3], np.float32)
    block = 1 << 27

    def all_equal_except(arr, value, skip):
        mismatches = 0
        for s in range(0, n, block):
            mismatches += int(np.count_nonzero(arr[s : s + block] != value))
        return mismatches == len(skip) - int(np.count_nonzero(arr[skip] == value))

    try:
        f = fastgelu.gelu
        a[...] = 1.5
        a[idx] = vals
        t0 = time.perf_counter()
        f(a, out=a)
        dt_inplace = time.perf_counter() - t0
        assert_same_bits(a[idx], f(vals))
        assert all_equal_except(a, f(np.float32(1.5)), idx)
        g = fastgelu.gelu_grad
        t0 = time.perf_counter()
        g(np.broadcast_to(np.float32(-2.0), (n,)), out=a)
        dt_strided = time.perf_counter() - t0
        assert all_equal_except(a, g(np.float32(-2.0)), np.array([], dtype=np.intp))
        print(f"\n2**31+4101 float32: in place (threaded) {dt_inplace:.2f} s, "
              f"zero-stride input {dt_strided:.2f} s")
    finally:
        del a


# =======================================================================================
# Floating-point flags
# =======================================================================================
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
        assert_same_bits(ufunc(np.repeat(x, 2)[::-2])[::-1], y)
        assert_same_bits(ufunc(x.astype(">f2")), y)


@pytest.mark.slow
@pytest.mark.parametrize("name", FUNC_NAMES)
def test_no_fp_exception_for_any_float32(slow_only, name, isa):
    """All 2**32 float32 bit patterns but the 2**24 - 2 signaling NaNs (IEEE lets any
    operation on those raise 'invalid'), threaded, in chunks of 2**24."""
    f = getattr(fastgelu, name)
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


# =======================================================================================
# Threads
# =======================================================================================
def _all_ufuncs():
    """Every ufunc fastgelu exports (the four unary ones and any later additions)."""
    return [getattr(fastgelu, n) for n in fastgelu.__all__
            if isinstance(getattr(fastgelu, n), np.ufunc)]


def _thread_workload():
    """(ufunc, inputs) over every exported ufunc, float32 and float64, and the threaded
    contiguous, serial, strided, broadcast and byte-swapped paths."""
    work = []
    for f in _all_ufuncs():
        for dt in DTYPES:
            for n, step in ((20_011, 1), (257, 1), (9_000, 3), (4_099, -1)):
                ins = tuple(sample(dt, n * abs(step), seed=n + step + k)[::step]
                            for k in range(f.nin))
                work.append((f, ins))
            be = tuple(sample(dt, 3000, seed=k).astype(dt.newbyteorder(">"))
                       for k in range(f.nin))
            work.append((f, be))
            if f.nin > 1:  # a broadcast scalar first input (e.g. grad_out = 1)
                work.append((f, (np.broadcast_to(dt.type(1.5), (20_011,)),)
                             + tuple(sample(dt, 20_011, seed=k) for k in range(1, f.nin))))
    return work


def _as_tuple(r):
    return r if isinstance(r, tuple) else (r,)


def test_many_python_threads_get_the_results_of_one(restore_threading):
    """8 Python threads call at once, each with its own OpenMP team, while a ninth keeps
    changing the thread count and the thresholds (results are bitwise independent of
    both). Every result equals the single-threaded one."""
    fastgelu.set_num_threads(1)
    work = []
    with np.errstate(all="ignore"):
        for f, ins in _thread_workload():
            work.append((f, ins, _as_tuple(f(*ins))))
    fastgelu.set_num_threads(2)
    n_threads, rounds = 8, 2
    barrier = threading.Barrier(n_threads + 1)
    stop = threading.Event()
    errors = []

    def same(a, b):
        return all(np.array_equal(as_bits(u), as_bits(v)) for u, v in zip(a, b))

    def worker(k):
        rng = np.random.default_rng(k)
        barrier.wait()
        try:
            for _ in range(rounds):
                for i in rng.permutation(len(work)):
                    f, ins, expected = work[i]
                    with np.errstate(all="ignore"):
                        y = _as_tuple(f(*ins))
                        outs = tuple(np.empty(e.shape, e.dtype) for e in expected)
                        f(*ins, out=outs)
                    if not (same(y, expected) and same(outs, expected)):
                        errors.append((k, f.__name__, [(a.dtype.str, a.shape, a.strides)
                                                       for a in ins]))
        except Exception as exc:
            errors.append((k, repr(exc)))

    def toggler():
        barrier.wait()
        i = 0
        while not stop.is_set():
            fastgelu.set_num_threads(1 + i % 3)
            _ufuncs.set_parallel_threshold("float32", (64, 8192, 1)[i % 3])
            _ufuncs.set_parallel_threshold("float64", (64, 2048, 1)[i % 3])
            i += 1
            time.sleep(0.0005)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(n_threads)]
    tog = threading.Thread(target=toggler)
    for t in threads + [tog]:
        t.start()
    for t in threads:
        t.join(timeout=120)
    stop.set()
    tog.join(timeout=10)
    assert not any(t.is_alive() for t in threads + [tog]), "a thread hung"
    assert not errors, errors[:10]


def test_fp_flags_of_one_thread_never_reach_another(restore_threading):
    """Threads computing signaling NaNs and underflowing tails (flags 'invalid' and
    'underflow') under errstate('ignore') run beside threads computing clean input under
    errstate(all='raise'), all on the threaded path: a flag raised in one thread's
    OpenMP team must never be reported in another thread."""
    fastgelu.set_num_threads(2)
    _ufuncs.set_parallel_threshold("float32", 64)
    _ufuncs.set_parallel_threshold("float64", 64)
    clean = {dt: np.linspace(-5, 5, 30_001).astype(dt) for dt in DTYPES}
    dirty = {}
    for dt in DTYPES:
        d = np.ones(30_001, dt)
        ut = BITS[dt.itemsize]
        snan = ut(0x7F800001) if dt == np.float32 else ut(0x7FF0000000000001)
        d.view(ut)[::97] = snan
        d[50::97] = -15.0 if dt == np.float32 else -40.0  # results below the normal range
        dirty[dt] = d
        for f in UFUNCS:  # the dirty input does raise both flags, the clean one none
            with np.errstate(invalid="raise"), pytest.raises(FloatingPointError):
                f(d)
            with np.errstate(under="raise", invalid="ignore"), pytest.raises(
                    FloatingPointError):
                f(d)
            with np.errstate(all="raise"):
                f(clean[dt])
    barrier = threading.Barrier(6)
    errors = []

    def run(kind, k):
        barrier.wait()
        try:
            for i in range(60):
                f = UFUNCS[(i + k) % 4]
                dt = DTYPES[i % 2]
                if kind == "dirty":
                    with np.errstate(all="ignore"):
                        f(dirty[dt])
                else:
                    with np.errstate(all="raise"):
                        f(clean[dt])
        except Exception as exc:
            errors.append((kind, k, repr(exc)))

    threads = [threading.Thread(target=run, args=(kind, k))
               for k in range(3) for kind in ("dirty", "clean")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors[:5]


def test_short_lived_threads_leave_no_openmp_threads_behind(restore_threading):
    """Each Python thread that makes a threaded call gets its own OpenMP team; when the
    thread ends its team must go too (no growth in the process's threads)."""
    if not os.path.isdir("/proc/self/task"):
        pytest.skip("needs /proc")
    fastgelu.set_num_threads(2)
    x = np.linspace(-5, 5, 100_000)
    expected = fastgelu.gelu(x)

    def tasks():
        return len(os.listdir("/proc/self/task"))

    def one():
        assert_same_bits(fastgelu.gelu(x), expected)

    t = threading.Thread(target=one)
    t.start()
    t.join()
    before = tasks()
    for _ in range(150):
        t = threading.Thread(target=one)
        t.start()
        t.join()
    deadline = time.monotonic() + 5
    while tasks() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert tasks() <= before


def _ticks_during(call):
    """Run ``call`` while a second Python thread counts; return (seconds the call took,
    ticks of the counter -- one per 256 counts -- in the middle half of the call)."""
    ticks = []
    stop = threading.Event()
    started = threading.Event()

    def counter():
        count = 0
        while not stop.is_set():
            count += 1
            if count & 255 == 0:
                ticks.append(time.perf_counter())
                started.set()

    t = threading.Thread(target=counter)
    t.start()
    try:
        started.wait(10)
        t0 = time.perf_counter()
        call()
        t1 = time.perf_counter()
    finally:
        stop.set()
        t.join()
    a, b = t0 + (t1 - t0) / 4, t1 - (t1 - t0) / 4
    return t1 - t0, sum(1 for s in ticks if a < s < b)


@pytest.mark.parametrize("layout", ["contiguous, threaded", "contiguous, 1 thread",
                                    "strided", "big-endian"])
def test_the_gil_is_released_during_a_call(layout, restore_threading):
    """Another Python thread keeps running during a long call. (Were the GIL held, the
    counter could run at most one 5 ms switch interval after the call's start time was
    taken, and never in the middle half of a call of >= 80 ms.)"""
    fastgelu.set_num_threads(2 if layout == "contiguous, threaded" else 1)
    n = 1 << 22
    while True:
        base = np.linspace(-5, 5, 2 * n if layout == "strided" else n)
        x = {"strided": base[::2], "big-endian": base.astype(">f8")}.get(layout, base)
        out = np.empty(n)
        t0 = time.perf_counter()
        fastgelu.gelu(x, out=out)
        if time.perf_counter() - t0 > 0.08 or n >= 1 << 24:
            break
        n *= 2
    seconds, inside = _ticks_during(lambda: fastgelu.gelu(x, out=out))
    assert seconds > 0.03 and inside >= 5, (
        f"{layout}: {inside} ticks of the other thread in the middle of a {seconds:.3f} s "
        f"call of {n} elements")


SMALL_STACK_SCRIPT = textwrap.dedent(
    """
    import sys, threading
    import numpy as np
    import fastgelu

    UFUNCS = [getattr(fastgelu, n) for n in fastgelu.__all__
              if isinstance(getattr(fastgelu, n), np.ufunc)]

    def strided(dt, n=3000, k=3):
        return np.linspace(-3, 3, k * n).astype(dt)[::k]

    def run():
        # NumPy's own ufuncs, strided, two outputs: fine with this stack
        a = strided(np.float64)
        np.divmod(a, a + 5, out=(np.empty(6000)[::2], np.empty(6000)[::2]))
        np.exp(a, out=np.empty(6000)[::2])
        print("numpy ok", flush=True)
        for u in UFUNCS:
            for code in sorted({t[0] for t in u.types} & set("efd")):
                dt = np.dtype(code)
                print("calling", u.__name__, dt.name, flush=True)  # the last line on a crash
                ins = [strided(dt) for _ in range(u.nin)]
                outs = tuple(np.empty(6000, dt)[::2] for _ in range(u.nout))
                with np.errstate(all="ignore"):
                    u(*ins, out=outs)
        print("all ok", flush=True)

    threading.stack_size(int(sys.argv[1]))
    t = threading.Thread(target=run)
    t.start()
    t.join()
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX thread stacks")
def test_strided_calls_in_threads_with_small_stacks(tmp_path):
    """threading.stack_size(32 KiB), the minimum Python allows: NumPy's ufuncs work in
    such a thread, so every fastgelu ufunc must too -- strided operands, every loop.
    (Staging blocks of 5 x 1024 float64 on the stack, 40 KiB, crashed here.)"""
    script = tmp_path / "small_stack.py"
    script.write_text(SMALL_STACK_SCRIPT)
    done = subprocess.run([sys.executable, str(script), str(32 * 1024)],
                          capture_output=True, text=True, timeout=120)
    assert "numpy ok" in done.stdout, done.stdout + done.stderr
    last = (done.stdout.strip().splitlines() or ["(nothing)"])[-1]
    assert done.returncode == 0 and last == "all ok", (
        f"exit status {done.returncode}; last line: {last!r}")


# ---------------------------------------------------------------------------------------
# Ctrl-C
# ---------------------------------------------------------------------------------------
CTRL_C_SCRIPT = textwrap.dedent(
    """
    import signal, sys, threading, time
    import numpy as np
    import fastgelu

    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started ignored
    fastgelu.set_num_threads(2)
    small = np.linspace(-5, 5, 100_000)
    expected = fastgelu.gelu(small).tobytes()

    def check(label):
        assert fastgelu.gelu(small).tobytes() == expected           # threaded
        assert fastgelu.gelu(small[::-1])[::-1].tobytes() == expected  # strided
        print(label, "usable", flush=True)

    # 1. a loop of calls: the interrupt lands during one of them or between two
    big = np.linspace(-5, 5, 1 << 22)
    out = np.empty_like(big)
    print("ready loop", flush=True)
    try:
        for _ in range(100_000):
            fastgelu.gelu(big, out=out)
        print("not interrupted", flush=True)
        sys.exit(3)
    except KeyboardInterrupt:
        print("interrupted loop", flush=True)
    check("after loop:")

    # 2. one long call (in place, >= 0.2 s): NumPy checks no signal inside one loop call,
    # so the call completes and KeyboardInterrupt is raised as it returns.
    fastgelu.set_num_threads(1)
    n = 1 << 22
    while True:
        x = np.arange(n, dtype=np.float64) * (10.0 / n) - 5.0
        t0 = time.perf_counter(); fastgelu.gelu_grad(x, out=x)
        if time.perf_counter() - t0 > 0.2 or n >= 1 << 27:
            break
        n *= 2
    print("long call: %d elements, %.3f s" % (n, time.perf_counter() - t0), flush=True)
    x = np.arange(n, dtype=np.float64) * (10.0 / n) - 5.0
    entered = threading.Event()

    def announce():  # runs while the main thread is inside the call (GIL released)
        entered.wait()
        time.sleep(0.05)
        print("ready call", flush=True)

    threading.Thread(target=announce, daemon=True).start()
    t0 = time.perf_counter()
    try:
        entered.set()
        fastgelu.gelu_grad(x, out=x)
        for _ in range(500):
            time.sleep(0.01)
        print("not interrupted", flush=True)
        sys.exit(3)
    except KeyboardInterrupt:
        print("interrupted call after %.3f s" % (time.perf_counter() - t0), flush=True)
    idx = np.arange(0, n, 4099)
    ref = fastgelu.gelu_grad(idx * (10.0 / n) - 5.0)
    assert x[idx].tobytes() == ref.tobytes(), "the interrupted call did not finish"
    assert x[-1] == fastgelu.gelu_grad((n - 1) * (10.0 / n) - 5.0)
    print("interrupted call completed its result", flush=True)
    fastgelu.set_num_threads(2)
    check("after call:")
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child is POSIX")
def test_ctrl_c_during_calls_leaves_the_process_usable(tmp_path):
    """SIGINT during a loop of calls and during one long call: KeyboardInterrupt, and
    the process (threaded and strided paths) keeps working and exits cleanly."""
    script = tmp_path / "ctrl_c.py"
    script.write_text(CTRL_C_SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    lines = queue.Queue()

    def reader():
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=reader, daemon=True).start()
    seen = []
    try:
        deadline = time.monotonic() + 120
        for ready in ("ready loop", "ready call"):
            while True:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
                assert line is not None, "\n".join(seen) + proc.stderr.read()
                seen.append(line)
                if line == ready:
                    break
            if ready == "ready loop":
                time.sleep(0.2)  # well inside the loop
            proc.send_signal(signal.SIGINT)
        proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        while (line := lines.get(timeout=10)) is not None:
            seen.append(line)
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = "\n".join(seen)
    assert proc.returncode == 0, f"{text}\n{err}"
    for expected in ("interrupted loop", "after loop: usable", "interrupted call after",
                     "interrupted call completed its result", "after call: usable"):
        assert expected in text, text
    print("\n" + text)


# =======================================================================================
# Memory
# =======================================================================================
@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
def test_no_memory_growth_over_100k_calls():
    """~100k calls (8 per round, incl. errors, plus 2 of a binary or two-output ufunc
    if the build has them): RSS grows by less than 4 MB after
    warm-up (a leak of 40 bytes a call would show), and the reference counts of the
    ufuncs and of every argument are unchanged."""
    round_, args, _, _ = rss_soak.call_mix()
    for i in range(2000):
        round_(i)
    gc.collect()
    refs = [sys.getrefcount(o) for o in list(UFUNCS) + args]
    rss0 = rss_soak.rss_mib() * 2**20
    for i in range(12_500):
        round_(i)
    gc.collect()
    grown = rss_soak.rss_mib() * 2**20 - rss0
    assert [sys.getrefcount(o) for o in list(UFUNCS) + args] == refs
    assert grown < 4 << 20, f"RSS grew by {grown / 2**20:.1f} MiB over 100k calls"
