"""Arguments of the configuration functions (issue 13, point 3).

Counts (``set_num_threads``, ``set_parallel_threshold``) take integers as ``range`` does
(Python ints, NumPy integers), never bools, floats or strings (``TypeError``), and a value
out of range gives a ``ValueError`` that states the range. ``set_isa`` takes build names
in any case, ``TypeError`` for a non-string, ``ValueError`` naming the builds this CPU runs
for an unknown name. A rejected call changes nothing.
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import fastgelu
from fastgelu import _ufuncs

SUPPORTED = [isa for isa in _ufuncs.compiled_isas() if _ufuncs.cpu_supports(isa)]
NOT_INTEGERS = [2.5, 2.0, np.float64(2.0), "2", b"2", None, [2], True, False, np.True_]
INT_MAX = 2**31 - 1


@pytest.fixture
def restore_isa():
    previous = fastgelu.get_isa()
    try:
        yield previous
    finally:
        fastgelu.set_isa(previous)


def thresholds():
    return {key: _ufuncs.get_parallel_threshold(key) for key in ("float32", "float64")}


# --- set_isa -----------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [None, 3, b"avx2", ["avx2"], np.float64(1.0)],
                         ids=lambda v: type(v).__name__)
def test_set_isa_non_string_raises_type_error(bad, restore_isa):
    with pytest.raises(TypeError, match="str"):
        fastgelu.set_isa(bad)
    assert fastgelu.get_isa() == restore_isa


@pytest.mark.parametrize("isa", SUPPORTED)
def test_set_isa_takes_names_in_any_case(isa, restore_isa):
    for name in (isa.upper(), isa.capitalize(), isa.swapcase()):
        fastgelu.set_isa("baseline")
        assert fastgelu.set_isa(name) == isa == fastgelu.get_isa(), name


@pytest.mark.parametrize("name", ["auto", "Auto", "AUTO"])
def test_set_isa_auto_in_any_case(name, restore_isa):
    fastgelu.set_isa("baseline")
    assert fastgelu.set_isa(name) == SUPPORTED[0]


@pytest.mark.parametrize("bad", ["sse9", "neon", "", " avx2", "avx2 ", "avx2\0", "avx-2"])
def test_set_isa_unknown_name_names_the_builds_this_cpu_runs(bad, restore_isa):
    with pytest.raises(ValueError, match="unknown ISA") as err:
        fastgelu.set_isa(bad)
    message = str(err.value)
    assert "'auto'" in message
    for isa in SUPPORTED:
        assert isa in message, message
    for isa in set(_ufuncs.compiled_isas()) - set(SUPPORTED):
        assert isa not in message.split(":")[-1], message
    assert fastgelu.get_isa() == restore_isa


def test_set_isa_unsupported_build_in_any_case(restore_isa):
    unsupported = [isa for isa in ("avx512", "avx2") if isa not in SUPPORTED]
    if not unsupported:
        pytest.skip("this CPU runs every x86 build")
    with pytest.raises(RuntimeError, match="not supported") as err:
        fastgelu.set_isa(unsupported[0].upper())
    assert all(isa in str(err.value) for isa in SUPPORTED)
    assert fastgelu.get_isa() == restore_isa


def test_fastgelu_isa_environment_variable_in_any_case():
    out = subprocess.run(
        [sys.executable, "-c", "import fastgelu; print(fastgelu.get_isa())"],
        env={**os.environ, "FASTGELU_ISA": "BaseLine"}, capture_output=True, text=True,
        check=True,
    ).stdout.strip()
    assert out == "baseline"


# --- set_num_threads ---------------------------------------------------------------------

@pytest.mark.parametrize("bad", NOT_INTEGERS, ids=repr)
def test_set_num_threads_non_integer_raises_type_error(bad, restore_threading):
    fastgelu.set_num_threads(2)
    with pytest.raises(TypeError, match="integer"):
        fastgelu.set_num_threads(bad)
    assert fastgelu.get_num_threads() == 2


@pytest.mark.parametrize("bad", [0, -1, np.int64(0), INT_MAX + 1, np.uint64(2**63)],
                         ids=repr)
def test_set_num_threads_out_of_range_raises_value_error(bad, restore_threading):
    fastgelu.set_num_threads(2)
    with pytest.raises(ValueError, match=f"from 1 to {INT_MAX}"):
        fastgelu.set_num_threads(bad)
    assert fastgelu.get_num_threads() == 2


@pytest.mark.parametrize("good", [np.int64(1), np.uint8(2), np.int32(1), 2])
def test_set_num_threads_takes_python_and_numpy_integers(good, restore_threading):
    fastgelu.set_num_threads(good)
    assert fastgelu.get_num_threads() == int(good)
    assert type(fastgelu.get_num_threads()) is int


def test_set_num_threads_above_the_cpu_count_is_taken_as_asked(restore_threading):
    """The documented rule: more threads than CPUs run (oversubscribed), with the same
    results."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    x = np.linspace(-8, 8, 20_001)
    expected = fastgelu.gelu(x)
    for key in ("float32", "float64"):
        _ufuncs.set_parallel_threshold(key, 64)
    fastgelu.set_num_threads(cpus + 2)
    assert fastgelu.get_num_threads() == cpus + 2
    np.testing.assert_array_equal(fastgelu.gelu(x).view(np.uint64), expected.view(np.uint64))


def test_set_num_threads_documents_the_rule():
    doc = fastgelu.set_num_threads.__doc__
    assert "More threads than CPUs" in doc and "oversubscribes" in doc


# --- set_parallel_threshold (tests, benchmarks/threshold.py) -----------------------------

@pytest.mark.parametrize("bad", NOT_INTEGERS, ids=repr)
def test_set_parallel_threshold_non_integer_raises_type_error(bad, restore_threading):
    before = thresholds()
    with pytest.raises(TypeError, match="integer"):
        _ufuncs.set_parallel_threshold("float32", bad)
    assert thresholds() == before


@pytest.mark.parametrize("bad", [0, -5, np.int64(0), 2**63])
def test_set_parallel_threshold_out_of_range_raises_value_error(bad, restore_threading):
    before = thresholds()
    with pytest.raises(ValueError, match="from 1 to"):
        _ufuncs.set_parallel_threshold("float64", bad)
    assert thresholds() == before


def test_set_parallel_threshold_bad_dtype_changes_nothing(restore_threading):
    before = thresholds()
    with pytest.raises(ValueError, match="float16"):
        _ufuncs.set_parallel_threshold("float16", 64)
    assert thresholds() == before


def test_set_parallel_threshold_takes_numpy_integers(restore_threading):
    _ufuncs.set_parallel_threshold("float32", np.int64(4096))
    assert _ufuncs.get_parallel_threshold("float32") == 4096
