"""What the build is: OpenMP on, every ISA build compiled in and reported, ISA choice."""
from __future__ import annotations

import os
import platform
import subprocess
import sys

import numpy as np
import pytest

import fastgelu
from fastgelu import _config, _ufuncs

X86_64 = platform.machine().lower() in ("x86_64", "amd64", "x64")


def test_openmp_is_enabled():
    if os.environ.get("FASTGELU_ALLOW_SERIAL") == "1" and not _ufuncs.openmp_enabled():
        pytest.skip("FASTGELU_ALLOW_SERIAL=1: a serial (no OpenMP) build is accepted here")
    assert _ufuncs.openmp_enabled(), (
        "fastgelu was built without OpenMP (set FASTGELU_ALLOW_SERIAL=1 to accept that)")


def test_compiled_isas():
    isas = _ufuncs.compiled_isas()
    assert isas[-1] == "baseline" and len(set(isas)) == len(isas)
    if X86_64:
        assert isas == ["avx512", "avx2", "baseline"]  # best first
    assert _ufuncs.cpu_supports("baseline")
    assert not _ufuncs.cpu_supports("no-such-isa")


def test_show_config_reports_the_build(capsys):
    fastgelu.show_config()
    text = capsys.readouterr().out
    assert fastgelu.__version__ in text
    assert _ufuncs.compiler() and _ufuncs.compiler() in text
    assert "OpenMP" in text and ("on" if _ufuncs.openmp_enabled() else "off") in text
    assert f"threads          : {fastgelu.get_num_threads()}" in text
    assert f"kernel path      : {fastgelu.get_isa()}" in text
    for isa in _ufuncs.compiled_isas():
        assert isa in text, f"compiled ISA {isa!r} not reported"


def test_config_dict_matches_the_runtime():
    c = fastgelu._config.config()
    assert c["version"] == fastgelu.__version__
    assert c["openmp"] == _ufuncs.openmp_enabled()
    assert c["isa"] == fastgelu.get_isa()
    assert c["isa_compiled"] == _ufuncs.compiled_isas()
    assert c["isa_supported"] == [n for n in c["isa_compiled"] if _ufuncs.cpu_supports(n)]
    assert c["num_threads"] == fastgelu.get_num_threads()
    assert list(c["tiers"]) == list(_ufuncs.TIERS)
    for tier, info in c["tiers"].items():
        assert info == {"module": _ufuncs.TIER_MODULES[tier],
                        "bound_ulp": _config.TIER_BOUNDS[tier], "isa": fastgelu.get_isa()}


def test_tier_bounds_are_the_documented_promise():
    """The one place the bounds are written (check, bench, show_config and the tests read
    it): exact 1 ulp, fast 4 ulp; float16 and bfloat16 results 1 ulp in both."""
    assert _config.TIER_BOUNDS == {"exact": 1.0, "fast": 4.0}
    assert list(_config.TIER_BOUNDS) == list(_ufuncs.TIERS)
    for tier in _ufuncs.TIERS:
        for dtype in ("float16", np.float16, "bfloat16"):
            assert _config.tier_bound(tier, dtype) == 1.0
        for dtype in ("float32", np.float64, np.dtype(np.float32)):
            assert _config.tier_bound(tier, dtype) == _config.TIER_BOUNDS[tier]
    with pytest.raises(KeyError):
        _config.tier_bound("fastest", "float32")


def test_show_config_names_both_tiers(capsys):
    fastgelu.show_config()
    text = capsys.readouterr().out
    assert (f"kernel path      : {fastgelu.get_isa()} (exact and fast tiers)\n"
            "  tiers            : exact (fastgelu.<name>, <= 1 ulp), "
            "fast (fastgelu.fast.<name>, <= 4 ulp)\n") in text


def test_set_isa_auto_picks_the_best_supported():
    previous = fastgelu.get_isa()
    try:
        best = next(n for n in _ufuncs.compiled_isas() if _ufuncs.cpu_supports(n))
        assert fastgelu.set_isa("auto") == best == fastgelu.get_isa()
        assert fastgelu.set_isa() == best
    finally:
        fastgelu.set_isa(previous)


def test_set_isa_each_supported_build():
    previous = fastgelu.get_isa()
    try:
        for isa in _ufuncs.compiled_isas():
            if _ufuncs.cpu_supports(isa):
                assert fastgelu.set_isa(isa) == isa == fastgelu.get_isa()
                assert fastgelu.gelu(1.0) > 0.84
    finally:
        fastgelu.set_isa(previous)


@pytest.mark.parametrize("bad", ["sse9", "avx3", "", "neon"])
def test_set_isa_unknown_name_raises_value_error(bad):
    previous = fastgelu.get_isa()
    with pytest.raises(ValueError):
        fastgelu.set_isa(bad)
    assert fastgelu.get_isa() == previous


def test_set_isa_unsupported_raises_runtime_error():
    unsupported = [n for n in ("avx512", "avx2")
                   if n not in _ufuncs.compiled_isas() or not _ufuncs.cpu_supports(n)]
    if not unsupported:
        pytest.skip("this CPU runs every ISA build compiled in; nothing is unsupported")
    previous = fastgelu.get_isa()
    with pytest.raises(RuntimeError):
        fastgelu.set_isa(unsupported[0])
    assert fastgelu.get_isa() == previous


@pytest.mark.parametrize("env", ["baseline", ""])
def test_fastgelu_isa_environment_variable(env):
    expected = env or next(n for n in _ufuncs.compiled_isas() if _ufuncs.cpu_supports(n))
    out = subprocess.run(
        [sys.executable, "-c", "import fastgelu; print(fastgelu.get_isa())"],
        env={**os.environ, "FASTGELU_ISA": env}, capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert out == expected
