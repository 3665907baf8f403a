"""The benchmark's figures as text and JSON: the Melem/s table of ``python -m fastgelu
bench`` and of the benchmark suite's summary, and the files ``--json`` writes and
``benchmarks/plot.py --json`` reads (the drawing is :mod:`fastgelu._plot`).

A row is what :func:`fastgelu._bench.run` returns per (dtype, size, kind): ``melem_s``
({implementation: Melem/s}), ``wrong`` and ``skipped`` ({implementation: why}).
"""
from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._config import TIER_BOUNDS
from ._peers import ALL_IMPLS, FUSED_KINDS, IMPL_TIERS, IMPLS

#: The ratio columns, (numerator, denominator), where both are in the table: fastgelu (the
#: exact tier) against each peer, and the fast tier against the exact one and the peers.
RATIOS = (("fastgelu", "torch"), ("fastgelu", "numpy"), ("fastgelu", "unfused"),
          ("fastgelu", "copy"), ("fast", "fastgelu"), ("fast", "torch"), ("fast", "numpy"))
#: Short names in the ratio columns' titles (``fg/torch``, ``fast/fg``).
_SHORT = {"fastgelu": "fg"}
_COLW = 10


def format_n(n: int) -> str:
    """1000 -> '1e3', 1048576 -> '2^20', 3000 -> '3e3', else the integer."""
    if n > 0 and n & (n - 1) == 0 and n >= 1024:
        return f"2^{n.bit_length() - 1}"
    mant, exp = f"{n:.0e}".split("e")
    if int(mant) * 10 ** int(exp) == n:
        return f"{mant}e{int(exp)}"
    return str(n)


def header(impls: Sequence[str]) -> str:
    """The table's column titles (``--progress`` prints it before the rows)."""
    cols = [f"{'dtype':8s}", f"{'kind':15s}", f"{'n':>6s}"]
    cols += [f"{name:>{_COLW}s}" for name in impls]
    cols += [f"{_SHORT.get(a, a) + '/' + _SHORT.get(b, b):>{_COLW}s}" for a, b in _ratios(impls)]
    return " ".join(cols)


def _ratios(impls: Sequence[str]) -> list[tuple[str, str]]:
    return [(a, b) for a, b in RATIOS if a in impls and b in impls]


def format_row(row: Mapping[str, Any], impls: Sequence[str] = IMPLS) -> str:
    """One table line: Melem/s per implementation, then the ratios (:data:`RATIOS`)."""
    figs, wrong = row["melem_s"], row.get("wrong", {})
    cols = [f"{row['dtype']:8s}", f"{row['kind']:15s}", f"{format_n(row['n']):>6s}"]
    for name in impls:
        if name in figs:
            cols.append(f"{figs[name]:{_COLW}.1f}")
        else:
            cols.append(f"{'WRONG' if name in wrong else '-':>{_COLW}s}")
    for a, b in _ratios(impls):
        if figs.get(a) is not None and figs.get(b):
            cols.append(f"{figs[a] / figs[b]:{_COLW - 1}.2f}x")
        else:
            cols.append(f"{'-':>{_COLW}s}")
    return " ".join(cols)


def _tiers_legend(impls: Sequence[str]) -> str:
    """'fg = fastgelu (exact tier, <= 1 ulp), fast = fastgelu.fast (fast tier, <= 4 ulp)'
    for the tiers in the table."""
    from . import _ufuncs

    return ", ".join(f"{_SHORT.get(impl, impl)} = {_ufuncs.TIER_MODULES[tier]} ({tier} tier, "
                     f"<= {TIER_BOUNDS[tier]:g} ulp)"
                     for impl, tier in IMPL_TIERS.items() if impl in impls)


def format_table(rows: Sequence[Mapping[str, Any]], impls: Sequence[str] | None = None,
                 title: bool = True) -> str:
    """The rows as a table in Melem/s, with the ratios of fastgelu's tiers to the peers
    (fg/torch, fg/numpy, fg/copy, fast/fg, fast/torch, ...)."""
    if impls is None:
        impls = ALL_IMPLS if any(r["kind"] in FUSED_KINDS for r in rows) else IMPLS
    lines = []
    if title and rows:
        thr = rows[0].get("threads")
        what = {"normal": "x = 3*N(0,1)", "tail": "x uniform on [-20, 0]",
                "subnormal": "x subnormal"}[rows[0].get("dist", "normal")]
        legend = _tiers_legend(impls)
        lines.append(f"Throughput in Melem/s (median), {what}, threads={thr}; "
                     "ratios a/b > 1: a faster" + (f"; {legend}" if legend else ""))
    lines.append(header(impls))
    lines += [format_row(r, impls) for r in rows]
    notes: dict[str, None] = {}  # an ordered set
    for r in rows:
        for name, why in r.get("skipped", {}).items():
            notes.setdefault(f"{name} skipped: {why}", None)
        for name, why in r.get("wrong", {}).items():
            notes.setdefault(f"{name} WRONG ({r['dtype']} n={format_n(r['n'])}): {why}", None)
    lines += [f"  note: {s}" for s in notes]
    return "\n".join(lines)


def metadata(threads: int | None = None) -> dict[str, Any]:
    """Versions and settings to store with the figures."""
    from . import _config

    meta: dict[str, Any] = {"fastgelu": _config.config(), "numpy": np.__version__,
                            "threads": threads, "cpu_count": os.cpu_count(),
                            "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
    for mod in ("scipy", "torch"):
        m = sys.modules.get(mod)
        meta[mod] = getattr(m, "__version__", None) if m is not None else None
    return meta


def save_json(rows: Sequence[Mapping[str, Any]], path: str, meta: Mapping | None = None) -> None:
    """Write ``{"meta": ..., "rows": [...]}`` (what :func:`load_json` and plot.py read)."""
    thr = rows[0]["threads"] if rows else None
    with open(path, "w") as fh:
        json.dump({"meta": dict(meta) if meta is not None else metadata(thr),
                   "rows": list(rows)}, fh, indent=1)


def load_json(path: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(meta, rows) from a file written by :func:`save_json`."""
    with open(path) as fh:
        data = json.load(fh)
    if isinstance(data, list):  # a bare list of rows
        return {}, data
    return data.get("meta", {}), data["rows"]
