# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, embedsignature=False
"""Loops and bindings: NumPy ufunc inner loops over fastgelu's C kernels.

The layers, one job each:

- ``kernels/fg_math.h``: scalar math for one point, branch-free so it vectorizes.
- ``kernels/fg_array.c``: contiguous array loops over those kernels, compiled once per
  instruction set; ``kernels/fg_dispatch.c`` picks the build for this CPU at import.
- this module: the ufunc inner loops. A long contiguous run is split over OpenMP
  threads (``prange``); a strided run goes through a small stack buffer so that it, too,
  runs the vectorized array kernel. Everything below the ufunc machinery runs without
  the GIL and never touches Python objects. The ufunc objects are created here.
- ``__init__.py``: the thin public API.

NumPy's ufunc machinery does the rest: casting, broadcasting, ``out=``/``where=``,
byte-swapping and copies for overlapping operands (a loop sees either no overlap or
``out`` identical to the input, which the kernels allow).
"""
cimport numpy as cnp
from cython.parallel cimport prange
from libc.string cimport memcpy

from ._kernels cimport (
    FG_GELU, FG_GELU_GRAD, FG_GELU_TANH, FG_GELU_TANH_GRAD, FG_N_UNARY,
    FG_OPENMP, fg_active, fg_compiled_isas, fg_compiler, fg_cpu_supports, fg_forked_child,
    fg_install_fork_guard, fg_select_isa, omp_get_max_threads, omp_set_num_threads,
)

import numpy as np

from ._docs import UFUNC_DOCS

cnp.import_array()
cnp.import_ufunc()

ctypedef cnp.npy_intp intp


cdef extern from "<fenv.h>" nogil:
    int FE_DIVBYZERO, FE_OVERFLOW, FE_UNDERFLOW, FE_INVALID
    int fetestexcept(int)
    int feclearexcept(int)
    int feraiseexcept(int)

# The flags NumPy turns into warnings/errors (np.errstate).
cdef int FP_REPORTED = FE_DIVBYZERO | FE_OVERFLOW | FE_UNDERFLOW | FE_INVALID


ctypedef fused real:
    float
    double


# ---------------------------------------------------------------------------------------
# Threading policy
# ---------------------------------------------------------------------------------------
# A contiguous run shorter than this many elements runs on the calling thread: waking the
# OpenMP team costs ~1.7 us a call (back to back; far more after the team has slept),
# more than the kernel takes on a shorter run. benchmarks/threshold.py measured where 2
# threads start to win by 10% (AVX-512, 2 cores): 2^12..2^13 float32 elements, <= 2^10
# float64 ones (the float64 kernels are ~4x slower); float64 keeps a 2x margin.
cdef intp parallel_min_float = 1 << 13
cdef intp parallel_min_double = 1 << 11

# Threads split a run into chunks of whole cache lines (16 floats / 8 doubles; 64 keeps
# every chunk start 256-byte aligned relative to the array start for either dtype).
cdef enum:
    CHUNK_ALIGN = 64
    # Elements staged per step of the strided path (two stack buffers of 8 KiB at most).
    STRIDED_BLOCK = 1024


# fastgelu.set_num_threads(): 0 = not set. OpenMP keeps its max-threads setting per
# thread, so this process-wide cap is what makes the setting hold in every thread.
cdef int requested_threads = 0


cdef inline int threads_for(intp n, intp parallel_min) noexcept nogil:
    """Threads to use for a contiguous run of n elements (1 below the threshold).

    OpenMP's max-threads setting of the calling thread is the base, so OMP_NUM_THREADS
    and threadpoolctl's limits hold; fastgelu.set_num_threads() caps it everywhere.
    """
    if n < parallel_min or fg_forked_child:
        return 1
    cdef int t = omp_get_max_threads()
    if 0 < requested_threads < t:
        t = requested_threads
    return t if t > 1 else 1


# ---------------------------------------------------------------------------------------
# Inner loops
# ---------------------------------------------------------------------------------------
cdef inline void call_kernel(const real *x, real *y, intp n, int which) noexcept nogil:
    """The active ISA's vectorized array kernel for one contiguous run."""
    if real is float:
        fg_active.unary[which].f(x, y, n)
    else:
        fg_active.unary[which].d(x, y, n)


cdef void run_contiguous(const real *x, real *y, intp n, int which) noexcept nogil:
    cdef int nthreads = threads_for(
        n, parallel_min_float if real is float else parallel_min_double)
    # NumPy skips its copy for overlap that a forward element-by-element loop handles
    # (out starting at or before the input, e.g. gelu(a[1:], out=a[:-1])); split over
    # threads, a later chunk could overwrite input an earlier chunk has yet to read.
    # Such calls run serially; in place (y == x) and disjoint arrays are fine.
    if nthreads > 1 and y != x and y + n > x and x + n > y:
        nthreads = 1
    if nthreads == 1:
        call_kernel(x, y, n, which)
        return
    # One chunk per thread, each a whole number of cache lines: every element's result
    # is the same whatever the split, so results are bitwise identical for any thread
    # count.
    cdef intp chunk = (n + nthreads - 1) // nthreads
    chunk = (chunk + CHUNK_ALIGN - 1) // CHUNK_ALIGN * CHUNK_ALIGN
    cdef intp nchunks = (n + chunk - 1) // chunk
    cdef intp c, start
    # Floating-point status flags are per thread, and NumPy reads only the calling
    # thread's after the loop: gather every chunk's flags and raise them here, so that
    # np.errstate sees the same thing whatever the thread count. Flags already set by
    # earlier loop calls of this ufunc call are kept (NumPy checks once at the end).
    cdef int flags = fetestexcept(FP_REPORTED)
    for c in prange(nchunks, num_threads=nthreads, schedule='static'):
        start = c * chunk
        feclearexcept(FP_REPORTED)
        call_kernel(x + start, y + start, min(chunk, n - start), which)
        flags |= fetestexcept(FP_REPORTED)
    if flags:
        feraiseexcept(flags)


cdef void run_strided(char *xp, intp sx, char *yp, intp sy, intp n,
                      int which, real *xbuf, real *ybuf) noexcept nogil:
    """Gather a block into xbuf, run the array kernel, scatter from ybuf; repeat."""
    cdef intp i, m
    cdef const real *src
    cdef real *dst
    while n > 0:
        m = min(n, <intp>STRIDED_BLOCK)
        if sx == sizeof(real):
            src = <const real *>xp
        else:
            for i in range(m):
                memcpy(&xbuf[i], xp + i * sx, sizeof(real))
            src = xbuf
        dst = <real *>yp if sy == sizeof(real) else ybuf
        call_kernel(src, dst, m, which)
        if dst == ybuf:
            for i in range(m):
                memcpy(yp + i * sy, &ybuf[i], sizeof(real))
        xp += m * sx
        yp += m * sy
        n -= m


cdef inline void unary_loop(char **args, intp n, intp *steps, int which,
                            real *xbuf, real *ybuf) noexcept nogil:
    if steps[0] == sizeof(real) and steps[1] == sizeof(real):
        run_contiguous(<const real *>args[0], <real *>args[1], n, which)
    else:
        # memcpy element access: NumPy may hand us unaligned data (e.g. from a
        # packed structured array).
        run_strided(args[0], steps[0], args[1], steps[1], n, which, xbuf, ybuf)


# The ufunc loop signature is fixed by NumPy, so the two dtype loops are thin wrappers
# that give the fused implementation its element type; `data` carries the kernel id.
cdef void unary_loop_float(char **args, intp *dims, intp *steps, void *data) noexcept nogil:
    cdef float xbuf[STRIDED_BLOCK]
    cdef float ybuf[STRIDED_BLOCK]
    unary_loop(args, dims[0], steps, <int><Py_ssize_t>data, xbuf, ybuf)


cdef void unary_loop_double(char **args, intp *dims, intp *steps, void *data) noexcept nogil:
    cdef double xbuf[STRIDED_BLOCK]
    cdef double ybuf[STRIDED_BLOCK]
    unary_loop(args, dims[0], steps, <int><Py_ssize_t>data, xbuf, ybuf)


# ---------------------------------------------------------------------------------------
# Ufunc registration
# ---------------------------------------------------------------------------------------
# NumPy keeps pointers to these arrays for the life of the ufuncs: module-level storage.
cdef cnp.PyUFuncGenericFunction unary_loops[2]
unary_loops[0] = <cnp.PyUFuncGenericFunction>unary_loop_float
unary_loops[1] = <cnp.PyUFuncGenericFunction>unary_loop_double
# Loop order matters: NumPy takes the first loop the inputs cast to safely, so float16
# and small integers run in float32 and int32/int64 in float64, as with np.exp.
cdef char unary_types[4]
unary_types[:] = [cnp.NPY_FLOAT, cnp.NPY_FLOAT, cnp.NPY_DOUBLE, cnp.NPY_DOUBLE]
cdef void *unary_data[FG_N_UNARY][2]
_ufunc_strings = []   # NumPy keeps the name and doc pointers: keep their bytes alive


cdef object make_unary_ufunc(int which, str name):
    unary_data[which][0] = <void *><Py_ssize_t>which
    unary_data[which][1] = <void *><Py_ssize_t>which
    name_bytes = name.encode()
    doc = UFUNC_DOCS[name].encode()
    _ufunc_strings.extend([name_bytes, doc])
    return cnp.PyUFunc_FromFuncAndData(
        unary_loops, unary_data[which], unary_types, 2, 1, 1,
        cnp.PyUFunc_None, name_bytes, doc, 0)


gelu = make_unary_ufunc(FG_GELU, "gelu")
gelu_grad = make_unary_ufunc(FG_GELU_GRAD, "gelu_grad")
gelu_tanh = make_unary_ufunc(FG_GELU_TANH, "gelu_tanh")
gelu_tanh_grad = make_unary_ufunc(FG_GELU_TANH_GRAD, "gelu_tanh_grad")


# ---------------------------------------------------------------------------------------
# Runtime configuration (wrapped by the public API in __init__.py / _config.py)
# ---------------------------------------------------------------------------------------
if fg_install_fork_guard() != 0:
    raise ImportError("fastgelu: could not install its fork handler (pthread_atfork)")


def get_num_threads():
    """Threads a large call from this thread uses (1 in a build without OpenMP or in a
    process forked from one that had imported fastgelu)."""
    if fg_forked_child:
        return 1
    cdef int t = omp_get_max_threads()
    return requested_threads if 0 < requested_threads < t else t


def set_num_threads(int n):
    """Cap fastgelu's threads in every thread; in the calling thread also set OpenMP's
    max-threads to n (so n may exceed OMP_NUM_THREADS there, as with omp_set_num_threads)."""
    global requested_threads
    if n < 1:
        raise ValueError(f"number of threads must be >= 1, got {n}")
    requested_threads = n
    omp_set_num_threads(n)


def openmp_enabled():
    """True if the extension was compiled with OpenMP."""
    return bool(FG_OPENMP)


def compiler():
    """The compiler that built the kernels."""
    return fg_compiler().decode()


def compiled_isas():
    """Names of the ISA builds compiled in, best first."""
    cdef int count = 0
    cdef const char *const *names = fg_compiled_isas(&count)
    return [names[i].decode() for i in range(count)]


def cpu_supports(str name):
    """Whether this CPU can run the named ISA build."""
    return bool(fg_cpu_supports(name.encode()))


def active_isa():
    """The ISA build the ufuncs run now."""
    return fg_active.name.decode()


def select_isa(str name):
    """Run the ufuncs on the named ISA build ("auto" for the best this CPU supports)."""
    cdef int status = fg_select_isa(name.encode())
    if status == -1:
        raise ValueError(
            f"unknown ISA {name!r}; choose 'auto' or one of {compiled_isas()}")
    if status == -2:
        raise RuntimeError(f"ISA {name!r} is not supported by this CPU or this build")


cdef str threshold_dtype(dtype):
    name = np.dtype(dtype).name
    if name not in ("float32", "float64"):
        raise ValueError(f"the parallel threshold is per float32/float64 loop, not {name}")
    return name


def get_parallel_threshold(dtype):
    """Shortest contiguous run (elements) that is split over threads, for a dtype."""
    return parallel_min_float if threshold_dtype(dtype) == "float32" else parallel_min_double


def set_parallel_threshold(dtype, intp n):
    """Change the threading threshold (for tests and the threshold benchmark)."""
    global parallel_min_float, parallel_min_double
    if n < 1:
        raise ValueError("threshold must be >= 1")
    if threshold_dtype(dtype) == "float32":
        parallel_min_float = n
    else:
        parallel_min_double = n
