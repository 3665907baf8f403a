#!/usr/bin/env python
"""Memory soak: a million small calls (plus large threaded ones and short-lived threads)
must not grow the resident set size.

Runs rounds of eight calls over the paths users hit -- new result, out=, strided,
big-endian (buffered), where=, a Python scalar, an integer input (cast), dtype= -- plus
two calls of one of the other exported ufuncs (binary, two outputs; contiguous and
strided with out=), and every 50th round two calls that raise (complex input, an
impossible cast). Every
``--report`` calls it prints RSS; then ``--large`` calls on 2**22-element arrays
(threaded) and ``--threads`` short-lived Python threads that each make a threaded call
(each gets, and must release, its own OpenMP team). Reference counts of the ufuncs and
of every argument are compared before and after.

Exit status 1 if RSS grew by more than ``--limit-mib`` after warm-up, if a reference
count changed, or if threads were left behind. Not part of the test suite
(tests/test_memory.py runs a 100k-call version).

Usage (from the repository root):

    python tools/rss_soak.py                   # 1,000,000 calls, 200 large, 500 threads
    python tools/rss_soak.py --calls 200000 --large 20 --threads 50
"""
from __future__ import annotations

import argparse
import gc
import os
import sys
import threading
import time

import numpy as np

import fastgelu

# tests/_helpers.py: the call mix (tests/test_memory.py runs 100k calls of it)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests"))
from _helpers import UNARY_UFUNCS as UFUNCS
from _helpers import call_mix, rss_mib


def n_threads():
    return len(os.listdir("/proc/self/task"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--large", type=int, default=200)
    ap.add_argument("--threads", type=int, default=500)
    ap.add_argument("--report", type=int, default=100_000)
    ap.add_argument("--limit-mib", type=float, default=4.0)
    args = ap.parse_args(argv)

    one_round, tracked_args, errors, per_round = call_mix()
    g = UFUNCS[0]
    big = np.linspace(-6, 6, 1 << 22)
    big_out = np.empty_like(big)
    tracked = list(UFUNCS) + tracked_args + [big, big_out]

    print(f"fastgelu {fastgelu.__version__}, isa {fastgelu.get_isa()}, "
          f"{fastgelu.get_num_threads()} threads, numpy {np.__version__}")
    for i in range(5000):  # warm-up: caches, the OpenMP team, NumPy's buffers
        one_round(i)
    for f in UFUNCS:
        f(big, out=big_out)
    gc.collect()
    errors[0] = 0
    refs = [sys.getrefcount(o) for o in tracked]
    rss0, tasks0 = rss_mib(), n_threads()
    print(f"after warm-up: RSS {rss0:.2f} MiB, {tasks0} threads")

    t0 = time.perf_counter()
    rounds = args.calls // per_round
    peak = rss0
    for i in range(rounds):
        one_round(i)
        if (i + 1) * per_round % args.report == 0:
            r = rss_mib()
            peak = max(peak, r)
            print(f"  {(i + 1) * per_round:>9,} calls: RSS {r:.2f} MiB "
                  f"({r - rss0:+.2f}), {time.perf_counter() - t0:.1f} s")
    small_done = rss_mib()
    print(f"peak during the small calls: {peak:.2f} MiB")

    # The large and thread phases run twice: the first pass may leave memory in
    # glibc's caches (a freed 16 MiB result raises its mmap threshold, so the next one
    # comes from the heap; each new thread may get a malloc arena); a leak grows again
    # in the second pass.
    large_growth = []
    for rep in (1, 2):
        before = rss_mib()
        t1 = time.perf_counter()
        for i in range(args.large):
            UFUNCS[i % 4](big, out=big_out)
            UFUNCS[i % 4](big[::2])
        after = rss_mib()
        large_growth.append(after - before)
        print(f"pass {rep}: {args.large} x 2 large calls (2**22 elements, threaded and "
              f"strided): RSS {after:.2f} MiB ({after - before:+.2f} in this pass), "
              f"{time.perf_counter() - t1:.1f} s")

    thread_growth = []
    for rep in (1, 2):
        before = rss_mib()
        t2 = time.perf_counter()
        for _ in range(args.threads):
            t = threading.Thread(target=g, args=(big[: 1 << 18],))
            t.start()
            t.join()
        deadline = time.monotonic() + 5
        while n_threads() > tasks0 and time.monotonic() < deadline:
            time.sleep(0.05)
        gc.collect()
        after, tasks1 = rss_mib(), n_threads()
        thread_growth.append(after - before)
        print(f"pass {rep}: {args.threads} short-lived threads with a threaded call each: "
              f"RSS {after:.2f} MiB ({after - before:+.2f} in this pass), threads "
              f"{tasks1} (was {tasks0}), {time.perf_counter() - t2:.1f} s")

    refs_after = [sys.getrefcount(o) for o in tracked]
    total = (rounds * per_round + 4 * args.large + 2 * args.threads) + errors[0]
    grown = max(small_done - rss0, large_growth[1], thread_growth[1])
    print(f"\n{total:,} calls ({errors[0]:,} of them raising): small calls "
          f"{small_done - rss0:+.2f} MiB after warm-up; second passes: large "
          f"{large_growth[1]:+.2f} MiB, threads {thread_growth[1]:+.2f} MiB (limit "
          f"{args.limit_mib}); final RSS {rss_mib():.2f} MiB; reference counts "
          f"{'unchanged' if refs == refs_after else 'CHANGED'}")
    ok = grown <= args.limit_mib and refs == refs_after and tasks1 <= tasks0
    print("OK" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
