"""Do fastgelu's threads hurt on a busy machine or inside a thread pool? (issue 17)

    python benchmarks/threads_under_load.py [--seconds 20] [--sizes 1e5,1e6]
                                            [--dtypes float32,float64] [--load N]
                                            [--pool 2,8] [--pool-n 1e5] [--sweep]

Times back-to-back ``fastgelu.gelu(x, out=out)`` calls with 1 thread and with the
default thread count, first on the machine as it is ("idle"), then while ``--load``
busy processes (default: one per CPU this process may run on) spin. The busy processes
are started here and exit by themselves at a deadline, or sooner when the run ends.
Each figure is a loop of ``--seconds`` per mode, run as five alternating slices of 1
thread and default threads (so that drift on a shared machine hits both alike); it
prints the mean, median and 90th percentile per call and the default/1-thread ratios.

The thread-pool case: ``ThreadPoolExecutor`` workers (``--pool``: 2 and 8), each
looping over ``gelu`` calls on its own ``--pool-n``-element float32 array for
``--seconds``; it prints the total throughput with single-threaded kernels
(``set_num_threads(1)``) and with the default, idle and loaded.

``--sweep``: median per call, idle, 1 and default threads, over sizes 2^10..2^22 (the
speed of the threaded path at every size).

The issue's goals: loaded, default threads cost at most 1.2x the 1-thread mean and 1.5x
its 90th percentile; idle, the default's speed stays what it was; the thread pools'
total throughput with default threads is at least that with single-threaded kernels.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import os
import sys
import time

import numpy as np

import fastgelu
from fastgelu import _ufuncs

SLICES = 5


def spin(deadline, stop):
    """A busy process: pure-Python work until the deadline or until stop is set."""
    x = 0
    while time.time() < deadline and not stop.is_set():
        for i in range(20_000):
            x += i * i


class Load:
    """`count` busy processes for at most `seconds` (they exit by themselves then)."""

    def __init__(self, count, seconds):
        ctx = multiprocessing.get_context("spawn")
        self.stop = ctx.Event()
        deadline = time.time() + seconds
        self.procs = [ctx.Process(target=spin, args=(deadline, self.stop), daemon=True)
                      for _ in range(count)]

    def __enter__(self):
        for p in self.procs:
            p.start()
        time.sleep(0.5)  # let them start spinning
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for p in self.procs:
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()
                p.join()


def stats(times):
    t = np.asarray(times) * 1e6
    return {"mean": t.mean(), "median": float(np.median(t)), "p90": float(np.percentile(t, 90)),
            "calls": t.size}


def timed_loop(fn, seconds):
    """Per-call seconds of back-to-back calls of fn for about `seconds`."""
    times = []
    clock = time.perf_counter
    end = clock() + seconds
    while True:
        t0 = clock()
        fn()
        t1 = clock()
        times.append(t1 - t0)
        if t1 > end:
            return times


def compare_threads(n, dtype, seconds, default):
    """{threads: per-call times} for 1 and `default` threads, in alternating slices."""
    x = np.linspace(-6, 6, n).astype(dtype)
    out = np.empty_like(x)

    def fn():
        fastgelu.gelu(x, out=out)

    times = {1: [], default: []}
    for threads in (1, default):  # warm up both
        fastgelu.set_num_threads(threads)
        timed_loop(fn, 0.05)
    for _ in range(SLICES):
        for threads in (1, default):
            fastgelu.set_num_threads(threads)
            times[threads] += timed_loop(fn, seconds / SLICES)
    fastgelu.set_num_threads(default)
    return times


def pool_throughput(workers, n, seconds):
    """Total Melem/s of `workers` Python threads, each looping over gelu on n float32."""
    arrays = [np.linspace(-6, 6, n).astype(np.float32) for _ in range(workers)]
    outs = [np.empty_like(a) for a in arrays]

    def work(k, seconds=seconds):
        x, out = arrays[k], outs[k]
        calls = 0
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            fastgelu.gelu(x, out=out)
            calls += 1
        return calls

    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        list(pool.map(work, range(workers), [0.05] * workers))  # start threads and teams
        t0 = time.perf_counter()
        calls = sum(pool.map(work, range(workers)))
        elapsed = time.perf_counter() - t0
    return calls * n / elapsed / 1e6


def report_policy():
    """The threading policy's counters, where the build has them (since issue 17)."""
    if hasattr(_ufuncs, "_thread_stats"):
        print(f"  policy: {_ufuncs._thread_stats()}")
        _ufuncs._reset_thread_stats()


def report_threads(label, sizes, dtypes, seconds, default):
    print(f"\n{label}: gelu(x, out=out), per call in us; ratio = default / 1 thread")
    print(f"  {'dtype':8s} {'n':>8s} {'threads':>7s} {'calls':>7s} {'mean':>9s} "
          f"{'median':>9s} {'p90':>9s}")
    for dtype in dtypes:
        for n in sizes:
            times = compare_threads(n, dtype, seconds, default)
            s = {t: stats(v) for t, v in times.items()}
            for t in (1, default):
                r = s[t]
                print(f"  {dtype:8s} {n:8.0e} {t:7d} {r['calls']:7d} {r['mean']:9.1f} "
                      f"{r['median']:9.1f} {r['p90']:9.1f}")
            ratio = {k: s[default][k] / s[1][k] for k in ("mean", "median", "p90")}
            print(f"  {'':8s} {'':8s} {'ratio':>7s} {'':7s} {ratio['mean']:8.2f}x "
                  f"{ratio['median']:8.2f}x {ratio['p90']:8.2f}x", flush=True)
    report_policy()


def report_pool(label, pools, n, seconds, default):
    print(f"\n{label}: ThreadPoolExecutor, each worker looping over gelu on {n:.0e} "
          "float32; total Melem/s")
    for workers in pools:
        figures = {}
        for threads in (1, default):
            fastgelu.set_num_threads(threads)
            figures[threads] = pool_throughput(workers, n, seconds)
        fastgelu.set_num_threads(default)
        print(f"  {workers} workers: kernels of 1 thread {figures[1]:8.1f}, of {default} "
              f"threads {figures[default]:8.1f}  ({figures[default] / figures[1]:.2f}x)",
              flush=True)
    report_policy()


def sweep(dtypes, default, seconds=0.3):
    print("\nidle sweep: median us per call (alternating slices); ratio = default / 1")
    for dtype in dtypes:
        print(f"  {dtype}")
        for e in range(10, 23, 2):
            n = 1 << e
            times = compare_threads(n, dtype, seconds, default)
            m = {t: float(np.median(v)) * 1e6 for t, v in times.items()}
            print(f"    2^{e:<2d} 1 thread {m[1]:10.2f}  {default} threads {m[default]:10.2f}  "
                  f"({m[default] / m[1]:.2f}x)", flush=True)
            report_policy()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0,
                    help="seconds of calls per mode and figure (default: %(default)s)")
    ap.add_argument("--sizes", default="1e5,1e6")
    ap.add_argument("--dtypes", default="float32,float64")
    ap.add_argument("--load", type=int, default=len(os.sched_getaffinity(0))
                    if hasattr(os, "sched_getaffinity") else os.cpu_count(),
                    help="busy processes for the loaded runs (default: the CPU count)")
    ap.add_argument("--pool", default="2,8", help="thread-pool sizes ('' for none)")
    ap.add_argument("--pool-n", type=float, default=1e5)
    ap.add_argument("--sweep", action="store_true", help="also the idle size sweep")
    ap.add_argument("--skip-idle", action="store_true")
    ap.add_argument("--always-parallel", action="store_true",
                    help="every long call in parallel (the adaptive policy off; a build "
                         "that has it): the caller-runs split alone")
    a = ap.parse_args(argv)
    if a.always_parallel:
        _ufuncs._adaptive_threads(False)
    sizes = [int(float(s)) for s in a.sizes.split(",") if s]
    dtypes = a.dtypes.split(",")
    pools = [int(p) for p in a.pool.split(",") if p]
    default = fastgelu.get_num_threads()
    if default < 2:
        sys.exit("default thread count is 1 (OMP_NUM_THREADS?): nothing to compare")
    env = {k: os.environ[k] for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS")
           if k in os.environ}
    print(f"fastgelu {fastgelu.__version__} from {os.path.dirname(fastgelu.__file__)}; "
          f"kernels {fastgelu.get_isa()}; default threads {default}; "
          f"{os.cpu_count()} CPUs; load {a.load} busy processes; {a.seconds:g} s per "
          f"figure and mode; env {env or 'none'}"
          + ("; adaptive policy off" if a.always_parallel else ""))
    print(f"thresholds: float32 {_ufuncs.get_parallel_threshold('float32')}, "
          f"float64 {_ufuncs.get_parallel_threshold('float64')}")
    if not a.skip_idle:
        report_threads("idle", sizes, dtypes, a.seconds, default)
        if pools:
            report_pool("idle", pools, int(a.pool_n), a.seconds, default)
    budget = (2 * len(sizes) * len(dtypes) + 2 * len(pools)) * (a.seconds + 1) + 60
    with Load(a.load, budget):
        report_threads(f"loaded ({a.load} busy processes)", sizes, dtypes, a.seconds, default)
        if pools:
            report_pool(f"loaded ({a.load} busy processes)", pools, int(a.pool_n),
                        a.seconds, default)
    if a.sweep:
        sweep(dtypes, default)


if __name__ == "__main__":
    main()
