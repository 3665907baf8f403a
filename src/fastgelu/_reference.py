"""The ufuncs' list and their float64 reference values: one source for the self-check
(``python -m fastgelu check``), the benchmarks' output check and the tests.

Formulas, each free of cancellation for either sign of x:

=================  ==========================================================
``gelu``           ``x * Phi(x)``
``gelu_grad``      ``Phi(x) + x * phi(x)``
``gelu_tanh``      ``x * s``, ``s = sigmoid(2 z) = (1 + tanh z) / 2``,
                   ``z = sqrt(2/pi) (x + 0.044715 x**3)``
``gelu_tanh_grad`` ``s * (1 + 2 x z' (1 - s))``, ``1 - s = sigmoid(-2 z)``
=================  ==========================================================

``Phi`` is SciPy's ``ndtr`` where SciPy is installed (vectorized: the tests evaluate
millions of points), else ``math.erfc`` element by element (NumPy alone suffices; the
self-check's few ten thousand points take a fraction of a second). Either is accurate
to a few float64 ulps in the core and about 1e-13 relative far in the left tail, i.e.
below 1e-6 float32 ulp.

The one cancellation left is next to the gradients' zeros (x ~ -0.75, where the two
terms of ``gelu_grad`` and the ``1 + ...`` of ``gelu_tanh_grad`` cancel): within 2**-7
of a zero the gradient is its Taylor series in ``d = x - zero``, with the zero as a
double-double and the coefficients from mpmath (``tests/test_check.py`` recomputes
them), so the relative error stays ~1e-16 right at the zero. Without it, float64
arithmetic leaves ~0.06 float32 ulp of error at the float32 input nearest the zero,
enough to report 0.5625 ulp for a kernel whose true error is 0.50.

These are float64 values, not good enough to judge float64 results: ``check`` uses the
shipped mpmath table for those, the tests ``tests/reference.py``'s mpmath functions.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

from . import _ufuncs

#: Every ufunc of the package, in registration order: the kernel table's
#: (kernels/fg_kernels.h, exported as _ufuncs.KERNELS).
NAMES = tuple(k.name for k in _ufuncs.KERNELS)
#: The one-input functions.
UNARY = tuple(k.name for k in _ufuncs.KERNELS if k.nin == 1)
#: The fused ufuncs as products of a one-input function: name -> (its operands in order,
#: and per output the function f and the operands multiplying f(x)). Operands:
#: g = grad_out, x = f's argument, b = the gate value.
FUSED: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "gelu_backward": ("gx", [("gelu_grad", "g")]),
    "gelu_tanh_backward": ("gx", [("gelu_tanh_grad", "g")]),
    "geglu": ("xb", [("gelu", "b")]),
    "geglu_tanh": ("xb", [("gelu_tanh", "b")]),
    "geglu_backward": ("gxb", [("gelu_grad", "gb"), ("gelu", "g")]),
    "geglu_tanh_backward": ("gxb", [("gelu_tanh_grad", "gb"), ("gelu_tanh", "g")]),
}
# What the products are is meaning the table does not carry; which kernels there are, it does.
assert set(FUSED) == set(NAMES) - set(UNARY), "FUSED must describe every multi-input kernel"

SQRT1_2 = 1.0 / math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
TANH_C = math.sqrt(2.0 / math.pi)
TANH_A = 0.044715

#: Each gradient's zero as a double-double ``(hi, lo)`` and its Taylor coefficients
#: c1 .. c8 there (mpmath at 60 digits); within ``_TAYLOR_RADIUS`` of the zero the
#: series' truncation is below 3e-20 of the value.
ZEROS: dict[str, tuple[float, float, tuple[float, ...]]] = {
    "gelu_grad": (-0.7517915246935645, 1.4956759177009883e-17, (
        0.4314939923140469, 0.388284982990552, -0.018199676398671087, -0.1140082332972217,
        -0.014771522148244337, 0.019421679838189067, 0.004539228379125415,
        -0.002239538068073497)),
    "gelu_tanh_grad": (-0.7524614220710163, 3.635560509207687e-17, (
        0.4304000910248585, 0.38751844613578895, -0.01578285352184803, -0.11394448308095899,
        -0.01661932834305256, 0.019682309459833118, 0.005261059254921912,
        -0.0024227318458750974)),
}
_TAYLOR_RADIUS = 2.0**-7


@functools.cache
def _ndtr_impl() -> Callable[[np.ndarray], np.ndarray]:
    """SciPy's ndtr, or math.erfc per element without SciPy (imported at first use)."""
    try:
        from scipy.special import ndtr
    except ImportError:
        erfc = np.frompyfunc(math.erfc, 1, 1)
        return lambda x: 0.5 * np.asarray(erfc(-x * SQRT1_2), dtype=np.float64)
    return ndtr


def _ndtr(x: np.ndarray) -> np.ndarray:
    return _ndtr_impl()(x)


def _near_zero(name: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``y`` with the Taylor series of gradient ``name`` within the radius of its zero."""
    hi, lo, coeffs = ZEROS[name]
    near = np.abs(x - hi) < _TAYLOR_RADIUS
    if near.any():
        d = (x[near] - hi) - lo  # x - hi is exact (Sterbenz)
        series = np.zeros_like(d)
        for c in reversed(coeffs):
            series = series * d + c
        y = np.array(y, dtype=np.float64)
        y[near] = series * d
    return y


def _sigmoid_pair(u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(sigmoid(u), sigmoid(-u))``, each without cancellation."""
    e = np.exp(-np.abs(u))
    big, small = 1.0 / (1.0 + e), e / (1.0 + e)
    return np.where(u >= 0, big, small), np.where(u >= 0, small, big)


def gelu(x: np.ndarray) -> np.ndarray:
    """``x * Phi(x)``; -0.0 at -inf."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        y = x * _ndtr(x)
    return np.where(x == -np.inf, -0.0, y)


def gelu_grad(x: np.ndarray) -> np.ndarray:
    """``Phi(x) + x phi(x)``; 1 at +inf, 0 at -inf; the series next to the zero."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        y = _ndtr(x) + x * (np.exp(-0.5 * (x * x)) * INV_SQRT_2PI)
    y = np.where(np.isinf(x), np.where(x > 0, 1.0, 0.0), y)
    return _near_zero("gelu_grad", x, y)


def _tanh_s(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(all="ignore"):
        return _sigmoid_pair(2.0 * TANH_C * (x + TANH_A * (x * x * x)))


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    """``x * sigmoid(2 z)`` = ``0.5 x (1 + tanh z)``; -0.0 at -inf."""
    x = np.asarray(x, dtype=np.float64)
    s, _ = _tanh_s(x)
    with np.errstate(all="ignore"):
        y = x * s
    return np.where(x == -np.inf, -0.0, y)


def gelu_tanh_grad(x: np.ndarray) -> np.ndarray:
    """``s (1 + 2 x z' (1 - s))``, s = sigmoid(2z); 1 at +inf, 0 at -inf; the series
    next to the zero."""
    x = np.asarray(x, dtype=np.float64)
    s, sm = _tanh_s(x)
    with np.errstate(all="ignore"):
        dz = TANH_C * (1.0 + 3.0 * TANH_A * (x * x))
        t = np.where(sm == 0, 0.0, 2.0 * x * dz * sm)  # not inf * 0 for huge x
        y = np.where(s == 0, -0.0, s * (1.0 + t))  # x far left: the value underflows
    y = np.where(np.isinf(x), np.where(x > 0, 1.0, 0.0), y)
    return _near_zero("gelu_tanh_grad", x, y)


#: name -> float64 reference of a one-input function
REF: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "gelu": gelu, "gelu_grad": gelu_grad, "gelu_tanh": gelu_tanh,
    "gelu_tanh_grad": gelu_tanh_grad,
}


def fused(name: str, *operands: np.ndarray) -> tuple[np.ndarray, ...]:
    """The outputs of fused ufunc ``name`` in float64: ``f(x)`` times its multipliers
    (their product first: exact for float32 and narrower operands), one rounding each."""
    order, outputs = FUSED[name]
    args = {c: np.asarray(a, dtype=np.float64) for c, a in zip(order, operands)}
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        return tuple(REF[f](args["x"]) * np.prod([args[c] for c in by], axis=0)
                     for f, by in outputs)
