"""``python -m fastgelu check``: the shipped accuracy self-test (fastgelu._check).

The self-test must pass on every ISA build and tier, and must fail on an implementation
that is off by more than its tier's bound (a checker that cannot fail proves nothing):
1 ulp in the exact tier, 4 ulp in the fast tier (float16 and bfloat16 results: 1 ulp in
both).
"""
from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import types

import numpy as np
import pytest

import fastgelu
from fastgelu import _check, _config, _reference, _ufuncs

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def test_every_ufunc_output_and_dtype_within_its_tier_bound(isa, tier):
    results = _check.run_check(isa=isa, tier=tier)
    names = {r.ufunc for r in results}
    assert names >= set(_reference.UNARY) | {"geglu_backward[0]", "geglu_backward[1]"}
    assert {r.dtype for r in results} == set(_check.available_dtypes())
    assert {r.tier for r in results} == {tier}
    for r in results:  # exact: 1 ulp; fast: 4 ulp, but 1 ulp of float16 and bfloat16
        assert r.bound == (4.0 if tier == "fast" and r.dtype in ("float32", "float64")
                           else 1.0), r
    bad = [r for r in results if not r.ok]
    assert not bad, bad
    assert all(r.points > 0 and r.max_ulp >= 0.0 for r in results)


def test_run_check_all_tiers_is_each_tier_in_turn():
    both = _check.run_check(["float32"], tier="all")
    assert [r.tier for r in both] == sorted([r.tier for r in both], key=_ufuncs.TIERS.index)
    for tier in _ufuncs.TIERS:
        assert [r for r in both if r.tier == tier] == _check.run_check(["float32"], tier=tier)
    with pytest.raises(ValueError, match="unknown tier 'fastest'"):
        _check.run_check(["float32"], tier="fastest")


def _off_by(uf, steps):
    """``uf`` with its finite results moved ``steps`` representable numbers toward 0:
    ``steps`` ulps off, never more (the steps shrink, never grow, across a power of 2)."""
    def f(x):
        y = uf(x)
        moved = y
        for _ in range(steps):
            moved = np.nextafter(moved, np.zeros_like(y))
        return np.where(np.isfinite(y), moved, y)
    return f


@pytest.mark.parametrize("dtype,steps,ok", [
    ("float32", 3, True), ("float32", 5, False), ("float64", 3, True), ("float64", 5, False),
    ("float16", 2, False),  # 16-bit results: 1 ulp in the fast tier too
])
def test_the_fast_tier_is_held_to_4_ulp(monkeypatch, dtype, steps, ok):
    """A fast-tier gelu 3 ulps off the exact tier's results (<= 0.76 ulp off) passes (the
    exact tier's would not), 5 ulps off fails; float16 results are held to 1 ulp in both
    tiers."""
    monkeypatch.setitem(_ufuncs.UFUNCS["fast"], "gelu", _off_by(fastgelu.gelu, steps))
    fast = {r.ufunc: r for r in _check.run_check([dtype], tier="fast")}
    assert steps - 1 < fast["gelu"].max_ulp < steps + 1, fast["gelu"]
    assert fast["gelu"].ok is ok and fast["gelu"].bound == (1.0 if dtype == "float16" else 4.0)
    assert all(r.ok for name, r in fast.items() if name != "gelu")
    exact = {r.ufunc: r for r in _check.run_check([dtype], tier="exact")}
    assert exact["gelu"].ok  # the exact tier's ufuncs are not the patched ones
    exact_off = types.SimpleNamespace(**{n: getattr(fastgelu, n) for n in _reference.UNARY})
    exact_off.gelu = _off_by(fastgelu.gelu, steps)
    with np.errstate(all="ignore"):
        off = {r.ufunc: r for r in _check._check_unary(
            exact_off, np.dtype(dtype), _inputs_of(dtype), _check._load_table())}
    assert not off["gelu"].ok  # the same error in the exact tier (bound 1): a failure


def _inputs_of(dtype):
    table = _check._load_table()
    return table["x"] if dtype == "float64" else _check._inputs(np.dtype(dtype), table["x"])


def _naive(name):
    """The textbook 0.5*x*(1+erf(x/sqrt 2)): cancels in the left tail."""
    def f(x):
        x = np.asarray(x)
        erf = np.frompyfunc(math.erf, 1, 1)
        with np.errstate(all="ignore"):
            return (0.5 * x.astype(np.float64) * (1 + erf(x / math.sqrt(2)).astype(np.float64))
                    ).astype(x.dtype)
    return f


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_check_catches_a_cancelling_formula(dtype):
    fake = types.SimpleNamespace(**{n: getattr(fastgelu, n) for n in _reference.UNARY})
    fake.gelu = _naive("gelu")
    results = {r.ufunc: r for r in _check._check_unary(fake, np.dtype(dtype), _inputs_of(dtype),
                                                       _check._load_table())}
    assert not results["gelu"].ok and results["gelu"].max_ulp > 1e3
    assert results["gelu_grad"].ok


def test_the_check_catches_a_twice_rounded_product():
    """geglu as float32(gelu(a)) * b rounds twice: up to ~1.5 ulp, which must show."""
    fake = types.SimpleNamespace(**{n: getattr(fastgelu, n) for n in _reference.FUSED})
    fake.geglu = lambda a, b: fastgelu.gelu(a) * b
    rng = np.random.default_rng(0)
    table = _check._load_table()
    x = _check._inputs(np.dtype(np.float32), table["x"])
    with np.errstate(over="ignore"):
        results = {r.ufunc: r for r in _check._check_products(fake, np.dtype(np.float32), x,
                                                              table, rng)}
    assert not results["geglu"].ok and results["geglu"].max_ulp > 1.0
    assert results["geglu_tanh"].ok


def _readme_maxima():
    """{(ufunc, dtype): the README's documented maximum error}, from its Accuracy section."""
    if not os.path.exists(README):  # e.g. tests copied next to an installed wheel
        pytest.skip("README.md is not next to the tests")
    with open(README, encoding="utf-8") as fh:
        text = " ".join(fh.read().split())
    maxima = {}
    for name, f32, f64 in re.findall(r"\| `(\w+)` \| ([\d.]+) \([^)]*\) \| [\d.]+% \| ([\d.]+) \|",
                                      text):
        maxima[name, "float32"], maxima[name, "float64"] = f32, f64
    small = re.search(r"at most ([\d.]+) float16 ulp and ([\d.]+) bfloat16 ulp", text)
    fused = re.search(r"float32 ≤ ([\d.]+), float64 ≤ ([\d.]+), float16 ≤ ([\d.]+), "
                      r"bfloat16 ≤ ([\d.]+) ulp", text)
    assert set(maxima) == {(n, d) for n in _reference.UNARY for d in ("float32", "float64")}
    assert small and fused, "the README's Accuracy section lost its figures"
    for name in _reference.UNARY:
        maxima[name, "float16"], maxima[name, "bfloat16"] = small.groups()
    for name in _reference.FUSED:
        for dtype, figure in zip(("float32", "float64", "float16", "bfloat16"), fused.groups()):
            maxima[name, dtype] = figure
    return maxima


def test_check_figures_within_the_readme_maxima():
    """What ``check`` prints never exceeds what the README documents (to its digits)."""
    maxima = _readme_maxima()
    for r in _check.run_check():
        figure = maxima[r.ufunc.split("[")[0], r.dtype]
        half_digit = 0.5 * 10.0 ** -len(figure.split(".")[1])
        assert r.max_ulp <= float(figure) + half_digit, (r, figure)


def test_reference_taylor_series_at_the_gradient_zeros():
    """The zeros (as double-doubles) and the series coefficients of fastgelu._reference
    are mpmath's."""
    import mpmath
    from reference import _mp_grad_exact, mp_find_zero

    for name, (hi, lo, coeffs) in _reference.ZEROS.items():
        zero = mp_find_zero(name)
        with mpmath.workdps(60):
            assert (hi, lo) == (float(zero), float(zero - mpmath.mpf(hi)))
            exact = mpmath.taylor(lambda t, name=name: _mp_grad_exact(name, t), zero,
                                  len(coeffs))
        assert list(coeffs) == [float(c) for c in exact[1:]], name


@pytest.mark.parametrize("name", ["gelu_grad", "gelu_tanh_grad"])
def test_reference_exact_next_to_the_gradient_zero(name):
    """Where the float64 formula cancels, the series keeps the reference within a few
    float64 ulps of the value (the float32 and float64 inputs nearest the zero); around
    it, the formula within 1e-13 (1e-6 float32 ulp)."""
    from reference import mp_reference

    hi = _reference.ZEROS[name][0]
    f32 = np.float32(hi)
    x = np.concatenate([
        hi + np.arange(-20, 21) * np.spacing(hi),
        (f32 + np.arange(-20, 21) * np.spacing(f32)).astype(np.float64),
        hi + np.linspace(-0.02, 0.02, 401),
    ])
    exact, _ = mp_reference(name, x)
    rel = np.abs(_reference.REF[name](x) - exact) / np.abs(exact)
    assert rel[:82].max() < 1e-15, (rel[:82].max(), x[np.argmax(rel[:82])])
    assert rel.max() < 1e-13, (rel.max(), x[np.argmax(rel)])


def test_kernel_list_is_the_package_s():
    """fastgelu._reference.NAMES, the one list the Python side uses, is every ufunc."""
    ufuncs = {n for n in fastgelu.__all__ if isinstance(getattr(fastgelu, n), np.ufunc)}
    assert set(_reference.NAMES) == ufuncs and len(_reference.NAMES) == len(ufuncs)
    for name, (order, outputs) in _reference.FUSED.items():
        uf = getattr(fastgelu, name)
        assert (uf.nin, uf.nout) == (len(order), len(outputs)), name


def test_ulp_errors_special_values():
    f32 = np.dtype(np.float32)
    act = np.array([np.nan, np.inf, np.inf, 1.0, -0.0], dtype=np.float32)
    exact = np.array([np.nan, np.inf, 1e39, np.nan, 0.0])  # 1e39 overflows float32: inf
    assert list(_check.ulp_errors(act, exact, f32)) == [0.0, 0.0, 0.0, np.inf, 0.0]


def run_cli(*argv):
    return subprocess.run([sys.executable, "-m", "fastgelu", *argv], capture_output=True,
                          text=True, timeout=300)


def test_cli_check_passes_on_every_isa_build():
    """By default both tiers, each row naming its tier, each tier held to its bound."""
    p = run_cli("check", "--isa", "all")
    assert p.returncode == 0, p.stdout + p.stderr
    assert ("bounds: exact tier 1 ulp, fast tier 4 ulp; float16 and bfloat16 results 1 ulp "
            "in every tier") in p.stdout
    assert "OK: every ufunc within its bound (exact tier 1 ulp, fast tier 4 ulp;" in p.stdout
    isas = [isa for isa in _ufuncs.compiled_isas() if _ufuncs.cpu_supports(isa)]
    for isa in isas:
        assert f"ufunc ({isa})" in p.stdout
    assert f"{len(isas)} ISA build(s) x 2 tier(s)" in p.stdout
    for tier in _ufuncs.TIERS:
        for name in _reference.UNARY:
            assert len(re.findall(rf"^{tier} +{name} ", p.stdout, re.M)) == len(isas)


@pytest.mark.parametrize("tier", ["exact", "fast"])
def test_cli_check_one_tier(tier):
    p = run_cli("check", "--tier", tier, "--dtype", "float32")
    assert p.returncode == 0, p.stdout + p.stderr
    rows = re.findall(r"^(\w+) +(\w+(?:\[\d\])?) +\d+\.\d{4} *$", p.stdout, re.M)
    outputs = len(_reference.UNARY) + sum(len(out) for _, out in _reference.FUSED.values())
    assert len(rows) == outputs and {t for t, _ in rows} == {tier}, p.stdout
    assert f"bounds: {tier} tier {_config.TIER_BOUNDS[tier]:g} ulp;" in p.stdout
    assert "x 1 tier(s) x 1 dtype(s)" in p.stdout


@pytest.mark.parametrize("shift,tier,failing", [(2.0, "all", ["exact"]),
                                                 (5.0, "all", ["exact", "fast"]),
                                                 (5.0, "fast", ["fast"])])
def test_cli_check_exit_status_1_on_failure(shift, tier, failing):
    """A failing self-test exits 1 and names the failure and its tier (the table's
    reference moved by `shift` ulps stands in for a broken kernel: 2 ulps fail the exact
    tier only, 5 ulps both)."""
    code = (
        "import sys, numpy as np\n"
        "from fastgelu import _check, __main__\n"
        "load = _check._load_table\n"
        "def broken():\n"
        f"    t = load(); t['gelu_err_ulp'] = t['gelu_err_ulp'] + {shift}; return t\n"
        "_check._load_table = broken\n"
        f"sys.exit(__main__.main(['check', '--dtype', 'float64', '--tier', '{tier}']))\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "FAILED" in p.stdout
    found = re.findall(r"^FAIL gelu float64 \(\w+, (\w+) tier\): [\d.]+ ulp at .* \(bound (\d)\)$",
                       p.stdout, re.M)
    assert found == [(t, f"{_config.TIER_BOUNDS[t]:g}") for t in failing], p.stdout
    # the products of gelu (geglu, ...) read the same table, and a product can amplify
    # the shift: other failures are theirs
    for name in re.findall(r"^FAIL (\w+)\S* float64", p.stdout, re.M):
        assert name.startswith(("gelu", "geglu")) and "tanh" not in name, name


@pytest.mark.parametrize("argv", [["check", "--dtype", "int8"], ["check", "--bogus"]])
def test_cli_check_usage_errors(argv):
    p = run_cli(*argv)
    assert p.returncode == 2 and "usage:" in p.stderr and "Traceback" not in p.stderr


def test_cli_check_unknown_isa_is_a_clear_error():
    p = run_cli("check", "--isa", "sse9")
    assert p.returncode == 2, p.stdout + p.stderr
    assert "unknown ISA 'sse9'" in p.stderr and "Traceback" not in p.stderr
