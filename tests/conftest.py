"""Shared fixtures: the ISA builds, thread/threshold restoration, the ufuncs by name, the
'slow' tests. (Shared helpers that are not fixtures: _helpers.py.)"""
from __future__ import annotations

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # reference.py, _helpers.py

from reference import FUNC_NAMES

import fastgelu
from fastgelu import _ufuncs

DTYPES = (np.float32, np.float64)


@pytest.fixture(params=FUNC_NAMES)
def name(request):
    """Each of the four functions, by name."""
    return request.param


@pytest.fixture(params=_ufuncs.TIERS)
def tier(request):
    """Each accuracy tier: "exact" (fastgelu.<name>) and "fast" (fastgelu.fast.<name>).
    The ufunc-behaviour tests run on both (through the `ufunc` fixture or a `tier`
    argument); only the accuracy bounds differ (_helpers.ULP_BOUNDS)."""
    return request.param


@pytest.fixture
def ufunc(name, tier):
    """The function `name` of the tier."""
    return _ufuncs.UFUNCS[tier][name]


@pytest.fixture(params=DTYPES, ids=lambda d: np.dtype(d).name)
def dtype(request):
    return np.dtype(request.param)


@pytest.fixture(params=_ufuncs.compiled_isas())
def isa(request):
    """Run the test on each ISA build compiled in; skip those this CPU cannot run."""
    name = request.param
    if not _ufuncs.cpu_supports(name):
        pytest.skip(f"this CPU does not support the {name!r} build")
    previous = fastgelu.get_isa()
    assert fastgelu.set_isa(name) == name
    try:
        yield name
    finally:
        fastgelu.set_isa(previous)


@pytest.fixture
def restore_threading():
    """Restore the thread count, the parallel thresholds and the threading policy after
    the test."""
    threads = fastgelu.get_num_threads()
    thresholds = {dt: _ufuncs.get_parallel_threshold(dt) for dt in ("float32", "float64")}
    adaptive = _ufuncs._adaptive_threads()
    try:
        yield
    finally:
        fastgelu.set_num_threads(threads)
        for dt, n in thresholds.items():
            _ufuncs.set_parallel_threshold(dt, n)
        _ufuncs._adaptive_threads(adaptive)
        _ufuncs._set_worker_delay(0)


@pytest.fixture
def single_thread(restore_threading):
    """One thread (the FP-flag tests compare this with the threaded path)."""
    fastgelu.set_num_threads(1)
    yield


@pytest.fixture
def threaded(restore_threading):
    """Two threads and a parallel threshold low enough that small arrays use them; every
    long call in parallel, whatever the machine's load (no adaptive serial runs)."""
    fastgelu.set_num_threads(2)
    _ufuncs._adaptive_threads(False)
    for dt in ("float32", "float64"):
        _ufuncs.set_parallel_threshold(dt, 64)


def _slow_selected(config):
    return "slow" in (config.getoption("markexpr") or "")


@pytest.fixture
def slow_only(request):
    """pyproject registers the 'slow' marker but does not deselect it by default."""
    if not _slow_selected(request.config):
        pytest.skip("slow: run with -m slow")
