"""Slow, trusted references for fastgelu's four functions, and an ulp-error measure.

Nothing here uses fastgelu's kernels. Two tiers:

* **float64** (:data:`REF64`): the package's own reference,
  :mod:`fastgelu._reference` (pure NumPy/SciPy formulas, not the kernels; ``Phi`` is
  ``scipy.special.ndtr``, the tanh form ``x * sigmoid(2 z)``, and a Taylor series next
  to the gradients' zeros, where the formulas cancel), good enough to judge **float32**
  results: relative error about 1e-14 at worst, i.e. < 1e-6 float32 ulp
  (test_reference.py holds it to 1e-3 float32 ulp against mpmath).

* **mpmath** (:func:`mp_parts`, :func:`mp_reference`): 50 significant digits, to judge
  **float64** results. Each function is split as ``a + b`` with ``a`` in {0, 1, x} and
  ``b`` computed without cancellation (e.g. ``gelu(x) = x - x*Q(x)`` for x > 0), so the
  rounding of the exact value to a double, and the sign and size of the rounding residual,
  are exact even where ``b`` is far below double precision. A reference value is returned
  as ``(hi, err_ulp)``: ``hi`` the double nearest the exact value ``v`` and
  ``err_ulp = (v - hi) / ulp(v)`` in [-0.5, 0.5]. (A double-double ``lo = v - hi`` cannot
  represent the residual when ``v`` is subnormal or near it, which is exactly the
  underflow edge we want to judge; the residual in ulps can.)

:func:`ulp_error` measures ``|actual - exact|`` in ulps of the result dtype, with
``ulp = spacing of dtype at |exact|`` (np.spacing semantics: at a power of two, the
spacing above it) and the subnormal spacing (2**-149 / 2**-1074) below the normal range.
The dtype may be float16, float32, float64, or an ml_dtypes one such as bfloat16.
"""
from __future__ import annotations

import math

import mpmath
import numpy as np

from fastgelu import _reference

FUNC_NAMES = _reference.UNARY
#: float64 reference of each function, for float32 (and narrower) results
REF64 = _reference.REF
#: the function each gradient is the derivative of
GRAD_OF = {"gelu_grad": "gelu", "gelu_tanh_grad": "gelu_tanh"}

MP_DPS = 50
TANH_A = "0.044715"  # exact decimal; _reference.TANH_A is its nearest double

# Float64 nearest the zeros of the two gradients (test_reference.py checks them against
# mpmath.findroot at 50 digits).
GELU_GRAD_ZERO = _reference.ZEROS["gelu_grad"][0]
GELU_TANH_GRAD_ZERO = _reference.ZEROS["gelu_tanh_grad"][0]


# ---------------------------------------------------------------------------------------
# ulps
# ---------------------------------------------------------------------------------------
def float_format(dtype):
    """(precision p in bits, smallest normal, largest finite) of a binary float dtype:
    NumPy's, or an ml_dtypes one (bfloat16; asked for only by tests that need it)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        fi = np.finfo(dtype)
    else:
        import ml_dtypes

        fi = ml_dtypes.finfo(dtype)
    return fi.nmant + 1, float(fi.tiny), float(fi.max)


def ulp_of(value, dtype, below=None):
    """Spacing of ``dtype`` at ``|value|`` (a float64 array; the result is float64).

    ``2**(floor(log2|v|) - p + 1)``, and the subnormal spacing below the normal range
    (also for 0). ``below`` (bool array, optional) says the exact value is just *below*
    ``|value|``: if ``|value|`` is a power of two the spacing is then that of the binade
    underneath (half as large).
    """
    p, tiny, _ = float_format(dtype)
    a = np.abs(np.asarray(value, dtype=np.float64))
    m, e = np.frexp(a)  # a = m * 2**e, 0.5 <= m < 1
    with np.errstate(over="ignore"):
        ulp = np.ldexp(1.0, (e - p).astype(np.int32))
    if below is not None:
        halve = np.asarray(below) & (m == 0.5) & (a > tiny)
        ulp = np.where(halve, ulp / 2, ulp)
    return np.where(a < tiny, tiny * 2.0 ** (1 - p), ulp)


def ulp_error(actual, expected, dtype, err_ulp=None):
    """``|actual - exact|`` in ulps of ``dtype`` at the exact value (float64 array).

    ``expected`` is the high-precision value as float64 (enough to judge float32), or
    for float64 results the double ``hi`` nearest the exact value together with
    ``err_ulp = (exact - hi) / ulp(exact)`` (see :func:`mp_reference`). An exact value
    that rounds past the largest finite value of ``dtype`` (by half an ulp or more) counts
    as the infinity it rounds to. Equal infinities and NaN-vs-NaN count as 0; any other
    mismatch of specials as inf.
    """
    p, _, fmax = float_format(dtype)
    overflow_at = fmax + 2.0 ** (math.frexp(fmax)[1] - p - 1)  # inf for float64
    with np.errstate(invalid="ignore"):  # a signaling NaN flags 'invalid' when cast
        act = np.asarray(actual).astype(np.float64)
        exp = np.asarray(expected, dtype=np.float64)
        exp = np.where(np.abs(exp) >= overflow_at, np.copysign(np.inf, exp), exp)
    act, exp = np.broadcast_arrays(act, exp)
    if err_ulp is None:
        err = np.zeros_like(exp)
        below = None
    else:
        err = np.broadcast_to(np.asarray(err_ulp, dtype=np.float64), exp.shape)
        below = (err * np.sign(exp)) < 0
    ulp = ulp_of(exp, dtype, below)
    with np.errstate(all="ignore"):
        e = np.abs((act - exp) / ulp - err)
    a_nan, e_nan = np.isnan(act), np.isnan(exp)
    a_inf, e_inf = np.isinf(act), np.isinf(exp)
    e = np.where(a_nan | e_nan, np.where(a_nan & e_nan, 0.0, np.inf), e)
    special_inf = (a_inf | e_inf) & ~(a_nan | e_nan)
    e = np.where(special_inf, np.where(act == exp, 0.0, np.inf), e)
    return e


def assert_within_ulps(label, actual, expected, inputs, bound, err_ulp=None):
    """Assert :func:`ulp_error` (in ulps of ``actual``'s dtype) <= ``bound`` everywhere; the
    report names how many are over and the worst inputs. Returns the errors."""
    err = ulp_error(actual, expected, actual.dtype, err_ulp)
    i = int(np.argmax(err))
    assert err[i] <= bound, (
        f"{label}: {int((err > bound).sum())} results over {bound} ulp, max {err[i]:.4g} at "
        f"inputs {[float(a[i]) for a in inputs]}: got {float(actual[i])!r}, "
        f"expected {expected[i]!r}")
    return err


# ---------------------------------------------------------------------------------------
# mpmath references (for float64 results)
# ---------------------------------------------------------------------------------------
_LOG2E = 1.4426950408889634


def _exp_neg(t):
    """``exp(-t)`` for ``t >= 0``.

    Above 2**24 the value is below 2**-24000000, irrelevant to any double; it is then
    returned as a power of two within a factor 2 of it (so signs and "negligible" stay
    right) instead of spending a long time on a bignum exponent.
    """
    if t > 2**24:
        return mpmath.ldexp(mpmath.mpf(1), -int(t * _LOG2E))
    return mpmath.exp(-t)


def _mp_pdf(x):
    return _exp_neg(x * x / 2) / mpmath.sqrt(2 * mpmath.pi)


def _mp_q(t):
    """Upper tail ``P(N > t) = Phi(-t)`` for ``t >= 0``, accurate to full precision.

    mpmath's erfc overflows for t > ~1e150, so large t uses the asymptotic series
    (10 terms: relative truncation < 21!!/t**22 < 1e-75 for t >= 1e4).
    """
    if t < 10000:
        return mpmath.ncdf(-t)
    t2 = 1 / (t * t)
    term, total = mpmath.mpf(1), mpmath.mpf(1)
    for k in range(1, 11):
        term *= -(2 * k - 1) * t2
        total += term
    return _mp_pdf(t) / t * total


def _mp_sig_pair(u):
    """``(sigmoid(u), sigmoid(-u))``, each without cancellation."""
    if u >= 0:
        e = _exp_neg(u)
        return 1 / (1 + e), e / (1 + e)
    e = _exp_neg(-u)
    return e / (1 + e), 1 / (1 + e)


def mp_parts(name, x):
    """Exact value of function ``name`` at the double ``x`` as ``(a, b)``, value = a + b.

    ``a`` is exact (0, 1/2, 1, x or x/2); ``b`` is computed to ~50 significant digits of
    itself, from terms of one sign (no cancellation) except next to the gradient zeros,
    which get 25 extra digits. For |x| < 1 the split is around Phi = 1/2 (via erf and
    tanh, so tiny x keeps its x**2 term); outside it around the limit 0 or x (via the
    tail probability, so x * Phi(x) for large x keeps its ``-x Q(x)`` term).
    """
    x = float(x)
    if not math.isfinite(x):
        raise ValueError("mpmath references are for finite x only")
    extra = 25 if name in GRAD_OF else 0
    with mpmath.workdps(MP_DPS + extra):
        X = mpmath.mpf(x)
        half = mpmath.mpf(0.5)
        central = abs(x) < 1
        if name in ("gelu", "gelu_grad"):
            pdf = _mp_pdf(X)
            if central:
                h = mpmath.erf(X / mpmath.sqrt(2)) / 2  # Phi(x) - 1/2
                if name == "gelu":
                    return X / 2, X * h
                return half, h + X * pdf
            if name == "gelu":
                return (X, -X * _mp_q(X)) if x > 0 else (mpmath.mpf(0), X * _mp_q(-X))
            if x > 0:
                return mpmath.mpf(1), X * pdf - _mp_q(X)
            return mpmath.mpf(0), _mp_q(-X) + X * pdf
        A = mpmath.mpf(TANH_A)
        C = mpmath.sqrt(2 / mpmath.pi)
        z = C * (X + A * X**3)
        dz = C * (1 + 3 * A * X * X)
        if central:
            th = mpmath.tanh(z)
            if name == "gelu_tanh":
                return X / 2, X * th / 2
            if name == "gelu_tanh_grad":
                return half, th / 2 + X * dz * mpmath.sech(z) ** 2 / 2
        else:
            s, sm = _mp_sig_pair(2 * z)  # sigmoid(2z) = (1 + tanh z)/2, and 1 - it
            t = 2 * X * dz
            if name == "gelu_tanh":
                return (X, -X * sm) if x > 0 else (mpmath.mpf(0), X * s)
            if name == "gelu_tanh_grad":
                if x > 0:
                    return mpmath.mpf(1), sm * (t * s - 1)
                return mpmath.mpf(0), s * (1 + t * sm)
    raise KeyError(name)


def _ulp64_scalar(hi, below):
    return float(ulp_of(np.float64(hi), np.float64, np.bool_(below)))


def round_parts(a, b):
    """``(hi, err_ulp)`` for the exact value ``a + b`` (a exact and short, b an mpf)."""
    with mpmath.workprec(2400):  # a - c is exact for a and a double c
        v = a + b
        hi0 = float(v)  # may be a little off (double rounding into subnormals)
        best = None
        for c in (hi0, math.nextafter(hi0, -math.inf), math.nextafter(hi0, math.inf)):
            if not math.isfinite(c):
                continue
            r = (a - mpmath.mpf(c)) + b
            if best is None or abs(r) < abs(best[1]):
                best = (c, r)
        hi, r = best
        if hi == 0.0:
            hi = -0.0 if v < 0 else 0.0
        if r == 0:
            return hi, 0.0
        below = (r < 0) == (hi > 0)
        err = float(r / _ulp64_scalar(hi, below))
        if err == 0.0:  # nonzero but below the double range: keep its sign
            err = math.copysign(1e-300, r)
        return hi, err


def mp_value(name, x):
    """``(hi, err_ulp)`` of function ``name`` at the double ``x`` (see module doc)."""
    return round_parts(*mp_parts(name, x))


def mp_reference(name, xs):
    """Vectorized :func:`mp_value`: float64 arrays ``hi`` and ``err_ulp``."""
    xs = np.asarray(xs, dtype=np.float64)
    hi = np.empty(xs.shape)
    err = np.empty(xs.shape)
    for i, x in np.ndenumerate(xs):
        hi[i], err[i] = mp_value(name, x)
    return hi, err


def mp_find_zero(name, guess=-0.75):
    """The zero of a gradient, to MP_DPS digits (an mpf)."""
    with mpmath.workdps(MP_DPS):
        return mpmath.findroot(lambda t: _mp_grad_exact(name, t), guess)


def _mp_grad_exact(name, X):
    """Gradient at an arbitrary mpf X (not rounded to a double first)."""
    if name == "gelu_grad":
        return mpmath.ncdf(X) + X * mpmath.npdf(X)
    A = mpmath.mpf(TANH_A)
    C = mpmath.sqrt(2 / mpmath.pi)
    u = 2 * C * (X + A * X**3)
    s, sm = _mp_sig_pair(u)
    return s * (1 + 2 * X * C * (1 + 3 * A * X * X) * sm)


# ---------------------------------------------------------------------------------------
# Deterministic float64 sample (the table of tools/make_reference_f64.py; a smaller one
# when the table is missing)
# ---------------------------------------------------------------------------------------
F64_MAX = np.finfo(np.float64).max


def _neighbours(x0, k):
    """The 2k+1 doubles around x0 (x0 itself included)."""
    x0 = np.float64(x0)
    up = [x0]
    dn = []
    a = b = x0
    for _ in range(k):
        a = np.nextafter(a, np.inf)
        b = np.nextafter(b, -np.inf)
        up.append(a)
        dn.append(b)
    return np.array(dn[::-1] + up)


def f64_sample_inputs(scale=1.0, seed=20240601):
    """Deterministic float64 inputs: the core, the left tail to beyond underflow
    (x ~ -38.5 for gelu, ~ -21.4 for gelu_tanh), tiny |x| (1e-300..1e-5), huge |x|,
    subnormal inputs, the neighbourhoods of the gradient zeros and of the cube-root and
    square-root of the largest double (where x**3 and x**2 overflow). ``scale``
    multiplies every random count. Sorted, unique, finite, no zeros."""
    rng = np.random.default_rng(seed)

    def n(k):
        return max(4, round(k * scale))

    def signs(m):
        return np.where(rng.random(m) < 0.5, -1.0, 1.0)

    parts = [
        rng.uniform(-39.0, 10.0, n(6000)),  # tail to beyond underflow, and the core
        rng.uniform(-8.0, 8.0, n(4000)),  # core
        rng.uniform(-3.0, 3.0, n(1000)),  # centre
        rng.uniform(-38.8, -37.2, n(1500)),  # gelu/gelu_grad results go subnormal, then 0
        rng.uniform(-21.8, -20.6, n(1200)),  # the gelu_tanh pair's underflow edge
        signs(n(2000)) * 10.0 ** rng.uniform(-300, -5, n(2000)),  # tiny |x|
        signs(n(1500)) * 10.0 ** rng.uniform(0.5, np.log10(F64_MAX), n(1500)),  # huge
        signs(n(300)) * np.ldexp(rng.integers(1, 2**52, n(300)).astype(np.float64), -1074),
        np.arange(-40.0, 10.25, 0.25),  # exact quarters
        np.ldexp(1.0, np.arange(-1074, 1024, 7)),  # powers of two
        -np.ldexp(1.0, np.arange(-1074, 1024, 7)),
        np.array([F64_MAX, -F64_MAX, 2.0**-1022, -(2.0**-1022), 2.0**-1074, -(2.0**-1074)]),
    ]
    for x0 in (GELU_GRAD_ZERO, GELU_TANH_GRAD_ZERO):
        parts.append(_neighbours(x0, n(300)))
        parts.append(x0 * (1 + rng.uniform(-1e-6, 1e-6, n(300))))
        parts.append(x0 + rng.uniform(-1e-2, 1e-2, n(300)))
    for x0 in (np.cbrt(F64_MAX), np.sqrt(F64_MAX)):
        for sgn in (1.0, -1.0):
            parts.append(sgn * x0 * (1 + rng.uniform(-1e-3, 1e-3, n(100))))
            parts.append(_neighbours(sgn * x0, n(20)))
    x = np.concatenate([np.asarray(p, dtype=np.float64) for p in parts])
    x = x[np.isfinite(x) & (x != 0)]
    return np.unique(x)


def is_signaling_nan(x):
    """True where x is a signaling NaN (quiet bit clear); IEEE ops may flag 'invalid'."""
    x = np.asarray(x)
    if x.dtype == np.float32:
        bits = x.view(np.uint32)
        return np.isnan(x) & ((bits & np.uint32(1 << 22)) == 0)
    bits = x.view(np.uint64)
    return np.isnan(x) & ((bits & np.uint64(1 << 51)) == 0)
