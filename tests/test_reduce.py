"""reduce, accumulate, reduceat, at and outer of the two-input ufuncs (issue 13, point 1).

NumPy runs these methods through the ufunc's own inner loop with the output aliasing an
input: ``reduce`` (and ``reduceat``, per segment) passes the running value as input 0 and
as the output, both with stride 0; ``accumulate`` passes the output one element ahead of
input 0. Each element must then see the value the previous one wrote. Every result here
is compared bit for bit with the Python fold over the same ufunc (``functools.reduce``,
``itertools.accumulate``), whose every step is a one-element call: any dtype, length,
stride, axis, memory order and thread count.

The fold of a random input decays to 0 or overflows within tens of steps for some of
these functions (geglu's running value is gelu(acc) * b), after which every element
gives the same bits whatever the loop reads. :func:`steered` picks inputs that keep the
running value near magnitude 1, so that every step counts.
"""
from __future__ import annotations

import contextlib
import functools
import itertools

import numpy as np
import pytest
from _helpers import tier_of, ufunc_of

import fastgelu
from fastgelu import _ufuncs

BINARY = ("geglu", "geglu_tanh", "gelu_backward", "gelu_tanh_backward")
DTYPES = [np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)]
if _ufuncs.bfloat16 is not None:  # ml_dtypes imports: the bfloat16 loops are registered
    DTYPES.append(_ufuncs.bfloat16)
LENGTHS = (1, 2, 17, 1000)


@pytest.fixture(params=[(t, n) for t in _ufuncs.TIERS for n in BINARY],
                ids=lambda p: "-".join(p))
def f(request):
    """Each binary ufunc of each tier."""
    tier, name = request.param
    return ufunc_of(name, tier)


@pytest.fixture(params=DTYPES, ids=lambda d: d.name)
def dt(request):
    return request.param


@pytest.fixture(params=[1, 2], ids=lambda t: f"{t}thread")
def threaded(request, restore_threading):
    """A context for the call under test: 1 or 2 threads, every contiguous run long
    enough to be split. (The folds run outside it: one-element calls that would each
    wake the thread team.)"""
    @contextlib.contextmanager
    def context():
        saved = {key: _ufuncs.get_parallel_threshold(key) for key in ("float32", "float64")}
        fastgelu.set_num_threads(request.param)
        for key in saved:
            _ufuncs.set_parallel_threshold(key, 1)
        try:
            with np.errstate(all="ignore"):
                yield
        finally:
            for key, n in saved.items():
                _ufuncs.set_parallel_threshold(key, n)
    return context


def bits(a):
    """The bits of an array (or scalar) of any of the four dtypes, for exact comparison."""
    a = np.ascontiguousarray(a)
    return a.view(f"u{a.dtype.itemsize}")


def assert_same_bits(actual, expected, what):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype, (what, actual.dtype, expected.dtype)
    assert actual.shape == expected.shape, (what, actual.shape, expected.shape)
    diff = np.flatnonzero(bits(actual) != bits(expected))
    assert diff.size == 0, (
        f"{what}: {diff.size} of {expected.size} elements differ from the fold, first at "
        f"{diff[0]}: {actual.ravel()[diff[0]]!r} != {expected.ravel()[diff[0]]!r}")


@functools.cache
def _steered(tier, name, dtype, n, seed):
    f = ufunc_of(name, tier)
    rng = np.random.default_rng(seed)
    candidates = (rng.standard_normal((n, 8)) * 2).astype(dtype)
    a = candidates[:, 0].copy()
    acc = a[0]
    with np.errstate(all="ignore"):
        for i in range(1, n):
            ys = f(acc, candidates[i])
            k = np.argmin(np.abs(np.log2(np.abs(ys.astype(np.float64)))))
            a[i], acc = candidates[i, k], ys[k]
    a.flags.writeable = False
    return a


def steered(f, dtype, n, seed=0):
    """n inputs of dtype whose fold with f stays near magnitude 1: each element is the one
    of eight random candidates that brings the running value closest to 1."""
    return _steered(tier_of(f), f.__name__, np.dtype(dtype), n, seed).copy()


def fold(f, a):
    with np.errstate(all="ignore"):
        return functools.reduce(f, a)


def running_fold(f, a):
    with np.errstate(all="ignore"):
        return np.array(list(itertools.accumulate(a, f)), dtype=a.dtype)


def fold_along(fold_1d, f, a, axis):
    """A 1-D fold applied to every line of a 2-D array along axis."""
    lines = [fold_1d(f, np.take(a, j, axis=1 - axis)) for j in range(a.shape[1 - axis])]
    return np.stack(lines, axis=1 - axis) if np.ndim(lines[0]) else np.array(lines, a.dtype)


def reduceat_fold(f, a, indices):
    """What ufunc.reduceat does, segment by segment, with the Python fold."""
    ends = list(indices[1:]) + [len(a)]
    out = [fold(f, a[i:j]) if i < j else a[i] for i, j in zip(indices, ends)]
    return np.array(out, dtype=a.dtype)


def test_steered_inputs_keep_the_fold_alive(f, dt):
    """The inputs do what the tests rely on: the running value stays in (1/64, 64)."""
    run = np.abs(running_fold(f, steered(f, dt, 1000)).astype(np.float64))
    assert np.all((run > 1 / 64) & (run < 64)), (run.min(), run.max())


@pytest.mark.parametrize("n", LENGTHS)
def test_reduce_is_the_fold(f, dt, n, threaded):
    a = steered(f, dt, n)
    with threaded():
        got = f.reduce(a)
    assert_same_bits(got, fold(f, a), f"{f.__name__}.reduce, n={n}")


@pytest.mark.parametrize("n", LENGTHS)
def test_accumulate_is_the_running_fold(f, dt, n, threaded):
    a = steered(f, dt, n)
    with threaded():
        got = f.accumulate(a)
    assert_same_bits(got, running_fold(f, a), f"{f.__name__}.accumulate, n={n}")


@functools.cache
def _long_case(tier, name, dtype):
    f = ufunc_of(name, tier)
    a = steered(f, dtype, 100_000)
    expected = running_fold(f, a)
    a.flags.writeable = expected.flags.writeable = False
    return a, expected


def test_long_fold(f, threaded):
    """1e5 elements: NumPy's reduce runs its loop in buffer-sized pieces; accumulate's
    contiguous output would be split over threads if it were not in order. (The fold's
    value is the running fold's last: the same calls.)"""
    a, expected = _long_case(tier_of(f), f.__name__, np.dtype(np.float32))
    with threaded():
        reduced, accumulated = f.reduce(a), f.accumulate(a)
    assert_same_bits(reduced, expected[-1], f"{f.__name__}.reduce, n=1e5")
    assert_same_bits(accumulated, expected, f"{f.__name__}.accumulate, n=1e5")


def test_random_input_fold(f, dt, threaded):
    """Plain random input too (its fold may decay or overflow: the bits still agree)."""
    a = (np.random.default_rng(1).standard_normal(300) * 0.5 + 1).astype(dt)
    with threaded():
        reduced, accumulated = f.reduce(a), f.accumulate(a)
    assert_same_bits(reduced, fold(f, a), f"{f.__name__}.reduce")
    assert_same_bits(accumulated, running_fold(f, a), f"{f.__name__}.accumulate")


@pytest.mark.parametrize("view", ["a[::3]", "a[::-1]", "a[::-2]"])
def test_strided_input(f, dt, view, threaded):
    a = steered(f, dt, 3000)[{"a[::3]": np.s_[::3], "a[::-1]": np.s_[::-1],
                              "a[::-2]": np.s_[::-2]}[view]]
    with threaded():
        reduced, accumulated = f.reduce(a), f.accumulate(a)
    assert_same_bits(reduced, fold(f, a), f"{f.__name__}.reduce({view})")
    assert_same_bits(accumulated, running_fold(f, a), f"{f.__name__}.accumulate({view})")


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("axis", [0, 1])
def test_2d_along_each_axis(f, dt, axis, order, threaded):
    """Every line along the axis folds on its own, whatever the memory order (NumPy may run
    the inner loop along the axis, stride-0 accumulator, or across it, in place)."""
    a = np.asarray(steered(f, dt, 37 * 41).reshape(37, 41), order=order)
    with threaded():
        reduced, accumulated = f.reduce(a, axis=axis), f.accumulate(a, axis=axis)
    what = f"{f.__name__}, axis={axis}, order {order}"
    assert_same_bits(reduced, fold_along(fold, f, a, axis), f"reduce {what}")
    assert_same_bits(accumulated, fold_along(running_fold, f, a, axis), f"accumulate {what}")


def test_reduce_with_initial_and_out(f, dt):
    a = steered(f, dt, 50)
    out = np.zeros((), dt)
    with np.errstate(all="ignore"):
        f.reduce(a[1:], initial=a[0], out=out)
    assert_same_bits(out, fold(f, a), f"{f.__name__}.reduce(initial=, out=)")


def test_accumulate_in_place(f, dt):
    a = steered(f, dt, 500)
    expected = running_fold(f, a)
    with np.errstate(all="ignore"):
        f.accumulate(a, out=a)
    assert_same_bits(a, expected, f"{f.__name__}.accumulate(a, out=a)")


@pytest.mark.parametrize("indices", [[0, 4], [0, 3, 3, 10, 9, 500, 999], [5], [999, 0]])
def test_reduceat_is_the_fold_per_segment(f, dt, indices, threaded):
    a = steered(f, dt, 1000)
    with threaded():
        got = f.reduceat(a, indices)
    assert_same_bits(got, reduceat_fold(f, a, indices), f"{f.__name__}.reduceat({indices})")


def test_issue_examples():
    """The snippets of the issue, with the values the fold gives."""
    g = fastgelu.geglu
    arr = np.random.default_rng(0).standard_normal(100) * 0.5 + 1
    assert g.reduce(arr) == functools.reduce(g, arr)
    assert g.reduce(arr) < 1e-30  # the fold decays; the read-ahead loop gave 0.2723
    six = np.array([0, 1, 2.0] * 2)
    assert_same_bits(g.accumulate(six), running_fold(g, six), "geglu.accumulate")
    assert g.reduceat(np.arange(8.0), [0, 4])[1] == functools.reduce(g, np.arange(4.0, 8.0))


def test_at_is_the_element_loop(f, dt, threaded):
    """ufunc.at with repeated indices: each update reads the value the previous wrote."""
    rng = np.random.default_rng(2)
    a = steered(f, dt, 64)
    idx = rng.integers(0, 64, 500)
    b = steered(f, dt, 500, seed=3)
    expected = a.copy()
    with np.errstate(all="ignore"):
        for i, v in zip(idx, b):
            expected[i] = f(expected[i], v)
    with threaded():
        f.at(a, idx, b)
    assert_same_bits(a, expected, f"{f.__name__}.at")


def test_outer_is_the_broadcast_call(f, dt, threaded):
    x = steered(f, dt, 300)
    y = steered(f, dt, 200, seed=4)
    with threaded():
        got = f.outer(x, y)
    with np.errstate(all="ignore"):
        expected = np.array([[f(xi, yj) for yj in y[:5]] for xi in x[:5]], dtype=dt)
        broadcast = f(x[:, None], y[None, :])
    assert_same_bits(got, broadcast, f"{f.__name__}.outer vs broadcast")
    assert_same_bits(got[:5, :5], expected, f"{f.__name__}.outer vs scalar calls")


@pytest.mark.parametrize("shift", ["out behind input", "out ahead of input"])
def test_overlapping_out_of_a_plain_call(f, dt, shift, threaded):
    """A plain call whose out overlaps an input (NumPy copies, or for out behind the input
    passes it to the loop as is) gives what it gives on separate arrays."""
    buf = steered(f, dt, 5000)
    b = steered(f, dt, 4999, seed=5)
    src, dst = (np.s_[1:], np.s_[:-1]) if shift == "out behind input" else (np.s_[:-1],
                                                                           np.s_[1:])
    with np.errstate(all="ignore"):
        expected = f(buf[src].copy(), b)
    with threaded():
        f(buf[src], b, out=buf[dst])
    assert_same_bits(buf[dst], expected, f"{f.__name__}, {shift}")
