"""bfloat16 loops (ml_dtypes): computed by the float32 kernels, rounded once to bfloat16.

Skipped where ml_dtypes is not installed (fastgelu itself never needs it; see
test_float16.py's test_float16_loops_need_no_optional_package). The same checks as
test_float16.py, with the same helpers (_helpers.py): every one of the 65,536 bfloat16
inputs, on every ISA build this CPU runs, against the float64 reference of
tests/reference.py, in ulps of bfloat16 (8 significant bits: spacing 2**(e - 7), and
2**-133 below the normal range).
The float32 result is within 0.57 float32 ulp, i.e. ~1e-5 bfloat16 ulp, so the double
rounding costs at most that above 0.5: measured max 0.5 ulp for the four functions (exact
ties such as gelu(x) ~ x/2 for tiny x), 0.50001 for the fused ones. The bfloat16 loop is
bit for bit ml_dtypes' cast of the float32 loop's result, except for NaN, where it keeps
the sign and the top payload bits (quiet) as the float16 loop does, while ml_dtypes' cast
returns the default NaN of that sign; and a finite result that rounds to inf raises
NumPy's overflow warning (IEEE, as the float16 loop does), which ml_dtypes' cast does not.
"""
from __future__ import annotations

import numpy as np
import pytest
from _helpers import (
    FUSED,
    ULP_BOUND_16,
    as_bits,
    assert_same_bits,
    call,
    fused_max_error,
    results_and_float32_results,
    unary_max_error,
)
from reference import FUNC_NAMES

import fastgelu
from fastgelu import _config, _ufuncs

ml_dtypes = pytest.importorskip("ml_dtypes")

BF16 = np.dtype(ml_dtypes.bfloat16)
ALL_NAMES = list(FUNC_NAMES) + sorted(FUSED)
ALL_BF16 = np.arange(2**16, dtype=np.uint32).astype(np.uint16).view(BF16)
MAX_BF16 = float(ml_dtypes.finfo(BF16).max)  # 0x1.fep127


def random_bf16(n, seed):
    """Every magnitude bfloat16 has (subnormals to past the largest finite value) and the
    special values."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n) * 2.0 ** rng.integers(-140, 128, n)
    x[:9] = [MAX_BF16, -MAX_BF16, np.inf, -np.inf, np.nan, 0.0, -0.0, 2.0**-133, -0.75]
    with np.errstate(over="ignore"):
        return x.astype(np.float32).astype(BF16)


def test_loops_registered_for_every_ufunc():
    assert _ufuncs.bfloat16 == BF16 and _config.config()["bfloat16"] is True
    for name in ALL_NAMES:
        nin = FUSED[name][0] if name in FUSED else 1
        out = call(name, *[ALL_BF16[:5]] * nin)
        assert all(y.dtype == BF16 for y in out), name
    # ufunc.types lists the built-in loops only; the float16 loop stays first
    assert fastgelu.gelu.types == ["e->e", "f->f", "d->d"]


def test_show_config_says_bfloat16_loops_are_registered(capsys):
    fastgelu.show_config()
    assert "bfloat16 loops   : registered (ml_dtypes)" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------
# Accuracy
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", FUNC_NAMES)
def test_every_bfloat16_input_within_1_ulp(name, tier, isa):
    assert unary_max_error(name, ALL_BF16, tier) <= ULP_BOUND_16


@pytest.mark.parametrize("name", sorted(FUSED))
def test_fused_bfloat16_within_1_ulp(name, tier, isa):
    """Every bfloat16 as x (or a) against 1, -0.375 and 24 (the largest values overflow
    to inf there), and 300,000 random pairs."""
    assert fused_max_error(name, ALL_BF16, tier) <= ULP_BOUND_16


@pytest.mark.parametrize("name", ALL_NAMES)
def test_bfloat16_is_the_float32_result_rounded(name, tier):
    """Bit for bit ml_dtypes' cast of the float32 loop's result (round to nearest even,
    ties included; subnormals; overflow to inf), but for NaN: sign and top payload bits
    kept, made quiet. Every bfloat16 as x (or a), random inputs of every magnitude for the
    others."""
    others = [random_bf16(2**16, seed) for seed in (1, 2)]
    narrow, single, two_nans = results_and_float32_results(name, ALL_BF16, others, tier)
    for b, s in zip(narrow, single):
        s_bits = s.view(np.uint32)
        nan = np.isnan(s)
        with np.errstate(over="ignore", invalid="ignore"):
            expected = as_bits(s.astype(BF16))
        expected = np.where(nan, (s_bits >> 16).astype(np.uint16) | np.uint16(0x40), expected)
        same = ~two_nans  # IEEE leaves open whose payload a product of two NaNs keeps
        np.testing.assert_array_equal(as_bits(b)[same], expected[same])
        assert np.isnan(b[two_nans].astype(np.float32)).all()
    if name in FUSED:  # the sample holds exact ties of both parities, rounded to even
        low = single[0].view(np.uint32) & np.uint32(0x1FFFF)
        assert (low == 0x08000).sum() > 100 and (low == 0x18000).sum() > 100


# ---------------------------------------------------------------------------------------
# Special values and floating-point flags
# ---------------------------------------------------------------------------------------
def test_special_values():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan], BF16)
    with np.errstate(all="raise", under="ignore"):  # gelu(-inf) underflows to -0
        for name in FUNC_NAMES:
            y = getattr(fastgelu, name)(x).astype(np.float32)
            expected = getattr(fastgelu, name)(x.astype(np.float32))
            np.testing.assert_array_equal(y, expected)
            np.testing.assert_array_equal(np.signbit(y[:4]), np.signbit(expected[:4]))
            assert list(np.signbit(y[4:])) == [False, True], name  # NaN keeps its sign
    gelu = fastgelu.gelu(x[:4]).astype(np.float32)
    assert list(gelu) == [0.0, 0.0, np.inf, 0.0] and list(np.signbit(gelu)) == [0, 1, 0, 1]
    assert list(fastgelu.gelu_grad(x[:4]).astype(np.float32)) == [0.5, 0.5, 1.0, 0.0]


def test_signaling_nan_comes_out_quiet_with_its_payload():
    snan = np.array([0x7F81, 0xFFA0, 0x7FC1], np.uint16).view(BF16)
    with np.errstate(invalid="ignore"):
        y = fastgelu.gelu(snan)
    np.testing.assert_array_equal(as_bits(y), [0x7FC1, 0xFFE0, 0x7FC1])


def test_overflow_warns_like_float16():
    """A finite float32 result that rounds past the largest bfloat16 gives inf and
    NumPy's overflow warning (IEEE; ml_dtypes' own cast gives the inf silently)."""
    g, x = np.array([MAX_BF16], BF16), np.array([3.5], BF16)  # gelu_grad(3.5) = 1.0028
    single = fastgelu.gelu_backward(g.astype(np.float32), x.astype(np.float32))
    assert MAX_BF16 < single[0] < np.finfo(np.float32).max  # finite in float32
    with pytest.warns(RuntimeWarning, match="overflow"):
        y = fastgelu.gelu_backward(g, x)
    assert y.dtype == BF16 and y.astype(np.float32)[0] == np.inf
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        fastgelu.geglu(np.full(100, MAX_BF16, BF16), np.array(2.0, BF16))  # float32 inf
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        fastgelu.geglu_backward(g, x, np.array(1.0, BF16))  # grad_a = g * 1 * gelu_grad(x)


@pytest.mark.parametrize("name", ALL_NAMES)
def test_no_spurious_floating_point_flags(name, isa):
    """errstate(all='raise') where the results are normal numbers (the tails of all four
    functions underflow, as in float32), and over/invalid/divide-by-zero for every
    bfloat16 but the signaling NaNs (IEEE lets any operation flag those); the other
    inputs of the fused functions are 1 (no product overflows)."""
    with np.errstate(invalid="ignore"):  # casting a signaling NaN flags it
        x32 = ALL_BF16.astype(np.float32)
    tame = (np.abs(x32) >= 2.0**-100) & (x32 >= -8.0) & (x32 <= 2.0**100)
    snan = np.isnan(x32) & ((ALL_BF16.view(np.uint16) & 0x40) == 0)
    nin = FUSED[name][0] if name in FUSED else 1
    at = 1 if name.endswith("backward") else 0  # where x (or a) goes
    for values, strict in ((ALL_BF16[tame], dict(all="raise")),
                           (ALL_BF16[~snan], dict(over="raise", invalid="raise",
                                                  divide="raise"))):
        args = [np.array(1.0, BF16)] * nin
        args[at] = values
        with np.errstate(**strict):
            getattr(fastgelu, name)(*args)  # not call(): that ignores every flag


# ---------------------------------------------------------------------------------------
# Type resolution: as np.multiply does with bfloat16 (ml_dtypes' casts)
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("other", [
    np.ones(3, np.float16), np.ones(3, np.float32), np.ones(3, np.float64),
    np.ones(3, np.int8), np.ones(3, np.int16), np.ones(3, np.bool_), np.float32(2.0),
    np.float64(2.0), 2.0, 2, True, np.ones(3, BF16), ml_dtypes.bfloat16(2.0),
], ids=lambda v: f"{type(v).__name__}-{getattr(v, 'dtype', '')}")
def test_mixed_inputs_promote_like_np_multiply(other):
    b = np.array([-1.5, 0.25, 3.0], BF16)
    expected = np.multiply(b, other).dtype
    for name in ("gelu_backward", "geglu"):
        for args in ((b, other), (other, b)):
            y = call(name, *args)[0]
            assert y.dtype == expected, (name, args)
            # the loop taken computes what that loop computes on the cast inputs
            assert_bits_equal_any(y, call(name, *[np.asarray(a).astype(expected)
                                                  for a in args])[0])
    ga, gb = call("geglu_backward", b, b, other)
    assert ga.dtype == gb.dtype == np.multiply(np.multiply(b, b), other).dtype


def assert_bits_equal_any(actual, expected):
    assert actual.dtype == expected.dtype
    n = actual.dtype.itemsize
    view = {2: np.uint16, 4: np.uint32, 8: np.uint64}[n]
    np.testing.assert_array_equal(actual.view(view), expected.view(view))


def test_scalar_and_empty_inputs():
    y = fastgelu.gelu(ml_dtypes.bfloat16(1.0))
    assert type(y) is ml_dtypes.bfloat16 and float(y) == float(np.float32(0.8413447).astype(BF16))
    assert fastgelu.gelu(np.array([], BF16)).dtype == BF16
    assert fastgelu.geglu_backward(np.zeros((0, 3), BF16), 1.0, 1.0)[0].shape == (0, 3)


# ---------------------------------------------------------------------------------------
# Layouts: out=, in place, where=, strides, byte order, threads
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL_NAMES)
def test_layouts_give_the_contiguous_bits(name):
    nin = FUSED[name][0] if name in FUSED else 1
    nout = FUSED[name][1] if name in FUSED else 1
    args = [random_bf16(3001, seed) for seed in range(nin)]
    expected = call(name, *args)
    # out=, and in place on the last input
    outs = tuple(np.empty(3001, BF16) for _ in range(nout))
    call(name, *args, out=outs)
    work = args[-1].copy()
    call(name, *args[:-1], work, out=(work,) + outs[1:])
    for o, e in zip((work,) + outs[1:], expected):
        assert_same_bits(o, e, dtype=BF16)
    # strided (reversed, every other element) and 2-D Fortran order
    for a, e in zip(call(name, *[np.repeat(a, 2)[::-2] for a in args]), expected):
        assert_same_bits(a[::-1], e, dtype=BF16)
    fortran = [np.asfortranarray(a[:3000].reshape(60, 50)) for a in args]
    for a, e in zip(call(name, *fortran), expected):
        assert_same_bits(a.ravel(order="A"), e[:3000].reshape(60, 50).ravel(order="F"),
                         dtype=BF16)
    # byte-swapped input (NumPy swaps it for the loop)
    for a, e in zip(call(name, *[a.astype(BF16.newbyteorder(">")) for a in args]), expected):
        assert_same_bits(a, e, dtype=BF16)
    # where=: untouched where False
    mask = np.arange(3001) % 3 != 0
    outs = tuple(np.full(3001, 7.0, BF16) for _ in range(nout))
    call(name, *args, out=outs, where=mask)
    for o, e in zip(outs, expected):
        assert_same_bits(o[mask], e[mask], dtype=BF16)
        assert (o[~mask].astype(np.float32) == 7.0).all()


@pytest.mark.parametrize("name", ALL_NAMES)
def test_threads_give_the_same_bits_and_flags(name, restore_threading):
    """bfloat16 runs threaded above the float32 threshold; 1 and 2 threads agree bit for
    bit, and on the flag raised in the last thread's chunk (underflow of a unary
    function's tail; overflow of a product)."""
    nin = FUSED[name][0] if name in FUSED else 1
    n = 20_011
    args = [random_bf16(n, seed) for seed in range(nin)]
    flagged = [np.ones(n, BF16) for _ in range(nin)]
    if nin == 1:
        flagged[0][-1] = -20.0
    else:
        flagged[0][-1], flagged[-1][-1] = MAX_BF16, 3.5
    _ufuncs.set_parallel_threshold("float32", 10**12)
    serial = call(name, *args)
    serial_offset = call(name, *[a[1:] for a in args])
    _ufuncs.set_parallel_threshold("float32", 1)
    outcomes = set()
    for threads in (1, 2):
        fastgelu.set_num_threads(threads)
        for a, e in zip(call(name, *args), serial):
            assert_same_bits(a, e, dtype=BF16)
        for a, e in zip(call(name, *[a[1:] for a in args]), serial_offset):
            assert_same_bits(a, e, dtype=BF16)
        with np.errstate(all="raise"), pytest.raises(FloatingPointError) as exc:
            getattr(fastgelu, name)(*flagged)
        outcomes.add(str(exc.value))
    assert len(outcomes) == 1, outcomes
