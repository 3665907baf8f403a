"""Quick checks of the benchmark tooling itself: engine, CLI, threshold.py, plot.py.

Not benchmarks (pytest-benchmark's --benchmark-only skips them); a few seconds in all.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import fastgelu
from fastgelu import _bench, _config, _peers, _report, _ufuncs

HERE = os.path.dirname(os.path.abspath(__file__))
TINY = ["--min-time", "0.002", "--repeat", "1"]


def run_py(*args, timeout=120):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True,
                          timeout=timeout, cwd=HERE)


@pytest.mark.parametrize("dtype", _bench.DTYPES)
def test_check_tells_the_functions_apart(dtype):
    """The tolerance is loose for peers but catches a benchmark of the wrong function."""
    x = _bench.make_input(5000, dtype)
    for kind in _peers.KINDS:
        assert _bench.check(kind, x, getattr(fastgelu, kind)(x)) is None, kind
        for other in _peers.KINDS:
            if other != kind:
                assert _bench.check(kind, x, getattr(fastgelu, other)(x)) is not None
    assert _bench.check("gelu", x, fastgelu.gelu(x).astype(np.float16)) is not None
    assert _bench.check("gelu", x, np.full_like(x, np.nan)) is not None
    if dtype == "float64":  # float32 precision in a float64 result is caught too
        assert _bench.check("gelu", x, fastgelu.gelu(x.astype(np.float32)).astype(x.dtype))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_check_of_the_16_bit_types(dtype):
    """Exact and tanh forms are one 16-bit rounding apart, but a wrong function, a
    float32 result or NaNs are still caught; the peers' own 16-bit formulas pass."""
    if dtype not in _bench.available_dtypes():
        pytest.skip("bfloat16 needs ml_dtypes")
    x = _bench.make_input(5000, _bench.loop_dtype(dtype))
    for kind in _peers.KINDS:
        assert _bench.check(kind, x, getattr(fastgelu, kind)(x)) is None, kind
    assert _bench.check("gelu", x, fastgelu.gelu_grad(x)) is not None
    assert _bench.check("gelu_grad", x, fastgelu.gelu(x)) is not None
    assert _bench.check("gelu", x, fastgelu.gelu(x.astype(np.float32))) is not None
    assert _bench.check("gelu", x, np.full_like(x, np.nan)) is not None
    numpy_impl = _peers.make_impl("numpy")
    for kind in ("gelu_tanh", "gelu_tanh_grad"):
        assert _bench.check(kind, x, numpy_impl.get(kind)(x, np.empty_like(x))) is None, kind


def test_run_and_table():
    rows = _bench.run(_bench.Options(sizes=[100, 3000], dtypes=["float32"],
                                     kinds=["gelu", "gelu_grad"],
                                     impls=["fastgelu", "numpy", "copy"], min_time=0.002,
                                     repeat=1))
    assert [(r["n"], r["kind"]) for r in rows] == [(100, "gelu"), (100, "gelu_grad"),
                                                   (3000, "gelu"), (3000, "gelu_grad")]
    for r in rows:
        assert not r["wrong"], r["wrong"]
        assert r["melem_s"]["fastgelu"] > 0 and r["melem_s"]["copy"] > 0
    table = _report.format_table(rows, ["fastgelu", "numpy", "copy"])
    assert "fg/numpy" in table and "fg/copy" in table and "fg/torch" not in table


def _moved(uf, steps):
    """``uf`` (called as ``uf(x, out=out)``) with its results moved ``steps``
    representable numbers toward 0: ``steps`` ulps off."""
    def f(x, out=None):
        y = uf(x)
        for _ in range(steps):
            y = np.nextafter(y, np.zeros_like(y))
        return y if out is None else np.copyto(out, y) or out
    return f


@pytest.mark.parametrize("impl,dtype,steps,wrong", [
    ("fast", "float32", 3, False), ("fast", "float32", 5, True),  # the fast tier: 4 ulp
    ("fastgelu", "float32", 3, True),                            # the exact tier: 1 ulp
    ("fast", "float16", 2, True), ("fast", "bfloat16", 2, True),  # 16-bit results: 1 ulp
    ("fast", "float64", 5, False),  # float64: the tolerance alone (reference not 1-ulp)
])
def test_run_holds_each_tier_to_its_bound(monkeypatch, impl, dtype, steps, wrong):
    """bench's check before timing: fastgelu's tiers at their ulp bounds, not just the
    peers' tolerance (which 5 float32 ulps pass)."""
    if dtype not in _bench.available_dtypes():
        pytest.skip("bfloat16 needs ml_dtypes")
    tier = _peers.IMPL_TIERS[impl]
    # `steps` ulps from the exact tier's results (<= 0.65 ulp off), whatever the tier's own
    # error: 3 steps stay within the fast tier's 4 ulp, 5 do not
    moved = _moved(_ufuncs.UFUNCS["exact"]["gelu"], steps)
    monkeypatch.setitem(_ufuncs.UFUNCS[tier], "gelu", moved)
    rows = _bench.run(_bench.Options(sizes=[3000], dtypes=[dtype], kinds=["gelu", "gelu_grad"],
                                     impls=list(_peers.FASTGELU_IMPLS), min_time=0.001,
                                     repeat=1))
    gelu, grad = rows
    assert not grad["wrong"], grad["wrong"]
    assert set(grad["melem_s"]) == set(_peers.FASTGELU_IMPLS)
    assert (impl in gelu["wrong"]) is wrong, gelu
    assert (impl in gelu["melem_s"]) is not wrong  # a wrong implementation is not timed
    if wrong:
        bound = _config.tier_bound(tier, dtype)
        assert f"above the {tier} tier's {bound:g} ulp" in gelu["wrong"][impl]
    x = _bench.make_input(3000, _bench.loop_dtype(dtype))
    assert _bench.check("gelu", x, _ufuncs.UFUNCS[tier]["gelu"](x)) is None  # a peer's check


def test_default_run_has_both_tiers_and_their_ratios():
    """By default the fast tier is timed next to fastgelu, with its ratios in the table."""
    assert _peers.IMPLS[:2] == ("fastgelu", "fast") == _peers.ALL_IMPLS[:2]
    assert _peers.IMPL_TIERS == {"fastgelu": "exact", "fast": "fast"}
    for name, tier in _peers.IMPL_TIERS.items():
        impl = _peers.make_impl(name)
        assert impl.tier == tier
        assert impl.label == (f"{_ufuncs.TIER_MODULES[tier]} {fastgelu.__version__} "
                              f"({fastgelu.get_isa()})")
    rows = _bench.run(_bench.Options(sizes=[1000], dtypes=["float32"], kinds=["gelu", "geglu"],
                                     impls=["fastgelu", "fast", "numpy", "unfused", "copy"],
                                     min_time=0.002, repeat=1))
    for r in rows:
        assert not r["wrong"], r["wrong"]
        assert r["melem_s"]["fastgelu"] > 0 and r["melem_s"]["fast"] > 0
    table = _report.format_table(rows, ["fastgelu", "fast", "numpy", "unfused", "copy"])
    title, head = table.splitlines()[:2]
    assert ("fg = fastgelu (exact tier, <= 1 ulp), fast = fastgelu.fast (fast tier, <= 4 ulp)"
            in title)
    assert head.split()[-5:] == ["fg/numpy", "fg/unfused", "fg/copy", "fast/fg", "fast/numpy"]
    fast_fg = float(table.splitlines()[2].split()[-2].rstrip("x"))
    figs = rows[0]["melem_s"]
    assert fast_fg == pytest.approx(figs["fast"] / figs["fastgelu"], abs=0.006)
    # no fast tier in the table: no fast columns nor legend
    exact_only = _report.format_table(rows, ["fastgelu", "numpy"])
    assert "fast/" not in exact_only and "fastgelu.fast" not in exact_only


def test_engine_without_optional_peers():
    """_bench imports and runs with neither SciPy nor PyTorch."""
    code = (
        "import sys; sys.modules['torch'] = None; sys.modules['scipy'] = None\n"
        "from fastgelu import _bench, _report\n"
        "rows = _bench.run(_bench.Options(sizes=[1000], dtypes=['float64'], min_time=0.001,"
        " repeat=1))\n"
        "r = {x['kind']: x for x in rows}\n"
        "assert set(r['gelu']['melem_s']) == {'fastgelu', 'fast', 'copy'}, r['gelu']\n"
        "assert set(r['gelu_tanh']['melem_s']) == {'fastgelu', 'fast', 'numpy', 'copy'}\n"
        "assert 'torch' in r['gelu']['skipped'] and 'numpy' in r['gelu']['skipped']\n"
        "print(_report.format_table(rows))\n"
    )
    p = run_py("-c", code)
    assert p.returncode == 0, p.stderr
    assert "torch skipped" in p.stdout


def test_cli_bench_and_json(tmp_path):
    out = tmp_path / "run.json"
    p = run_py("-m", "fastgelu", "bench", "--sizes", "1e3,2^12", "--dtype", "float32",
               "--kinds", "gelu", "--impls", "fastgelu,numpy,copy", "--threads", "2",
               "--json", str(out), *TINY)
    assert p.returncode == 0, p.stderr
    assert "fg/numpy" in p.stdout and "2^12" in p.stdout
    data = json.loads(out.read_text())
    assert data["meta"]["fastgelu"]["version"] == fastgelu.__version__
    assert [r["n"] for r in data["rows"]] == [1000, 4096]


def test_cli_bench_fast_tier_and_json(tmp_path):
    """The fast tier is an implementation of its own, in the table and the JSON (with the
    tiers in the metadata)."""
    out = tmp_path / "fast.json"
    p = run_py("-m", "fastgelu", "bench", "--sizes", "1e3", "--dtype", "float32", "--kinds",
               "gelu,geglu", "--impls", "fast,numpy", "--json", str(out), *TINY)
    assert p.returncode == 0, p.stderr
    assert "fast/numpy" in p.stdout and "fg/" not in p.stdout
    assert "fast = fastgelu.fast (fast tier, <= 4 ulp)" in p.stdout
    data = json.loads(out.read_text())
    assert [set(r["melem_s"]) for r in data["rows"]] == [{"fast", "numpy"}] * 2
    assert data["meta"]["fastgelu"]["tiers"]["fast"] == {
        "module": "fastgelu.fast", "bound_ulp": 4.0, "isa": fastgelu.get_isa()}


def test_cli_bench_exit_status_1_when_a_tier_is_wrong():
    """A fast-tier gelu 5 ulps off (within the peers' tolerance) is WRONG, not timed, and
    the exit status is 1."""
    code = (
        "import sys, numpy as np\n"
        "from fastgelu import __main__, _ufuncs\n"
        "gelu = _ufuncs.UFUNCS['fast']['gelu']\n"
        "def off(x, out=None):\n"
        "    y = gelu(x)\n"
        "    for _ in range(5):\n"
        "        y = np.nextafter(y, np.zeros_like(y))\n"
        "    np.copyto(out, y)\n"
        "    return out\n"
        "_ufuncs.UFUNCS['fast']['gelu'] = off\n"
        "sys.exit(__main__.main(sys.argv[1:]))\n"
    )
    p = run_py("-c", code, "bench", "--sizes", "1e3", "--dtype", "float32", "--kinds",
               "gelu,gelu_grad", "--impls", "fastgelu,fast", *TINY)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "note: fast WRONG (float32 n=1e3): gelu:" in p.stdout
    assert "above the fast tier's 4 ulp" in p.stdout
    assert re.search(r"^float32 +gelu +1e3 +[\d.]+ +WRONG ", p.stdout, re.M), p.stdout
    assert re.search(r"^float32 +gelu_grad +1e3 +[\d.]+ +[\d.]+ ", p.stdout, re.M), p.stdout


def test_cli_dtype_both_and_all(tmp_path):
    """'both' is the default pair (what --help says); 'all' every dtype with loops."""
    p = run_py("-m", "fastgelu", "bench", "--help")
    assert "'both' is float32,float64" in " ".join(p.stdout.split())
    for word, expect in [("both", ["float32", "float64"]), ("all", _bench.available_dtypes()),
                         ("f2,both", ["float16", "float32", "float64"])]:
        out = tmp_path / f"{word}.json"
        p = run_py("-m", "fastgelu", "bench", "--sizes", "1e2", "--dtype", word, "--kinds",
                   "gelu", "--impls", "fastgelu", "--json", str(out), *TINY)
        assert p.returncode == 0, p.stderr
        assert [r["dtype"] for r in json.loads(out.read_text())["rows"]] == list(expect), word


def test_cli_bench_16_bit_dtypes(tmp_path):
    """float16 and bfloat16 are timed, every peer that has them checked first."""
    pytest.importorskip("ml_dtypes")
    out = tmp_path / "half.json"
    p = run_py("-m", "fastgelu", "bench", "--sizes", "1e3", "--dtype", "float16,bfloat16",
               "--kinds", "gelu,gelu_tanh_grad,geglu", "--json", str(out), *TINY)
    assert p.returncode == 0, p.stderr
    assert "WRONG" not in p.stdout
    rows = json.loads(out.read_text())["rows"]
    assert [(r["dtype"], r["kind"]) for r in rows] == [
        (d, k) for d in ("float16", "bfloat16") for k in ("gelu", "gelu_tanh_grad", "geglu")]
    for r in rows:
        assert not r["wrong"] and r["melem_s"]["fastgelu"] > 0
        assert {"numpy", "copy"} <= set(r["melem_s"]) or "numpy" in r["skipped"]


def test_cli_bench_bfloat16_without_ml_dtypes():
    """No ml_dtypes: asking for bfloat16 is a clear error, and 'all' leaves it out."""
    code = (
        "import sys; sys.modules['ml_dtypes'] = None\n"
        "from fastgelu import __main__, _bench\n"
        "assert 'bfloat16' not in _bench.available_dtypes()\n"
        "sys.exit(__main__.main(sys.argv[1:]))\n"
    )
    p = run_py("-c", code, "bench", "--sizes", "1e2", "--dtype", "float32,bfloat16")
    assert p.returncode == 2
    assert "bfloat16" in p.stderr and "pip install ml_dtypes" in p.stderr
    assert "Traceback" not in p.stderr and "Throughput" not in p.stdout
    p = run_py("-c", code, "bench", "--sizes", "1e2", "--dtype", "all", "--kinds", "gelu",
               "--impls", "fastgelu", *TINY)
    assert p.returncode == 0, p.stderr
    assert "float16 " in p.stdout and "bfloat16" not in p.stdout


def test_cli_plot_without_matplotlib_fails_before_the_run(tmp_path):
    png = tmp_path / "never.png"
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "from fastgelu import __main__\n"
        "sys.exit(__main__.main(sys.argv[1:]))\n"
    )
    p = run_py("-c", code, "bench", "--plot", str(png), "--sizes", "1e2", "--kinds", "gelu",
               "--min-time", "5")  # a run would take a minute: the check comes first
    assert p.returncode == 2
    assert "--plot needs matplotlib" in p.stderr and "pip install matplotlib" in p.stderr
    assert "Throughput" not in p.stdout and not png.exists()


def test_cli_info():
    p = run_py("-m", "fastgelu", "info")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(f"fastgelu {fastgelu.__version__}")


@pytest.mark.parametrize("argv", [["--bogus"], ["bench", "--sizes", "1e3,x"],
                                  ["bench", "--kinds", "relu"], ["bench", "--threads", "0"],
                                  ["bench", "--dtype", "int8"], ["nosuchcommand"]])
def test_cli_usage_errors(argv):
    p = run_py("-m", "fastgelu", *argv)
    assert p.returncode == 2
    assert "usage:" in p.stderr and "Traceback" not in p.stderr


def test_threshold_script(tmp_path):
    if not fastgelu._ufuncs.openmp_enabled():  # e.g. a macOS wheel built without libomp
        pytest.skip("serial build: threshold.py has no threads to measure")
    out = tmp_path / "thr.json"
    # --wait-idle 0: the script normally waits up to 2 minutes for an idle machine,
    # which a busy CI machine may never be; the tooling is what is checked here.
    p = run_py("threshold.py", "--dtypes", "float32", "--kinds", "gelu", "--min-exp", "10",
               "--max-exp", "11", "--rounds", "1", "--wait-idle", "0", "--json", str(out),
               *TINY)
    assert p.returncode == 0, p.stderr
    assert "crossover" in p.stdout
    assert "parallel_min_float" in p.stdout or "keep threads off" in p.stdout
    data = json.loads(out.read_text())
    assert [r["n"] for r in data["results"]["float32"]["gelu"]] == [1024, 2048]


def test_plot_script(tmp_path):
    pytest.importorskip("matplotlib")
    rows = _bench.run(_bench.Options(sizes=[100, 1000], dtypes=list(_bench.DTYPES),
                                     kinds=["gelu"], impls=["fastgelu", "copy"],
                                     min_time=0.001, repeat=1))
    src = tmp_path / "rows.json"
    _report.save_json(rows, str(src))
    png = tmp_path / "t.png"
    p = run_py("plot.py", "--json", str(src), "--out", str(png))
    assert p.returncode == 0, p.stderr
    assert png.stat().st_size > 1000


def test_cli_bench_plot(tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "bench.png"
    p = run_py("-m", "fastgelu", "bench", "--sizes", "1e2,1e3", "--kinds", "gelu,geglu",
               "--impls", "fastgelu,copy", "--plot", str(png), *TINY)
    assert p.returncode == 0, p.stderr
    assert f"wrote {png}" in p.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_cli_bench_progress_on_a_terminal():
    """A terminal on stderr gets a "[k/N] ..." status line, rewritten in place; a pipe
    (logs, CI) gets the table alone."""
    pty = pytest.importorskip("pty")
    argv = [sys.executable, "-m", "fastgelu", "bench", "--sizes", "1e2,1e3", "--dtype",
            "float32", "--kinds", "gelu", "--impls", "fastgelu", *TINY]
    master, slave = pty.openpty()
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=slave, text=True, timeout=120,
                           cwd=HERE)
        os.close(slave)
        seen = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the other end is closed and drained
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(master)
    assert p.returncode == 0
    assert b"[1/2] float32 gelu n=1e2" in seen and b"[2/2] float32 gelu n=1e3" in seen
    assert b"\r\x1b[K" in seen
    piped = run_py(*argv[1:])
    assert "[1/2]" not in piped.stderr and "[1/2]" not in piped.stdout
