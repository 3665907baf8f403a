"""Beyond one machine: fastgelu's ufuncs on Dask arrays, computed on a distributed cluster.

Because the functions are real ufuncs, ``fastgelu.gelu(dask_array)`` dispatches through
``__array_ufunc__`` and stays lazy; each chunk then runs fastgelu's kernels in a worker
process (ufuncs pickle by name: the workers import fastgelu). The multi-output ufuncs
(geglu_backward) go through ``dask.array.apply_gufunc``, as Dask's dispatch handles only
NumPy's own multi-output ufuncs.

Dask's nanny starts workers with OMP_NUM_THREADS=1 (its ``pre-spawn-environ`` default, so
that processes x threads do not oversubscribe the cores); the test raises it to 2 through
Dask's config so that each chunk runs fastgelu's threaded kernels, and checks that the
workers report 2 threads. Results must be NumPy's (fastgelu on the whole in-memory array)
bit for bit: chunking and threads never change a bit. Needs ``pip install
"fastgelu[dask]"``; skipped without dask or distributed. ~5-15 s (two spawned workers).
"""
from __future__ import annotations

import os

import numpy as np
import pytest

import fastgelu

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

WORKER_THREADS = 2


def _worker_state():
    import fastgelu as fg

    return {"pid": os.getpid(), "threads": fg.get_num_threads(), "isa": fg.get_isa()}


def _same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and bool(
        np.array_equal(a.view(np.uint8), b.view(np.uint8)))


def test_fastgelu_on_a_distributed_local_cluster():
    # Data made by Dask itself (a seeded generator per chunk), so the graph stays small;
    # the same arrays materialized here (scheduler="sync") give NumPy's answer.
    rng = da.random.default_rng(0)
    shape, chunks = (1200, 1000), (300, 500)  # 8 chunks of 150,000 elements
    dx = (3 * rng.standard_normal(shape, chunks=chunks)).astype(np.float32)
    dg = rng.standard_normal(shape, chunks=chunks).astype(np.float32)
    dh = 3 * rng.standard_normal((shape[0], 2 * shape[1]), chunks=(300, 1000))  # [xW | xV]
    x, g, h = dask.compute(dx, dg, dh, scheduler="sync")
    lazy = fastgelu.gelu(dx)
    assert isinstance(lazy, da.Array) and lazy.dtype == np.float32
    assert lazy.chunks == dx.chunks  # lazy, chunk for chunk: nothing computed yet
    backward = fastgelu.gelu_backward(dg, dx)
    a, b = dh[:, : shape[1]], dh[:, shape[1]:]
    gated = fastgelu.geglu_tanh(a, b)
    grad_a, grad_b = da.apply_gufunc(fastgelu.geglu_backward, "(),(),()->(),()", 1.0, a, b,
                                     output_dtypes=(h.dtype, h.dtype))
    # the fast tier dispatches alike (its ufuncs pickle by name from fastgelu.fast)
    fast, fast_gated = fastgelu.fast.gelu(dx), fastgelu.fast.geglu(a, b)
    assert isinstance(fast, da.Array) and fast.chunks == dx.chunks

    environ = {"distributed.nanny.pre-spawn-environ.OMP_NUM_THREADS": WORKER_THREADS}
    with dask.config.set(environ), distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
    ) as cluster, distributed.Client(cluster) as client:
        workers = client.run(_worker_state)
        y, yb, yg, ga, gb, yf, yfg = dask.compute(lazy, backward, gated, grad_a, grad_b,
                                                  fast, fast_gated)

    hn_a, hn_b = h[:, : shape[1]], h[:, shape[1]:]
    checks = {
        "gelu(x) float32": _same_bits(y, fastgelu.gelu(x)),
        "gelu_backward(g, x) float32": _same_bits(yb, fastgelu.gelu_backward(g, x)),
        "geglu_tanh(a, b) float64": _same_bits(yg, fastgelu.geglu_tanh(hn_a, hn_b)),
        "geglu_backward(1, a, b) float64": all(
            _same_bits(u, v) for u, v in zip((ga, gb), fastgelu.geglu_backward(1.0, hn_a, hn_b))),
        "fast.gelu(x) float32": _same_bits(yf, fastgelu.fast.gelu(x)),
        "fast.geglu(a, b) float64": _same_bits(yfg, fastgelu.fast.geglu(hn_a, hn_b)),
    }
    print(f"\nDask {dask.__version__}, distributed {distributed.__version__}: LocalCluster "
          f"with {len(workers)} worker processes x 1 thread, OMP_NUM_THREADS={WORKER_THREADS}")
    for addr, state in sorted(workers.items()):
        print(f"  worker {addr} pid {state['pid']}: fastgelu threads {state['threads']}, "
              f"kernels {state['isa']}")
    print(f"  {dx.npartitions} chunks of {chunks}, parent pid {os.getpid()}")
    for what, ok in checks.items():
        print(f"  {what:34s} bitwise equal to NumPy: {ok}")

    assert len(workers) == 2
    assert all(s["pid"] != os.getpid() for s in workers.values())  # separate processes
    if fastgelu._ufuncs.openmp_enabled():
        assert all(s["threads"] == WORKER_THREADS for s in workers.values())
    assert all(checks.values()), checks
