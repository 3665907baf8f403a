"""Fork safety: GNU OpenMP's thread pool does not survive fork(), so a child that entered
a parallel region after its parent ran one would hang for ever (as data-loader workers
started with multiprocessing's 'fork' do). fastgelu runs serial in a forked child."""
from __future__ import annotations

import multiprocessing
import textwrap

import pytest
from _helpers import run_script

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


needs_fork = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                                reason="no fork() on this platform")


@needs_fork
def test_forked_children_do_not_hang_and_agree(tmp_path):
    out = run_script(tmp_path, "fork_after_threads.py", CHILD_SCRIPT)
    assert "child threads: [1]" in out, out


# ---------------------------------------------------------------------------------------
# Fork while another thread is inside a parallel region
# ---------------------------------------------------------------------------------------
FORK_BUSY_SCRIPT = textwrap.dedent(
    """
    import multiprocessing as mp, os, threading
    import numpy as np
    import fastgelu

    X = np.linspace(-5, 5, 10**6)

    def work(_):
        fastgelu.set_num_threads(2)  # asking for threads in a forked child stays serial
        return fastgelu.gelu(X).tobytes(), fastgelu.get_num_threads()

    if __name__ == "__main__":
        fastgelu.set_num_threads(2)
        fastgelu._ufuncs.set_parallel_threshold("float64", 1024)
        expected = fastgelu.gelu(X).tobytes()
        stop = threading.Event()
        calls = [0]

        def spin():  # the parent's OpenMP team is busy at every fork
            while not stop.is_set():
                fastgelu.gelu(X)
                calls[0] += 1

        t = threading.Thread(target=spin)
        t.start()
        seen = set()
        for _ in range(4):
            with mp.get_context("fork").Pool(2) as pool:
                for r, threads in pool.map(work, range(4), chunksize=1):
                    assert r == expected, "child results differ"
                    seen.add(threads)
        # a grandchild (fork of a forked child)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                pid2 = os.fork()
                if pid2 == 0:
                    ok = work(0)[0] == expected
                    os._exit(0 if ok else 1)
                _, st = os.waitpid(pid2, 0)
                code = 0 if (st == 0 and work(0)[0] == expected) else 1
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        stop.set()
        t.join()
        assert status == 0, "grandchild failed"
        assert fastgelu.gelu(X).tobytes() == expected  # the parent still threads fine
        print("parent calls during the forks:", calls[0])
        print("child threads:", sorted(seen), "grandchild ok")
    """
)


@needs_fork
def test_fork_while_another_thread_is_in_a_parallel_region(tmp_path):
    out = run_script(tmp_path, "fork_busy.py", FORK_BUSY_SCRIPT)
    assert "child threads: [1] grandchild ok" in out, out
