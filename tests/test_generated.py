"""Generated files are what their generators write: kernels/fg_coeffs.h
(tools/fit_coefficients.py, ~1 min: ``-m slow``; .ci/run runs it on every build) and the
float64 reference tables tests/data/reference_f64.npz and src/fastgelu/data/check_f64.npz
(tools/make_reference_f64.py, a sample of the mpmath values, ~10 s)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_check(tool, *args):
    """``python tools/<tool> --check``; skipped where the sources are not there (the
    wheel tests of cibuildwheel run from a copy of tests/ without src/)."""
    path = os.path.join(ROOT, "tools", tool)
    if not (os.path.exists(path) and os.path.isdir(os.path.join(ROOT, "src", "fastgelu"))):
        pytest.skip("needs the source tree (tools/ and src/)")
    done = subprocess.run([sys.executable, path, "--check", *args], capture_output=True,
                          text=True, timeout=900, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


@pytest.mark.slow
def test_coefficient_header_is_what_fit_coefficients_writes(slow_only):
    assert "is what tools/fit_coefficients.py writes" in run_check("fit_coefficients.py")


def test_reference_tables_are_what_make_reference_f64_writes():
    assert "the committed tables are what this writes" in run_check(
        "make_reference_f64.py", "--jobs", "2")
