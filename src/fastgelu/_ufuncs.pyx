# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, embedsignature=False
"""Loops and bindings: NumPy ufunc inner loops over fastgelu's C kernels.

The layers, one job each:

- ``kernels/fg_kernels.h``: the list of kernels (name and shape) and of accuracy tiers,
  from which the C tables, the ufuncs made here and ``KERNELS`` derive.
- ``kernels/fg_math.h`` (the exact tier), ``fg_fast_f32.h`` and ``fg_fast_f64.h`` (the fast
  tier): scalar math for one point, branch-free so it vectorizes.
- ``kernels/fg_array.c``: contiguous array loops over those kernels, compiled once per
  instruction set; ``kernels/fg_dispatch.c`` picks the build for this CPU at import.
- this module: the ufunc inner loops, one generic path for every kernel shape (one,
  two or three inputs; one or two outputs) and element type (float16, bfloat16,
  float32, float64; bfloat16 is ml_dtypes' dtype, registered only where that package
  imports). A long contiguous run (broadcast scalar inputs allowed) is split over OpenMP
  threads (``prange``); a strided run goes through small stack blocks so that it, too,
  runs the vectorized array kernel. Everything below the ufunc machinery runs without
  the GIL and never touches Python objects. The ufunc objects are created here.
- ``__init__.py``: the thin public API.

NumPy's ufunc machinery does the rest: casting, broadcasting, ``out=``/``where=``,
byte-swapping and copies for overlapping operands. A call sees no overlap, ``out``
identical to an input (which the kernels allow), ``out`` behind an input (safe for a
forward loop), or, from ``reduce``/``accumulate``/``reduceat``, an output that a later
element reads as its input: those runs go one element at a time, in order.
"""
cimport numpy as cnp
from cpython.pyport cimport PY_SSIZE_T_MAX
from cython.parallel cimport prange, threadid
from libc.limits cimport INT_MAX
from libc.math cimport INFINITY
from libc.string cimport memcpy

from ._kernels cimport (
    FG_DT_B, FG_DT_D, FG_DT_F, FG_DT_H, FG_N_KERNELS, FG_N_TIERS, FG_OPENMP, fg_active,
    fg_bf16, fg_tier_names,
    fg_compiled_isas, fg_compiler, fg_cpu_supports, fg_forked_child, fg_half,
    fg_atomic, fg_atomic_add, fg_atomic_get, fg_atomic_set, fg_install_fork_guard,
    fg_kernel_info, fg_kernels, fg_loop, fg_select_isa, omp_get_max_threads,
    omp_get_wtime, omp_set_num_threads,
)

import importlib
import operator
from collections import namedtuple

import numpy as np

from ._docs import tier_doc

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


# The element types of the loops: float16 and bfloat16 (their bits; the kernels compute
# them in float32), float32, float64.
ctypedef fused real:
    fg_half
    fg_bf16
    float
    double


# ---------------------------------------------------------------------------------------
# Threading policy
# ---------------------------------------------------------------------------------------
# A contiguous run shorter than this many elements runs on the calling thread: waking the
# OpenMP team costs ~1.7 us a call (back to back; far more after the team has slept),
# more than the kernel takes on a shorter run. benchmarks/threshold.py measured where 2
# threads start to win by 10% (AVX-512, 2 cores): 2^12..2^13 float32 elements, <= 2^10
# float64 ones (the float64 kernels are ~4x slower); float64 keeps a 2x margin. float16
# and bfloat16 use the float32 figure (they run the float32 kernels plus conversions),
# and the two- and three-input kernels the same figures (they cost at least as much per
# element).
cdef intp parallel_min_float = 1 << 13
cdef intp parallel_min_double = 1 << 11

# Threads split a run into chunks of whole cache lines (16 floats / 8 doubles; 64 keeps
# every chunk start 256-byte aligned relative to the array start for either dtype),
# CHUNKS_PER_THREAD of them per thread but none shorter than half the parallel
# threshold unless that leaves a thread without one (each chunk costs ~0.1 us: a
# shared counter, two clock reads, the flags).
cdef enum:
    CHUNK_ALIGN = 64
    CHUNKS_PER_THREAD = 4
    MIN_CHUNK_DIVISOR = 2
    # Stack bytes of the strided path's staging blocks, shared by the operands (1024
    # float32 elements per block for a one-input kernel, 204 float64 ones for the
    # three-input, two-output kernels): small enough for a thread with the smallest stack
    # Python allows (threading.stack_size(32 KiB)), where NumPy's own ufuncs run too.
    # Declared as doubles: aligned for every element type.
    STAGE_DOUBLES = 1024


# fastgelu.set_num_threads(): 0 = not set. OpenMP keeps its max-threads setting per
# thread, so this process-wide cap is what makes the setting hold in every thread.
cdef int requested_threads = 0


cdef inline int max_threads() noexcept nogil:
    """Threads a large call from the calling thread uses.

    OpenMP's max-threads setting of the calling thread is the base, so OMP_NUM_THREADS
    and threadpoolctl's limits hold; fastgelu.set_num_threads() caps it everywhere. 1 in
    a process forked from one that had imported fastgelu (fg_openmp.h).
    """
    if fg_forked_child:
        return 1
    cdef int t = omp_get_max_threads()
    if 0 < requested_threads < t:
        t = requested_threads
    return t if t > 1 else 1


cdef inline int threads_for(intp n, intp parallel_min) noexcept nogil:
    """Threads to use for a contiguous run of n elements (1 below the threshold)."""
    return 1 if n < parallel_min else max_threads()


# A parallel region ends in a barrier: the caller waits for every thread of its team. On
# a busy machine (other processes on every core) a worker may not run for a scheduler
# time slice, milliseconds, and a call that takes 0.3 ms serially took 12 ms threaded.
# So the policy, for a long run (below: a "long call"):
# - caller-runs split: the threads take small chunks from a shared counter (dynamic
#   schedule), so the calling thread does all the work a late worker does not take, and
#   waits at the barrier only for the one chunk a descheduled worker holds;
# - adaptive: every parallel call compares its time with a serial estimate, n elements
#   at the pace of the fastest chunk any thread ran (a thread descheduled during the
#   call, caller or worker, makes the call lose). A call slower than LOSS_MARGIN times
#   the estimate lost (near the threshold two threads win by ~10% only): it makes
#   long calls run serially for a while, BACKOFF_MIN_US at first, 4x longer (up to
#   BACKOFF_MAX_US) each time the parallel call that probes again loses too, half as
#   long after each call that wins -- and never shorter than LOSS_COST_FACTOR times
#   the time the loss cost (elapsed - estimate), so that losses cost at most
#   1/LOSS_COST_FACTOR of the run time however often probes win in between -- unless the
#   loss cost less than LOSS_NOISE_US: then it is only counted (no serial period, the
#   back-off unchanged). Such losses are an idle machine's hiccups (a worker woken ~20-30 us late:
#   1-2% of the calls at n = 1e4, measured); with the 20x rule each one ran the next
#   ~0.5 ms of long calls serially, 12% of an idle 1e5 loop, and in a loop mixing 1e4
#   and 1e5 calls the 1e5 calls ran 12-50% slower than always-parallel. A loss to a
#   descheduled worker costs a scheduler time slice, milliseconds. A losing
#   probe under load costs about one wait for a worker (measured ~10-20 ms on 2 busy
#   cores: then >= 0.2-0.4 s serially; with the 4x/half rule alone, wins in between
#   kept the periods short and the losses cost 10-24% of a loaded loop); an idle
#   machine loses now and then, by microseconds (a 2^14-element call, 17 us, lost
#   0.75% of the time): its serial periods must stay short (with 1 ms, 20% of those
#   calls ran serially);
# - one long call at a time: a long call made while another is running in the process
#   (Python threads of a thread pool, each calling fastgelu) runs serially: the cores
#   are busy with the other calls already; and so do long calls for CONTENDED_US after
#   that, since in a pool the moments when a call finds itself alone are gaps between
#   the others' calls (measured, 8 workers: 48 of the 55 parallel calls made in such
#   gaps lost, ~1-2% of the pool's throughput).
# Each element's result is independent of the split, so none of this changes a bit.
cdef enum:
    BACKOFF_MIN_US = 100
    LOSS_NOISE_US = 100
    BACKOFF_MAX_US = 1000000
    BACKOFF_GROWTH = 4
    CONTENDED_US = 10000
    TIMED_THREADS = 64       # threads whose pace is measured (the first 64 of a team)
    # counters of _thread_stats()
    STAT_PARALLEL = 0        # long calls run in parallel
    STAT_LOST = 1            # ... of which took longer than the serial estimate
    STAT_SERIAL_BUSY = 2     # long calls run serially: another long call was running
    STAT_SERIAL_BACKOFF = 3  # long calls run serially: a parallel call lost recently
    N_STATS = 4

cdef double LOSS_MARGIN = 1.25
cdef double LOSS_COST_FACTOR = 20
cdef fg_atomic long_calls = 0                 # long calls running now (any thread)
cdef fg_atomic serial_until_us = 0            # long calls run serially until then
cdef fg_atomic backoff_us = BACKOFF_MIN_US    # the next serial period after a loss
cdef fg_atomic policy_stats[N_STATS]
policy_stats[:] = [0, 0, 0, 0]
# Tests and benchmarks (_adaptive_threads): False runs every long call in parallel
# (caller-runs still), so that tests of the threaded path run it whatever the load.
cdef bint adaptive_threads = True
# Tests only (_set_worker_delay): seconds each worker thread (not the caller) waits
# before each chunk it runs, as a descheduled worker would.
cdef double worker_delay = 0


cdef inline long long now_us() noexcept nogil:
    return <long long>(omp_get_wtime() * 1e6)


cdef void judge_parallel_call(double elapsed, double serial_estimate) noexcept nogil:
    """Adapt the serial periods to a parallel call that took `elapsed` seconds."""
    cdef long long b = fg_atomic_get(&backoff_us)
    cdef double loss_us = (elapsed - serial_estimate) * 1e6
    cdef double cost_us = LOSS_COST_FACTOR * loss_us
    if elapsed > LOSS_MARGIN * serial_estimate:
        fg_atomic_add(&policy_stats[<int>STAT_LOST], 1)
        if loss_us < LOSS_NOISE_US:
            return
        fg_atomic_set(&serial_until_us,
                      now_us() + max(b, <long long>min(cost_us, <double>BACKOFF_MAX_US)))
        fg_atomic_set(&backoff_us, min(BACKOFF_GROWTH * b, <long long>BACKOFF_MAX_US))
    elif b > BACKOFF_MIN_US:
        fg_atomic_set(&backoff_us, max(b // 2, <long long>BACKOFF_MIN_US))


# ---------------------------------------------------------------------------------------
# Inner loops
# ---------------------------------------------------------------------------------------
# What a ufunc loop call runs: one kernel's array loop for the loop's element type in the
# active ISA build, looked up once per call, and the kernel's operands (inputs, then
# outputs). The ufunc's `data` pointer is its UfuncRow: a row of the C table (fg_kernels)
# in one tier.
cdef enum:
    MAX_OPERANDS = 5

cdef struct UfuncRow:
    const fg_kernel_info *info
    int tier       # the tier's id (FG_TIER_exact, FG_TIER_fast), its index in fg_tier_names

cdef struct Kernel:
    fg_loop run    # the array loop: run(operands, n)
    int nin        # inputs
    int nargs      # inputs + outputs


cdef inline Kernel kernel_for(void *data, int dtype) noexcept nogil:
    cdef const UfuncRow *row = <const UfuncRow *>data
    cdef const fg_kernel_info *info = row.info
    cdef Kernel k
    k.run = fg_active.loops[row.tier][info.id][dtype]
    k.nin = info.nin
    k.nargs = info.nin + info.nout
    return k


cdef inline void call_kernel(Kernel k, real **p, intp n) noexcept nogil:
    """The vectorized array loop on n contiguous elements of each operand."""
    k.run(<char **>p, n)


cdef void run_range(Kernel k, real **ops, const intp *steps, intp n) noexcept nogil:
    """n elements of operands with any steps (in bytes), on the calling thread.

    Operands whose step is the element size go to the kernel as they are. The others go
    through one stack block per operand (8 KiB shared), a block of elements at a
    time: a zero-stride input (a broadcast scalar, such as grad_out = 1) is filled once;
    other inputs are gathered and outputs scattered block by block. Element access by
    memcpy: NumPy may hand us unaligned data (e.g. from a packed structured array).
    """
    cdef double stage[STAGE_DOUBLES]
    cdef intp block = (STAGE_DOUBLES * sizeof(double)) // (k.nargs * sizeof(real))
    cdef real *blocks[MAX_OPERANDS]
    cdef real *p[MAX_OPERANDS]
    cdef char *at[MAX_OPERANDS]
    cdef intp i, m
    cdef int o
    cdef bint staged = False, first = True
    for o in range(k.nargs):
        at[o] = <char *>ops[o]
        blocks[o] = <real *>stage + o * block
        staged = staged or steps[o] != sizeof(real)
    if not staged:
        call_kernel(k, ops, n)
        return
    while n > 0:
        m = min(n, block)
        for o in range(k.nargs):
            if steps[o] == sizeof(real):
                p[o] = <real *>at[o]
                continue
            p[o] = blocks[o]
            if o < k.nin and (steps[o] != 0 or first):
                for i in range(m):
                    memcpy(&blocks[o][i], at[o] + i * steps[o], sizeof(real))
        call_kernel(k, p, m)
        for o in range(k.nin, k.nargs):
            if steps[o] != sizeof(real):
                for i in range(m):
                    memcpy(at[o] + i * steps[o], &blocks[o][i], sizeof(real))
        for o in range(k.nargs):
            at[o] += m * steps[o]
        n -= m
        first = False


cdef void run_chunk(Kernel k, real **ops, const intp *steps, intp start,
                    intp n) noexcept nogil:
    """run_range on elements [start, start + n) (one thread's share)."""
    cdef real *shifted[MAX_OPERANDS]
    cdef int o
    for o in range(k.nargs):
        shifted[o] = <real *>(<char *>ops[o] + start * steps[o])
    run_range(k, shifted, steps, n)


cdef bint outputs_overlap(Kernel k, real **ops, const intp *steps, intp n) noexcept nogil:
    """Whether an output partially overlaps another operand (contiguous or zero-stride).

    NumPy skips its copy for overlap that a forward element-by-element loop handles (out
    starting at or before the input, e.g. gelu(a[1:], out=a[:-1])); split over threads, a
    later chunk could overwrite input an earlier chunk has yet to read. Such calls run
    serially. An output identical to an operand (in place) is fine.
    """
    cdef int o, j
    cdef char *lo_o
    cdef char *hi_o
    cdef char *lo_j
    cdef char *hi_j
    for o in range(k.nin, k.nargs):
        lo_o = <char *>ops[o]
        hi_o = lo_o + n * sizeof(real)
        for j in range(k.nargs):
            if j == o or (ops[j] == ops[o] and steps[j] == steps[o]):
                continue
            lo_j = <char *>ops[j]
            hi_j = lo_j + (n * sizeof(real) if steps[j] != 0 else sizeof(real))
            if lo_j < hi_o and lo_o < hi_j:
                return True
    return False


cdef inline bint extents_meet(char *a, intp step_a, char *b, intp step_b, intp n,
                              size_t size) noexcept nogil:
    """Whether the bytes of n elements from a and from b (any steps) overlap."""
    cdef char *lo_a = a + min(<intp>0, (n - 1) * step_a)
    cdef char *hi_a = a + max(<intp>0, (n - 1) * step_a) + size
    cdef char *lo_b = b + min(<intp>0, (n - 1) * step_b)
    cdef char *hi_b = b + max(<intp>0, (n - 1) * step_b) + size
    return lo_a < hi_b and lo_b < hi_a


cdef bint needs_in_order(Kernel k, real **ops, const intp *steps, intp n) noexcept nogil:
    """Whether an element of this run reads an input that an earlier element writes.

    NumPy's reduce (and reduceat, per segment) passes the accumulator as input 0 and as
    the output, both with step 0; accumulate passes the output one element ahead of input
    0 (out[i] = f(out[i-1], a[i])). Blocked loops read inputs before writing outputs and
    would miss those values. Left to them: disjoint operands, an output identical to an
    input (in place), and an output behind an input with the same step (each input
    element is read before its place is written; NumPy skips its copy there).
    """
    cdef int o, j
    cdef intp d, s
    for o in range(k.nin, k.nargs):
        s = steps[o]
        for j in range(k.nin):
            d = <char *>ops[o] - <char *>ops[j]
            # out[i] is in[i + d / s]: safe if d / s <= 0
            if s == steps[j] and s != 0 and d % s == 0 and (d == 0 or (d < 0) != (s < 0)):
                continue
            if extents_meet(<char *>ops[o], s, <char *>ops[j], steps[j], n, sizeof(real)):
                return True
    return False


cdef void run_in_order(Kernel k, real **ops, const intp *steps, intp n) noexcept nogil:
    """n elements one at a time, in order, on the calling thread: each element's inputs
    are read after the previous elements' outputs are written, as NumPy's own loops do
    for reduce and accumulate. The kernel runs on a copy of the element (n = 1), so each
    step gives the same bits as a call on that element alone (the Python fold)."""
    cdef real val[MAX_OPERANDS]
    cdef real *p[MAX_OPERANDS]
    cdef char *at[MAX_OPERANDS]
    cdef intp i
    cdef int o
    for o in range(k.nargs):
        at[o] = <char *>ops[o]
        p[o] = &val[o]
    for i in range(n):
        for o in range(k.nin):
            memcpy(&val[o], at[o], sizeof(real))
        call_kernel(k, p, 1)
        for o in range(k.nin, k.nargs):
            memcpy(at[o], &val[o], sizeof(real))
        for o in range(k.nargs):
            at[o] += steps[o]


cdef void run_parallel(Kernel k, real **ops, const intp *steps, intp n, int nthreads,
                       intp min_chunk) noexcept nogil:
    """A contiguous run over nthreads threads, caller-runs: chunks of whole cache lines
    taken from a shared counter; then judge_parallel_call() on its time."""
    cdef intp per_thread = (n + nthreads - 1) // nthreads
    cdef intp chunk = (per_thread + CHUNKS_PER_THREAD - 1) // CHUNKS_PER_THREAD
    chunk = max(chunk, min(min_chunk, per_thread))  # (never fewer chunks than threads)
    chunk = (chunk + CHUNK_ALIGN - 1) // CHUNK_ALIGN * CHUNK_ALIGN
    cdef intp nchunks = (n + chunk - 1) // chunk
    cdef intp c, start, m
    cdef int tid
    cdef double t, t0
    # Each thread's fastest pace (seconds per element) over its chunks, in its own slot
    # (prange makes the variables it assigns private): the serial estimate.
    cdef double fastest[TIMED_THREADS]
    for tid in range(min(nthreads, <int>TIMED_THREADS)):
        fastest[tid] = INFINITY
    # Floating-point status flags are per thread, and NumPy reads only the calling
    # thread's after the loop: gather every chunk's flags and raise them here, so that
    # np.errstate sees the same thing whatever thread ran a chunk. Flags already set by
    # earlier loop calls of this ufunc call are kept (NumPy checks once at the end).
    cdef int flags = fetestexcept(FP_REPORTED)
    t0 = omp_get_wtime()
    for c in prange(nchunks, num_threads=nthreads, schedule='dynamic', chunksize=1):
        start = c * chunk
        m = min(chunk, n - start)
        tid = threadid()
        t = omp_get_wtime()
        if worker_delay > 0 and tid != 0:
            while omp_get_wtime() < t + worker_delay:
                pass
        if fetestexcept(FP_REPORTED):  # (feclearexcept costs more than the test)
            feclearexcept(FP_REPORTED)
        run_chunk(k, ops, steps, start, m)
        flags |= fetestexcept(FP_REPORTED)
        if tid < TIMED_THREADS:
            t = (omp_get_wtime() - t) / m
            if t < fastest[tid]:
                fastest[tid] = t
    t = omp_get_wtime() - t0
    if flags:
        feraiseexcept(flags)
    for tid in range(1, min(nthreads, <int>TIMED_THREADS)):
        fastest[0] = min(fastest[0], fastest[tid])
    judge_parallel_call(t, fastest[0] * n)


cdef void run_long(Kernel k, real **ops, const intp *steps, intp n, int nthreads,
                   intp parallel_min) noexcept nogil:
    """A long contiguous run: in parallel unless the policy above says serial."""
    cdef int stat = STAT_PARALLEL
    cdef bint alone = fg_atomic_add(&long_calls, 1) == 1
    cdef long long now
    if adaptive_threads:
        now = now_us()
        if not alone:
            stat = STAT_SERIAL_BUSY
            if fg_atomic_get(&serial_until_us) < now + CONTENDED_US:
                fg_atomic_set(&serial_until_us, now + CONTENDED_US)
        elif now < fg_atomic_get(&serial_until_us):
            stat = STAT_SERIAL_BACKOFF
    fg_atomic_add(&policy_stats[stat], 1)
    if stat == STAT_PARALLEL:
        run_parallel(k, ops, steps, n, nthreads, parallel_min // MIN_CHUNK_DIVISOR)
    else:
        run_range(k, ops, steps, n)
    fg_atomic_add(&long_calls, -1)


cdef void run_loop(Kernel k, real **ops, const intp *steps, intp n) noexcept nogil:
    """One ufunc inner-loop call: split over threads when it is long and every operand
    is contiguous or a broadcast input (a chunk is then an offset into each); strided
    runs stay on the calling thread; runs whose elements depend on earlier ones
    (reduce, accumulate) go one element at a time."""
    if n > 1 and needs_in_order(k, ops, steps, n):
        run_in_order(k, ops, steps, n)
        return
    cdef bint splittable = True
    cdef int o
    for o in range(k.nargs):
        if not (steps[o] == sizeof(real) or (o < k.nin and steps[o] == 0)):
            splittable = False
    cdef intp parallel_min = parallel_min_double if real is double else parallel_min_float
    cdef int nthreads = 1
    if splittable:
        nthreads = threads_for(n, parallel_min)
    if nthreads > 1 and outputs_overlap(k, ops, steps, n):
        nthreads = 1
    if nthreads == 1:
        run_range(k, ops, steps, n)
    else:
        run_long(k, ops, steps, n, nthreads, parallel_min)


# The ufunc loop signature is fixed by NumPy, so the dtype loops are thin wrappers that
# give the fused implementation its element type; `data` names the kernel.
cdef void loop_half(char **args, intp *dims, intp *steps, void *data) noexcept nogil:
    run_loop(kernel_for(data, FG_DT_H), <fg_half **>args, steps, dims[0])


cdef void loop_bf16(char **args, intp *dims, intp *steps, void *data) noexcept nogil:
    run_loop(kernel_for(data, FG_DT_B), <fg_bf16 **>args, steps, dims[0])


cdef void loop_float(char **args, intp *dims, intp *steps, void *data) noexcept nogil:
    run_loop(kernel_for(data, FG_DT_F), <float **>args, steps, dims[0])


cdef void loop_double(char **args, intp *dims, intp *steps, void *data) noexcept nogil:
    run_loop(kernel_for(data, FG_DT_D), <double **>args, steps, dims[0])


# ---------------------------------------------------------------------------------------
# Ufunc registration
# ---------------------------------------------------------------------------------------
# One ufunc per row of the kernel table (kernels/fg_kernels.h) and tier, in their order.
# NumPy keeps pointers to these arrays for the life of the ufuncs: module-level storage.
cdef enum:
    N_LOOPS = 3      # float16, float32, float64

cdef cnp.PyUFuncGenericFunction dtype_loops[N_LOOPS]
dtype_loops[:] = [<cnp.PyUFuncGenericFunction>loop_half,
                  <cnp.PyUFuncGenericFunction>loop_float,
                  <cnp.PyUFuncGenericFunction>loop_double]
# Loop order matters: NumPy takes the first loop all inputs cast to safely. float16 runs
# the float16 loop, float32 the float32 one; integers follow np.exp: bool, int8 and uint8
# cast safely to float16 (so they return float16, as np.exp(int8) does), int16/uint16 to
# float32, larger integers to float64.
cdef char dtype_codes[N_LOOPS]
dtype_codes[:] = [cnp.NPY_FLOAT16, cnp.NPY_FLOAT, cnp.NPY_DOUBLE]
cdef char ufunc_types[FG_N_KERNELS][N_LOOPS * MAX_OPERANDS]
cdef UfuncRow ufunc_rows[FG_N_TIERS][FG_N_KERNELS]
cdef void *ufunc_data[FG_N_TIERS][FG_N_KERNELS][N_LOOPS]
_ufunc_docs = []      # NumPy keeps the doc pointers: keep their bytes alive

#: The accuracy tiers, in the order of the C table (kernels/fg_kernels.h: FG_TIERS).
TIERS = tuple(fg_tier_names[i].decode() for i in range(FG_N_TIERS))
#: The module each tier's ufuncs live in (their __module__, which pickle looks them up by).
TIER_MODULES = {"exact": "fastgelu", "fast": "fastgelu.fast"}


cdef object make_ufunc(const fg_kernel_info *k, int tier):
    """The ufunc of one row of the kernel table in one tier: every operand of loop i has
    dtype_codes[i], and every loop's `data` is the row."""
    cdef int nargs = k.nin + k.nout
    cdef UfuncRow *row = &ufunc_rows[tier][k.id]
    cdef void **data = ufunc_data[tier][k.id]
    cdef char *types = ufunc_types[k.id]
    cdef int i, o
    row.info = k
    row.tier = tier
    for i in range(N_LOOPS):
        data[i] = <void *>row
        for o in range(nargs):
            types[i * nargs + o] = dtype_codes[i]
    name = k.name.decode()
    doc = tier_doc(name, TIERS[tier], k.nin).encode()
    _ufunc_docs.append(doc)
    uf = cnp.PyUFunc_FromFuncAndData(
        dtype_loops, data, types, N_LOOPS, k.nin, k.nout, cnp.PyUFunc_None, <char *>k.name,
        doc, 0)
    # pickle finds a ufunc by its __module__ (np.exp's is "numpy") and name; without a
    # module it scans every module in sys.modules, slowly, touching lazy and deprecated
    # ones on the way (mpmath 1.4's DeprecationWarnings in the tests came from there).
    try:
        uf.__module__ = TIER_MODULES[TIERS[tier]]
    except (AttributeError, TypeError):  # a NumPy whose ufuncs do not take it
        pass
    return uf


cdef dict make_ufuncs():
    """{tier: [its ufuncs in the order of the table]}"""
    cdef int i, tier
    return {TIERS[tier]: [make_ufunc(&fg_kernels[i], tier) for i in range(FG_N_KERNELS)]
            for tier in range(FG_N_TIERS)}


_tier_ufuncs = make_ufuncs()
KernelInfo = namedtuple("KernelInfo", ["name", "nin", "nout"])
KernelInfo.__doc__ = "One row of the kernel table: a ufunc's name, inputs and outputs."
# The kernels in the table's order: what Python code iterates over (the tests, the
# benchmarks, fastgelu.__all__) instead of spelling the list again.
KERNELS = tuple(KernelInfo(uf.__name__, uf.nin, uf.nout) for uf in _tier_ufuncs["exact"])
#: {tier: {name: ufunc}}: fastgelu.fast takes its ufuncs from here.
UFUNCS = {tier: dict(zip([k.name for k in KERNELS], ufs))
          for tier, ufs in _tier_ufuncs.items()}
# The exact tier's ufuncs are this module's globals of those names (fastgelu re-exports
# them).
__all__ = [k.name for k in KERNELS]
globals().update(UFUNCS["exact"])


# bfloat16 is not a NumPy dtype but ml_dtypes' user dtype, so its loop is added to each
# ufunc afterwards (all operands bfloat16), and only where ml_dtypes imports: fastgelu
# never requires it. NumPy tries a user dtype's loops first, then the built-in ones in
# order, so bfloat16 input runs the bfloat16 loop and bfloat16 mixed with float16 or
# float32 runs the float32 one (ml_dtypes casts bfloat16 safely to float32 only), as
# np.multiply does.
cdef void register_bfloat16(int type_num) except *:
    cdef int i, tier
    for tier in range(FG_N_TIERS):
        for i in range(FG_N_KERNELS):
            cnp.PyUFunc_RegisterLoopForType(
                _tier_ufuncs[TIERS[tier]][i], type_num,
                <cnp.PyUFuncGenericFunction>loop_bf16, NULL, ufunc_data[tier][i][0])


# (importlib, not an import statement: Cython's import takes a None entry in sys.modules,
# Python's way to block a package, for the module itself.)
try:
    ml_dtypes = importlib.import_module("ml_dtypes")
except ImportError:
    bfloat16 = None   # the dtype whose loops are registered, or None
else:
    bfloat16 = np.dtype(ml_dtypes.bfloat16)
    register_bfloat16(bfloat16.num)


# ---------------------------------------------------------------------------------------
# Runtime configuration (wrapped by the public API in __init__.py / _config.py)
# ---------------------------------------------------------------------------------------
if fg_install_fork_guard() != 0:
    raise ImportError("fastgelu: could not install its fork handler (pthread_atfork)")


def get_num_threads():
    """Threads a large call from this thread uses (1 in a build without OpenMP or in a
    process forked from one that had imported fastgelu)."""
    return max_threads()


cdef object count_arg(n, str what, object most):
    """n as a Python int in 1..most. Integers only, as range() takes them (int, NumPy
    integers: operator.index); not bool, whose True would mean 1 by accident."""
    if isinstance(n, (bool, np.bool_)):
        raise TypeError(f"{what} must be an integer, not {type(n).__name__}")
    try:
        value = operator.index(n)
    except TypeError:
        raise TypeError(f"{what} must be an integer, not {type(n).__name__}") from None
    if not 1 <= value <= most:
        raise ValueError(f"{what} must be from 1 to {most}, got {value}")
    return value


def set_num_threads(n):
    """Cap fastgelu's threads in every thread; in the calling thread also set OpenMP's
    max-threads to n (so n may exceed OMP_NUM_THREADS there, as with omp_set_num_threads)."""
    global requested_threads
    cdef int t = count_arg(n, "number of threads", INT_MAX)
    requested_threads = t
    omp_set_num_threads(t)


def openmp_enabled():
    """True if the extension was compiled with OpenMP."""
    return bool(FG_OPENMP)


def compiler():
    """The compiler that built the kernels."""
    return fg_compiler().decode().strip()  # clang's __clang_version__ ends in a space


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


def select_isa(name):
    """Run the ufuncs on the named ISA build ("auto" for the best this CPU supports);
    names in any case."""
    if not isinstance(name, str):
        raise TypeError(f"ISA name must be a str, not {type(name).__name__}")
    key = name.lower()
    # (a NUL would end the C string early: "avx2\0x" must not pass as "avx2")
    cdef int status = -1 if "\0" in key else fg_select_isa(key.encode())
    if status == 0:
        return
    runs = ", ".join([isa for isa in compiled_isas() if cpu_supports(isa)])
    if status == -2:
        raise RuntimeError(f"ISA {name!r} is not supported by this CPU or this build; "
                           f"choose 'auto' or a build this CPU runs: {runs}")
    raise ValueError(f"unknown ISA {name!r}; choose 'auto' or a build this CPU runs: {runs}")


cdef str threshold_dtype(dtype):
    name = np.dtype(dtype).name
    if name not in ("float32", "float64"):
        raise ValueError(f"the parallel threshold is per float32/float64 loop, not {name}")
    return name


def _thread_stats():
    """The threading policy's counters since the last _reset_thread_stats() (a dict):
    long calls run in parallel, those of them that lost to the serial estimate, long
    calls run serially because another was running or because of a recent loss; and the
    serial period the next loss starts (seconds)."""
    names = ("parallel", "lost", "serial_busy", "serial_backoff")
    stats = {name: fg_atomic_get(&policy_stats[i]) for i, name in enumerate(names)}
    stats["backoff_seconds"] = fg_atomic_get(&backoff_us) / 1e6
    return stats


def _reset_thread_stats():
    """Zero the counters of _thread_stats() and forget past losses (tests, benchmarks)."""
    cdef int i
    for i in range(N_STATS):
        fg_atomic_set(&policy_stats[i], 0)
    fg_atomic_set(&serial_until_us, 0)
    fg_atomic_set(&backoff_us, BACKOFF_MIN_US)


def _adaptive_threads(flag=None):
    """Whether long calls may run serially (the policy above; the default) or always run
    in parallel (tests of the threaded path, benchmarks/threshold.py); sets it if flag
    is given. Returns the setting before the call."""
    global adaptive_threads
    previous = bool(adaptive_threads)
    if flag is not None:
        adaptive_threads = bool(flag)
    return previous


def _set_worker_delay(double seconds):
    """Tests: make every worker thread (not the calling one) wait this long before each
    chunk it runs, as a worker descheduled by a busy machine would; 0 to stop."""
    global worker_delay
    if not seconds >= 0:
        raise ValueError(f"delay must be >= 0 seconds, got {seconds}")
    worker_delay = seconds


def get_parallel_threshold(dtype):
    """Shortest contiguous run (elements) that is split over threads, for a dtype."""
    return parallel_min_float if threshold_dtype(dtype) == "float32" else parallel_min_double


def set_parallel_threshold(dtype, n):
    """Change the threading threshold (for tests and the threshold benchmark)."""
    global parallel_min_float, parallel_min_double
    cdef intp m = count_arg(n, "threshold", PY_SSIZE_T_MAX)
    if threshold_dtype(dtype) == "float32":
        parallel_min_float = m
    else:
        parallel_min_double = m
