"""Throughput vs size, log-log: one line per implementation, one panel per dtype.

    python benchmarks/plot.py                        # run the engine, draw gelu
    python benchmarks/plot.py --kind gelu_grad --sizes 1e2,1e3,1e4,1e5,1e6,1e7
    python benchmarks/plot.py --json run.json        # draw figures saved earlier by
                                                     # python -m fastgelu bench --json run.json
    python benchmarks/plot.py --save-json run.json   # run, keep the figures, draw

The dashed np.copyto line is the memory-bandwidth limit. Output: benchmarks/throughput.png
(``--out``). Needs matplotlib (pip install matplotlib, or the package's [bench] extra).
"""
from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SIZES = "1e2,3e2,1e3,3e3,1e4,3e4,1e5,3e5,1e6,3e6,1e7"

STYLE = {  # name: (label, line style)
    "fastgelu": ("fastgelu", dict(color="C0", marker="o", lw=2)),
    "numpy": ("NumPy formula", dict(color="C1", marker="s")),
    "torch": ("PyTorch", dict(color="C3", marker="^")),
    "copy": ("np.copyto, 1 thread (bandwidth)", dict(color="0.4", ls="--", marker="")),
}


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="draw the figures in this file instead of measuring")
    ap.add_argument("--save-json", help="after measuring, also write the figures here")
    ap.add_argument("--out", default=os.path.join(HERE, "throughput.png"),
                    help="image file to write (default: %(default)s)")
    ap.add_argument("--kind", default="gelu",
                    help="function to draw: gelu, gelu_tanh, gelu_grad, gelu_tanh_grad")
    ap.add_argument("--sizes", default=DEFAULT_SIZES, help="sizes to measure, comma-separated")
    ap.add_argument("--dtypes", default="float32,float64")
    ap.add_argument("--threads", type=int, default=None, help="default: fastgelu's setting")
    ap.add_argument("--min-time", type=float, default=0.1, help="seconds per figure, about")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2,
                    help="round-robin rounds, best kept (default: %(default)s)")
    return ap.parse_args(argv)


def main(argv=None):
    a = parse_args(argv)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("plot.py needs matplotlib: pip install matplotlib  "
                 "(or pip install 'fastgelu[bench]'). "
                 "`python -m fastgelu bench` prints the same figures as a table.")

    from fastgelu import _bench

    if a.kind not in _bench.KINDS:
        sys.exit(f"unknown --kind {a.kind!r}; choose from {', '.join(_bench.KINDS)}")
    if a.json:
        meta, rows = _bench.load_json(a.json)
        rows = [r for r in rows if r["kind"] == a.kind]
        if not rows:
            sys.exit(f"{a.json} has no {a.kind} figures")
    else:
        sizes = sorted({int(float(s)) for s in a.sizes.split(",")})
        print(f"measuring {a.kind} at {len(sizes)} sizes ...", flush=True)
        warning = _bench.load_warning()
        if warning:
            print(warning, flush=True)
        rows = _bench.run(sizes=sizes, dtypes=a.dtypes.split(","), kinds=[a.kind],
                          threads=a.threads, min_time=a.min_time, repeat=a.repeat,
                          rounds=a.rounds,
                          progress=lambda line: print(line, flush=True))
        meta = _bench.metadata(rows[0]["threads"] if rows else None)
        if a.save_json:
            _bench.save_json(rows, a.save_json, meta)
            print(f"wrote {a.save_json}")

    dtypes = [d for d in _bench.DTYPES if any(r["dtype"] == d for r in rows)]
    fig, axes = plt.subplots(1, len(dtypes), figsize=(6 * len(dtypes), 4.6),
                             sharey=True, squeeze=False)
    for ax, dtype in zip(axes[0], dtypes):
        sub = sorted((r for r in rows if r["dtype"] == dtype), key=lambda r: r["n"])
        for name in _bench.IMPLS:
            pts = [(r["n"], r["melem_s"][name]) for r in sub if name in r["melem_s"]]
            if not pts:
                continue
            label, style = STYLE.get(name, (name, {}))
            ax.plot(*zip(*pts), label=label, **style)
        thr = (meta.get("fastgelu", {}).get("parallel_threshold", {}) or {}).get(dtype) \
            if isinstance(meta, dict) else None
        if thr:
            ax.axvline(thr, color="C0", ls=":", lw=1)
            ax.annotate("fastgelu threads ->", (thr, 0.02), xycoords=("data", "axes fraction"),
                        fontsize="x-small", color="C0", ha="left")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{a.kind}, {dtype}")
        ax.set_xlabel("elements")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("throughput (Melem/s, median)")
    axes[0][-1].legend(loc="best", fontsize="small")
    fg = meta.get("fastgelu", {}) if isinstance(meta, dict) else {}
    thr = rows[0].get("threads")
    fig.suptitle(f"fastgelu {fg.get('version', '')} ({fg.get('isa', '?')}), "
                 f"{thr} threads, {meta.get('time', '')}".strip(), fontsize="medium")
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
