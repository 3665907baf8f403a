#!/usr/bin/env python
"""Accuracy report of the installed fastgelu ufuncs: float64 against mpmath, special values.

    python tools/accuracy_report.py float64 [--table tests/data/reference_f64.npz]
    python tools/accuracy_report.py specials
    python tools/accuracy_report.py --tier fast float64      # fastgelu.fast (bound 4 ulp)

``float64`` runs every function on every ISA build this CPU supports over the mpmath
table of the tests (50 digits; regenerate or enlarge it with tools/make_reference_f64.py
--scale K) and prints the max error in ulps, where it occurs, and the fraction of inputs
above 0.5 ulp. ``specials`` prints each function at ±0, ±inf, NaN, the extreme finite and
subnormal values, in both dtypes, against the documented limits. Both exit with status 1
if anything is over the tier's bound (1 ulp; ``--tier fast``: 4) or off its documented
value. The exhaustive float32 check is
tools/check_exhaustive_f32.py.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.join(os.path.dirname(HERE), "tests")
sys.path.insert(0, TESTS)

from reference import FUNC_NAMES, ulp_error

import fastgelu
from fastgelu import _config, _ufuncs


def supported_isas():
    return [isa for isa in _ufuncs.compiled_isas() if _ufuncs.cpu_supports(isa)]


def report_float64(table_path, tier):
    table = np.load(table_path)
    x = table["x"]
    print(f"float64 vs mpmath (50 digits): {x.size} inputs from {os.path.relpath(table_path)}; "
          f"{_ufuncs.TIER_MODULES[tier]}.<name> ({tier} tier)")
    print(f"{'function':16s} {'isa':9s} {'max ulp':>8s}  {'at x':>24s}  {'> 0.5 ulp':>10s}")
    worst = 0.0
    for isa in supported_isas():
        fastgelu.set_isa(isa)
        for name in FUNC_NAMES:
            y = _ufuncs.UFUNCS[tier][name](x)
            err = ulp_error(y, table[name], np.float64, table[name + "_err_ulp"])
            i = int(np.argmax(err))
            worst = max(worst, err[i])
            print(f"{name:16s} {isa:9s} {err[i]:8.4f}  {x[i]:24.17g}  {np.mean(err > 0.5):10.3%}")
    fastgelu.set_isa("auto")
    return worst <= _config.TIER_BOUNDS[tier]


# Documented limits (README, docstrings): None means "the finite value nearest the true one
# is checked by the ulp tests"; here only its finiteness and sign are checked.
SPECIALS = {
    "gelu": {"+inf": np.inf, "-inf": -0.0, "nan": np.nan, "+0": 0.0, "-0": -0.0},
    "gelu_grad": {"+inf": 1.0, "-inf": -0.0, "nan": np.nan, "+0": 0.5, "-0": 0.5},
    "gelu_tanh": {"+inf": np.inf, "-inf": -0.0, "nan": np.nan, "+0": 0.0, "-0": -0.0},
    "gelu_tanh_grad": {"+inf": 1.0, "-inf": -0.0, "nan": np.nan, "+0": 0.5, "-0": 0.5},
}


def special_inputs(dtype):
    info = np.finfo(dtype)
    return {
        "+inf": np.inf, "-inf": -np.inf, "nan": np.nan, "+0": 0.0, "-0": -0.0,
        "+max": info.max, "-max": -info.max,
        "+tiny": info.smallest_subnormal, "-tiny": -info.smallest_subnormal,
    }


def expected_limit(name, label, dtype):
    if label in SPECIALS[name]:
        return SPECIALS[name][label]
    info = np.finfo(dtype)
    if label == "+max":  # gelu(x) = x and grad 1 far right
        return info.max if "grad" not in name else 1.0
    if label == "-max":
        return -0.0
    # ±smallest subnormal: gelu(x) ~ x/2 rounds to ±0 or ±tiny; the grads are 0.5
    return None if "grad" not in name else 0.5


def same(a, b):
    if np.isnan(b):
        return bool(np.isnan(a))
    return a == b and np.signbit(a) == np.signbit(b)


def report_specials(tier):
    ok = True
    with np.errstate(all="raise", under="ignore"):
        for dtype in (np.float32, np.float64):
            inputs = special_inputs(dtype)
            print(f"\n{np.dtype(dtype).name}: value (documented)")
            print(f"{'input':>7s} " + " ".join(f"{n:>20s}" for n in FUNC_NAMES))
            for isa in supported_isas():
                fastgelu.set_isa(isa)
                for label, v in inputs.items():
                    cells = []
                    for name in FUNC_NAMES:
                        y = _ufuncs.UFUNCS[tier][name](np.array([v], dtype=dtype))[0]
                        want = expected_limit(name, label, dtype)
                        good = same(y, want) if want is not None else bool(np.isfinite(y))
                        ok &= good
                        cells.append(f"{float(y):>17.9g} {'ok' if good else 'XX'}")
                    print(f"{label:>7s} " + " ".join(cells) + f"   [{isa}]")
    fastgelu.set_isa("auto")
    print("\nall special values as documented, no floating-point exception raised" if ok
          else "\nMISMATCH (XX above)")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tier", choices=_ufuncs.TIERS, default="exact",
                    help="the tier's ufuncs: exact (fastgelu.<name>) or fast (fastgelu.fast)")
    sub = ap.add_subparsers(dest="what", required=True)
    f64 = sub.add_parser("float64", help="float64 vs the mpmath table")
    f64.add_argument("--table", default=os.path.join(TESTS, "data", "reference_f64.npz"))
    sub.add_parser("specials", help="special values, both dtypes")
    a = ap.parse_args()
    ok = report_float64(a.table, a.tier) if a.what == "float64" else report_specials(a.tier)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
