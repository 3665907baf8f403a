"""Throughput against size, log-log (``python -m fastgelu bench --plot FILE.png`` and
``benchmarks/plot.py``): one panel per function and dtype, one line per implementation,
np.copyto dashed as the memory-bandwidth limit. Needs matplotlib (the [bench] extra)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

STYLE: dict[str, tuple[str, dict[str, Any]]] = {  # name: (label, line style)
    "fastgelu": ("fastgelu", dict(color="C0", marker="o", lw=2)),
    "fast": ("fastgelu.fast", dict(color="C9", marker="D", lw=2)),
    "numpy": ("NumPy formula", dict(color="C1", marker="s")),
    "torch": ("PyTorch", dict(color="C3", marker="^")),
    "unfused": ("fastgelu unfused (2 ops)", dict(color="C2", marker="v")),
    "copy": ("np.copyto (bandwidth)", dict(color="0.4", ls="--", marker="")),
}


def draw(rows: Sequence[Mapping[str, Any]], meta: Mapping[str, Any], out: str) -> None:
    """Draw the rows of :func:`fastgelu._bench.run` into the image file ``out``.

    Raises ImportError when matplotlib is missing.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ._bench import ALL_DTYPES
    from ._peers import ALL_IMPLS, ALL_KINDS

    kinds = [k for k in ALL_KINDS if any(r["kind"] == k for r in rows)]
    dtypes = [d for d in ALL_DTYPES if any(r["dtype"] == d for r in rows)]
    fig, axes = plt.subplots(len(kinds), len(dtypes), figsize=(6 * len(dtypes), 4.2 * len(kinds)),
                             sharey=True, squeeze=False)
    fg = meta.get("fastgelu", {}) or {}
    for i, kind in enumerate(kinds):
        for j, dtype in enumerate(dtypes):
            ax = axes[i][j]
            sub = sorted((r for r in rows if r["dtype"] == dtype and r["kind"] == kind),
                         key=lambda r: r["n"])
            for name in ALL_IMPLS:
                pts = [(r["n"], r["melem_s"][name]) for r in sub if r["melem_s"].get(name)]
                if pts:
                    label, style = STYLE.get(name, (name, {}))
                    ax.plot(*zip(*pts), label=label, **style)
            thr = (fg.get("parallel_threshold") or {}).get(dtype)
            if thr:
                ax.axvline(thr, color="C0", ls=":", lw=1)
                ax.annotate("fastgelu threads ->", (thr, 0.02),
                            xycoords=("data", "axes fraction"), fontsize="x-small",
                            color="C0", ha="left")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(f"{kind}, {dtype}")
            ax.set_xlabel("elements")
            ax.grid(True, which="both", alpha=0.3)
            if j == 0:
                ax.set_ylabel("throughput (Melem/s, median)")
            ax.legend(loc="best", fontsize="x-small")
    threads = rows[0].get("threads") if rows else None
    fig.suptitle(f"fastgelu {fg.get('version', '')} ({fg.get('isa', '?')}), {threads} threads, "
                 f"{meta.get('time', '')}".strip(), fontsize="medium")
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.25 / fig.get_figheight()))  # room for the title
    fig.savefig(out, dpi=80)
    plt.close(fig)
