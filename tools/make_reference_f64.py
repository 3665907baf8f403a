#!/usr/bin/env python
"""Regenerate tests/data/reference_f64.npz, the float64 reference table of the tests.

Inputs are deterministic (tests/reference.py:f64_sample_inputs, a fixed seed): the core,
the left tail to beyond underflow, tiny and huge |x|, subnormal inputs and the
neighbourhoods of the gradient zeros. Each function is evaluated with mpmath at
50 significant digits (tests/reference.py:mp_value) and stored as

    x                  float64 inputs
    <name>             the double nearest the exact value (hi)
    <name>_err_ulp     (exact - hi) / ulp(exact), in [-0.5, 0.5]

for <name> in gelu, gelu_grad, gelu_tanh, gelu_tanh_grad. The residual is stored in ulps
rather than as a double-double ``lo``: a ``lo`` cannot represent it when the value is
subnormal (there the test must still tell a 1-ulp error from a 1.5-ulp one).

Usage:  python tools/make_reference_f64.py [--scale 1.0] [--jobs N] [--out PATH]
Takes about a minute on two cores at the default scale (~21000 inputs, ~1.2 MB).

    python tools/make_reference_f64.py --check-table

writes src/fastgelu/data/check_f64.npz instead: every 8th point of the tests' table (no
recomputation), shipped with the package for ``python -m fastgelu check``.

    python tools/make_reference_f64.py --check [--check-stride 8]

writes nothing: exit 0 if both committed tables hold what this script writes, else 1
with the differences (see check(): the inputs are regenerated in full, the mpmath values
at every 8th input, ~10 s on two cores; ``--check-stride 1``: all of them, as long as a
regeneration). Arrays are compared bit for bit (the .npz files themselves differ by their
zip timestamps).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.join(os.path.dirname(HERE), "tests")
sys.path.insert(0, TESTS)

import reference

DEFAULT_OUT = os.path.join(TESTS, "data", "reference_f64.npz")
CHECK_TABLE = os.path.join(os.path.dirname(HERE), "src", "fastgelu", "data", "check_f64.npz")
CHECK_STRIDE = 8


def write_check_table(source: str = DEFAULT_OUT, out: str = CHECK_TABLE) -> None:
    """Every CHECK_STRIDE-th point of the (sorted) tests' table, so each region of the
    sample keeps its share."""
    with np.load(source) as t:
        table = {k: t[k][::CHECK_STRIDE] for k in t.files if k != "meta"}
        meta = f"{t['meta']}; every {CHECK_STRIDE}th point of {os.path.basename(source)}"
    os.makedirs(os.path.dirname(out), exist_ok=True)
    np.savez_compressed(out, **table, meta=np.array(meta))
    print(f"wrote {out}: {table['x'].size} inputs, {os.path.getsize(out) / 1e3:.0f} kB")


def _chunk(args):
    name, xs = args
    return reference.mp_reference(name, xs)


def build(scale: float = 1.0, jobs: int | None = None) -> dict[str, np.ndarray]:
    return evaluate(reference.f64_sample_inputs(scale), jobs)


def evaluate(x: np.ndarray, jobs: int | None = None) -> dict[str, np.ndarray]:
    """The table's columns at the inputs ``x`` (mpmath, in ``jobs`` processes)."""
    jobs = jobs or os.cpu_count() or 1
    chunks = np.array_split(x, max(1, 4 * jobs))
    tasks = [(name, c) for name in reference.FUNC_NAMES for c in chunks]
    out: dict[str, np.ndarray] = {"x": x}
    with ProcessPoolExecutor(jobs) as pool:
        results = list(pool.map(_chunk, tasks))
    for i, name in enumerate(reference.FUNC_NAMES):
        parts = results[i * len(chunks):(i + 1) * len(chunks)]
        out[name] = np.concatenate([p[0] for p in parts])
        out[name + "_err_ulp"] = np.concatenate([p[1] for p in parts])
    return out


def _bit_differences(label: str, got: np.ndarray, want: np.ndarray) -> list[str]:
    """[] if the arrays hold the same float64 bit patterns, else what differs."""
    if got.shape != want.shape:
        return [f"{label}: shape {got.shape}, expected {want.shape}"]
    bad = np.flatnonzero(got.view(np.uint64) != want.view(np.uint64))
    if not bad.size:
        return []
    shown = ", ".join(f"[{i}] {float(got[i])!r} != {float(want[i])!r}" for i in bad[:5])
    return [f"{label}: {bad.size} of {got.size} values differ: {shown}"]


def check(scale: float = 1.0, stride: int = CHECK_STRIDE, jobs: int | None = None,
          table: str = DEFAULT_OUT, check_table: str = CHECK_TABLE) -> int:
    """0 if ``table`` and ``check_table`` hold what this script writes, else print the
    differences and return 1.

    The inputs are regenerated in full. Those drawn as ``10.0 ** uniform`` (tiny and huge
    |x|) go through np.power, whose last bit depends on the machine (NumPy's AVX-512 loop
    and libm's pow round some differently); a 1-ulp difference there is reported, not
    failed. The mpmath values are recomputed at every ``stride``-th committed input and
    must match bit for bit, and ``check_table`` must be every CHECK_STRIDE-th row of
    ``table``.
    """
    with np.load(table) as t:
        committed = {k: t[k] for k in t.files if k != "meta"}
    name_t, name_c = os.path.relpath(table), os.path.relpath(check_table)
    x, cx = reference.f64_sample_inputs(scale), committed["x"]
    problems, notes = [], []
    if x.shape != cx.shape:
        problems.append(f"{name_t} x: {cx.size} inputs, the generator gives {x.size}")
    else:
        ulps = np.abs(x.view(np.int64) - cx.view(np.int64))
        if ulps.max() > 1:
            problems += _bit_differences(f"{name_t} x", x, cx)
        elif ulps.any():
            notes.append(f"{name_t} x: {np.count_nonzero(ulps)} of {x.size} inputs differ "
                         f"from this machine's by 1 ulp (np.power's last bit is "
                         f"machine-dependent)")
    values = evaluate(cx[::stride], jobs)
    for name in sorted(set(values) - {"x"}):  # each function and its _err_ulp
        problems += _bit_differences(f"{name_t} {name} (every {stride}th input)",
                                     values[name], committed[name][::stride])
    with np.load(check_table) as c:
        shipped = {k: c[k] for k in c.files if k != "meta"}
    if set(shipped) != set(committed):
        problems.append(f"{name_c}: columns {sorted(shipped)}, expected {sorted(committed)}")
    else:
        for name in committed:
            problems += _bit_differences(f"{name_c} {name}", shipped[name],
                                         committed[name][::CHECK_STRIDE])
    for line in notes + problems:
        print(line)
    print(f"{cx.size} inputs, mpmath values at {cx[::stride].size} of them: "
          + ("differences above (regenerate: python tools/make_reference_f64.py, then "
             "--check-table)" if problems else "the committed tables are what this writes"))
    return 1 if problems else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies the random sample sizes")
    ap.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--check-table", action="store_true",
                    help=f"write {os.path.relpath(CHECK_TABLE)} from the tests' table and stop")
    ap.add_argument("--check", action="store_true",
                    help="write nothing; exit 0 if the committed tables are what this writes, "
                         "else 1 with the differences")
    ap.add_argument("--check-stride", type=int, default=CHECK_STRIDE, metavar="K",
                    help="--check: recompute the values at every K-th input (1: all)")
    args = ap.parse_args(argv)
    if args.check:
        return check(args.scale, args.check_stride, args.jobs)
    if args.check_table:
        write_check_table()
        return 0
    t0 = time.perf_counter()
    table = build(args.scale, args.jobs)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    np.savez_compressed(
        args.out,
        **table,
        meta=np.array(
            f"mpmath {reference.mpmath.__version__}, {reference.MP_DPS} digits, "
            f"scale {args.scale}, tanh constant {reference.TANH_A}"
        ),
    )
    size = os.path.getsize(args.out)
    print(
        f"wrote {args.out}: {table['x'].size} inputs, {size / 1e6:.2f} MB, "
        f"{time.perf_counter() - t0:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
