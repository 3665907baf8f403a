"""How fast can a GELU of each accuracy contract be? fastgelu's kernels beside their bare
arithmetic (benchmarks/speed_of_light.c), PyTorch and fastgelu's ufuncs, on one thread.

    python benchmarks/speed_of_light.py [--sizes 65536,1000000] [--rounds 21]
                                        [--isa avx2] [--json FILE]

Builds speed_of_light.c with the package's compiler flags for that ISA build (setup.py's),
then times, interleaved, every loop of it and `torch.ops.aten.gelu.out` and fastgelu's
`gelu` / `fast.gelu` on x = 3 N(0, 1) clipped to [-8, 8] (where the bare loops are valid),
one thread each. Prints ns/element (best of the rounds), the speed relative to PyTorch, and
the loop's instructions per element counted in the built object (objdump; the vectorized
loop body over the elements it handles). Needs gcc and objdump; PyTorch is optional.

The *_bare rows are floors, not kernels: the same polynomials and reductions with the
special-value handling, the flag guards and (fast float32) the damped rational taken out,
so no kernel with that arithmetic can be faster than them.
"""
from __future__ import annotations

import argparse
import ast
import ctypes
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import types

import numpy as np

import fastgelu
import fastgelu._config
import fastgelu.fast

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "speed_of_light.c")
KERNELS = os.path.join(HERE, os.pardir, "src", "fastgelu", "kernels")
SETUP = os.path.join(HERE, os.pardir, "setup.py")


def setup_flags() -> tuple[list[str], dict[str, list[str]]]:
    """GCC's flags for the kernels and for each x86-64 ISA build, from setup.py's own
    kernel_flags() and isa_builds() (setup.py runs setup() when imported: only those
    functions are taken from it)."""
    with open(SETUP) as fh:
        tree = ast.parse(fh.read())
    wanted = {"is_msvc", "kernel_flags", "isa_builds"}
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in wanted]
    module = ast.Module(defs, type_ignores=[])
    ns: dict = {}
    exec(compile(module, SETUP, "exec"), ns)
    gcc = types.SimpleNamespace(compiler_type="unix")
    return ns["kernel_flags"](gcc), dict(ns["isa_builds"](gcc, ["x86_64"]))


FLAGS, ISA_FLAGS = setup_flags()
LOOPS = {  # name in the .c -> (dtype, what it is)
    "kernel_exact_f32": ("float32", "exact gelu kernel (<= 1 ulp)"),
    "exact_bare": ("float32", "its bare double arithmetic"),
    "kernel_fast_f32": ("float32", "fast gelu kernel (<= 4 ulp)"),
    "fast_bare": ("float32", "its bare float arithmetic"),
    "fast_bare_plus_damped": ("float32", "bare + damped m (2 divisions)"),
    "fast_bare_plus_class": ("float32", "bare + class of x (NaN, inf, clamps)"),
    "fast_min": ("float32", "exp deg 5 x (4,4): least exp x rational"),
    "kernel_exact_f64": ("float64", "exact gelu kernel (<= 1 ulp)"),
    "kernel_fast_f64": ("float64", "fast gelu kernel (<= 4 ulp)"),
    "fast64_bare": ("float64", "fast's bare double arithmetic"),
}


def build(isa: str, workdir: str) -> str:
    """speed_of_light.c built as a shared library with that ISA build's flags: its path."""
    lib = os.path.join(workdir, f"speed_of_light_{isa}.so")
    cmd = ["gcc", *FLAGS, *ISA_FLAGS[isa], "-fPIC", "-shared", "-I", KERNELS, SOURCE, "-o", lib]
    subprocess.run(cmd, check=True)
    return lib


def call(lib: ctypes.CDLL, name: str, x: np.ndarray, out: np.ndarray) -> None:
    """out[i] = sol_<name>(x[i]) (contiguous arrays of the loop's dtype)."""
    getattr(lib, "sol_" + name)(ctypes.c_void_p(x.ctypes.data), ctypes.c_void_p(out.ctypes.data),
                                ctypes.c_long(x.size))


def loop_instructions(lib: str, isa: str) -> dict[str, float]:
    """Instructions per element of each sol_ function's vector loop (the backward-jump loop
    with the most instructions on the ISA's full-width registers), from objdump."""
    reg = {"avx512": "%zmm", "avx2": "%ymm"}.get(isa, "%xmm")
    lanes_f32 = {"%zmm": 16, "%ymm": 8, "%xmm": 4}[reg]
    dump = subprocess.run(["objdump", "-d", "--no-show-raw-insn", lib], check=True,
                          capture_output=True, text=True).stdout
    counts = {}
    for m in re.finditer(r"<sol_(\w+)>:\n(.*?)(?:\n\n|\Z)", dump, re.S):
        lines = [ln for ln in m.group(2).splitlines() if re.match(r"\s+[0-9a-f]+:\s", ln)]
        addr = [int(ln.split(":")[0], 16) for ln in lines]
        best = (0, None)
        for i, ln in enumerate(lines):
            j = re.search(r"\sj\w+\s+([0-9a-f]+)\s<", ln)
            if j and int(j.group(1), 16) < addr[i] and int(j.group(1), 16) in addr:
                body = lines[addr.index(int(j.group(1), 16)):i + 1]
                wide = sum(reg in b for b in body)
                if wide > best[0]:
                    best = (wide, body)
        if best[1] is not None:
            f64 = LOOPS.get(m.group(1), ("float32",))[0] == "float64"
            counts[m.group(1)] = len(best[1]) / (lanes_f32 // 2 if f64 else lanes_f32)
    return counts


def cpu_name() -> str:
    """The CPU's model name (Linux), else the platform's processor string."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="65536,1000000")
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--isa", default="avx2", choices=sorted(ISA_FLAGS))
    ap.add_argument("--json", help="also write the figures to this file")
    a = ap.parse_args()
    if a.isa not in fastgelu._config.config()["isa_supported"]:
        sys.exit(f"this CPU cannot run the {a.isa} build")

    with tempfile.TemporaryDirectory(prefix="fastgelu-sol-") as workdir:
        lib_path = build(a.isa, workdir)
        per_element = loop_instructions(lib_path, a.isa)
        lib = ctypes.CDLL(lib_path)
    fastgelu.set_num_threads(1)
    fastgelu.set_isa(a.isa)
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        torch = None
        print("# torch not installed: no PyTorch column", file=sys.stderr)

    rng = np.random.default_rng(0)
    rows = []
    print(f"one thread, ISA build {a.isa}, best of {a.rounds} interleaved rounds; "
          f"instructions per element in the vector loop")
    for dtype in ("float32", "float64"):
        for n in (int(float(s)) for s in a.sizes.split(",")):
            x = np.clip(rng.standard_normal(n) * 3, -8, 8).astype(dtype)
            out = np.empty_like(x)
            fns = {}
            if torch is not None:
                tx, to = torch.from_numpy(x), torch.from_numpy(out)
                fns["torch F.gelu"] = lambda tx=tx, to=to: torch.ops.aten.gelu.out(tx, out=to)
            fns["fastgelu.gelu"] = lambda x=x, out=out: fastgelu.gelu(x, out=out)
            fns["fastgelu.fast.gelu"] = lambda x=x, out=out: fastgelu.fast.gelu(x, out=out)
            for name, (dt, _) in LOOPS.items():
                if dt == dtype and hasattr(lib, "sol_" + name):
                    fns[name] = lambda name=name, x=x, out=out: call(lib, name, x, out)
            inner = max(3, int(4e6 / n))
            best = dict.fromkeys(fns, float("inf"))
            for _ in range(a.rounds):
                for name, fn in fns.items():
                    t0 = time.perf_counter()
                    for _ in range(inner):
                        fn()
                    best[name] = min(best[name], (time.perf_counter() - t0) / inner / n * 1e9)
            ref = best.get("torch F.gelu")
            print(f"\n{dtype} n={n}")
            print(f"  {'loop':24s} {'ns/elem':>8s} {'vs torch':>8s} {'instr/elem':>10s}  what")
            for name, ns in best.items():
                ratio = f"{ref / ns:7.2f}x" if ref else "       -"
                ins = per_element.get(name)
                ins_s = f"{ins:10.2f}" if ins else " " * 10
                print(f"  {name:24s} {ns:8.3f} {ratio} {ins_s}  {LOOPS.get(name, ('', ''))[1]}")
                rows.append({"dtype": dtype, "n": n, "loop": name, "ns_per_element": ns,
                             "torch_ns_per_element": ref, "instructions_per_element": ins})
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"machine": cpu_name(), "isa": a.isa, "rounds": a.rounds,
                       "command": "python benchmarks/speed_of_light.py " + " ".join(sys.argv[1:]),
                       "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
