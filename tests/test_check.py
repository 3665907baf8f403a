"""``python -m fastgelu check``: the shipped accuracy self-test (fastgelu._check).

The self-test must pass on every ISA build, and must fail on an implementation that is
off by more than an ulp (a checker that cannot fail proves nothing).
"""
from __future__ import annotations

import math
import subprocess
import sys
import types

import numpy as np
import pytest

import fastgelu
from fastgelu import _check, _ufuncs


def test_every_ufunc_output_and_dtype_within_1_ulp(isa):
    results = _check.run_check(isa=isa)
    names = {r.ufunc for r in results}
    assert names >= set(_check.UNARY) | {"geglu_backward[0]", "geglu_backward[1]"}
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
    fake = types.SimpleNamespace(**{n: getattr(fastgelu, n) for n in _check.UNARY})
    fake.gelu = _naive("gelu")
    dt = np.dtype(dtype)
    table = _check._load_table()
    x = table["x"] if dt == np.float64 else _check._inputs(dt, table["x"])
    results = {r.ufunc: r for r in _check._check_unary(fake, dt, x, table)}
    assert not results["gelu"].ok and results["gelu"].max_ulp > 1e3
    assert results["gelu_grad"].ok


def test_the_check_catches_a_twice_rounded_product():
    """geglu as float32(gelu(a)) * b rounds twice: up to ~1.5 ulp, which must show."""
    fake = types.SimpleNamespace(**{n: getattr(fastgelu, n) for n in _check.PRODUCTS})
    fake.geglu = lambda a, b: fastgelu.gelu(a) * b
    rng = np.random.default_rng(0)
    table = _check._load_table()
    x = _check._inputs(np.dtype(np.float32), table["x"])
    with np.errstate(over="ignore"):
        results = {r.ufunc: r for r in _check._check_products(fake, np.dtype(np.float32), x,
                                                              table, rng)}
    assert not results["geglu"].ok and results["geglu"].max_ulp > 1.0
    assert results["geglu_tanh"].ok


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
