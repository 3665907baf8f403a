"""``python -m fastgelu check``: the shipped accuracy self-test (fastgelu._check).

The self-test must pass on every ISA build, and must fail on an implementation that is
off by more than an ulp (a checker that cannot fail proves nothing).
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
from fastgelu import _check, _reference, _ufuncs

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def test_every_ufunc_output_and_dtype_within_1_ulp(isa):
    results = _check.run_check(isa=isa)
    names = {r.ufunc for r in results}
    assert names >= set(_reference.UNARY) | {"geglu_backward[0]", "geglu_backward[1]"}
    assert {r.dtype for r in results} == set(_check.available_dtypes())
    bad = [r for r in results if not r.ok]
    assert not bad, bad
    assert all(r.points > 0 and r.max_ulp >= 0.0 for r in results)


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
    dt = np.dtype(dtype)
    table = _check._load_table()
    x = table["x"] if dt == np.float64 else _check._inputs(dt, table["x"])
    results = {r.ufunc: r for r in _check._check_unary(fake, dt, x, table)}
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
    p = run_cli("check", "--isa", "all")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "OK: every ufunc within 1 ulp" in p.stdout
    for isa in _ufuncs.compiled_isas():
        if _ufuncs.cpu_supports(isa):
            assert f"ufunc ({isa})" in p.stdout


def test_cli_check_exit_status_1_on_failure():
    """A failing self-test exits 1 and names the failure (the table's reference moved by
    2 ulps stands in for a broken kernel)."""
    code = (
        "import sys, numpy as np\n"
        "from fastgelu import _check, __main__\n"
        "load = _check._load_table\n"
        "def broken():\n"
        "    t = load(); t['gelu_err_ulp'] = t['gelu_err_ulp'] + 2.0; return t\n"
        "_check._load_table = broken\n"
        "sys.exit(__main__.main(['check', '--dtype', 'float64']))\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "FAIL gelu float64" in p.stdout and "FAILED" in p.stdout


@pytest.mark.parametrize("argv", [["check", "--dtype", "int8"], ["check", "--bogus"]])
def test_cli_check_usage_errors(argv):
    p = run_cli(*argv)
    assert p.returncode == 2 and "usage:" in p.stderr and "Traceback" not in p.stderr


def test_cli_check_unknown_isa_is_a_clear_error():
    p = run_cli("check", "--isa", "sse9")
    assert p.returncode == 2, p.stdout + p.stderr
    assert "unknown ISA 'sse9'" in p.stderr and "Traceback" not in p.stderr
