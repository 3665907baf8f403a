#!/usr/bin/env python
"""Exhaustive float32 accuracy check: every 2**32 bit pattern through the real ufuncs.

Runs the *installed* package's ufuncs (``fastgelu.gelu`` ...) on contiguous float32
arrays of bit patterns, on the chosen ISA build(s), and judges every result against the
float64 references of ``tests/reference.py`` (``REF64``: ``fastgelu._reference``,
SciPy-based, a Taylor series next to the gradient zeros) with its ``ulp_error``. Per
function and ISA it reports the max ulp error and the argument where it occurs, the
fraction of inputs above 0.5 ulp, the counts above 1 ulp and above ``--bound``, and,
separately:

* special mismatches: NaN/inf results that do not match the reference (a NaN input must
  give a NaN: that counts 0 ulp; a NaN or inf result for any other input, or a finite
  result where the reference is inf/NaN, is a failure);
* zero-sign mismatches: a zero result whose sign differs from the sign of the exact
  value (gelu, gelu_tanh: the sign of x; the gradients: negative below their zero, incl.
  -inf). ``ulp_error`` counts -0 and +0 as equal, so this is listed for information and
  fails only with ``--strict-zero-sign``.

Where the float64 reference provably rounds to a simple value the exact result is not
(x/2 for tiny |x|, x for large x, 0.5 for the gradients at tiny |x|), the side of the
exact value is known analytically (:func:`_residual_sign`); it breaks the exact-0.5
"ties" at float32 midpoints (2**24 subnormal inputs each for gelu and gelu_tanh) and
picks the right ulp at powers of two, which ``ulp_error`` alone cannot. Such inputs are
counted in "> 0.5 ulp" if rounded the wrong way and listed as "at float32 midpoints".

The exit status is 1 if any function has a finite error above ``--bound`` or any special
mismatch, 2 on a usage error, 0 otherwise. Not part of the test suite: an exhaustive run
(``--step 1``) took ~27-37 min of one core for all four functions on all three ISA
builds (~12 min for one ISA) on the 2-core dev machine; the run prints an estimate
before/after its first chunks. Use ``--step`` for a quick sampled run.

Usage (from the repository root):

    python tools/check_exhaustive_f32.py                     # exhaustive, ISA in use
    python tools/check_exhaustive_f32.py --isa all           # every build this CPU runs
    python tools/check_exhaustive_f32.py --step 4099 --isa all   # quick (seconds)
    python tools/check_exhaustive_f32.py --tier fast --isa all   # the fast tier (<= 4 ulp)
    python tools/check_exhaustive_f32.py --functions gelu,gelu_grad --isa avx2 \\
        --processes 2 --bound 1.0 --json results.json
    python tools/check_exhaustive_f32.py --chunks 765 --step 1   # one chunk ([-0.75, -1))

The 2**32 patterns are split into 2**chunk_bits-pattern chunks (default 2**22, 1024
chunks; chunk c holds the bit patterns [c << chunk_bits, (c + 1) << chunk_bits)), handed
to worker processes in bit-reversed order (so the first chunks done are spread over the
whole range and the time estimate is representative). ``--step K`` keeps the patterns
that are multiples of K. Each worker imports fastgelu, calls ``set_num_threads(1)``, and
evaluates each chunk in contiguous blocks; the reference is computed once per block and
shared by all ISAs. ``--processes 1`` runs everything in this process (no pool).

"seconds" in the table is worker time spent on that function and ISA: the ufunc call and
the ulp measure, plus an equal share of the (ISA-independent) reference evaluation.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.join(os.path.dirname(HERE), "tests")

N_PATTERNS = 1 << 32
BLOCK = 1 << 16  # patterns per ufunc call: keeps the float64 temporaries in cache
N_EXAMPLES = 8  # examples kept per (function, ISA) for each kind of failure

# ---------------------------------------------------------------------------------------
# Worker side
# ---------------------------------------------------------------------------------------
_W = {}  # per-process state: fastgelu, reference module, ufuncs


def _init_worker(threads_env=True):
    """Import fastgelu (one thread) and tests/reference.py in this process."""
    if _W:
        return
    if threads_env:
        os.environ.setdefault("OMP_NUM_THREADS", "1")
    if TESTS not in sys.path:
        sys.path.insert(0, TESTS)
    import reference

    import fastgelu

    fastgelu.set_num_threads(1)
    _W["fastgelu"] = fastgelu
    _W["ref"] = reference
    _W["ufuncs"] = fastgelu._ufuncs.UFUNCS  # {tier: {name: ufunc}}


def _chunk_patterns(c, chunk_bits, step):
    """uint32 bit patterns of chunk c that are multiples of step (a new array)."""
    start = c << chunk_bits
    end = min(start + (1 << chunk_bits), N_PATTERNS)
    first = -(-start // step) * step
    if first >= end:
        return np.empty(0, dtype=np.uint32)
    return np.arange(first, end, step, dtype=np.int64).astype(np.uint32)


def _new_acc():
    return {
        "inputs": 0,
        "max_ulp": -1.0,
        "max_bits": None,  # bit pattern of the argument of the max (ties: lowest)
        "max_actual": None,
        "max_reference": None,
        "gt_half": 0,
        "midpoint_ties": 0,  # of gt_half: exactly 0.5 in float64, > 0.5 by _residual_sign
        "gt_one": 0,
        "gt_bound": 0,
        "worst": [],  # (ulp, bits, actual, reference) above the bound, worst first
        "special": 0,
        "special_examples": [],  # (bits, actual, reference), lowest bits first
        "zero_sign": 0,
        "zero_sign_examples": [],
        "seconds": 0.0,
    }


def _examples(bits, y, ref, idx):
    return [(int(bits[i]), float(y[i]), float(ref[i])) for i in idx]


def _count(acc, key, mask, bits, y, ref):
    """Add mask's inputs to acc[key]; keep the lowest patterns in acc[key + '_examples']."""
    n = int(np.count_nonzero(mask))
    if n:
        acc[key] += n
        idx = np.flatnonzero(mask)[:N_EXAMPLES]
        acc[key + "_examples"] = _merge_examples(
            acc[key + "_examples"], _examples(bits, y, ref, idx), key=lambda t: t[0])
    return n


def _merge_examples(a, b, key):
    return sorted(a + b, key=key)[:N_EXAMPLES]


def _expected_negative(name, x64, ref):
    """True where the exact value is negative (the sign a zero result must carry)."""
    if name in ref.GRAD_OF:
        zero = ref.GELU_GRAD_ZERO if name == "gelu_grad" else ref.GELU_TANH_GRAD_ZERO
        return x64 < zero  # includes -inf (the limit from below)
    return np.signbit(x64)  # gelu, gelu_tanh: sign of x, incl. -0 -> -0


def _residual_sign(name, x64, refv):
    """sign(exact - refv) where the float64 reference is provably not the exact value
    although it rounds to a simple one (0 elsewhere: unknown, and irrelevant).

    The float64 reference carries no residual, so an error of exactly 0.5 ulp cannot say
    on which side of the float32 midpoint the exact value lies, and at a power of two
    the ulp cannot say which binade. This happens on whole ranges of float32 inputs:

    * gelu, gelu_tanh of |x| < ~1e-16: refv == x/2 exactly, while the exact value is
      x/2 + x (Phi(x) - 1/2) (resp. + x tanh(z)/2), above x/2 for every x != 0. For
      subnormal x with an odd last bit (|x| < 2**-125, 2**24 inputs per function) x/2 is
      a float32 midpoint: one rounding is 0.5 - tiny ulp, the other 0.5 + tiny;
    * gelu, gelu_tanh of large x > 0: refv == x exactly, the exact value x - x Q(x) is
      below it (at x = 2**k the ulp below is half the ulp above);
    * the gradients at |x| < ~1e-16: refv == 0.5 exactly, the exact value 0.5 + c x
      (c > 0) lies on the side of sign(x) (below 0.5 the ulp is half).
    """
    sign = np.zeros(x64.shape)
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(x64) & (x64 != 0)
        if name in ("gelu", "gelu_tanh"):
            sign[finite & (refv == 0.5 * x64)] = 1.0
            sign[finite & (x64 > 0) & (refv == x64)] = -1.0
        else:
            m = finite & (refv == 0.5)
            sign[m] = np.sign(x64[m])
    return sign


def _judge(acc, name, bits, x64, y, refv, bound, ref):
    """Accumulate one block's results for one (function, ISA)."""
    resid = _residual_sign(name, x64, refv)
    # A tiny residual of the known sign: ulp_error then takes the ulp on the right side
    # of a power of two, and the exact-looking error is nudged by one float64 ulp
    # towards the true one (which matters only at 0.5 / 1.0 / the bound exactly).
    e = ref.ulp_error(y, refv, np.float32, err_ulp=resid * 1e-300)
    with np.errstate(invalid="ignore"):
        side = np.sign(y.astype(np.float64) - refv)
    farther = (resid != 0) & (side == -resid) & (e > 0) & np.isfinite(e)
    nearer = (resid != 0) & (side == resid) & (e > 0) & np.isfinite(e)
    if farther.any() or nearer.any():
        acc["midpoint_ties"] += int(np.count_nonzero(farther & (e == 0.5)))
        e = np.where(farther, np.nextafter(e, np.inf), np.where(nearer, np.nextafter(e, 0), e))
    special = ~np.isfinite(e)
    acc["inputs"] += bits.size
    if _count(acc, "special", special, bits, y, refv):
        e = np.where(special, 0.0, e)
    i = int(np.argmax(e))  # first occurrence: the lowest pattern in this block
    ei = float(e[i])
    if ei > acc["max_ulp"] or (ei == acc["max_ulp"] and int(bits[i]) < acc["max_bits"]):
        acc["max_ulp"], acc["max_bits"] = ei, int(bits[i])
        acc["max_actual"], acc["max_reference"] = float(y[i]), float(refv[i])
    acc["gt_half"] += int(np.count_nonzero(e > 0.5))
    acc["gt_one"] += int(np.count_nonzero(e > 1.0))
    over = e > bound
    nb = int(np.count_nonzero(over))
    if nb:
        acc["gt_bound"] += nb
        idx = np.flatnonzero(over)
        idx = idx[np.argsort(-e[idx], kind="stable")[:N_EXAMPLES]]
        new = [(float(e[j]), int(bits[j]), float(y[j]), float(refv[j])) for j in idx]
        acc["worst"] = _merge_examples(acc["worst"], new, key=lambda t: (-t[0], t[1]))
    with np.errstate(invalid="ignore"):
        wrong_zero = (y == 0) & (np.signbit(y) != _expected_negative(name, x64, ref))
    _count(acc, "zero_sign", wrong_zero, bits, y, refv)


def evaluate(patterns, functions, isas, bound, accs, tier):
    """Run every function (of the tier) on every ISA over the uint32 patterns, into accs."""
    fg, ref, ufuncs = _W["fastgelu"], _W["ref"], _W["ufuncs"]
    for b0 in range(0, patterns.size, BLOCK):
        bits = patterns[b0:b0 + BLOCK]  # contiguous
        x32 = bits.view(np.float32)
        with np.errstate(all="ignore"):  # signaling NaNs flag 'invalid' when cast
            x64 = x32.astype(np.float64)
        for f in functions:
            t0 = time.perf_counter()
            with np.errstate(all="ignore"):
                refv = ref.REF64[f](x64)
            share = (time.perf_counter() - t0) / len(isas)
            for isa in isas:
                t1 = time.perf_counter()
                if fg.get_isa() != isa:
                    fg.set_isa(isa)
                    if fg.get_isa() != isa:
                        raise RuntimeError(f"set_isa({isa!r}) left {fg.get_isa()!r} active")
                with np.errstate(all="ignore"):
                    y = ufuncs[tier][f](x32)
                if y.dtype != np.float32 or y.shape != x32.shape:
                    raise RuntimeError(f"{f} returned {y.dtype} {y.shape} for float32 input")
                _judge(accs[(f, isa)], f, bits, x64, y, refv, bound, ref)
                accs[(f, isa)]["seconds"] += time.perf_counter() - t1 + share


def run_chunk(task):
    """Evaluate one chunk: {(function, isa): accumulator}, patterns, worker seconds."""
    c, chunk_bits, step, functions, isas, bound, tier = task
    _init_worker()
    t_start = time.perf_counter()
    accs = {(f, isa): _new_acc() for f in functions for isa in isas}
    patterns = _chunk_patterns(c, chunk_bits, step)
    evaluate(patterns, functions, isas, bound, accs, tier)
    return c, accs, int(patterns.size), time.perf_counter() - t_start


def calibrate(functions, isas, tier, n_blocks=16):
    """Worker seconds per pattern of a dense (--step 1) run, from n_blocks blocks of
    BLOCK consecutive patterns spread over the range (for sparse runs' estimates)."""
    _init_worker()
    accs = {(f, isa): _new_acc() for f in functions for isa in isas}
    spread = bit_reversed(64)[:n_blocks]
    t0 = time.perf_counter()
    for k in spread:
        start = (k << 26) + (1 << 25)  # the middle of 1/64 of the range
        evaluate(np.arange(start, start + BLOCK, dtype=np.int64).astype(np.uint32),
                 functions, isas, 1.0, accs, tier)
    return (time.perf_counter() - t0) / (n_blocks * BLOCK)


def merge(total, part):
    if total["max_bits"] is None or (part["max_bits"] is not None and (
        part["max_ulp"] > total["max_ulp"]
        or (part["max_ulp"] == total["max_ulp"] and part["max_bits"] < total["max_bits"])
    )):
        for k in ("max_ulp", "max_bits", "max_actual", "max_reference"):
            total[k] = part[k]
    for k in ("inputs", "gt_half", "midpoint_ties", "gt_one", "gt_bound", "special", "zero_sign",
              "seconds"):
        total[k] += part[k]
    total["worst"] = _merge_examples(total["worst"], part["worst"], key=lambda t: (-t[0], t[1]))
    for k in ("special_examples", "zero_sign_examples"):
        total[k] = _merge_examples(total[k], part[k], key=lambda t: t[0])


# ---------------------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------------------
def f32_text(bits):
    """'hex (decimal)' of the float32 with these bits: exact hex, shortest decimal."""
    v = np.array([bits], dtype=np.uint32).view(np.float32)[0]
    if v == 0 or not np.isfinite(v) or 1e-4 <= abs(v) < 1e9:
        dec = np.format_float_positional(v, unique=True, trim="-")
    else:
        dec = np.format_float_scientific(v, unique=True, trim="-")
    return f"{float(v).hex()} ({dec})"


def _count_multiples(start, end, step):
    """How many multiples of step lie in [start, end)."""
    return max(0, -(-end // step) - -(-start // step))


def _json_float(v):
    return v if v is None or math.isfinite(v) else repr(v)


def f32_of(bits):
    return float(np.array([bits], dtype=np.uint32).view(np.float32)[0])


def fmt_seconds(s):
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.2f} h"


def bit_reversed(n_chunks):
    """0 .. n_chunks-1 (a power of two) in bit-reversed order."""
    k = n_chunks.bit_length() - 1
    return [int(format(i, f"0{k}b")[::-1], 2) if k else 0 for i in range(n_chunks)]


def parse_chunks(text, n_chunks):
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if ":" in part:
            a, b = part.split(":")
            out.extend(range(int(a), int(b)))
        else:
            out.append(int(part))
    bad = [c for c in out if not 0 <= c < n_chunks]
    if bad or not out:
        raise ValueError(f"chunk indices must be in [0, {n_chunks}), got {text!r}")
    return sorted(set(out))


def build_parser():
    p = argparse.ArgumentParser(
        description="Check every float32 input (or every K-th) of fastgelu's ufuncs "
        "against tests/reference.py; report max ulp, where, and the fraction > 0.5 ulp.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Exit status: 1 if any function exceeds --bound or has a special-value "
        "mismatch, 0 otherwise.",
    )
    p.add_argument("--step", type=int, default=1,
                   help="check every K-th bit pattern (default 1 = all 2^32)")
    p.add_argument("--functions", default=None,
                   help="comma list (default: gelu,gelu_grad,gelu_tanh,gelu_tanh_grad)")
    p.add_argument("--isa", default=None,
                   help="ISA build: a name (or comma list) for fastgelu.set_isa, 'auto', or "
                   "'all' (every build this CPU supports); default: the build in use")
    p.add_argument("--tier", choices=("exact", "fast"), default="exact",
                   help="the tier's ufuncs: exact (fastgelu.<name>, the default) or fast "
                   "(fastgelu.fast.<name>)")
    p.add_argument("--bound", type=float, default=None,
                   help="ulp bound; exit status 1 if exceeded (default: the tier's, 1.0 for "
                   "exact, 4.0 for fast)")
    p.add_argument("--processes", type=int, default=os.cpu_count() or 1,
                   help="worker processes (default os.cpu_count(); 1 = no pool)")
    p.add_argument("--chunk-bits", type=int, default=22,
                   help="log2 of the patterns per chunk (default 22: 1024 chunks)")
    p.add_argument("--chunks", default=None,
                   help="only these chunk indices, e.g. '765' or '0:16,1000' (a partial run)")
    p.add_argument("--json", metavar="FILE", default=None, help="save the results as JSON")
    p.add_argument("--strict-zero-sign", action="store_true",
                   help="also fail (exit 1) on zero results of the wrong sign")
    return p


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.step < 1:
        parser.error("--step must be >= 1")
    if args.processes < 1:
        parser.error("--processes must be >= 1")
    if not 10 <= args.chunk_bits <= 32:
        parser.error("--chunk-bits must be in 10..32")
    if args.bound is not None and not args.bound >= 0:
        parser.error("--bound must be >= 0")

    if TESTS not in sys.path:
        sys.path.insert(0, TESTS)
    import reference

    import fastgelu
    from fastgelu import _config, _ufuncs

    if args.bound is None:  # the tier's promise, in float32 ulps
        args.bound = _config.TIER_BOUNDS[args.tier]

    functions = list(reference.FUNC_NAMES)
    if args.functions:
        functions = [s.strip() for s in args.functions.split(",") if s.strip()]
        unknown = [f for f in functions if f not in reference.FUNC_NAMES]
        if unknown or not functions:
            parser.error(f"unknown function(s) {unknown}; choose from "
                         f"{', '.join(reference.FUNC_NAMES)}")

    compiled = _ufuncs.compiled_isas()
    supported = [n for n in compiled if _ufuncs.cpu_supports(n)]
    if args.isa is None:
        isas = [fastgelu.get_isa()]
    elif args.isa == "all":
        isas = supported
    else:
        isas = []
        for name in (s.strip() for s in args.isa.split(",") if s.strip()):
            try:
                isas.append(fastgelu.set_isa(name))  # resolves 'auto', validates
            except (ValueError, RuntimeError) as exc:
                parser.error(f"--isa {name}: {exc} (this CPU runs: {', '.join(supported)})")
        isas = list(dict.fromkeys(isas))
    if not isas:
        parser.error("no ISA build to check")

    n_chunks = 1 << (32 - args.chunk_bits)
    if args.chunks:
        try:
            order = parse_chunks(args.chunks, n_chunks)
        except ValueError as exc:
            parser.error(str(exc))
        chosen = set(order)
        order = [c for c in bit_reversed(n_chunks) if c in chosen]
    else:
        order = bit_reversed(n_chunks)
    size = 1 << args.chunk_bits
    expected_inputs = sum(
        _count_multiples(c * size, (c + 1) * size, args.step) for c in order)
    processes = min(args.processes, len(order))

    print(f"fastgelu {fastgelu.__version__} from {os.path.dirname(fastgelu.__file__)}")
    print(f"  reference: {os.path.join(TESTS, 'reference.py')} (REF64, ulp_error)")
    print(f"  functions: {', '.join(functions)} ({args.tier} tier);  ISA: {', '.join(isas)} "
          f"(compiled {', '.join(compiled)}; this CPU runs {', '.join(supported)})")
    print(f"  patterns : {expected_inputs:,} per function and ISA (step {args.step}"
          f"{', chunks ' + args.chunks if args.chunks else ''}); {len(order)} chunks of "
          f"2^{args.chunk_bits}; {processes} process(es); bound {args.bound} ulp")
    sys.stdout.flush()

    tasks = [(c, args.chunk_bits, args.step, functions, isas, args.bound, args.tier)
             for c in order]
    totals = {(f, isa): _new_acc() for f in functions for isa in isas}
    done = patterns_done = 0
    t_first = 0.0
    worker_seconds = 0.0
    next_report = 1
    estimate_after = min(len(tasks), max(2 * processes, len(tasks) // 50, 1))

    def exhaustive_estimate():
        if patterns_done == 0:
            return None
        per_pattern = worker_seconds / patterns_done  # all functions and ISAs
        return per_pattern * N_PATTERNS / max(processes, 1)

    if args.step > 1:
        # Sparse chunks cost mostly per-call overhead: time a few dense blocks instead.
        dense = calibrate(functions, isas, args.tier) * N_PATTERNS / processes
        print(f"[estimate from {16 * BLOCK:,} consecutive patterns] exhaustive (--step 1, "
              f"{len(functions)} function(s) x {len(isas)} ISA(s), {processes} process(es)):"
              f" ~{fmt_seconds(dense)}", file=sys.stderr, flush=True)
    else:
        dense = None
    t0 = time.perf_counter()
    if processes == 1:
        _init_worker()
        results = map(run_chunk, tasks)
        pool = None
    else:
        import multiprocessing as mp

        # 'spawn': a forked child of a process holding an OpenMP runtime may hang.
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        pool = mp.get_context("spawn").Pool(processes, initializer=_init_worker)
        results = pool.imap_unordered(run_chunk, tasks, chunksize=1)
    try:
        for _c, accs, n, secs in results:
            for key, acc in accs.items():
                merge(totals[key], acc)
            done += 1
            patterns_done += n
            worker_seconds += secs
            elapsed = time.perf_counter() - t0
            if done == 1:
                t_first = elapsed  # (includes the workers' start-up, left out of ETAs)
            rate = (elapsed - t_first) / (done - 1) if done > 1 else elapsed
            if done == estimate_after:
                eta = rate * (len(tasks) - done)
                msg = f"[estimate after {done} chunks] this run: ~{fmt_seconds(elapsed + eta)}"
                if args.step == 1:
                    msg += (f"; exhaustive (--step 1, {len(functions)} function(s) x "
                            f"{len(isas)} ISA(s), {processes} process(es)): "
                            f"~{fmt_seconds(exhaustive_estimate())}")
                print(msg, file=sys.stderr, flush=True)
            while done * 10 >= next_report * len(tasks) and next_report <= 10:
                eta = rate * (len(tasks) - done)
                worst = max(totals.values(), key=lambda a: a["max_ulp"])["max_ulp"]
                print(f"[{10 * next_report:3d}%] {done}/{len(tasks)} chunks, "
                      f"{patterns_done:,} patterns, {fmt_seconds(elapsed)} elapsed, "
                      f"~{fmt_seconds(eta)} to go; worst so far {worst:.4f} ulp",
                      file=sys.stderr, flush=True)
                next_report += 1
    except KeyboardInterrupt:
        if pool is not None:
            pool.terminate()
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    wall = time.perf_counter() - t0
    final_estimate = exhaustive_estimate() if dense is None else dense

    # ---- table ------------------------------------------------------------------------
    rows = []
    header = ("function", "ISA", "inputs", "max ulp", "argument (hex, decimal)",
              "frac>0.5ulp", f">{args.bound:g}ulp", "specials", "seconds")
    for f in functions:
        for isa in isas:
            a = totals[(f, isa)]
            arg = f32_text(a["max_bits"]) if a["max_bits"] is not None else "-"
            rows.append((f, isa, f"{a['inputs']:,}", f"{a['max_ulp']:.4f}", arg,
                         f"{a['gt_half'] / max(a['inputs'], 1):.3e}", f"{a['gt_bound']:,}",
                         f"{a['special']:,}", f"{a['seconds']:.1f}"))
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    right = {2, 3, 5, 6, 7, 8}

    def line(r):
        return "  ".join(str(v).rjust(w) if i in right else str(v).ljust(w)
                         for i, (v, w) in enumerate(zip(r, widths)))

    print()
    print(line(header))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))
    print()

    failed = False
    for f in functions:
        for isa in isas:
            a = totals[(f, isa)]
            tag = f"{f} [{isa}]"
            if a["inputs"] != expected_inputs:
                print(f"ERROR {tag}: checked {a['inputs']:,} inputs, expected "
                      f"{expected_inputs:,}")
                failed = True
            if a["max_bits"] is not None:
                print(f"{tag}: max {a['max_ulp']:.6f} ulp at x = {f32_text(a['max_bits'])}"
                      f" [bits 0x{a['max_bits']:08x}]: got {a['max_actual']!r}, reference "
                      f"{a['max_reference']!r}; >0.5 ulp: {a['gt_half']:,} (of which "
                      f"{a['midpoint_ties']:,} at float32 midpoints, 0.5 + tiny ulp), "
                      f">1 ulp: {a['gt_one']:,}")
            if a["gt_bound"]:
                failed = True
                print(f"  FAIL: {a['gt_bound']:,} inputs above {args.bound} ulp; worst:")
                for e, b, y, r in a["worst"]:
                    print(f"    x = {f32_text(b)}: {e:.4f} ulp, got {y!r}, reference {r!r}")
            if a["special"]:
                failed = True
                print(f"  FAIL: {a['special']:,} special-value mismatches (NaN/inf), e.g.:")
                for b, y, r in a["special_examples"]:
                    print(f"    x = {f32_text(b)} [0x{b:08x}]: got {y!r}, reference {r!r}")
            if a["zero_sign"]:
                failed = failed or args.strict_zero_sign
                print(f"  {'FAIL' if args.strict_zero_sign else 'note'}: {a['zero_sign']:,} "
                      f"zero results of the wrong sign (0 ulp for ulp_error), e.g.:")
                for b, y, r in a["zero_sign_examples"]:
                    print(f"    x = {f32_text(b)}: got {y!r}, reference {r!r}")
    print()
    print(f"wall time {fmt_seconds(wall)} for {patterns_done:,} patterns x "
          f"{len(functions)} function(s) x {len(isas)} ISA(s) ({processes} process(es)); "
          f"worker time {fmt_seconds(worker_seconds)}")
    if final_estimate is not None:
        print(f"estimated exhaustive run (--step 1, same functions/ISAs, {processes} "
              f"process(es)): ~{fmt_seconds(final_estimate)}"
              + (f" (from {16 * BLOCK:,} consecutive patterns timed before the run)"
                 if dense is not None else " (from this run's worker time)"))
    print("RESULT:", "FAIL" if failed else "PASS", f"(bound {args.bound} ulp)")

    if args.json:
        out = {
            "fastgelu_version": fastgelu.__version__,
            "fastgelu_path": os.path.dirname(fastgelu.__file__),
            "numpy": np.__version__,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "step": args.step,
            "chunk_bits": args.chunk_bits,
            "chunks": args.chunks,
            "tier": args.tier,
            "bound_ulp": args.bound,
            "processes": processes,
            "wall_seconds": wall,
            "worker_seconds": worker_seconds,
            "estimated_exhaustive_seconds": final_estimate,
            "passed": not failed,
            "results": [],
        }
        for f in functions:
            for isa in isas:
                a = totals[(f, isa)]
                b = a["max_bits"]
                out["results"].append({
                    "function": f,
                    "isa": isa,
                    "inputs": a["inputs"],
                    "max_ulp": a["max_ulp"],
                    "argmax_hex": float.hex(f32_of(b)) if b is not None else None,
                    "argmax": repr(f32_of(b)) if b is not None else None,
                    "argmax_bits": f"0x{b:08x}" if b is not None else None,
                    "actual_at_max": _json_float(a["max_actual"]),
                    "reference_at_max": _json_float(a["max_reference"]),
                    "count_gt_half_ulp": a["gt_half"],
                    "fraction_gt_half_ulp": a["gt_half"] / max(a["inputs"], 1),
                    "count_gt_half_ulp_at_midpoints": a["midpoint_ties"],
                    "count_gt_1_ulp": a["gt_one"],
                    "count_gt_bound": a["gt_bound"],
                    "worst_above_bound": [
                        {"x_hex": float.hex(f32_of(bb)), "ulp": e, "actual": _json_float(y),
                         "reference": _json_float(r)}
                        for e, bb, y, r in a["worst"]],
                    "special_mismatches": a["special"],
                    "special_examples": [
                        {"x_hex": float.hex(f32_of(bb)), "bits": f"0x{bb:08x}",
                         "actual": repr(y), "reference": repr(r)}
                        for bb, y, r in a["special_examples"]],
                    "zero_sign_mismatches": a["zero_sign"],
                    "zero_sign_examples": [
                        {"x_hex": float.hex(f32_of(bb)), "actual": repr(y), "reference": repr(r)}
                        for bb, y, r in a["zero_sign_examples"]],
                    "seconds": a["seconds"],
                })
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)
        print(f"results saved to {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
