"""Command line: ``python -m fastgelu [info | bench ... | check ...]``.

    python -m fastgelu            build/config summary, then a short side-by-side benchmark
    python -m fastgelu info       build/config summary only
    python -m fastgelu bench      benchmark of both tiers and their peers (see
                                  ``python -m fastgelu bench --help``)
    python -m fastgelu check      accuracy self-test of both tiers; exit status 1 if any
                                  error exceeds its tier's bound (exact 1 ulp, fast 4 ulp)

Each subcommand is a function taking the parsed arguments and returning an exit status;
new subcommands are added in ``build_parser()``.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from . import __version__

#: The short benchmark shown by a bare ``python -m fastgelu`` (a few seconds).
QUICK = {"sizes": [1_000, 100_000, 1_000_000], "kinds": ["gelu", "gelu_grad"],
         "min_time": 0.04, "repeat": 5}


# ---------------------------------------------------------------------------------------
# Argument types: a bad value becomes an argparse usage error, not a traceback
# ---------------------------------------------------------------------------------------
def _csv(convert: Callable[[str], object], what: str) -> Callable[[str], list]:
    def parse(text: str) -> list:
        items = [s.strip() for s in text.split(",") if s.strip()]
        if not items:
            raise argparse.ArgumentTypeError(f"empty list of {what}")
        return [convert(s) for s in items]

    parse.__name__ = what  # argparse names the type in its error message
    return parse


def _size(text: str) -> int:
    """'1e6', '1000000', '2^20', '1<<20' -> int >= 1."""
    try:
        if "^" in text:
            base, exp = text.split("^")
            n = int(base) ** int(exp)
        elif "<<" in text:
            base, shift = text.split("<<")
            n = int(base) << int(shift)
        else:
            f = float(text)
            n = int(f)
            if n != f:
                raise ValueError
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (use e.g. 1e6 or 2^20)") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"size must be >= 1, got {text!r}")
    return n


def _choice(allowed: Sequence[str], what: str, aliases: dict[str, str] | None = None):
    def parse(text: str) -> str:
        text = (aliases or {}).get(text, text)
        if text not in allowed:
            raise argparse.ArgumentTypeError(
                f"unknown {what} {text!r}; choose from {', '.join(allowed)}")
        return text

    return parse


def _positive(convert: Callable[[str], float], what: str, strict: bool):
    """An argparse type: convert, then require > 0 (strict) or >= 1."""
    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None
        if not (value > 0 if strict else value >= 1):
            raise argparse.ArgumentTypeError(f"must be {'> 0' if strict else '>= 1'}, got {text!r}")
        return value

    parse.__name__ = what
    return parse


_positive_int = _positive(int, "an integer", strict=False)
_positive_float = _positive(float, "a number", strict=True)


# ---------------------------------------------------------------------------------------
# Subcommands
# ---------------------------------------------------------------------------------------
def _status_line(text: str | None) -> None:
    """A progress indicator: one line on stderr, rewritten in place (erased by None).
    Only on a terminal, so logs and pipes get the results alone."""
    if not sys.stderr.isatty():
        return
    sys.stderr.write("\r\033[K" + (f"  ... {text}" if text else ""))
    sys.stderr.flush()


def cmd_info(args: argparse.Namespace) -> int:
    from ._config import show_config

    show_config()
    return 0


def _expand_all(values: list[str], everything: Sequence[str],
                aliases: dict[str, Sequence[str]] | None = None) -> list[str]:
    out: list[str] = []
    groups = {"all": everything, **(aliases or {})}
    for v in values:
        for item in groups.get(v, [v]):
            if item not in out:
                out.append(item)
    return out


def _error(command: str, message: str) -> int:
    print(f"python -m fastgelu {command}: error: {message}", file=sys.stderr)
    return 2


def cmd_bench(args: argparse.Namespace) -> int:
    from . import _bench, _peers, _report

    # What can fail for want of an optional package fails now, not after the run.
    dtypes = _expand_all(args.dtype, _bench.available_dtypes(), {"both": _bench.DTYPES})
    missing = [d for d in dtypes if d not in _bench.available_dtypes()]
    if missing:
        return _error("bench", f"no {', '.join(missing)} loops in this install (bfloat16 "
                               "needs ml_dtypes: pip install ml_dtypes)")
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError as e:
            return _error("bench", f"--plot needs matplotlib ({e}): pip install matplotlib")
    opts = _bench.Options(
        sizes=args.sizes, dtypes=dtypes,
        kinds=_expand_all(args.kinds, _peers.ALL_KINDS),
        impls=_expand_all(args.impls, _peers.IMPLS), threads=args.threads,
        min_time=args.min_time, repeat=args.repeat, rounds=args.rounds,
        verify=not args.no_check, dist=args.dist)
    warning = _bench.load_warning()
    if warning:
        print(warning, file=sys.stderr, flush=True)
    progress = None
    if args.progress:
        print(_report.header(opts.impls), flush=True)
        progress = lambda line: print(line, flush=True)  # noqa: E731
    rows = _bench.run(opts, progress=progress, status=_status_line)
    _status_line(None)
    if progress is not None:
        print()
    print(_report.format_table(rows, opts.impls))
    if args.plot:
        from . import _plot

        _plot.draw(rows, _report.metadata(args.threads), args.plot)
        print(f"wrote {args.plot}")
    warning = _bench.load_warning(0.2)
    if warning:
        print(warning + " (at the end of the run)", file=sys.stderr)
    if args.json:
        _report.save_json(rows, args.json)
        print(f"wrote {args.json}")
    return 1 if any(r["wrong"].get(impl) for r in rows for impl in _peers.FASTGELU_IMPLS) else 0


def _bounds_text(tiers: Sequence[str]) -> str:
    """The bounds of ``tiers`` in words: "exact tier 1 ulp, fast tier 4 ulp; float16 and
    bfloat16 results 1 ulp in every tier"."""
    from ._config import BOUND_16, TIER_BOUNDS

    return (", ".join(f"{t} tier {TIER_BOUNDS[t]:g} ulp" for t in tiers)
            + f"; float16 and bfloat16 results {BOUND_16:g} ulp in every tier")


def cmd_check(args: argparse.Namespace) -> int:
    import fastgelu

    from . import _check, _ufuncs

    if args.isa == "all":
        isas = [i for i in _ufuncs.compiled_isas() if _ufuncs.cpu_supports(i)]
    else:
        isas = [args.isa or fastgelu.get_isa()]
        previous = fastgelu.get_isa()
        try:  # an unknown or unsupported build: a clear message, not a traceback
            fastgelu.set_isa(isas[0])
            fastgelu.set_isa(previous)
        except (ValueError, RuntimeError) as e:
            return _error("check", str(e))
    available = _check.available_dtypes()
    dtypes = _expand_all(args.dtype or ["all"], available)
    missing = [d for d in dtypes if d not in available]
    if missing:  # bfloat16 without ml_dtypes
        return _error("check", f"no {', '.join(missing)} loops in this install (bfloat16 "
                               "needs ml_dtypes: pip install ml_dtypes)")
    tiers = _check.tiers_of(args.tier)
    bounds = _bounds_text(tiers)
    print(f"fastgelu {fastgelu.__version__} self-check: max error in ulps of the result "
          f"dtype; bounds: {bounds} ('!' marks a failure)", flush=True)
    failures = []
    for isa in isas:
        results = _check.run_check(dtypes, isa=isa, progress=_status_line, tier=args.tier)
        _status_line(None)
        print(_check.format_results(results, isa), flush=True)
        failures += [(isa, r) for r in results if not r.ok]
    for isa, r in failures:
        print(f"FAIL {r.ufunc} {r.dtype} ({isa}, {r.tier} tier): {r.max_ulp:.4g} ulp at "
              f"{r.worst} (bound {r.bound:g})")
    print("FAILED" if failures else
          f"OK: every ufunc within its bound ({bounds}; {len(isas)} ISA build(s) x "
          f"{len(tiers)} tier(s) x {len(dtypes)} dtype(s))")
    return 1 if failures else 0


def cmd_default(args: argparse.Namespace) -> int:
    cmd_info(args)
    print()
    parser = build_parser()
    quick = parser.parse_args(["bench"])
    quick.sizes, quick.kinds = QUICK["sizes"], QUICK["kinds"]
    quick.min_time, quick.repeat = QUICK["min_time"], QUICK["repeat"]
    print("Quick side-by-side benchmark (python -m fastgelu bench --help for more):")
    return cmd_bench(quick)


def build_parser() -> argparse.ArgumentParser:
    from . import _bench, _peers

    ap = argparse.ArgumentParser(
        prog="python -m fastgelu",
        description="fastgelu: build information and side-by-side benchmarks. "
                    "With no command: info, then a short benchmark.")
    ap.add_argument("--version", action="version", version=f"fastgelu {__version__}")
    ap.set_defaults(func=cmd_default)
    sub = ap.add_subparsers(dest="command", metavar="command")

    p = sub.add_parser("info", help="print the build and runtime configuration",
                       description="Print version, compiler, OpenMP, threads and kernel path.")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser(
        "bench", help="throughput of fastgelu (both tiers) next to NumPy, PyTorch and "
                      "np.copyto",
        description="Throughput (Melem/s, median of repeats) of fastgelu's two tiers "
                    "(fastgelu: the exact tier, fastgelu.<name>; fast: fastgelu.fast.<name>) "
                    "and their peers on x = 3*N(0,1), with each tier's ratio to the peers "
                    "and fast/fg, measured in one run. Each implementation's results are "
                    "checked first (fastgelu's tiers' 16- and 32-bit results against their "
                    "ulp bounds); exit status 1 if a tier's are wrong. Peers that are not "
                    "installed are skipped.")
    p.add_argument("--sizes", type=_csv(_size, "sizes"), default=[1_000, 100_000, 1_000_000],
                   help="comma-separated element counts, e.g. 1e3,1e5,2^20 (default: 1e3,1e5,1e6)")
    p.add_argument("--dtype", type=_csv(_choice(_bench.ALL_DTYPES + ("both", "all"), "dtype",
                                                {"f2": "float16", "f4": "float32",
                                                 "f8": "float64", "half": "float16",
                                                 "single": "float32", "double": "float64",
                                                 "bf16": "bfloat16"}),
                                        "dtypes"),
                   default=list(_bench.DTYPES), metavar="DTYPES",
                   help=f"comma-separated, from {', '.join(_bench.ALL_DTYPES)} (bfloat16 needs "
                        "ml_dtypes); 'both' is float32,float64 (the default), 'all' every "
                        "dtype this install has loops for")
    p.add_argument("--kinds", type=_csv(_choice(_peers.ALL_KINDS + ("all",), "kind"), "kinds"),
                   default=list(_peers.KINDS), metavar="KINDS",
                   help=f"functions, comma-separated, from {', '.join(_peers.ALL_KINDS)} "
                        "or 'all' (default: the four one-input functions)")
    p.add_argument("--impls", type=_csv(_choice(_peers.IMPLS + ("all",), "implementation"),
                                        "implementations"),
                   default=list(_peers.IMPLS), metavar="IMPLS",
                   help=f"implementations, from {', '.join(_peers.IMPLS)} (default: all; "
                        "fastgelu is the exact tier, fast the fast tier, fastgelu.fast)")
    p.add_argument("--threads", type=_positive_int, default=None,
                   help="threads for fastgelu and PyTorch (default: fastgelu's current "
                        f"setting, {os.environ.get('OMP_NUM_THREADS') or 'OpenMP default'})")
    p.add_argument("--min-time", type=_positive_float, default=0.25, metavar="SECONDS",
                   help="time spent per figure, about (default: %(default)s)")
    p.add_argument("--repeat", type=_positive_int, default=7,
                   help="timed batches per figure; the median is reported (default: %(default)s)")
    p.add_argument("--rounds", type=_positive_int, default=1,
                   help="time the implementations round-robin this many times and keep "
                        "each one's best (robust to bursts of load; default: %(default)s)")
    p.add_argument("--json", metavar="FILE", help="also write the figures to FILE "
                   "(benchmarks/plot.py --json FILE draws them)")
    p.add_argument("--plot", metavar="FILE.png",
                   help="also draw throughput against size (log-log, one panel per dtype "
                        "and function, np.copyto as the bandwidth line) into FILE.png; "
                        "needs matplotlib")
    p.add_argument("--no-check", action="store_true",
                   help="skip the correctness check run before timing each implementation "
                        "(fastgelu's tiers' 16- and 32-bit results: against their bounds, "
                        "exact 1 ulp, fast 4 ulp)")
    p.add_argument("--progress", action="store_true", help="print each row as it is measured")
    p.add_argument("--dist", type=_choice(_bench.DISTS, "distribution"), default="normal",
                   help="input values: normal = 3*N(0,1) (default), tail = uniform on "
                        "[-20, 0], subnormal = the dtype's subnormal numbers")
    p.set_defaults(func=cmd_bench)

    from ._check import DTYPES as CHECK_DTYPES
    from ._ufuncs import TIERS

    p = sub.add_parser(
        "check", help="quick accuracy self-test of both tiers (exit status 1 if any error "
                      "exceeds its tier's bound)",
        description="Every ufunc of each tier and dtype on a sample of inputs (all 65,536 "
                    "float16 ones), error in ulps against float64 formulas (float16/float32 "
                    "results) and a shipped 50-digit mpmath table (float64); exit status 1 "
                    f"if any exceeds its tier's bound ({_bounds_text(TIERS)}). A few "
                    "seconds per ISA build and tier.")
    p.add_argument("--isa", default=None,
                   help="ISA build to check: 'all' (every build this CPU runs) or a name from "
                        "'python -m fastgelu info' (default: the active one)")
    p.add_argument("--tier", type=_choice((*TIERS, "all"), "tier"), default="all",
                   help="tier to check: exact (fastgelu.<name>), fast (fastgelu.fast.<name>) "
                        "or all (the default)")
    p.add_argument("--dtype", type=_csv(_choice((*CHECK_DTYPES, "bfloat16", "all"), "dtype"),
                                        "dtypes"),
                   default=None, metavar="DTYPES",
                   help="comma-separated, from float16, float32, float64, bfloat16 "
                        "(default: all the loops this install has)")
    p.set_defaults(func=cmd_check)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # python -m fastgelu | head
        try:  # stay silent while the interpreter flushes stdout on exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError:
            pass
        return 141


if __name__ == "__main__":
    sys.exit(main())
