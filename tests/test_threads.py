"""Threads: many Python threads at once (every exported ufunc), the GIL released during a
call, OpenMP teams of short-lived threads cleaned up, flags of one thread never reported
in another, threads with the smallest stack Python allows; Ctrl-C during a call.

Complements test_ufunc_api.py (threading never changes a bit) and test_fork.py (children
forked after the parent ran threaded, or while another thread is inside a parallel
region).
"""
from __future__ import annotations

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
from _helpers import BITS, UNARY_UFUNCS, as_bits, assert_same_float_bits, sample

import fastgelu
from fastgelu import _ufuncs

DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _all_ufuncs():
    """Every ufunc of every tier (fastgelu.<name>, fastgelu.fast.<name>)."""
    return [uf for tier in _ufuncs.TIERS for uf in _ufuncs.UFUNCS[tier].values()]


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


@pytest.fixture
def always_parallel(restore_threading):
    """Every long call in parallel, even beside another or after a slow one (the adaptive
    policy off: test_thread_policy.py tests it), so that these tests run OpenMP teams."""
    _ufuncs._adaptive_threads(False)


def test_many_python_threads_get_the_results_of_one(always_parallel):
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


def test_fp_flags_of_one_thread_never_reach_another(always_parallel):
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
        for f in UNARY_UFUNCS:  # the dirty input does raise both flags, the clean one none
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
                f = UNARY_UFUNCS[(i + k) % 4]
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


def test_short_lived_threads_leave_no_openmp_threads_behind(always_parallel):
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
        assert_same_float_bits(fastgelu.gelu(x), expected)

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
def test_the_gil_is_released_during_a_call(layout, always_parallel):
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
    if "numpy ok" not in done.stdout:
        # NumPy 2.2 on Python 3.10 crashes in its own np.exp there, fastgelu not called:
        # the premise (NumPy's ufuncs work in such a thread) does not hold
        pytest.skip(f"NumPy {np.__version__}'s own ufuncs fail in a 32 KiB thread "
                    f"(exit status {done.returncode})")
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

