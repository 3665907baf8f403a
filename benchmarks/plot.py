"""Throughput vs size, log-log: one line per implementation, one panel per dtype.

    python benchmarks/plot.py                        # run the engine, draw gelu
    python benchmarks/plot.py --kind gelu_grad --sizes 1e2,1e3,1e4,1e5,1e6,1e7
    python benchmarks/plot.py --json run.json        # draw figures saved earlier by
                                                     # python -m fastgelu bench --json run.json
    python benchmarks/plot.py --save-json run.json   # run, keep the figures, draw

The dashed np.copyto line is the memory-bandwidth limit. Output: benchmarks/throughput.png
(``--out``). The drawing is fastgelu._plot.draw, which ``python -m fastgelu bench --plot``
uses too. Needs matplotlib (pip install matplotlib, or the package's [bench] extra).
"""
from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SIZES = "1e2,3e2,1e3,3e3,1e4,3e4,1e5,3e5,1e6,3e6,1e7"

def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="draw the figures in this file instead of measuring")
    ap.add_argument("--save-json", help="after measuring, also write the figures here")
    ap.add_argument("--out", default=os.path.join(HERE, "throughput.png"),
                    help="image file to write (default: %(default)s)")
    ap.add_argument("--kind", default="gelu",
                    help="functions to draw, comma-separated (one row of panels each)")
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
        import matplotlib  # noqa: F401
    except ImportError:
        sys.exit("plot.py needs matplotlib: pip install matplotlib  "
                 "(or pip install 'fastgelu[bench]'). "
                 "`python -m fastgelu bench` prints the same figures as a table.")

    from fastgelu import _bench, _peers, _plot, _report

    kinds = a.kind.split(",")
    for kind in kinds:
        if kind not in _peers.ALL_KINDS:
            sys.exit(f"unknown --kind {kind!r}; choose from {', '.join(_peers.ALL_KINDS)}")
    if a.json:
        meta, rows = _report.load_json(a.json)
        rows = [r for r in rows if r["kind"] in kinds]
        if not rows:
            sys.exit(f"{a.json} has no {a.kind} figures")
    else:
        sizes = sorted({int(float(s)) for s in a.sizes.split(",")})
        print(f"measuring {a.kind} at {len(sizes)} sizes ...", flush=True)
        warning = _bench.load_warning()
        if warning:
            print(warning, flush=True)
        opts = _bench.Options(sizes=sizes, dtypes=a.dtypes.split(","), kinds=kinds,
                              threads=a.threads, min_time=a.min_time, repeat=a.repeat,
                              rounds=a.rounds)
        rows = _bench.run(opts, progress=lambda line: print(line, flush=True))
        meta = _report.metadata(rows[0]["threads"] if rows else None)
        if a.save_json:
            _report.save_json(rows, a.save_json, meta)
            print(f"wrote {a.save_json}")

    _plot.draw(rows, meta, a.out)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
