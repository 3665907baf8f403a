"""The threading policy for busy machines and thread pools (issue 17): chunks taken from
a shared counter (the caller runs what a late worker does not take), a serial period
after a parallel call that lost to the serial estimate, one long call in parallel at a
time. A worker made late on purpose (``_ufuncs._set_worker_delay``) stands in for one
that a busy machine deschedules. Nothing here asserts a time: results, floating-point
flags and the policy's counters only.
"""
from __future__ import annotations

import concurrent.futures
import time

import numpy as np
import pytest
from _helpers import BITS, UNARY_UFUNCS, as_bits, assert_same_float_bits, sample

import fastgelu
from fastgelu import _ufuncs

pytestmark = pytest.mark.skipif(not _ufuncs.openmp_enabled(), reason="a serial build")

DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
N = 4096          # with THRESHOLD 64 and 2 threads: 8 chunks of 512 elements
CHUNK = 512
THRESHOLD = 64
TINY = {np.dtype(np.float32): -15.0, np.dtype(np.float64): -40.0}  # results underflow


@pytest.fixture
def policy(restore_threading):
    """2 threads, every run of N elements long, the adaptive policy on, counters zeroed."""
    fastgelu.set_num_threads(2)
    for dt in ("float32", "float64"):
        _ufuncs.set_parallel_threshold(dt, THRESHOLD)
    _ufuncs._adaptive_threads(True)
    _ufuncs._reset_thread_stats()
    yield
    _ufuncs._reset_thread_stats()


def _serial(f, *args):
    threads = fastgelu.get_num_threads()
    fastgelu.set_num_threads(1)
    try:
        with np.errstate(all="ignore"):
            return f(*args)
    finally:
        fastgelu.set_num_threads(threads)


def _long_calls(stats):
    return stats["parallel"] + stats["serial_busy"] + stats["serial_backoff"]


@pytest.mark.parametrize("flag", ["invalid", "under"])
def test_a_late_worker_changes_no_bit_and_loses_no_flag(policy, dtype, flag):
    """The worker waits 1 ms before each chunk it runs, so the caller runs most chunks
    and the worker one or two. One element in one chunk (each chunk in turn) raises the
    flag: it reaches np.errstate whichever thread ran that chunk, and the results are
    the serial ones. Clean input raises nothing."""
    _ufuncs._adaptive_threads(False)   # every call in parallel: the chunks are the point
    _ufuncs._set_worker_delay(0.001)
    clean = np.linspace(-5, 5, N).astype(dtype)
    for f in UNARY_UFUNCS:
        with np.errstate(all="raise"):
            assert_same_float_bits(f(clean), _serial(f, clean))
        for c in range(N // CHUNK):
            x = clean.copy()
            if flag == "invalid":  # a signaling NaN
                ut = BITS[dtype.itemsize]
                x.view(ut)[c * CHUNK + 7] = ut(0x7F800001 if dtype.itemsize == 4
                                               else 0x7FF0000000000001)
            else:
                x[c * CHUNK + 7] = TINY[dtype]
            with np.errstate(**{flag: "raise"}), pytest.raises(FloatingPointError):
                f(x)
            with np.errstate(all="ignore"):
                y = f(x)
            assert np.array_equal(as_bits(y), as_bits(_serial(f, x))), (f.__name__, c)
    stats = _ufuncs._thread_stats()
    assert stats["parallel"] == _long_calls(stats) > 0


def test_a_loss_of_microseconds_starts_no_serial_period(policy):
    """A worker 30 us late makes the call lose by tens of microseconds, as an idle
    machine's hiccups do (the policy's LOSS_NOISE_US, 100 us): it counts as lost, but the
    back-off keeps its 0.1 ms and the next call runs in parallel again. (A loss that
    happened to cost more -- this VM descheduled the worker -- grows the back-off: then
    the attempt is repeated.)"""
    x = sample(np.dtype(np.float32), N, seed=4)
    expected = _serial(fastgelu.gelu, x)
    _ufuncs._set_worker_delay(30e-6)
    for _ in range(50):
        _ufuncs._reset_thread_stats()
        assert_same_float_bits(fastgelu.gelu(x), expected)
        stats = _ufuncs._thread_stats()
        if stats["lost"] and stats["backoff_seconds"] == pytest.approx(0.0001):
            break
    assert (stats["parallel"], stats["lost"]) == (1, 1), stats
    _ufuncs._set_worker_delay(0)
    assert_same_float_bits(fastgelu.gelu(x), expected)
    stats = _ufuncs._thread_stats()
    assert (stats["parallel"], stats["serial_backoff"]) == (2, 0), stats


def test_a_call_that_loses_starts_a_serial_period(policy):
    """A parallel call whose worker is 2 ms late takes far longer than a serial call
    would have: it counts as lost, long calls run serially for 20 times what the loss
    cost (~40-100 ms; more than the 0.1 ms of the first period), and the next period is 4x
    as long. Calls made during a serial period run serially (same bits)."""
    x = sample(np.dtype(np.float64), N, seed=3)
    expected = _serial(fastgelu.gelu, x)
    _ufuncs._set_worker_delay(0.002)
    for _ in range(10):  # (should the caller finish every chunk just as the worker comes)
        _ufuncs._reset_thread_stats()
        assert_same_float_bits(fastgelu.gelu(x), expected)
        stats = _ufuncs._thread_stats()
        if stats["lost"]:
            break
    assert (stats["parallel"], stats["lost"]) == (1, 1), stats
    assert stats["backoff_seconds"] == pytest.approx(0.0004)
    assert fastgelu.gelu(x) is not None and _ufuncs._thread_stats()["serial_backoff"] == 1
    time.sleep(0.5)                        # the serial period (~40-100 ms) is over
    assert_same_float_bits(fastgelu.gelu(x), expected)
    stats = _ufuncs._thread_stats()
    assert (stats["parallel"], stats["lost"]) == (2, 2), stats
    assert stats["backoff_seconds"] == pytest.approx(0.0016)
    calls = 3
    # back to back: a call made within the serial period runs serially; a parallel one
    # (the period over) loses again and starts a longer period
    while _ufuncs._thread_stats()["serial_backoff"] == 0 and calls < 20:
        assert_same_float_bits(fastgelu.gelu(x), expected)
        calls += 1
    stats = _ufuncs._thread_stats()
    assert stats["serial_backoff"] >= 1, stats
    assert _long_calls(stats) == calls and stats["lost"] == stats["parallel"], stats
    _ufuncs._reset_thread_stats()          # forgets the losses: parallel again
    _ufuncs._set_worker_delay(0)
    assert_same_float_bits(fastgelu.gelu(x), expected)
    assert _ufuncs._thread_stats()["parallel"] == 1


@pytest.mark.parametrize("workers", [2, 8])
def test_calls_from_a_thread_pool_give_the_bits_of_one_thread(policy, workers):
    """Python threads of a ThreadPoolExecutor call at once (each call made long by a
    late worker, so that they overlap): every result is the single-threaded one, every
    long call runs exactly once, and calls made beside another run serially."""
    _ufuncs._set_worker_delay(0.001)
    work = [(f, sample(dt, N, seed=k)) for k, f in enumerate(UNARY_UFUNCS) for dt in DTYPES]
    expected = [_serial(f, x) for f, x in work]
    rounds = 4

    def run(i):
        f, x = work[i % len(work)]
        with np.errstate(all="ignore"):
            return f(x)

    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(run, range(rounds * len(work))))
    for i, y in enumerate(results):
        assert_same_float_bits(y, expected[i % len(work)])
    stats = _ufuncs._thread_stats()
    assert _long_calls(stats) == rounds * len(work), stats
    assert stats["serial_busy"] >= 1, stats


def test_one_thread_and_short_runs_bypass_the_policy(policy):
    """The policy sees only the runs that would be split: none with 1 thread, none
    below the threshold, none strided."""
    x = sample(np.dtype(np.float32), N, seed=5)
    fastgelu.set_num_threads(1)
    fastgelu.gelu(x)
    fastgelu.set_num_threads(2)
    fastgelu.gelu(x[: THRESHOLD - 1])
    fastgelu.gelu(x[::2])
    assert _long_calls(_ufuncs._thread_stats()) == 0
    fastgelu.gelu(x)
    assert _long_calls(_ufuncs._thread_stats()) == 1


def test_worker_delay_rejects_negative_seconds(policy):
    with pytest.raises(ValueError, match=">= 0"):
        _ufuncs._set_worker_delay(-1)
    with pytest.raises(ValueError, match=">= 0"):
        _ufuncs._set_worker_delay(float("nan"))
