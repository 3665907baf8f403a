"""Where do threads start to pay? Serial vs threaded fastgelu over sizes 2^10 .. 2^20.

    python benchmarks/threshold.py [--threads 2] [--dtypes float32,float64] [--kinds all]
                                   [--min-exp 10] [--max-exp 20] [--win 1.10]
                                   [--min-time 0.05] [--rounds 3] [--cold] [--json FILE]

For each dtype and function, each size is timed with the parallel threshold at 1
(every call split over ``--threads`` threads) and at 2^62 (every call serial), the two
alternating for ``--rounds`` rounds; each figure is the best of the rounds' medians. The
crossover is the smallest size from which the threaded call is faster by more than
``--win`` (10%) at that size and at every larger size measured. The recommended
threshold for a dtype is the largest crossover over its functions (threads then never
slow a call down); it is what ``parallel_min_float`` / ``parallel_min_double`` in
src/fastgelu/_ufuncs.pyx should be set to. Rerun whenever the kernels change: a faster
kernel moves the crossover up.

Back-to-back calls (the default) find OpenMP's threads still spinning from the previous
call, so they measure the cheapest fork/join; ``--cold`` times isolated calls after an
idle pause, which pays the wake-up of sleeping threads, as a program that calls
fastgelu now and then does. The summary also prints the fork/join cost and the crossover
it implies for a kernel of any speed.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

import fastgelu
from fastgelu import _bench, _peers, _report, _ufuncs

SERIAL = 1 << 62


def cold_throughput(fn, n, calls, pause):
    """Median Melem/s of single calls, each after `pause` seconds idle (threads asleep)."""
    fn()
    times = []
    for _ in range(calls):
        time.sleep(pause)
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return n / times[len(times) // 2] / 1e6


def measure(fn, n, mode_threshold, dtype, a):
    _ufuncs.set_parallel_threshold(dtype, mode_threshold)
    if a.cold:
        return cold_throughput(fn, n, a.cold_calls, a.cold_pause)
    return _bench.throughput(fn, n, min_time=a.min_time, repeat=a.repeat)


class IdleWaiter:
    """Before each measurement, wait (within a total budget) for other processes to idle."""

    def __init__(self, budget):
        self.budget = budget
        self.waited = 0.0

    def __call__(self):
        """True if the machine is idle now (after waiting, if need be)."""
        while True:
            load = _bench.background_load(0.1)
            if load is None or load < 0.2:
                return True
            if self.waited >= self.budget:
                return False
            time.sleep(0.5)
            self.waited += 0.6


def crossover(sizes, speedups, win):
    """Smallest size from which every speedup (this size and all larger) exceeds win."""
    best = None
    for n, s in zip(reversed(sizes), reversed(speedups)):
        if s > win:
            best = n
        else:
            break
    return best


def fmt(n):
    return _report.format_n(n) if n is not None else "never"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtypes", default="float32,float64")
    ap.add_argument("--kinds", default="all", help="comma-separated, or 'all'")
    ap.add_argument("--min-exp", type=int, default=10)
    ap.add_argument("--max-exp", type=int, default=20)
    ap.add_argument("--win", type=float, default=1.10,
                    help="threaded must be this much faster (default: %(default)s)")
    ap.add_argument("--min-time", type=float, default=0.05,
                    help="seconds per figure, about (default: %(default)s)")
    ap.add_argument("--repeat", type=int, default=5, help="batches per figure (median)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="alternating serial/threaded rounds; best is kept (default: %(default)s)")
    ap.add_argument("--cold", action="store_true",
                    help="time isolated calls after an idle pause (OpenMP threads gone to "
                         "sleep: the wake-up cost a real program pays between calls) "
                         "instead of back-to-back calls (threads still spinning)")
    ap.add_argument("--cold-calls", type=int, default=25, help="calls per figure with --cold")
    ap.add_argument("--cold-pause", type=float, default=0.01,
                    help="idle seconds before each call with --cold (default: %(default)s)")
    ap.add_argument("--wait-idle", type=float, default=120, metavar="SECONDS",
                    help="before each size, wait for other processes to leave the CPUs "
                         "idle, up to this many seconds in all (default: %(default)s)")
    ap.add_argument("--json", help="also write the measurements to this file")
    a = ap.parse_args(argv)

    kinds = list(_peers.KINDS) if a.kinds == "all" else a.kinds.split(",")
    dtypes = a.dtypes.split(",")
    for k in kinds:
        if k not in _peers.KINDS:
            ap.error(f"unknown kind {k!r}; choose from {', '.join(_peers.KINDS)}")
    for d in dtypes:
        if d not in _bench.DTYPES:
            ap.error(f"unknown dtype {d!r}; choose from {', '.join(_bench.DTYPES)}")
    if a.threads < 2:
        ap.error("--threads must be >= 2 to compare against serial")
    if not _ufuncs.openmp_enabled():
        sys.exit("fastgelu was built without OpenMP: nothing to measure")
    sizes = [1 << e for e in range(a.min_exp, a.max_exp + 1)]

    old_threads = fastgelu.get_num_threads()
    old_thr = {d: _ufuncs.get_parallel_threshold(d) for d in _bench.DTYPES}
    old_adaptive = _ufuncs._adaptive_threads(False)  # time the threaded path itself
    fastgelu.set_num_threads(a.threads)
    print(f"fastgelu {fastgelu.__version__}, kernel path {fastgelu.get_isa()}, "
          f"threads {a.threads} (cpu_count {os.cpu_count()}); current thresholds: "
          + ", ".join(f"{d} {fmt(t)} ({t})" for d, t in old_thr.items()))
    print(f"speedup = threaded / serial throughput; crossover: speedup > {a.win} "
          "from that size up")
    print("mode: " + ("cold (isolated calls after an idle pause)" if a.cold else
                      "hot (back-to-back calls; OpenMP threads still spinning)") + "\n")
    warning = _bench.load_warning()
    if warning:
        print(warning + "\n", flush=True)
    results = {}
    summary = {}
    overheads = []
    wait_idle = IdleWaiter(a.wait_idle)
    busy_sizes = 0
    try:
        for dtype in dtypes:
            crossings = {}
            for kind in kinds:
                uf = getattr(fastgelu, kind)
                print(f"{dtype} {kind}")
                print(f"  {'n':>6s} {'serial us':>10s} {'thread us':>10s} {'speedup':>8s}")
                speedups = []
                for n in sizes:
                    x = _bench.make_input(n, dtype)
                    out = np.empty_like(x)
                    def fn(uf=uf, x=x, out=out):
                        return uf(x, out=out)
                    idle = wait_idle()
                    busy_sizes += not idle
                    ser = par = 0.0
                    for _ in range(a.rounds):  # alternate, keep the best of each
                        ser = max(ser, measure(fn, n, SERIAL, dtype, a))
                        par = max(par, measure(fn, n, 1, dtype, a))
                    s = par / ser
                    speedups.append(s)
                    results.setdefault(dtype, {}).setdefault(kind, []).append(
                        {"n": n, "serial_melem_s": ser, "threaded_melem_s": par,
                         "speedup": s, "machine_busy": not idle})
                    flag = ("  *" if s > a.win else "") + ("  (machine busy)" if not idle else "")
                    print(f"  {fmt(n):>6s} {n / ser:10.1f} {n / par:10.1f} {s:8.2f}{flag}",
                          flush=True)
                c = crossover(sizes, speedups, a.win)
                crossings[kind] = c
                # fork/join cost: threaded time minus an ideal 1/threads share of serial,
                # at the three smallest sizes (where it dominates)
                rows = results[dtype][kind][:3]
                cost = float(np.median([r["n"] / r["threaded_melem_s"]
                                        - r["n"] / r["serial_melem_s"] / a.threads
                                        for r in rows]))
                if not any(r["machine_busy"] for r in rows):
                    overheads.append(cost)
                lowest = " (the smallest size measured: try --min-exp lower)" \
                    if c == sizes[0] else ""
                cost_text = f"{cost:.1f} us a call" if cost > 0.05 else \
                    "too little to measure at these sizes"
                print(f"  crossover: {fmt(c)}{lowest}; threading costs {cost_text}\n")
            known = [c for c in crossings.values() if c is not None]
            if len(known) < len(crossings):
                rec = None  # some function never gains within the range: threads off below max
            else:
                rec = max(known) if known else None
            busy = sum(r["machine_busy"] for k in kinds for r in results[dtype][k])
            summary[dtype] = {"crossover": crossings, "recommended": rec,
                              "sizes_measured_busy": busy}
    finally:
        for d, t in old_thr.items():
            _ufuncs.set_parallel_threshold(d, t)
        fastgelu.set_num_threads(old_threads)
        _ufuncs._adaptive_threads(old_adaptive)

    warning = _bench.load_warning(0.2)
    if warning:
        print(warning + " (at the end of the run)\n")
    print("Summary (elements; set in src/fastgelu/_ufuncs.pyx)")
    for dtype, s in summary.items():
        per = ", ".join(f"{k} {fmt(c)}" for k, c in s["crossover"].items())
        rec = s["recommended"]
        var = "parallel_min_float" if dtype == "float32" else "parallel_min_double"
        cur = old_thr[dtype]
        if rec is None:
            advice = (f"keep threads off below at least {fmt(sizes[-1] * 2)} "
                      "(some function never won)")
        else:
            advice = f"{var} = {rec} (1 << {rec.bit_length() - 1}); now {cur}"
        if s["sizes_measured_busy"]:
            advice += (f"  [UNRELIABLE: {s['sizes_measured_busy']} sizes measured while "
                       "the machine was busy]")
        print(f"  {dtype}: crossover {per}\n    -> {advice}")
    if busy_sizes:
        print(f"\n{busy_sizes} sizes were measured while other processes were busy "
              f"(waited {wait_idle.waited:.0f} s of --wait-idle {a.wait_idle:.0f}): "
              "rerun on an idle machine before trusting the summary.")
    if overheads and np.median(overheads) > 0.05:
        # serial c*n vs threaded c*n/T + o: threads win by `win` above n = win*o/(c*(1-win/T))
        o = float(np.median(overheads))
        T, w = a.threads, a.win
        print(f"\nThreading costs about {o:.1f} us a call (median). The crossover moves with "
              "the kernel's speed; for a kernel taking c ns per element (serial, in cache):")
        for c in (0.25, 0.5, 1.0, 2.0, 4.0):
            n = w * o * 1e3 / (c * (1 - w / T)) if w < T else float("inf")
            print(f"    c = {c:4.2f} ns/elem ({1e3 / c:6.0f} Melem/s serial): crossover ~ "
                  f"{n:9.0f} elements (2^{np.log2(n):.1f})")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"threads": a.threads, "isa": fastgelu.get_isa(), "win": a.win,
                       "results": results, "summary": summary}, fh, indent=1)
        print(f"wrote {a.json}")


if __name__ == "__main__":
    main()
