"""Bad input: what a user can throw at the ufuncs never corrupts data or warns for no
reason.

Complements test_ufunc_api.py (ufunc behaviour, layouts, casting errors). Here: object
arrays, every wrong ``out=``/``where=``/``dtype=`` -- NumPy's error (the same one np.exp
gives) and ``out`` left untouched; read-only inputs; aliasing that NumPy may leave to the
loop; unaligned big-endian strided fields.
"""
from __future__ import annotations

import numpy as np
import pytest
from _helpers import assert_same_float_bits, sample
from numpy.lib.stride_tricks import as_strided

import fastgelu
from fastgelu import _ufuncs


def outcome(call):
    """The exception type ``call`` raises, or None."""
    try:
        with np.errstate(all="ignore"):
            call()
    except Exception as exc:
        return type(exc)
    return None


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
    assert_same_float_bits(y, ufunc(x.astype(np.float64)))
    with np.errstate(over="ignore"):  # NumPy's cast of 3e300 to float32
        y32 = ufunc(x, signature=("f", "f"), casting="unsafe")
        assert_same_float_bits(y32, ufunc(x.astype(np.float32)))


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
        assert_same_float_bits(out, ufunc(x.astype(np.float64)))
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
    assert_same_float_bits(x, x_before)
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
        assert_same_float_bits(ufunc(v), expected)
        out = np.empty_like(x)
        ufunc(v, out=out)
        assert_same_float_bits(out, expected)
        with pytest.raises(ValueError, match="read-only"):
            ufunc(v, out=v)
        assert_same_float_bits(v, x)
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
    assert_same_float_bits(x, keep)


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
    assert_same_float_bits(out, expected)


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
    assert_same_float_bits(out, expected)


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
    assert_same_float_bits(buf, ufunc(x[-1:]))


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
    assert_same_float_bits(ufunc(field), expected)
    assert_same_float_bits(ufunc(field[::-3]), ufunc(x[::-3]))
    out = np.zeros(n, dtype=rec.dtype)
    ufunc(x, out=out["v"])
    assert_same_float_bits(out["v"], expected)
    assert np.all(out["tag"] == 0)  # the neighbouring field is untouched
    ufunc(field, out=field)  # in place, all three at once
    assert_same_float_bits(field, expected)
    assert np.all(rec["tag"] == 0)


def test_zero_stride_big_endian_input(ufunc, dtype):
    for v in sample(dtype, 40, seed=8):
        be = np.array(v, dtype=dtype.newbyteorder(">"))
        x = np.broadcast_to(be, (1500,))
        assert_same_float_bits(ufunc(x), np.full(1500, ufunc(np.array([v]))[0], dtype))

