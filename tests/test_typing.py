"""The type stubs (_ufuncs.pyi) as a user sees them: mypy --strict on a small user script.

Each ``reveal_type`` line of :data:`SCRIPT` carries the type mypy must reveal (``# ->``,
normalized by :func:`normalize`), each ``# error:`` line the message mypy must report
there; nothing else may be reported. Skipped where mypy is not installed.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import fastgelu

pytest.importorskip("mypy")

SCRIPT = textwrap.dedent(
    """
    from typing import Any

    import numpy as np
    from numpy.typing import NDArray

    import fastgelu

    x: NDArray[Any] = np.asarray([0.5, 1.0])
    x32 = np.zeros(3, dtype=np.float32)

    reveal_type(fastgelu.gelu(x))  # -> NDArray[Any]
    reveal_type(fastgelu.gelu(x32))  # -> NDArray[float32]
    reveal_type(fastgelu.gelu([0.5, 1.0]))  # -> NDArray[Any]
    reveal_type(fastgelu.gelu(x32, dtype=np.float64))  # -> NDArray[Any]
    reveal_type(fastgelu.gelu(x, out=x32))  # -> NDArray[float32]
    reveal_type(fastgelu.gelu(np.float32(0.5)))  # -> float32
    reveal_type(fastgelu.gelu(0.5))  # -> floating[Any]
    reveal_type(fastgelu.gelu_backward(np.float64(1.0), np.float64(0.5)))  # -> float64
    reveal_type(fastgelu.geglu(x, 2.0))  # -> NDArray[Any]
    reveal_type(fastgelu.geglu(x32, x32))  # -> NDArray[float32]
    reveal_type(fastgelu.geglu_backward(x, x, x))  # -> tuple[NDArray[Any], NDArray[Any]]
    reveal_type(fastgelu.geglu_backward(0.5, 1.0, 2.0))  # -> tuple[floating[Any], floating[Any]]
    pair = fastgelu.geglu_tanh_backward(x, x, x, out=(x32, x))
    reveal_type(pair)  # -> tuple[NDArray[float32], NDArray[Any]]
    grad_a, grad_b = fastgelu.geglu_backward(x, x, x)
    reveal_type(grad_b)  # -> NDArray[Any]
    reveal_type(fastgelu.gelu_tanh.nin)  # -> Literal[1]
    reveal_type(fastgelu.geglu_backward.nout)  # -> Literal[2]
    uf: np.ufunc = fastgelu.gelu_tanh_grad  # still a numpy.ufunc

    fastgelu.gelu_backward(x)  # error: No overload variant of "__call__"
    fastgelu.geglu_backward(x, x, x)[2]  # error: Tuple index out of range
    fastgelu.gelu(x, casting="sometimes")  # error: No overload variant of "__call__"
    """
)

# mypy's spelling of NumPy's types differs between NumPy versions; these rewrite it to
# the short forms used in SCRIPT.
_NORMALIZE = [
    (r"numpy\.floating\[numpy\._typing\._nbit(?:_base)?\._(16|32|64)Bit\]", r"float\1"),
    (r"numpy\.(float16|float32|float64|floating)\b", r"\1"),
    (r"numpy\.ndarray\[[^\[\]]*(?:\[[^\[\]]*\])?[^\[\]]*, numpy\.dtype\[([\w\[\]]+?)\]\]",
     r"NDArray[\1]"),
    (r"builtins\.", ""),
]


def normalize(text: str) -> str:
    for pattern, repl in _NORMALIZE:
        text = re.sub(pattern, repl, text)
    return text


def run_mypy(tmp_path: Path) -> str:
    (tmp_path / "user.py").write_text(SCRIPT)
    env = dict(os.environ)
    root = Path(fastgelu.__file__).resolve().parent.parent
    if root.name not in ("site-packages", "dist-packages"):
        # a source checkout on PYTHONPATH, which mypy does not read (and must not be
        # given site-packages: an installed fastgelu is found there anyway)
        env["MYPYPATH"] = str(root)
    p = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--config-file", "",
         "--cache-dir", str(tmp_path / "cache"), "--hide-error-context",
         "--no-error-summary", "--show-error-codes", "user.py"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert p.returncode in (0, 1), p.stdout + p.stderr  # 1: errors found (the expected ones)
    return p.stdout


def test_mypy_sees_what_a_user_gets(tmp_path):
    out = run_mypy(tmp_path)
    print(out)  # the mypy output, for -s
    revealed: dict[int, str] = {}
    errors: dict[int, list[str]] = {}
    for line in out.splitlines():
        m = re.match(r"user\.py:(\d+): (note|error): (.*)", line)
        assert m or not line.startswith("user.py"), line
        if not m:
            continue
        lineno, kind, text = int(m[1]), m[2], m[3]
        if kind == "note" and text.startswith("Revealed type is "):
            revealed[lineno] = normalize(text[len("Revealed type is "):].strip('"'))
        elif kind == "error":
            errors.setdefault(lineno, []).append(text)
    expected_types, expected_errors = {}, {}
    for lineno, line in enumerate(SCRIPT.splitlines(), 1):
        if "# -> " in line:
            expected_types[lineno] = line.split("# -> ")[1]
        elif "# error: " in line:
            expected_errors[lineno] = line.split("# error: ")[1]
    assert revealed == expected_types
    assert set(errors) == set(expected_errors), errors
    for lineno, start in expected_errors.items():
        assert any(e.startswith(start) for e in errors[lineno]), (lineno, errors[lineno])
