"""The README's API tour runs as written (and warns about nothing)."""
from __future__ import annotations

import os
import re
import warnings

import pytest

import fastgelu

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def test_api_tour_runs(capsys):
    if not os.path.exists(README):  # e.g. tests copied next to an installed wheel
        pytest.skip("README.md is not next to the tests")
    with open(README, encoding="utf-8") as fh:
        text = fh.read()
    block = re.search(r"## API tour\n\n```python\n(.*?)```", text, re.S)
    assert block, "the README lost its API tour"
    isa, threads = fastgelu.get_isa(), fastgelu.get_num_threads()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            exec(compile(block.group(1), "README.md (API tour)", "exec"), {})
    finally:
        fastgelu.set_isa(isa)
        fastgelu.set_num_threads(threads)
    assert "kernel path" in capsys.readouterr().out  # show_config() printed
