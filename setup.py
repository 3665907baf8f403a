"""Build fastgelu's extension: Cython loops + C kernels compiled once per instruction set.

- ``src/fastgelu/_ufuncs.pyx`` (the ufunc loops) is compiled with OpenMP when the
  compiler supports it, found by compiling a tiny OpenMP program. Without it the build
  is serial, with a warning; FASTGELU_REQUIRE_OPENMP=1 turns that into an error (CI).
- ``src/fastgelu/kernels/fg_array.c`` is compiled once for each ISA of the target
  architecture (x86-64: baseline SSE2, AVX2+FMA, AVX-512), with that ISA's flags only;
  ``fg_dispatch.c`` picks one at run time. Nothing uses -march=native: one build runs on
  every CPU of the architecture.
"""
import os
import platform
import shutil
import sys
import tempfile
import textwrap

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

KERNELS = os.path.join("src", "fastgelu", "kernels")


def is_msvc(compiler):
    return compiler.compiler_type == "msvc"


def kernel_flags(compiler):
    """Flags for the math kernels: fast, but exact IEEE semantics.

    No -ffast-math (NaN/inf and the double-double error terms must survive) and no
    FMA contraction (the kernels place their FMAs explicitly; contraction would make
    results depend on the compiler's whims).
    """
    if is_msvc(compiler):
        return ["/O2", "/fp:precise"]
    return ["-O3", "-ffp-contract=off", "-fno-math-errno", "-fopenmp-simd"]


def isa_builds(compiler):
    """(name, extra flags) of each ISA build of fg_array.c for the target architecture."""
    machine = platform.machine().lower()
    if machine not in ("x86_64", "amd64", "x64"):
        return [("baseline", [])]  # aarch64 baseline already has NEON and FMA
    if is_msvc(compiler):
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


def openmp_flags(compiler):
    """Compile and link flags for OpenMP, or None if the compiler cannot build the probe."""
    if is_msvc(compiler):
        return ["/openmp"], []
    if sys.platform == "darwin":
        # Apple clang: needs libomp (brew install libomp) and the preprocessor flag form.
        candidates = [(["-Xpreprocessor", "-fopenmp"], ["-lomp"]), (["-fopenmp"], ["-fopenmp"])]
    else:
        candidates = [(["-fopenmp"], ["-fopenmp"])]
    tmp = tempfile.mkdtemp(prefix="fastgelu-omp-")
    try:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as fh:
            fh.write(OPENMP_PROBE)
        for cflags, lflags in candidates:
            try:
                objs = compiler.compile([src], output_dir=tmp, extra_postargs=cflags)
                compiler.link_executable(objs, "probe", output_dir=tmp, extra_postargs=lflags)
                return cflags, lflags
            except Exception:  # CompileError / LinkError: try the next form
                continue
        return None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class BuildExt(build_ext):
    def build_extensions(self):
        compiler = self.compiler
        omp = openmp_flags(compiler)
        if omp is None:
            msg = "fastgelu: the compiler has no OpenMP; building a serial (single-thread) extension"
            if os.environ.get("FASTGELU_REQUIRE_OPENMP", "") not in ("", "0"):
                raise RuntimeError(msg + " (FASTGELU_REQUIRE_OPENMP is set)")
            print("WARNING: " + msg, file=sys.stderr)
        for ext in self.extensions:
            ext.extra_compile_args = list(ext.extra_compile_args) + kernel_flags(compiler)
            if omp is not None:
                ext.extra_compile_args += omp[0]
                ext.extra_link_args = list(ext.extra_link_args) + omp[1]
            self.add_isa_objects(ext)
        super().build_extensions()

    def add_isa_objects(self, ext):
        """Compile fg_array.c once per ISA, each into its own folder, and link them in."""
        source = os.path.join(KERNELS, "fg_array.c")
        for name, flags in isa_builds(self.compiler):
            objects = self.compiler.compile(
                [source],
                output_dir=os.path.join(self.build_temp, "isa_" + name),
                macros=[("FG_ISA", name)],
                include_dirs=[KERNELS],
                extra_postargs=kernel_flags(self.compiler) + flags,
                depends=[os.path.join(KERNELS, h) for h in ("fg_math.h", "fg_coeffs.h", "fg_dispatch.h")],
            )
            ext.extra_objects.extend(objects)
            if name != "baseline":
                ext.define_macros.append(("FG_HAVE_" + name.upper(), "1"))


extensions = [
    Extension(
        "fastgelu._ufuncs",
        sources=["src/fastgelu/_ufuncs.pyx", os.path.join(KERNELS, "fg_dispatch.c")],
        include_dirs=[np.get_include(), "src/fastgelu"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        # The per-ISA objects are linked in as extra_objects, which build_ext does not
        # track: list their sources here so that editing a kernel relinks the module.
        depends=[
            os.path.join(KERNELS, f)
            for f in ("fg_dispatch.h", "fg_openmp.h", "fg_math.h", "fg_coeffs.h", "fg_array.c")
        ],
    )
]

setup(
    ext_modules=cythonize(extensions, compiler_directives={"language_level": 3}),
    cmdclass={"build_ext": BuildExt},
)
