"""speed_of_light.py measures what it says: its kernel_* loops are the package's kernels
(bit for bit the ufuncs' results), its bare floors compute GELU (to the ulps stated), and
it finds the vector loop of every function it times."""
from __future__ import annotations

import os
import platform
import shutil
import sys

import numpy as np
import pytest

import fastgelu
import fastgelu._config
import fastgelu.fast

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import speed_of_light as sol

pytestmark = pytest.mark.skipif(
    not (shutil.which("gcc") and shutil.which("objdump") and platform.machine() == "x86_64"
         and "avx2" in fastgelu._config.config()["isa_supported"]),
    reason="needs gcc, objdump and an x86-64 CPU that runs the AVX2 build")


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    import ctypes

    path = sol.build("avx2", str(tmp_path_factory.mktemp("sol")))
    return ctypes.CDLL(path), path


@pytest.fixture
def avx2_build():
    before = fastgelu.get_isa()
    fastgelu.set_isa("avx2")
    yield
    fastgelu.set_isa(before)


def grid_f32():
    """every 1009th float32 in [-8, 8] (the bare loops' domain), both signs"""
    bits = np.arange(0, 0x41000001, 1009, dtype=np.uint32)
    x = bits.view(np.float32)
    return np.concatenate([x, -x])


def run(lib, name, x):
    out = np.empty_like(x)
    sol.call(lib[0], name, x, out)
    return out


def test_kernel_loops_are_the_package_kernels(lib, avx2_build):
    rng = np.random.default_rng(0)
    specials = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, -1e-40, 40.0, -40.0]
    for dtype in (np.float32, np.float64):
        x = np.concatenate([rng.standard_normal(50_000) * 6, specials]).astype(dtype)
        sfx = "f32" if dtype == np.float32 else "f64"
        for name, ufunc in ((f"kernel_exact_{sfx}", fastgelu.gelu),
                            (f"kernel_fast_{sfx}", fastgelu.fast.gelu)):
            with np.errstate(all="ignore"):
                expected = ufunc(x)
            np.testing.assert_array_equal(run(lib, name, x).view(np.uint8),
                                          expected.view(np.uint8), err_msg=name)


def ulps_f32(y, x):
    """|y - gelu(x)| in ulps of the float32 result, gelu(x) from the float64 exact tier"""
    ref = fastgelu.gelu(x.astype(np.float64))
    ulp = np.maximum(np.spacing(np.abs(ref.astype(np.float32))).astype(np.float64), 2.0**-149)
    return np.abs(y.astype(np.float64) - ref) / ulp


# bounds in ulps on the grid: the exact arithmetic holds the exact tier's 1 ulp (0.64
# measured); the float floors are not within the fast tier's 4 (that is what the kernel's
# damped rational and degrees are for): 3.4-6.6 measured, checked at 8
@pytest.mark.parametrize("name, bound", [
    ("exact_bare", 1.0), ("fast_bare", 8.0), ("fast_bare_plus_damped", 8.0),
    ("fast_bare_plus_class", 8.0), ("fast_min", 8.0)])
def test_float32_floors_compute_gelu(lib, name, bound):
    x = grid_f32()
    err = ulps_f32(run(lib, name, x), x)
    assert err.max() <= bound, (name, err.max(), x[err.argmax()])


def test_float64_floor_computes_gelu(lib):
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.uniform(-8, 8, 200_000), np.geomspace(2.0**-8, 8, 1000),
                        -np.geomspace(2.0**-8, 8, 1000)])
    ref = fastgelu.gelu(x)  # <= 1 ulp
    err = np.abs(run(lib, "fast64_bare", x) - ref) / np.spacing(np.abs(ref))
    assert err.max() <= 8.0, (err.max(), x[err.argmax()])  # 4.0 measured, as the fast kernel


def test_every_timed_loop_is_found_in_the_object(lib):
    counts = sol.loop_instructions(lib[1], "avx2")
    assert set(counts) == set(sol.LOOPS)
    assert all(c > 0 for c in counts.values())
    # the floors are the kernels' arithmetic less something
    assert counts["exact_bare"] < counts["kernel_exact_f32"]
    assert counts["fast_bare"] < counts["kernel_fast_f32"]
    assert counts["fast64_bare"] < counts["kernel_fast_f64"] < counts["kernel_exact_f64"]
