"""The four functions behave as NumPy ufuncs exactly like np.exp does, and threading
never changes a bit of the result."""
from __future__ import annotations

import doctest
import pickle
import types

import numpy as np
import pytest
from _helpers import as_bits, assert_same_bits, run_doctests, sample

import fastgelu
from fastgelu import _ufuncs


@pytest.fixture(autouse=True)
def _quiet_fp():
    """These tests are about layouts and dispatch; floating-point flags (from the inf
    and nan in the samples) are test_values.py's business."""
    with np.errstate(all="ignore"):
        yield


def raised_by(call):
    """The exception type `call` raises (None if it returns)."""
    try:
        call()
    except Exception as exc:
        return type(exc)
    return None


# ---------------------------------------------------------------------------------------
# The ufunc objects
# ---------------------------------------------------------------------------------------
def test_is_a_real_unary_ufunc(name, ufunc):
    assert isinstance(ufunc, np.ufunc)
    assert ufunc.__name__ == name
    assert (ufunc.nin, ufunc.nout, ufunc.nargs) == (1, 1, 2)
    assert "f->f" in ufunc.types and "d->d" in ufunc.types
    assert ufunc.signature is None  # elementwise, not a gufunc


def test_all_is_complete():
    for attr in fastgelu.__all__:
        assert hasattr(fastgelu, attr), attr
    public = {
        n for n, v in vars(fastgelu).items()
        if not n.startswith("_") and not isinstance(v, types.ModuleType)
    }
    assert public <= set(fastgelu.__all__), public - set(fastgelu.__all__)
    assert {k.name for k in _ufuncs.KERNELS} | {"show_config", "get_num_threads", "set_num_threads",
                                      "get_isa", "set_isa", "__version__"} == set(fastgelu.__all__)
    assert isinstance(fastgelu.__version__, str) and fastgelu.__version__


@pytest.mark.parametrize("protocol", range(2, pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_round_trip(ufunc, tier, protocol):
    # pickle finds it in its tier's module, without a module scan
    module = {"exact": "fastgelu", "fast": "fastgelu.fast"}[tier]
    assert ufunc.__module__ == _ufuncs.TIER_MODULES[tier] == module
    assert pickle.loads(pickle.dumps(ufunc, protocol=protocol)) is ufunc


# ---------------------------------------------------------------------------------------
# Keyword arguments
# ---------------------------------------------------------------------------------------
def test_out_and_in_place(ufunc, dtype):
    x = sample(dtype)
    expected = ufunc(x)
    out = np.empty_like(x)
    assert ufunc(x, out=out) is out
    assert_same_bits(out, expected)
    out2 = np.empty_like(x)
    assert ufunc(x, out=(out2,)) is out2
    assert_same_bits(out2, expected)
    y = x.copy()
    assert ufunc(y, out=y) is y
    assert_same_bits(y, expected)


def test_where_leaves_other_elements_untouched(ufunc, dtype):
    x = sample(dtype)
    mask = np.random.default_rng(1).random(x.size) < 0.5
    out = np.full_like(x, 1234.5)
    ufunc(x, out=out, where=mask)
    assert_same_bits(out[mask], ufunc(x)[mask])
    assert np.all(out[~mask] == dtype.type(1234.5))


def test_dtype_argument(ufunc):
    x32 = sample(np.float32)
    y = ufunc(x32, dtype=np.float64)
    assert y.dtype == np.float64
    assert_same_bits(y, ufunc(x32.astype(np.float64)))
    # float64 input, float32 loop: allowed under same_kind casting, as for np.exp
    x64 = sample(np.float64)
    assert np.exp(x64, dtype=np.float32).dtype == np.float32
    y = ufunc(x64, dtype=np.float32)
    assert_same_bits(y, ufunc(x64.astype(np.float32)))
    assert_same_bits(ufunc(x64, signature=("f", "f")), y)


CASTING_ERRORS = {
    "out float32, casting=no": lambda f: f(np.arange(3.0), out=np.empty(3, np.float32),
                                           casting="no"),
    "out int64": lambda f: f(np.arange(3.0), out=np.empty(3, np.int64)),
    "out int64, same_kind": lambda f: f(np.arange(3.0), out=np.empty(3, np.int64),
                                        casting="same_kind"),
    "dtype float32, casting=safe": lambda f: f(np.arange(3.0), dtype=np.float32,
                                               casting="safe"),
    "int input, casting=no": lambda f: f(np.arange(3), casting="no"),
    "dtype int": lambda f: f(np.arange(3.0), dtype=np.int64),
    "bad casting name": lambda f: f(np.arange(3.0), casting="whatever"),
}


@pytest.mark.parametrize("case", sorted(CASTING_ERRORS))
def test_casting_errors_match_numpy(ufunc, case):
    call = CASTING_ERRORS[case]
    expected = raised_by(lambda: call(np.exp))
    assert expected is not None, f"np.exp accepts {case!r}: fix the test case"
    with pytest.raises(expected):
        call(ufunc)


def test_unsafe_casting_into_int_out_works_like_numpy(ufunc):
    x = np.array([-3.5, 0.2, 2.7, 40.0])
    out = np.zeros(4, np.int64)
    ufunc(x, out=out, casting="unsafe")
    np.testing.assert_array_equal(out, ufunc(x).astype(np.int64))


def test_broadcast_into_a_larger_out(ufunc, dtype):
    x = sample(dtype, 50)
    out = np.empty((3, 50), dtype)
    ufunc(x, out=out)
    for row in out:
        assert_same_bits(row, ufunc(x))
    col = x[:4, None]
    out = np.empty((4, 5), dtype)
    ufunc(col, out=out)
    assert_same_bits(out, np.repeat(ufunc(col), 5, axis=1))


# ---------------------------------------------------------------------------------------
# Memory layouts: always the same bits as the contiguous copy
# ---------------------------------------------------------------------------------------
def _layouts(dtype):
    base = sample(dtype, 6000)
    return {
        "step 3": base[::3],
        "reversed": base[::-1],
        "step -2": base[::-2],
        "fortran 2-D": np.asfortranarray(base[:6000].reshape(60, 100)),
        "transposed slice": base.reshape(60, 100)[5:50:2, ::3].T,
        "zero stride": np.broadcast_to(base[7], (3000,)),
        "zero stride 2-D": np.broadcast_to(base[:40], (25, 40)),
        "long strided run": base[::2],  # > the strided path's 1024-element block
    }


@pytest.mark.parametrize("layout", sorted(_layouts(np.float64)))
def test_strided_inputs_give_the_contiguous_bits(ufunc, dtype, layout):
    x = _layouts(dtype)[layout]
    expected = ufunc(np.ascontiguousarray(x))
    assert_same_bits(ufunc(x), expected)
    # non-contiguous output too, and order= as np.exp takes it
    out = np.empty(tuple(2 * s for s in x.shape), dtype)[(slice(None, None, 2),) * x.ndim]
    ufunc(x, out=out)
    assert_same_bits(out, expected)
    assert ufunc(x, order="C").flags.c_contiguous
    assert ufunc(x, order="F").flags.f_contiguous


@pytest.mark.parametrize("order", [">", "<"])
def test_byte_order(ufunc, dtype, order):
    x = sample(dtype)
    xs = x.astype(dtype.newbyteorder(order))
    y = ufunc(xs)
    assert y.dtype == dtype  # native result, as np.exp gives
    assert_same_bits(y, ufunc(x))
    out = np.empty_like(xs)
    ufunc(xs, out=out)
    np.testing.assert_array_equal(out.astype(dtype).view(as_bits(x).dtype),
                                  as_bits(ufunc(x)))


def _unaligned(dtype, n):
    buf = bytearray(n * dtype.itemsize + 1)
    a = np.frombuffer(buf, dtype=dtype, count=n, offset=1)
    assert not a.flags.aligned and a.flags.writeable
    return a


def test_unaligned_input_and_output(ufunc, dtype):
    x = sample(dtype, 3001)
    xu = _unaligned(dtype, x.size)
    xu[...] = x
    expected = ufunc(x)
    assert_same_bits(ufunc(xu), expected)
    out = _unaligned(dtype, x.size)
    ufunc(x, out=out)
    assert_same_bits(out, expected)


@pytest.mark.parametrize("threaded", [False, True], ids=["serial", "threaded"])
def test_overlapping_input_and_output(ufunc, dtype, threaded, restore_threading):
    # NumPy skips its copy for overlap a forward loop handles (out at or before the
    # input); threaded, the kernel must then still see every input before it is written.
    if threaded:
        fastgelu.set_num_threads(2)
        _ufuncs.set_parallel_threshold(dtype, 64)
    x = sample(dtype, 5000)
    forward = x.copy()
    ufunc(forward[:-1], out=forward[1:])
    assert_same_bits(forward[1:], ufunc(x[:-1]))
    backward = x.copy()
    ufunc(backward[1:], out=backward[:-1])
    assert_same_bits(backward[:-1], ufunc(x[1:]))
    reversed_ = x.copy()
    ufunc(reversed_, out=reversed_[::-1])
    assert_same_bits(reversed_[::-1], ufunc(x))


def test_results_do_not_depend_on_position_or_length(ufunc, dtype):
    """The vectorized body, the remainder and every alignment give the same bits."""
    x = sample(dtype, 300, seed=4)
    full = ufunc(x)
    for start in range(0, 20):
        for length in (1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 63, 65, 130):
            part = x[start:start + length]
            assert_same_bits(ufunc(part), full[start:start + length])
    singles = np.array([ufunc(v) for v in x[:64]], dtype=dtype)
    assert_same_bits(singles, full[:64])


# ---------------------------------------------------------------------------------------
# Inputs of every kind
# ---------------------------------------------------------------------------------------
def test_zero_dimensional_and_scalars(ufunc):
    for arg in (np.array(0.5), 0.5, 1, np.float64(0.5), np.float32(0.5), np.int16(3)):
        r, e = ufunc(arg), np.exp(arg)
        assert type(r) is type(e), (arg, type(r), type(e))
    assert type(ufunc(0.5)) is np.float64
    assert ufunc(0.5) == ufunc(np.array([0.5]))[0]
    out = np.empty(())
    assert ufunc(np.array(0.5), out=out) is out and out[()] == ufunc(0.5)


def test_lists(ufunc):
    y = ufunc([[-1.0, 0.0], [1.0, 2.0]])
    assert isinstance(y, np.ndarray) and y.dtype == np.float64 and y.shape == (2, 2)
    assert_same_bits(y, ufunc(np.array([[-1.0, 0.0], [1.0, 2.0]])))


@pytest.mark.parametrize("shape", [(0,), (3, 0)])
def test_empty(ufunc, dtype, shape):
    y = ufunc(np.empty(shape, dtype))
    assert y.shape == shape and y.dtype == dtype


INT_RESULT = {  # input dtype -> loop dtype: np.exp's choice (bool, int8, uint8 cast
    # safely to float16, the first loop)
    np.int8: np.float16, np.uint8: np.float16, np.bool_: np.float16,
    np.int16: np.float32, np.uint16: np.float32,
    np.int32: np.float64, np.uint32: np.float64, np.int64: np.float64, np.uint64: np.float64,
}


@pytest.mark.parametrize("itype", list(INT_RESULT), ids=lambda t: np.dtype(t).name)
def test_integer_and_bool_inputs(ufunc, itype):
    x = np.array([0, 1, 2, 3, 7, 100], dtype=np.int64).astype(itype)
    y = ufunc(x)
    assert y.dtype == INT_RESULT[itype] == np.exp(x).dtype
    assert_same_bits(y, ufunc(x.astype(y.dtype)))
    if np.issubdtype(itype, np.signedinteger):
        xn = -x
        assert_same_bits(ufunc(xn), ufunc(xn.astype(y.dtype)))


def test_float16_computes_in_float32(ufunc):
    """float16 has its own loop (float16 out), computed by the float32 kernel and
    rounded to float16: the same bits as casting the float32 result (tests/test_float16.py
    checks the accuracy)."""
    x = sample(np.float16, 200)
    y = ufunc(x)
    assert y.dtype == np.float16
    assert_same_bits(y, ufunc(x.astype(np.float32)).astype(np.float16))


UNSUPPORTED = {
    "complex64": lambda: np.array([1 + 1j], np.complex64),
    "complex128": lambda: np.array([1 + 1j]),
    "str": lambda: np.array(["1.0"]),
    "bytes": lambda: np.array([b"1.0"]),
    "datetime64": lambda: np.array(["2024-01-01"], "M8[D]"),
    "timedelta64": lambda: np.array([1], "m8[s]"),
    "object": lambda: np.array([object(), "a"], dtype=object),
    "python complex": lambda: 1j,
}


@pytest.mark.parametrize("kind", sorted(UNSUPPORTED))
def test_unsupported_dtypes_raise_type_error(ufunc, kind):
    with pytest.raises(TypeError):
        ufunc(UNSUPPORTED[kind]())


# ---------------------------------------------------------------------------------------
# Protocols and ufunc methods
# ---------------------------------------------------------------------------------------
class Duck:
    """A minimal duck array: records the call and applies it to its payload."""

    def __init__(self, data):
        self.data = np.asarray(data)
        self.calls = []

    def __array_ufunc__(self, uf, method, *inputs, **kwargs):
        self.calls.append((uf, method, len(inputs), sorted(kwargs)))
        args = [i.data if isinstance(i, Duck) else i for i in inputs]
        return Duck(getattr(uf, method)(*args, **kwargs))


def test_array_ufunc_dispatch(ufunc):
    d = Duck([-1.0, 0.5, 2.0])
    r = ufunc(d)
    assert isinstance(r, Duck)
    assert d.calls == [(ufunc, "__call__", 1, [])]
    assert_same_bits(r.data, ufunc(d.data))
    r = ufunc(d, dtype=np.float32)
    assert d.calls[-1] == (ufunc, "__call__", 1, ["dtype"]) and r.data.dtype == np.float32
    ufunc.at(d, [0])
    assert d.calls[-1][:2] == (ufunc, "at")


def test_ndarray_subclass_is_preserved(ufunc):
    class Sub(np.ndarray):
        pass

    x = np.arange(4.0).view(Sub)
    assert type(ufunc(x)) is type(np.exp(x)) is Sub


@pytest.mark.parametrize("method,args", [
    ("reduce", (np.arange(3.0),)),
    ("accumulate", (np.arange(3.0),)),
    ("reduceat", (np.arange(3.0), [0, 1])),
    ("outer", (np.arange(3.0), np.arange(3.0))),
])
def test_binary_only_methods_raise_like_numpy(ufunc, method, args):
    expected = raised_by(lambda: getattr(np.exp, method)(*args))
    assert expected is ValueError
    with pytest.raises(expected, match="binary"):
        getattr(ufunc, method)(*args)


def test_at_method(ufunc, dtype):
    x = sample(dtype, 20)
    idx = [0, 3, 3, 19]  # repeated index: applied twice, as for np.exp.at
    y = x.copy()
    ufunc.at(y, idx)
    expected = x.copy()
    for i in idx:
        expected[i] = ufunc(expected[i])
    assert_same_bits(y, expected)


# ---------------------------------------------------------------------------------------
# Documentation
# ---------------------------------------------------------------------------------------
def test_docstring_is_numpy_style(name, ufunc):
    doc = ufunc.__doc__
    assert doc.startswith(f"{name}(x, /, out=None")  # NumPy prepends the signature
    for section in ("Parameters\n----------", "Returns\n-------", "Examples\n--------",
                    "See Also\n--------", "Notes\n-----"):
        assert section in doc, section


def test_docstring_examples_run(name, ufunc):
    results, report = run_doctests(ufunc.__doc__, name)
    assert results.attempted >= 2
    assert results.failed == 0, f"docstring example of {name} is wrong:\n{report}"


def test_module_doctests():
    finder = doctest.DocTestFinder()
    attempted = 0
    for module in (fastgelu, fastgelu._config):
        for test in finder.find(module):
            runner = doctest.DocTestRunner(
                optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
            out = []
            runner.run(test, out=out.append)
            assert runner.failures == 0, "".join(out)
            attempted += runner.tries
    assert attempted >= 2


# ---------------------------------------------------------------------------------------
# Threads
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [
    1, 5, 63, 64, 65, 127, 129, 1000, 4099, 200_003,
])
def test_threaded_path_is_bitwise_identical_to_serial(ufunc, dtype, n, restore_threading):
    x = sample(dtype, n + 1, seed=n)
    key = dtype.name
    _ufuncs.set_parallel_threshold(key, 10**12)  # never threaded
    fastgelu.set_num_threads(2)
    serial = ufunc(x)
    serial_off = ufunc(x[1:])  # a start that is not vector-aligned
    _ufuncs.set_parallel_threshold(key, 1)  # always threaded
    for threads in (1, 2, 3):
        fastgelu.set_num_threads(threads)
        assert_same_bits(ufunc(x), serial)
        assert_same_bits(ufunc(x[1:]), serial_off)
        y = x.copy()
        ufunc(y, out=y)
        assert_same_bits(y, serial)


def _fp_outcome(ufunc, x):
    try:
        with np.errstate(all="raise"):
            ufunc(x)
    except FloatingPointError as exc:
        return str(exc)
    return None


@pytest.mark.parametrize("special", ["signaling nan", "underflow", "-inf"])
def test_floating_point_flags_do_not_depend_on_threads(ufunc, dtype, special,
                                                       restore_threading):
    """np.errstate must see the same flags whichever thread computed the element: the
    special value sits at the end of the array, in the last thread's chunk."""
    n = 100_003
    bits = np.ones(n, dtype).view(as_bits(np.ones(1, dtype)).dtype)
    if special == "signaling nan":
        bits[-1] = 0x7F800001 if dtype == np.float32 else 0x7FF0000000000001
    x = bits.view(dtype)
    if special == "underflow":
        x[-1] = -40.0 if dtype == np.float64 else -15.0  # result below the normal range
    elif special == "-inf":
        x[-1] = -np.inf
    _ufuncs.set_parallel_threshold(dtype.name, 1)
    fastgelu.set_num_threads(1)
    serial = _fp_outcome(ufunc, x)
    fastgelu.set_num_threads(2)
    threaded = _fp_outcome(ufunc, x)
    assert threaded == serial, (
        f"{ufunc.__name__}({special}) with errstate(all='raise'): 1 thread -> {serial!r}, "
        f"2 threads -> {threaded!r}")


def test_parallel_threshold_round_trip(restore_threading):
    for key in ("float32", "float64"):
        _ufuncs.set_parallel_threshold(key, 12345)
        assert _ufuncs.get_parallel_threshold(key) == 12345
        with pytest.raises(ValueError):
            _ufuncs.set_parallel_threshold(key, 0)


def test_num_threads_round_trip(restore_threading):
    for n in (1, 2, 3, 1):
        fastgelu.set_num_threads(n)
        assert fastgelu.get_num_threads() == (n if _ufuncs.openmp_enabled() else 1)


@pytest.mark.parametrize("bad", [0, -1])
def test_set_num_threads_rejects_non_positive(bad, restore_threading):
    before = fastgelu.get_num_threads()
    with pytest.raises(ValueError):
        fastgelu.set_num_threads(bad)
    assert fastgelu.get_num_threads() == before


def test_threadpoolctl_caps_the_threads(restore_threading):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if not _ufuncs.openmp_enabled():
        pytest.skip("serial build: always 1 thread")
    fastgelu.set_num_threads(2)
    with threadpoolctl.threadpool_limits(1):
        assert fastgelu.get_num_threads() == 1
    assert fastgelu.get_num_threads() == 2
