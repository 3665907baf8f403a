"""The references themselves: ulp_error, the float64 references against mpmath, the
mpmath references against independent formulas, and the committed table's integrity."""
from __future__ import annotations

import math
import os

import mpmath
import numpy as np
import pytest
import reference as ref
from reference import FUNC_NAMES, REF64, mp_reference, mp_value, ulp_error, ulp_of

TABLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "reference_f64.npz")
F32_ULP_RELATIVE = 2.0**-24


# ---------------------------------------------------------------------------------------
# ulp_error
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype,value", [
    (dt, v) for dt in (np.float32, np.float64)
    for v in (1.0, 3.0, 1e-30, 1e30, -7.5, 2.0**-126, 2.0**-140, 2.0**-1022, 2.0**-1060)
    if dt(v) != 0])
def test_ulp_error_counts_neighbours(dtype, value):
    v = dtype(value)
    up = np.nextafter(v, dtype(np.inf))
    up2 = np.nextafter(up, dtype(np.inf))
    e = ulp_error(np.array([v, up, up2], dtype), np.float64(v), dtype)
    np.testing.assert_array_equal(e, [0.0, 1.0, 2.0])


@pytest.mark.parametrize("dtype,tiny", [(np.float32, 2.0**-149), (np.float64, 2.0**-1074)],
                         ids=["float32", "float64"])
def test_ulp_error_uses_subnormal_spacing_below_the_normal_range(dtype, tiny):
    exp = np.float64(3 * tiny)
    act = np.array([3 * tiny, 4 * tiny, 0.0, -tiny], dtype=dtype)
    np.testing.assert_array_equal(ulp_error(act, exp, dtype), [0, 1, 3, 4])
    # exact 0: one subnormal step is one ulp
    np.testing.assert_array_equal(ulp_error(np.array([tiny], dtype), 0.0, dtype), [1.0])
    assert ulp_of(0.0, dtype) == tiny


def test_ulp_error_at_a_power_of_two_is_the_spacing_above_unless_exact_is_below():
    one_below = np.nextafter(1.0, 0.0)  # 2**-53 below 1.0
    # exact value 1.0: spacing at 1 is 2**-52, so one step down is half an ulp
    assert ulp_error(np.array([one_below]), 1.0, np.float64)[0] == 0.5
    # exact value just below 1.0 (hi = 1.0, residual -0.25 ulp of the binade below)
    e = ulp_error(np.array([one_below, 1.0]), 1.0, np.float64, err_ulp=-0.25)
    np.testing.assert_allclose(e, [0.75, 0.25])


def test_ulp_error_float32_from_float64_expected():
    x = np.float32(1.5)
    exp = 1.5 + 0.25 * 2.0**-23  # a quarter float32-ulp above 1.5
    e = ulp_error(np.array([x, np.nextafter(x, np.float32(2))]), exp, np.float32)
    np.testing.assert_allclose(e, [0.25, 0.75])


def test_ulp_error_specials():
    inf, nan = np.inf, np.nan
    act = np.array([inf, -inf, nan, nan, 1.0, inf, -inf, np.finfo(np.float64).max])
    exp = np.array([inf, -inf, nan, 1.0, nan, -inf, 0.0, inf])
    np.testing.assert_array_equal(
        ulp_error(act, exp, np.float64), [0, 0, 0, inf, inf, inf, inf, inf])


# ---------------------------------------------------------------------------------------
# mpmath references
# ---------------------------------------------------------------------------------------
def _mp_naive(name, x, dps=1000):
    """The textbook formulas at very high precision (1000 digits absorb the cancellation
    of 1 + tanh(z) down to x = -30, where it is ~1e-857)."""
    with mpmath.workdps(dps):
        X = mpmath.mpf(x)
        if name == "gelu":
            return X * mpmath.ncdf(X)
        if name == "gelu_grad":
            return mpmath.ncdf(X) + X * mpmath.npdf(X)
        z = mpmath.sqrt(2 / mpmath.pi) * (X + mpmath.mpf(ref.TANH_A) * X**3)
        if name == "gelu_tanh":
            return X / 2 * (1 + mpmath.tanh(z))
        dz = mpmath.sqrt(2 / mpmath.pi) * (1 + 3 * mpmath.mpf(ref.TANH_A) * X * X)
        return (1 + mpmath.tanh(z)) / 2 + X / 2 * mpmath.sech(z) ** 2 * dz


MP_CHECK_X = [-30.0, -12.5, -3.0, -1.0, -0.7517915246935645, -0.7524614220710163, -0.5,
              -1e-10, 1e-10, 0.25, 0.999, 1.0, 2.5, 7.0, 20.0]


@pytest.mark.parametrize("name", FUNC_NAMES)
def test_mp_value_matches_the_textbook_formula(name):
    for x in MP_CHECK_X:
        hi, err = mp_value(name, x)
        exact = _mp_naive(name, x)
        with mpmath.workdps(1000):
            ulp = mpmath.mpf(float(ulp_of(np.float64(hi), np.float64, (exact < hi) == (hi > 0))))
            expect_err = (exact - mpmath.mpf(hi)) / ulp
        assert abs(err) <= 0.5 and abs(err - float(expect_err)) < 1e-6, (name, x, hi, err)


def test_mp_value_rounds_subnormal_results_correctly():
    # gelu(x) for x the smallest subnormal: x*Phi(x) is a hair above x/2, half-way
    # between 0 and x, so it rounds up to x (residual -0.5 + 1e-324 ulp, i.e. -0.5)
    tiny = 2.0**-1074
    hi, err = mp_value("gelu", tiny)
    assert hi == tiny and err == -0.5
    hi, err = mp_value("gelu", -tiny)  # -x/2 + x**2 phi: a hair *nearer* 0: rounds to -0
    assert hi == 0.0 and math.copysign(1, hi) == -1 and err == -0.5
    # gelu(3 tiny) = 1.5 tiny + a hair: rounds to 2 tiny
    assert mp_value("gelu", 3 * tiny)[0] == 2 * tiny
    assert mp_value("gelu", -3 * tiny)[0] == -tiny


@pytest.mark.parametrize("name,const", [("gelu_grad", ref.GELU_GRAD_ZERO),
                                        ("gelu_tanh_grad", ref.GELU_TANH_GRAD_ZERO)])
def test_gradient_zero_constants(name, const):
    assert float(ref.mp_find_zero(name)) == const


# ---------------------------------------------------------------------------------------
# float64 references (used for float32 results)
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", FUNC_NAMES)
def test_float64_reference_is_far_below_a_float32_ulp(name):
    """REF64 within 1e-3 float32 ulp of mpmath over the float32 range of interest."""
    rng = np.random.default_rng(11)
    x = np.concatenate([
        rng.uniform(-14.5, 6.0, 300),
        ref.GELU_GRAD_ZERO + rng.uniform(-1e-4, 1e-4, 50),
        ref.GELU_TANH_GRAD_ZERO + rng.uniform(-1e-4, 1e-4, 50),
        [3e38, -3e38, 1e-40, -1e-40],
    ]).astype(np.float32).astype(np.float64)
    hi, _err = mp_reference(name, x)
    e = ulp_error(REF64[name](x), hi, np.float32)  # hi: within 2**-29 float32 ulp
    assert e.max() < 1e-3, f"{name}: REF64 off by {e.max():.3g} float32 ulp at {x[np.argmax(e)]!r}"


@pytest.mark.parametrize("name", FUNC_NAMES)
def test_float64_reference_specials(name):
    pos, neg = {"gelu": (np.inf, 0.0), "gelu_grad": (1.0, 0.0),
                "gelu_tanh": (np.inf, 0.0), "gelu_tanh_grad": (1.0, 0.0)}[name]
    y = REF64[name](np.array([np.inf, -np.inf, np.nan]))
    assert y[0] == pos and y[1] == neg and np.isnan(y[2])


# ---------------------------------------------------------------------------------------
# The committed table
# ---------------------------------------------------------------------------------------
def test_reference_table_spot_check():
    if not os.path.exists(TABLE):
        pytest.skip("tests/data/reference_f64.npz not generated (test_values computes one)")
    with np.load(TABLE) as d:
        assert os.path.getsize(TABLE) < 2_000_000
        x = d["x"]
        assert np.all(np.isfinite(x)) and np.all(np.diff(x) > 0)
        idx = np.random.default_rng(5).choice(x.size, 12, replace=False)
        for name in FUNC_NAMES:
            hi, err = d[name], d[name + "_err_ulp"]
            assert hi.shape == err.shape == x.shape and np.all(np.abs(err) <= 0.5)
            h2, e2 = mp_reference(name, x[idx])
            np.testing.assert_array_equal(h2, hi[idx], err_msg=name)
            np.testing.assert_allclose(e2, err[idx], atol=1e-9, err_msg=name)
