"""float16 loops: computed by the float32 kernels, rounded once more to float16.

(test_bfloat16.py runs the same checks on the bfloat16 loops; the helpers of both are
in _helpers.py.)

Every one of the 65,536 float16 inputs, on every ISA build this CPU runs, against the
float64 reference of tests/reference.py, in ulps of float16 (spacing 2**(e - 10), and
2**-24 below the normal range). The float32 result is within 0.57 float32 ulp, i.e.
~1e-4 float16 ulp, so the double rounding costs at most that above 0.5: measured max
0.5001 ulp. The float16 loop is bit for bit NumPy's float16 cast of the float32 loop's
result (NaN payloads, overflow to inf and its warning included).
"""
from __future__ import annotations

import textwrap

import numpy as np
import pytest
from _helpers import (
    FUSED,
    fused_max_error,
    results_and_float32_results,
    run_script,
    unary_max_error,
)
from reference import FUNC_NAMES

import fastgelu

ALL_HALVES = np.arange(2**16, dtype=np.uint32).astype(np.uint16).view(np.float16)


@pytest.mark.parametrize("name", FUNC_NAMES)
def test_every_float16_input_within_1_ulp(name, tier, isa):
    unary_max_error(name, ALL_HALVES, tier)


@pytest.mark.parametrize("name", sorted(FUSED))
def test_fused_float16_within_1_ulp(name, tier, isa):
    fused_max_error(name, ALL_HALVES, tier)


@pytest.mark.parametrize("name", list(FUNC_NAMES) + sorted(FUSED))
def test_float16_is_the_float32_result_cast(name, tier):
    """Bit for bit NumPy's cast of the float32 loop's result: the conversions are exact
    and round to nearest even, NaN payloads and overflow to inf included."""
    rng = np.random.default_rng(7)
    with np.errstate(over="ignore"):
        others = [
            np.concatenate([rng.standard_normal(2**16 - 8)
                            * 2.0 ** rng.integers(-20, 16, 2**16 - 8),
                            [65504.0, -65504.0, np.inf, -np.inf, np.nan, 0.0, -0.0, 6e-8]]
                           ).astype(np.float16)
            for _ in range(2)]
    half, single, two_nans = results_and_float32_results(name, ALL_HALVES, others, tier)
    for h, s in zip(half, single):
        with np.errstate(over="ignore"):
            cast = s.astype(np.float16)
        assert np.all(np.isnan(h[two_nans]) & np.isnan(cast[two_nans]))
        np.testing.assert_array_equal(h[~two_nans].view(np.uint16),
                                      cast[~two_nans].view(np.uint16))


def test_float16_overflow_warns_like_numpy():
    big, two = np.float16(60000.0), np.float16(2.0)
    with pytest.warns(RuntimeWarning, match="overflow"):
        expected = np.multiply(big, two)
    with pytest.warns(RuntimeWarning, match="overflow"):
        y = fastgelu.geglu(big, two)
    assert y == expected == np.inf and y.dtype == np.float16
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        fastgelu.gelu_backward(np.full(100, 64992.0, np.float16), np.float16(1.0))  # * 1.083
    with np.errstate(all="raise", under="ignore"):  # nothing for in-range results
        fastgelu.gelu(ALL_HALVES[np.isfinite(ALL_HALVES)])


@pytest.mark.parametrize("itype,expected", [
    (np.float16, np.float16), (np.bool_, np.float16), (np.int8, np.float16),
    (np.uint8, np.float16), (np.int16, np.float32), (np.float32, np.float32),
    (np.int64, np.float64), (np.float64, np.float64)])
def test_type_resolution_follows_np_exp(itype, expected):
    """The first loop the input casts to safely: float16 keeps float16, float32 keeps
    float32, and small integers go where np.exp sends them (bool/int8/uint8: float16)."""
    x = np.array([0, 1, 2], dtype=itype)
    assert fastgelu.gelu(x).dtype == np.exp(x).dtype == expected
    assert fastgelu.gelu_backward(x, x).dtype == np.multiply(np.exp(x), np.exp(x)).dtype


def test_mixed_precision_promotes_like_np_multiply():
    h, f = np.ones(3, np.float16), np.ones(3, np.float32)
    assert fastgelu.gelu_backward(h, f).dtype == np.float32
    assert fastgelu.geglu(h, 2.0).dtype == np.float16  # a Python float is weak (NEP 50)
    assert fastgelu.geglu(h, np.float64(2.0)).dtype == np.float64
    ga, gb = fastgelu.geglu_backward(h, h, f)
    assert ga.dtype == gb.dtype == np.float32


NO_ML_DTYPES_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.modules["ml_dtypes"] = None  # `import ml_dtypes` raises ImportError
    import numpy as np
    import fastgelu
    from fastgelu import _config, _ufuncs
    assert _ufuncs.bfloat16 is None and not _config.config()["bfloat16"]
    assert [t[0] for t in fastgelu.gelu.types] == ["e", "f", "d"]
    x = np.linspace(-3, 3, 7)
    assert fastgelu.gelu(1.0) == 0.8413447460685429  # 1 * Phi(1), correctly rounded
    for dt in (np.float16, np.float32, np.float64):
        y = fastgelu.gelu(x.astype(dt))
        assert y.dtype == dt and np.allclose(y, fastgelu.gelu(x), rtol=1e-3, atol=1e-3)
        gx, gw = fastgelu.geglu_backward(x.astype(dt), x.astype(dt), 1.0)
        assert gx.dtype == gw.dtype == dt
    fastgelu.show_config()
    """)


def test_float16_loops_need_no_optional_package(tmp_path):
    """float16 is NumPy's own dtype and needs nothing more; without ml_dtypes (bfloat16)
    fastgelu imports and runs, and says it has no bfloat16 loops."""
    out = run_script(tmp_path, "no_ml_dtypes.py", NO_ML_DTYPES_SCRIPT)
    assert "bfloat16 loops   : no (ml_dtypes not importable)" in out, out
