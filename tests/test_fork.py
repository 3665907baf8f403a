"""Fork safety: GNU OpenMP's thread pool does not survive fork(), so a child that entered
a parallel region after its parent ran one would hang for ever (as data-loader workers
started with multiprocessing's 'fork' do). fastgelu runs serial in a forked child."""
from __future__ import annotations

import multiprocessing
import subprocess
import sys
import textwrap

import pytest

CHILD_SCRIPT = textwrap.dedent(
    """
    import multiprocessing as mp
    import numpy as np
    import fastgelu

    def work(_):
        x = np.linspace(-5, 5, 10**6)
        return fastgelu.gelu(x).tobytes(), fastgelu.get_num_threads()

    if __name__ == "__main__":
        fastgelu.set_num_threads(2)
        fastgelu._ufuncs.set_parallel_threshold("float64", 1024)
        x = np.linspace(-5, 5, 10**6)
        expected = fastgelu.gelu(x).tobytes()        # the parent runs threaded first
        with mp.get_context("fork").Pool(2) as pool:
            results = pool.map(work, range(4), chunksize=1)
        assert all(r == expected for r, _ in results), "child results differ"
        print("child threads:", sorted({t for _, t in results}))
    """
)


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                    reason="no fork() on this platform")
def test_forked_children_do_not_hang_and_agree(tmp_path):
    script = tmp_path / "fork_after_threads.py"
    script.write_text(CHILD_SCRIPT)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "child threads: [1]" in done.stdout, done.stdout
