"""Self-test of accuracy: ``python -m fastgelu check`` (and :func:`run_check`).

Every ufunc of each accuracy tier, every loop dtype, on a sample of inputs, against an
independent reference, error in ulps of the result dtype; a point above the tier's bound
(fastgelu's documented guarantee, :data:`fastgelu._config.TIER_BOUNDS`: the exact tier,
``fastgelu.<name>``, 1 ulp; the fast tier, ``fastgelu.fast.<name>``, 4 ulp; float16 and
bfloat16 results 1 ulp in both) is a failure. Needs only NumPy and the standard library:

float16, bfloat16 and float32 results
    against the package's float64 reference (:mod:`fastgelu._reference`: ``math.erfc``,
    or SciPy's ``ndtr`` where installed, and a Taylor series next to the gradients'
    zeros; relative error ~1e-14 at worst, < 1e-6 float32 ulp). float16 and bfloat16:
    all 65,536 inputs; float32: the float64 table's inputs rounded (among them the
    neighbours of the gradients' zeros), plus 20,000 random ones (core, left tail, tiny
    and huge magnitudes).
float64 results
    against ``data/check_f64.npz``: a fixed subsample (every 8th point) of the mpmath
    table of the tests (``tests/data/reference_f64.npz``, 50 digits), each value stored
    as the double nearest it and the residual in ulps. Regenerate with
    ``python tools/make_reference_f64.py --check-table``.
products (``gelu_backward``, ``geglu``, ``geglu_backward`` and their tanh forms)
    the reference function value times the other operands, formed exactly (float64:
    ``fractions.Fraction``) and compared once rounded.

Special values (NaN, infinities) are checked too: an input NaN must give NaN, an exact
infinity must match exactly. The whole run takes a few seconds.
"""
from __future__ import annotations

import dataclasses
import math
import os
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ._config import TIER_BOUNDS, tier_bound
from ._reference import FUSED, REF, UNARY, fused

DTYPES = ("float16", "float32", "float64")
#: The exact tier's bound (the default of :class:`Result`); each tier's is
#: :func:`fastgelu._config.tier_bound`.
BOUND_ULP = TIER_BOUNDS["exact"]
TABLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "check_f64.npz")


def _finfo(dtype: np.dtype):
    try:
        return np.finfo(dtype)
    except ValueError:  # bfloat16: ml_dtypes has the finfo NumPy refuses
        import ml_dtypes

        return ml_dtypes.finfo(dtype)


def available_dtypes() -> tuple[str, ...]:
    """The loop dtypes: float16, float32, float64, and bfloat16 where it is registered."""
    from . import _ufuncs

    return DTYPES + (("bfloat16",) if _ufuncs.bfloat16 is not None else ())


def _dtype(name: str) -> np.dtype:
    if name == "bfloat16":
        from . import _ufuncs

        return np.dtype(_ufuncs.bfloat16)
    return np.dtype(name)


def ulp_of(value: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Spacing of ``dtype`` at ``|value|``: the binade's ulp, the subnormal one below."""
    info = _finfo(dtype)
    a = np.abs(np.asarray(value, dtype=np.float64))
    _, e = np.frexp(np.maximum(a, float(info.smallest_normal)))
    return np.ldexp(1.0, (e - info.nmant - 1).astype(np.int32))


def ulp_errors(actual: np.ndarray, exact: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """|actual - exact| in ulps of dtype. Where the result or the exact value rounded to
    dtype is not finite (NaN, infinity, overflow) they must be the same: error 0, else inf."""
    act = np.asarray(actual).astype(np.float64)
    exp = np.asarray(exact, dtype=np.float64)
    with np.errstate(all="ignore"):
        err = np.abs(act - exp) / ulp_of(exp, dtype)
        exp = exp.astype(dtype).astype(np.float64)  # overflow rounds to inf
    special = ~np.isfinite(act) | ~np.isfinite(exp)
    same = (np.isnan(act) & np.isnan(exp)) | (act == exp)
    return np.where(special, np.where(same, 0.0, np.inf), err)


# ---------------------------------------------------------------------------------------
# float64: the shipped mpmath table, and exact products with Fractions
# ---------------------------------------------------------------------------------------
def _load_table() -> dict[str, np.ndarray]:
    with np.load(TABLE) as t:
        return {k: t[k] for k in t.files if k != "meta"}


def _table_ulp(hi: np.ndarray, err_ulp: np.ndarray) -> np.ndarray:
    """ulp(exact) for the table's values: the exact value is hi + err_ulp * ulp(exact),
    and lies just below |hi| where err_ulp points toward 0 (then, at a power of two, the
    ulp is the smaller binade's, as the table defines it)."""
    m, _ = np.frexp(np.abs(hi))
    below = (m == 0.5) & ((err_ulp < 0) == (hi > 0)) & (np.abs(hi) > 2.0**-1022)
    ulp = ulp_of(hi, np.dtype(np.float64))
    return np.where(below, ulp / 2, ulp)


def _ulp_error_exact(y: float, exact: Fraction) -> float:
    if math.isnan(y):
        return math.inf
    try:
        target = float(exact)  # correctly rounded
    except OverflowError:  # rounds past the largest double
        target = math.inf if exact > 0 else -math.inf
    if math.isinf(target) or math.isinf(y):
        return 0.0 if y == target else math.inf
    ulp = Fraction(math.ulp(target) if target != 0 else 2.0**-1074)
    if abs(Fraction(target)) > abs(exact) and math.frexp(abs(target))[0] == 0.5 \
            and abs(target) > 2.0**-1022:
        ulp /= 2  # exact value just below a power of two: the smaller binade's ulp
    return float(abs(Fraction(y) - exact) / ulp)


# ---------------------------------------------------------------------------------------
# Samples
# ---------------------------------------------------------------------------------------
def _inputs(dtype: np.dtype, table_x: np.ndarray, seed: int = 12345) -> np.ndarray:
    if dtype.itemsize == 2:  # float16, bfloat16: every value
        return np.arange(1 << 16, dtype=np.uint16).view(dtype)
    rng = np.random.default_rng(seed)
    finfo = _finfo(dtype)
    parts = [
        table_x,
        3.0 * rng.standard_normal(8000),
        rng.uniform(-40.0, 0.0, 6000),
        np.where(rng.random(6000) < 0.5, -1.0, 1.0) * 2.0 ** rng.uniform(
            math.log2(float(finfo.smallest_subnormal)), math.log2(float(finfo.max)), 6000),
        SPECIALS,
    ]
    with np.errstate(over="ignore"):
        return np.unique(np.concatenate(parts).astype(dtype))


@dataclass
class Result:
    """Worst error of one ufunc output of one tier on one dtype, and the bound it must
    keep (the tier's for that dtype)."""

    ufunc: str
    dtype: str
    points: int
    max_ulp: float
    worst: str  # the inputs where it occurred
    tier: str = "exact"
    bound: float = BOUND_ULP

    @property
    def ok(self) -> bool:
        return self.max_ulp <= self.bound


def _worst(name: str, dtype: str, err: np.ndarray, args: Iterable[np.ndarray]) -> Result:
    i = int(np.argmax(np.where(np.isnan(err), np.inf, err)))
    where = ", ".join(repr(float(a.reshape(-1)[i])) for a in args)
    return Result(name, dtype, int(err.size), float(err.reshape(-1)[i]), f"({where})")


SPECIALS = np.array([0.0, -0.0, np.inf, -np.inf, np.nan])


def _check_unary(fg, dtype: np.dtype, x: np.ndarray, table: dict) -> list[Result]:
    out = []
    for name in UNARY:
        if dtype == np.float64:  # the table (finite, nonzero x), then the special values
            hi, res = table[name], table[name + "_err_ulp"]
            with np.errstate(all="ignore"):
                err = np.abs((getattr(fg, name)(x) - hi) / _table_ulp(hi, res) - res)
            special = ulp_errors(getattr(fg, name)(SPECIALS), REF[name](SPECIALS), dtype)
            err, args = np.concatenate([err, special]), np.concatenate([x, SPECIALS])
        else:
            err, args = ulp_errors(getattr(fg, name)(x), REF[name](x), dtype), x
        out.append(_worst(name, dtype.name, err, [args]))
    return out


def _check_products(fg, dtype: np.dtype, x: np.ndarray, table: dict,
                    rng: np.random.Generator) -> list[Result]:
    """The fused ufuncs: w * f(x) against the reference f times w, formed exactly."""
    if dtype == np.float64:
        pick = rng.choice(x.size, size=min(1500, x.size), replace=False)
        x = x[pick]
    else:
        x = x[np.isfinite(x)]
        x = x[rng.choice(x.size, size=min(8000, x.size), replace=False)]
    operands = {"x": x, "g": rng.standard_normal(x.size).astype(dtype),
                "b": rng.standard_normal(x.size).astype(dtype)}
    results = []
    for name, (order, outputs) in FUSED.items():
        args = [operands[c] for c in order]
        ys = getattr(fg, name)(*args)
        ys = ys if isinstance(ys, tuple) else (ys,)
        exact = () if dtype == np.float64 else fused(name, *args)  # products exact in double
        for k, (y, (f, by)) in enumerate(zip(ys, outputs)):
            ws = [operands[c] for c in by]
            if dtype == np.float64:  # exact: the table's value times the multipliers
                hi, res = table[f][pick], table[f + "_err_ulp"][pick]
                ulp = _table_ulp(hi, res)
                err = np.array([
                    _ulp_error_exact(float(y[i]), (Fraction(float(hi[i])) + Fraction(float(res[i]))
                                                   * Fraction(float(ulp[i])))
                                     * math.prod(Fraction(float(w[i])) for w in ws))
                    for i in range(x.size)])
            else:
                err = ulp_errors(y, exact[k], dtype)
            label = f"{name}[{k}]" if len(outputs) > 1 else name
            results.append(_worst(label, dtype.name, err, args))
    return results


def tiers_of(tier: str) -> tuple[str, ...]:
    """The tiers ``tier`` names: one of :data:`fastgelu._ufuncs.TIERS`, or ``"all"``.

    Raises
    ------
    ValueError
        If ``tier`` is neither.
    """
    from . import _ufuncs

    if tier == "all":
        return _ufuncs.TIERS
    if tier not in _ufuncs.TIERS:
        raise ValueError(f"unknown tier {tier!r}; choose from {', '.join(_ufuncs.TIERS)}, all")
    return (tier,)


def run_check(dtypes: Iterable[str] | None = None, isa: str | None = None,
              progress: Callable[[str], None] | None = None,
              tier: str = "exact") -> list[Result]:
    """Check every ufunc of a tier on every dtype against the tier's bound.

    Parameters
    ----------
    dtypes : iterable of str, optional
        Loop dtypes to check (default: :func:`available_dtypes`).
    isa : str, optional
        ISA build to run on (default: the active one; restored afterwards).
    progress : callable, optional
        Receives a short "isa tier dtype" line before each dtype and tier is checked.
    tier : str
        ``"exact"`` (``fastgelu.<name>``, the default), ``"fast"``
        (``fastgelu.fast.<name>``) or ``"all"`` (every tier, in the order of
        :data:`fastgelu._ufuncs.TIERS`).

    Returns
    -------
    list of Result
        One per tier, dtype and ufunc output (tier by tier), each with its tier and its
        bound (:func:`fastgelu._config.tier_bound`).
    """
    import fastgelu

    from . import _ufuncs

    tiers = tiers_of(tier)
    table = _load_table()
    old = fastgelu.get_isa()
    if isa is not None:
        fastgelu.set_isa(isa)
    try:
        results: list[Result] = []
        for t in tiers:
            fg = types.SimpleNamespace(**_ufuncs.UFUNCS[t])
            for dt in available_dtypes() if dtypes is None else dtypes:
                dtype = _dtype(dt)
                if progress is not None:
                    progress(f"{fastgelu.get_isa()} {t} {dtype.name}")
                rng = np.random.default_rng(2026)
                x = table["x"] if dtype == np.float64 else _inputs(dtype, table["x"])
                # overflowing products are part of the sample: their flags are expected
                with np.errstate(all="ignore"):
                    found = (_check_unary(fg, dtype, x, table)
                             + _check_products(fg, dtype, x, table, rng))
                results += [dataclasses.replace(r, tier=t, bound=tier_bound(t, dtype))
                            for r in found]
        return results
    finally:
        fastgelu.set_isa(old)


def format_results(results: list[Result], isa: str) -> str:
    """The results of one ISA build as a table: a row per tier and ufunc output (the tier
    named in the row), a column per dtype, the max error in ulps ('!' above the bound).

    Parameters
    ----------
    results : list of Result
        What :func:`run_check` returned.
    isa : str
        The build they ran on (named in the header).

    Returns
    -------
    str
        The table.
    """
    dtypes = list(dict.fromkeys(r.dtype for r in results))
    rows = list(dict.fromkeys((r.tier, r.ufunc) for r in results))
    by = {(r.tier, r.ufunc, r.dtype): r for r in results}
    lines = [f"{'tier':6s} {'ufunc (' + isa + ')':26s}" + "".join(f"{d:>10s}" for d in dtypes)]
    for tier, name in rows:
        cells = []
        for d in dtypes:
            r = by.get((tier, name, d))
            cells.append(f"{'-':>10s}" if r is None else
                         f"{r.max_ulp:9.4f}{' ' if r.ok else '!'}")
        lines.append(f"{tier:6s} {name:26s}" + "".join(cells))
    return "\n".join(lines)
