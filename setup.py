"""Build fastgelu's extension: Cython loops + C kernels compiled once per instruction set.

- ``src/fastgelu/_ufuncs.pyx`` (the ufunc loops) is compiled with OpenMP when the
  compiler supports it, found by compiling and linking a tiny OpenMP program. Without it
  the build is serial, with a warning (``fastgelu.show_config()`` says so too);
  FASTGELU_REQUIRE_OPENMP=1 turns that into an error (CI, Linux and Windows wheels).
- ``src/fastgelu/kernels/fg_array.c`` is compiled once for each ISA of the target
  architecture (x86-64: baseline SSE2, AVX2+FMA, AVX-512; anything else: baseline only,
  e.g. aarch64, whose baseline already has NEON and FMA), with that ISA's flags only;
  ``fg_dispatch.c`` picks one at run time. Nothing uses -march=native: one build runs on
  every CPU of the architecture.

Compilers:

- GCC and clang (Linux, also a Homebrew/LLVM clang on macOS): ``-fopenmp``.
- Apple clang (macOS) has no OpenMP runtime of its own: ``-Xpreprocessor -fopenmp -lomp``
  against libomp, found in LIBOMP_PREFIX (a folder with include/omp.h and lib/libomp.*)
  or else ``brew --prefix libomp``; without it the build is serial.
- MSVC (Windows): ``/openmp`` (OpenMP 2.0, vcomp140.dll), ``/O2 /fp:precise``, and
  ``/arch:AVX2`` / ``/arch:AVX512`` for the ISA builds. MSVC has no separate FMA switch:
  ``/arch:AVX2`` defines ``__AVX2__`` and fg_math.h then uses FMA through its explicit
  ``fma()`` calls; the baseline build has neither, and stays on two roundings.

The target architecture is the compiler's, not the build machine's: ``-arch`` flags
(macOS, ARCHFLAGS), else the compiler's ``-dumpmachine`` (cross compilers), else the
platform being built for. A macOS universal2 build (two ``-arch`` flags) gets the
baseline build only: the x86 ISA flags cannot be given to its arm64 half.
"""
import glob
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

KERNELS = os.path.join("src", "fastgelu", "kernels")
# Every kernel header: a change to any of them rebuilds the ISA objects and relinks.
KERNEL_HEADERS = sorted(glob.glob(os.path.join(KERNELS, "*.h")))

ARCH_ALIASES = {
    "amd64": "x86_64", "x64": "x86_64", "x86_64h": "x86_64", "win-amd64": "x86_64",
    "i386": "x86", "i486": "x86", "i586": "x86", "i686": "x86", "win32": "x86",
    "arm64": "aarch64", "win-arm64": "aarch64",
}


def is_msvc(compiler):
    return compiler.compiler_type == "msvc"


def normalize_arch(name):
    name = name.lower()
    return ARCH_ALIASES.get(name, name)


def target_archs(compiler, plat_name):
    """The architectures the compiler builds for (more than one: a macOS universal build)."""
    if is_msvc(compiler):
        # build_ext's plat_name: win-amd64, win32 or win-arm64 (the vcvars target).
        return [normalize_arch(plat_name or "win-amd64")]
    command = list(getattr(compiler, "compiler_so", None) or [])
    archs = [command[i + 1] for i, word in enumerate(command[:-1]) if word == "-arch"]
    if archs:
        return sorted({normalize_arch(a) for a in archs})
    if command:
        try:  # a cross compiler (CC=aarch64-linux-gnu-gcc) names its own target
            triple = subprocess.run(command[:1] + ["-dumpmachine"], capture_output=True,
                                    text=True, timeout=60).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            triple = ""
        if re.fullmatch(r"[A-Za-z0-9_]+-[A-Za-z0-9_.-]+", triple):
            return [normalize_arch(triple.split("-")[0])]
    # the platform being built for (honours _PYTHON_HOST_PLATFORM), e.g. linux-x86_64
    return [normalize_arch((plat_name or platform.machine()).split("-")[-1])]


def kernel_flags(compiler):
    """Flags for the math kernels: fast, but exact IEEE semantics.

    No -ffast-math (NaN/inf and the double-double error terms must survive) and no
    FMA contraction (the kernels place their FMAs explicitly; contraction would make
    results depend on the compiler's whims). MSVC's /fp:precise does not contract
    since Visual Studio 2022 (see msvc_contracts below for older ones).
    """
    if is_msvc(compiler):
        return ["/O2", "/fp:precise"]
    return ["-O3", "-ffp-contract=off", "-fno-math-errno", "-fopenmp-simd"]


def isa_builds(compiler, archs, msvc_contracts=False):
    """(name, extra flags) of each ISA build of fg_array.c for the target architecture."""
    if archs != ["x86_64"]:
        return [("baseline", [])]  # aarch64's baseline already has NEON and FMA
    if is_msvc(compiler):
        if msvc_contracts:
            # /arch:AVX2 would let this MSVC fuse a*b + c behind the kernels' back.
            return [("baseline", [])]
        return [("baseline", []), ("avx2", ["/arch:AVX2"]), ("avx512", ["/arch:AVX512"])]
    return [
        ("baseline", []),
        ("avx2", ["-mavx2", "-mfma"]),
        ("avx512", ["-mavx512f", "-mavx512dq", "-mavx512vl", "-mavx512bw", "-mavx2", "-mfma"]),
    ]


OPENMP_PROBE = textwrap.dedent(
    """
    #include <omp.h>
    int main(void) {
        int n = 0;
        #pragma omp parallel reduction(+:n)
        n += 1;
        return n > 0 ? 0 : 1;
    }
    """
)

# Visual Studio 2019 and older contract a*b + c into an FMA under /fp:precise once
# /arch:AVX2 allows it; 2022 (MSVC 19.30) and later do not.
MSVC_CONTRACTS_PROBE = "#if defined(_MSC_VER) && _MSC_VER < 1930\n#error contracts\n#endif\n"


def try_build(compiler, source, cflags=(), lflags=(), link=True):
    """True if `source` compiles (and, with link, links into a program) with these flags."""
    tmp = tempfile.mkdtemp(prefix="fastgelu-probe-")
    try:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as fh:
            fh.write(source)
        objs = compiler.compile([src], output_dir=tmp, extra_postargs=list(cflags))
        if link:
            compiler.link_executable(objs, "probe", output_dir=tmp, extra_postargs=list(lflags))
        return True
    except Exception:  # CompileError / LinkError
        return False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def libomp_prefixes():
    """Folders that may hold libomp (include/omp.h, lib/libomp.*) for Apple clang."""
    prefixes = []
    if os.environ.get("LIBOMP_PREFIX"):
        prefixes.append(os.environ["LIBOMP_PREFIX"])
    if shutil.which("brew"):
        try:
            out = subprocess.run(["brew", "--prefix", "libomp"], capture_output=True,
                                 text=True, timeout=120).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        if out:
            prefixes.append(out)
    return [p for p in prefixes if os.path.isfile(os.path.join(p, "include", "omp.h"))]


def openmp_candidates(compiler):
    """(compile flags, link flags) to try, in order."""
    if is_msvc(compiler):
        return [(["/openmp"], [])]
    candidates = [(["-fopenmp"], ["-fopenmp"])]
    if sys.platform == "darwin":
        # A GCC or LLVM clang takes -fopenmp. Apple clang rejects it but takes the
        # pragmas through the preprocessor, linked against libomp (brew install libomp).
        candidates += [
            (["-Xpreprocessor", "-fopenmp", "-I" + os.path.join(p, "include")],
             ["-L" + os.path.join(p, "lib"), "-lomp"])
            for p in libomp_prefixes()
        ] + [(["-Xpreprocessor", "-fopenmp"], ["-lomp"])]
    return candidates


def openmp_flags(compiler):
    """Compile and link flags for OpenMP, or None if the compiler cannot build the probe."""
    for cflags, lflags in openmp_candidates(compiler):
        if try_build(compiler, OPENMP_PROBE, cflags, lflags):
            return cflags, lflags
    return None


class BuildExt(build_ext):
    def build_extensions(self):
        compiler = self.compiler
        flags = kernel_flags(compiler)
        if "-fopenmp-simd" in flags and not try_build(compiler, "int x;\n", ["-fopenmp-simd"],
                                                      link=False):
            flags.remove("-fopenmp-simd")  # then the `omp simd` hints are only ignored
        msvc_contracts = is_msvc(compiler) and not try_build(compiler, MSVC_CONTRACTS_PROBE,
                                                             link=False)
        if msvc_contracts:
            print("WARNING: fastgelu: this MSVC (older than Visual Studio 2022) fuses a*b + c "
                  "under /arch:AVX2; building the baseline kernels only", file=sys.stderr)
        archs = target_archs(compiler, self.plat_name)
        builds = isa_builds(compiler, archs, msvc_contracts)
        print(f"fastgelu: target {'+'.join(archs)}; kernel builds "
              f"{', '.join(name for name, _ in builds)}", file=sys.stderr)

        omp = openmp_flags(compiler)
        if omp is None:
            msg = ("fastgelu: the compiler has no OpenMP; building a serial (single-thread) "
                   "extension")
            if sys.platform == "darwin":
                msg += " (Apple clang: brew install libomp, or set LIBOMP_PREFIX, for threads)"
            if os.environ.get("FASTGELU_REQUIRE_OPENMP", "") not in ("", "0"):
                raise RuntimeError(msg + " (FASTGELU_REQUIRE_OPENMP is set)")
            print("WARNING: " + msg, file=sys.stderr)
        else:
            print(f"fastgelu: OpenMP with {' '.join(omp[0] + omp[1])}", file=sys.stderr)
        # The ISA builds of fg_array.c take most of the build time (serially, most of a
        # minute, and pip shows no output): they compile in parallel, also with the
        # Cython module, and the link waits for them (link_after).
        with ThreadPoolExecutor(max_workers=self.jobs()) as pool:
            pending = []
            for ext in self.extensions:
                ext.extra_compile_args = list(ext.extra_compile_args) + flags
                if omp is not None:
                    ext.extra_compile_args += omp[0]
                    ext.extra_link_args = list(ext.extra_link_args) + omp[1]
                pending += self.add_isa_objects(ext, flags, builds, pool)
            link = self.compiler.link_shared_object

            def link_after(*args, **kwargs):
                for job in pending:
                    job.result()  # raises the ISA build's CompileError, if any
                return link(*args, **kwargs)

            self.compiler.link_shared_object = link_after
            try:
                super().build_extensions()
            except BaseException:
                for job in pending:
                    job.cancel()
                raise
            finally:
                self.compiler.link_shared_object = link
            for job in pending:  # also when build_ext found the module up to date
                job.result()

    def jobs(self):
        """Parallel compilations: build_ext -j N, else one per CPU."""
        if isinstance(self.parallel, int) and not isinstance(self.parallel, bool):
            return max(1, self.parallel)
        return os.cpu_count() or 1

    def add_isa_objects(self, ext, flags, builds, pool):
        """Compile fg_array.c once per ISA, each into its own folder, in `pool`, and link
        them in; returns the pending compilations."""
        source = os.path.join(KERNELS, "fg_array.c")
        depends = KERNEL_HEADERS

        def compile_isa(name, isa_flags, output_dir):
            start = time.monotonic()
            objects = self.compiler.compile([source], output_dir=output_dir,
                                            macros=[("FG_ISA", name)], include_dirs=[KERNELS],
                                            extra_postargs=flags + isa_flags, depends=depends)
            print(f"fastgelu: {name} kernels compiled ({time.monotonic() - start:.0f} s)",
                  file=sys.stderr, flush=True)
            return objects

        pending = []
        for name, isa_flags in builds:
            output_dir = os.path.join(self.build_temp, "isa_" + name)
            print(f"fastgelu: compiling the {name} kernels (fg_array.c "
                  f"{' '.join(isa_flags) or 'without ISA flags'})", file=sys.stderr, flush=True)
            pending.append(pool.submit(compile_isa, name, isa_flags, output_dir))
            # the object's name is known now; the link waits for the object
            ext.extra_objects += self.compiler.object_filenames([source], output_dir=output_dir)
            if name != "baseline":
                ext.define_macros.append(("FG_HAVE_" + name.upper(), "1"))
        return pending


extensions = [
    Extension(
        "fastgelu._ufuncs",
        sources=["src/fastgelu/_ufuncs.pyx", os.path.join(KERNELS, "fg_dispatch.c")],
        include_dirs=[np.get_include(), "src/fastgelu"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        # The per-ISA objects are linked in as extra_objects, which build_ext does not
        # track: list their sources here so that editing a kernel relinks the module.
        depends=[*KERNEL_HEADERS, os.path.join(KERNELS, "fg_array.c")],
    )
]

setup(
    ext_modules=cythonize(extensions, compiler_directives={"language_level": 3}),
    cmdclass={"build_ext": BuildExt},
)
