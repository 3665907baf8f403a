#!/bin/sh
# Valgrind memcheck over a subset of the test suite; fails on any error whose stack
# involves fastgelu's extension (its kernels, its Cython loops), and on any block
# definitely lost that fastgelu allocated.
#
# CPython and NumPy are not built for valgrind, so a run reports some errors in the
# interpreter itself (uninitialised reads in its allocator and GC): those are counted
# and listed by library, not judged. The filter is on the stack, not a suppressions
# file: an error is fastgelu's if any frame lies in the _ufuncs extension module.
#
# Valgrind does not model the floating-point status flags (fetestexcept sees none), so
# the tests of flags pass vacuously or, where they need a flag raised, are left out.
#
# Valgrind runs the AVX2 and baseline builds (it has no AVX-512: the CPU it emulates
# reports none, so the dispatcher picks AVX2 -- a check of that path too).
#
# Usage (from anywhere):
#   tools/memcheck.sh                        # the default subset (~10-20 min)
#   tools/memcheck.sh tests/test_ufunc_api.py -k where    # any pytest arguments
# Environment: PYTHON (the interpreter binary, not a pyenv shim), MEMCHECK_DIR (logs).
set -u
cd "$(dirname "$0")/.." || exit 2
command -v valgrind >/dev/null 2>&1 || { echo "memcheck.sh: valgrind not found" >&2; exit 2; }
PY=${PYTHON:-$(python -c 'import sys; print(sys.executable)')}
OUT=${MEMCHECK_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/fastgelu-memcheck.XXXXXX")}
mkdir -p "$OUT"

if [ $# -eq 0 ]; then
    # Small arrays, every path; not the accuracy sweeps (millions of points), not the
    # timing tests (GIL, RSS) nor the ones that start plain subprocesses.
    set -- tests/test_ufunc_api.py tests/test_input.py tests/test_memory.py \
        tests/test_fp_flags.py tests/test_threads.py tests/test_properties.py \
        tests/test_values.py tests/test_fork.py \
        -k "not slow and not gil and not rss and not memory_growth and not ctrl_c \
and not fork and not float32_sampled and not float64_against and not sample_covers \
and not table_covers and not no_spurious and not finite_difference and not doctest \
and not fp_flags_of_one_thread"
fi

echo "valgrind $(valgrind --version | sed 's/valgrind-//'), python $PY, logs in $OUT"

# Positive control: a user-made view that runs past its buffer makes fastgelu's strided
# loop read out of bounds; the filter below must see those errors as fastgelu's.
mkdir -p "$OUT/control"
PYTHONMALLOC=malloc valgrind --tool=memcheck --xml=yes --xml-file="$OUT/control/memcheck.%p.xml" \
    --num-callers=40 "$PY" -c "
import numpy as np, fastgelu
from numpy.lib.stride_tricks import as_strided
fastgelu.gelu(as_strided(np.ones(10), (40,), (8,))[::2])
" >/dev/null 2>&1

start=$(date +%s)
PYTHONMALLOC=malloc OMP_WAIT_POLICY=passive FASTGELU_HYPOTHESIS_EXAMPLES=${FASTGELU_HYPOTHESIS_EXAMPLES:-15} \
valgrind --tool=memcheck --xml=yes --xml-file="$OUT/memcheck.%p.xml" \
    --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
    --num-callers=40 --error-limit=no \
    "$PY" -m pytest -p no:cacheprovider -q --benchmark-disable "$@" >"$OUT/pytest.log" 2>&1
status=$?
end=$(date +%s)
tail -n 3 "$OUT/pytest.log"
echo "pytest under valgrind: exit $status, $((end - start)) s"

"$PY" - "$OUT" "$status" <<'PYEOF'
import collections, glob, os, sys
import xml.etree.ElementTree as ET

out, pytest_status = sys.argv[1], int(sys.argv[2])


def is_ours(frame):
    obj = frame.findtext("obj") or ""
    fn = frame.findtext("fn") or ""
    # fastgelu/_ufuncs.*.so (not scipy.special's _ufuncs or _special_ufuncs)
    in_ext = (os.path.basename(os.path.dirname(obj)) == "fastgelu"
              and os.path.basename(obj).startswith("_ufuncs."))
    return in_ext or fn.startswith("fg_")


def attributable(frames):
    """Whether fastgelu's code is on the stack as more than the module initializer that
    ran Python code (its import of the optional ml_dtypes): an error in the interpreter
    executing that import is the interpreter's, not fastgelu's."""
    for i, f in enumerate(frames):  # innermost first
        if is_ours(f):
            if (f.findtext("fn") or "") != "__pyx_pymod_exec__ufuncs":
                return True
            return not any((g.findtext("fn") or "").startswith("_PyEval_")
                           for g in frames[:i])
    return False


def analyse(out):
    total = collections.Counter()
    by_lib = collections.Counter()
    ours = []
    for path in sorted(glob.glob(os.path.join(out, "memcheck.*.xml"))):
        with open(path, errors="replace") as fh:
            text = fh.read()
        try:
            root = ET.fromstring(text)
        except ET.ParseError as exc:
            if "<error>" not in text:  # a forked child that exec'd another program
                continue
            print(f"{path}: unreadable ({exc}); parsing what is there")
            root = ET.fromstring(text[: text.rindex("</error>") + 8] + "</valgrindoutput>")
        for err in root.iter("error"):
            kind = err.findtext("kind")
            stack_el = err.find("stack")
            frames = list(stack_el.iter("frame")) if stack_el is not None else []
            total[kind] += 1
            if attributable(frames):
                what = err.findtext("what") or err.findtext("xwhat/text") or ""
                stack = [f"{f.findtext('fn') or '?'} "
                         f"({os.path.basename(f.findtext('obj') or '?')}"
                         + (f":{f.findtext('file')}:{f.findtext('line')}"
                            if f.findtext("file") else "") + ")"
                         for f in frames[:14]]
                ours.append((kind, what, stack))
            else:
                top = next((os.path.basename(f.findtext("obj") or "?") for f in frames), "?")
                by_lib[top] += 1
    return total, by_lib, ours


_, _, control = analyse(os.path.join(out, "control"))
print(f"positive control (out-of-bounds view): {len(control)} errors attributed to "
      f"fastgelu (must be > 0)")
total, by_lib, ours = analyse(out)
n = sum(total.values())
print(f"valgrind errors in all: {n} ({dict(total)})")
print(f"  not involving fastgelu, by library of the top frame: {dict(by_lib)}")
print(f"errors involving fastgelu's extension: {len(ours)}")
for kind, what, stack in ours:
    print(f"\n{kind}: {what}")
    for line in stack:
        print("    " + line)
sys.exit(1 if ours or not control or pytest_status != 0 else 0)
PYEOF
