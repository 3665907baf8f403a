"""Fixtures for the benchmark suite: pinned thread count, implementations, Melem/s summary.

The thread count is pinned (fastgelu and PyTorch) for every benchmark module, to
``FASTGELU_BENCH_THREADS`` (default 2), through the libraries' APIs rather than the
environment, and restored afterwards so the rest of a test session is unaffected.
"""
from __future__ import annotations

import os

import pytest

from fastgelu import _bench, _peers, _report

BENCH_THREADS = int(os.environ.get("FASTGELU_BENCH_THREADS", "2"))


@pytest.fixture(scope="module", autouse=True)
def pinned_threads():
    """fastgelu (and PyTorch, once loaded) run on BENCH_THREADS threads in this module."""
    with _bench.pinned_threads(BENCH_THREADS):
        yield BENCH_THREADS


@pytest.fixture(scope="session")
def get_impl():
    """get_impl(name, kind) -> fn(x, out); skips the test if it cannot run here."""
    cache: dict[str, _peers.Impl | str] = {}

    def get(name: str, kind: str):
        if name == "torch":
            pytest.importorskip("torch")
        if name not in cache:
            try:
                cache[name] = _peers.make_impl(name, BENCH_THREADS)
            except _peers.Unavailable as e:
                cache[name] = str(e)
        impl = cache[name]
        if isinstance(impl, str):
            pytest.skip(impl)
        try:
            return impl.get(kind)
        except _peers.Unavailable as e:
            pytest.skip(str(e))

    return get


def pytest_terminal_summary(terminalreporter, config):
    """After a timed run, the same figures as a Melem/s table with fastgelu's ratios."""
    session = getattr(config, "_benchmarksession", None)
    benches = getattr(session, "benchmarks", None) if session is not None else None
    if not benches or getattr(session, "disabled", False):
        return
    rows: dict[tuple, dict] = {}
    try:
        for b in benches:
            info = b.extra_info
            if not {"impl", "func", "dtype", "n"} <= info.keys() or not b.stats:
                continue
            dist = info.get("dist", "normal")
            key = (dist, info["dtype"], info["n"], info["func"])
            row = rows.setdefault(key, {"dtype": info["dtype"], "n": info["n"],
                                        "kind": info["func"], "dist": dist,
                                        "threads": info.get("threads"), "melem_s": {}})
            row["melem_s"][info["impl"]] = info["n"] / b.stats.median / 1e6
    except Exception as e:  # private pytest-benchmark API: never fail the run over it
        terminalreporter.write_line(f"(no Melem/s summary: {e!r})")
        return
    if rows:
        order = {k: i for i, k in enumerate(_peers.ALL_KINDS)}
        terminalreporter.write_sep("-", "throughput (Melem/s, from the medians above)")
        for dist in _bench.DISTS:
            ordered = sorted((r for r in rows.values() if r["dist"] == dist),
                             key=lambda r: (r["dtype"], r["n"], order[r["kind"]]))
            if ordered:
                terminalreporter.write_line(_report.format_table(ordered))
        warning = _bench.load_warning(0.2)
        if warning:
            terminalreporter.write_line(warning + " (at the end of the run)")
