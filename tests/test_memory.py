"""Memory: 64-bit index arithmetic, and no leaks.

* byte offsets beyond 2**31 (default run, a sparse memory map) and single loop calls
  over more than 2**31 elements (``-m slow``);
* RSS and reference counts over 100k calls of the call mix in _helpers.py
  (tools/rss_soak.py runs a million; tools/memcheck.sh runs a subset of the tests under
  valgrind).
"""
from __future__ import annotations

import gc
import os
import sys
import time

import numpy as np
import pytest
from _helpers import UNARY_UFUNCS, assert_same_float_bits, call_mix, rss_mib

import fastgelu


# =======================================================================================
# 64-bit index arithmetic
# =======================================================================================
def _sparse_memmap(path, dtype, n):
    mm = np.memmap(path, dtype=dtype, mode="w+", shape=(n,))
    if os.stat(path).st_blocks * 512 > 64 << 20:
        del mm
        os.remove(path)
        pytest.skip("the temporary file system has no sparse files")
    return mm


@pytest.mark.parametrize("stride_bytes", [2**31 + 8, 2**32 + 8, 3 * 2**32 + 24])
def test_byte_offsets_beyond_2_31(dtype, stride_bytes, tmp_path):
    """Views with steps of more than 2 GiB (and more than 4 GiB) over a sparse memory
    map: the strided loop's offsets i * step and pointer steps need 64 bits. Positive
    and negative steps, as input, as out, and in place; only a few pages are touched."""
    k = stride_bytes // dtype.itemsize
    n = 6
    path = tmp_path / "sparse.bin"
    mm = _sparse_memmap(path, dtype, k * (n - 1) + 1)
    x = y = None
    try:
        x = mm[::k]
        assert x.strides == (stride_bytes,) and x.size == n
        vals = np.array([-0.75, 1.5, -3.0, 20.0, 1e-3, -9.0], dtype)
        x[...] = vals
        for f in UNARY_UFUNCS:
            expected = f(vals)
            assert_same_float_bits(f(x), expected)
            assert_same_float_bits(f(mm[::-k]), expected[::-1])
            out = np.empty(n, dtype)
            f(x, out=out, where=np.array([True] * n))
            assert_same_float_bits(out, expected)
            f(vals[::-1], out=mm[::-k])  # write through a negative huge step
            assert_same_float_bits(x, expected)
            x[...] = vals
        for f in UNARY_UFUNCS:  # in place through a negative huge step
            y = mm[k * (n - 1) :: -k]
            f(y, out=y)
            assert_same_float_bits(x, f(vals))
            x[...] = vals
    finally:
        del mm, x, y
        gc.collect()
        os.remove(path)  # a 8-51 GB (apparent size) file should not outlive the test


def _mem_available():
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@pytest.mark.slow
def test_more_than_2_31_elements_in_one_loop_call(slow_only, restore_threading):
    """One inner-loop call over 2**31 + 4101 float32 elements (8.6 GB): NumPy hands the
    whole run to one call. In place (the threaded contiguous path: chunk arithmetic and
    the kernels' ptrdiff_t counts) and from a zero-stride input (a broadcast scalar:
    staged once, written straight into out). Sentinels on both sides of 2**31 and at the
    end; every other element checked."""
    n = 2**31 + 4101
    if _mem_available() < n * 4 + (2 << 30):
        pytest.skip("needs ~10 GB of free memory")
    fastgelu.set_num_threads(max(2, fastgelu.get_num_threads()))
    a = np.empty(n, np.float32)
    idx = np.array([0, 1, 2**31 - 1, 2**31, 2**31 + 1, n // 2, n - 2, n - 1])
    vals = np.array([-0.75, 3.0, -2.0, 0.5, -9.0, 7.0, -20.0, 1e-3], np.float32)
    block = 1 << 27

    def all_equal_except(arr, value, skip):
        mismatches = 0
        for s in range(0, n, block):
            mismatches += int(np.count_nonzero(arr[s : s + block] != value))
        return mismatches == len(skip) - int(np.count_nonzero(arr[skip] == value))

    try:
        f = fastgelu.gelu
        a[...] = 1.5
        a[idx] = vals
        t0 = time.perf_counter()
        f(a, out=a)
        dt_inplace = time.perf_counter() - t0
        assert_same_float_bits(a[idx], f(vals))
        assert all_equal_except(a, f(np.float32(1.5)), idx)
        g = fastgelu.gelu_grad
        t0 = time.perf_counter()
        g(np.broadcast_to(np.float32(-2.0), (n,)), out=a)
        dt_strided = time.perf_counter() - t0
        assert all_equal_except(a, g(np.float32(-2.0)), np.array([], dtype=np.intp))
        print(f"\n2**31+4101 float32: in place (threaded) {dt_inplace:.2f} s, "
              f"zero-stride input {dt_strided:.2f} s")
    finally:
        del a



# =======================================================================================
# Memory
# =======================================================================================
@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
def test_no_memory_growth_over_100k_calls():
    """~100k calls (8 per round, incl. errors, plus 2 of a binary or two-output ufunc
    if the build has them): RSS grows by less than 4 MB after
    warm-up (a leak of 40 bytes a call would show), and the reference counts of the
    ufuncs and of every argument are unchanged."""
    round_, args, _, _ = call_mix()
    for i in range(2000):
        round_(i)
    gc.collect()
    refs = [sys.getrefcount(o) for o in list(UNARY_UFUNCS) + args]
    rss0 = rss_mib() * 2**20
    for i in range(12_500):
        round_(i)
    gc.collect()
    grown = rss_mib() * 2**20 - rss0
    assert [sys.getrefcount(o) for o in list(UNARY_UFUNCS) + args] == refs
    assert grown < 4 << 20, f"RSS grew by {grown / 2**20:.1f} MiB over 100k calls"
