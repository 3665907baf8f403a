# Declarations of fastgelu's C layer for the Cython loops in _ufuncs.pyx.
#
# kernels/fg_dispatch.h: the list of kernels (kernels/fg_kernels.h), the per-ISA tables of
# vectorized contiguous array loops (kernels/fg_array.c over the scalar kernels of
# kernels/fg_math.h; float16, bfloat16, float32 and float64 loops for each kernel) and the
# runtime choice among them. kernels/fg_openmp.h: OpenMP calls that also compile without OpenMP.

cdef extern from "kernels/fg_openmp.h" nogil:
    int FG_OPENMP
    int omp_get_max_threads()
    void omp_set_num_threads(int)
    double omp_get_wtime()
    ctypedef long long fg_atomic      # a 64-bit integer for the fg_atomic_* calls
    long long fg_atomic_add(fg_atomic *p, long long v)   # returns the new value
    long long fg_atomic_get(fg_atomic *p)
    void fg_atomic_set(fg_atomic *p, long long v)
    int fg_forked_child
    int fg_install_fork_guard()


cdef extern from "kernels/fg_dispatch.h" nogil:
    ctypedef unsigned short fg_half   # IEEE binary16 bits (numpy.float16)
    ctypedef struct fg_bf16:          # bfloat16 bits (ml_dtypes.bfloat16), as a struct:
        unsigned short bits           # a type of its own for the fused loops

    # One kernel's array loop for one element type: n elements of each operand, ops =
    # the inputs, then the outputs (one signature for every shape).
    ctypedef void (*fg_loop)(char **ops, Py_ssize_t n) noexcept
    enum fg_dtype:
        FG_DT_H, FG_DT_B, FG_DT_F, FG_DT_D, FG_N_DTYPES
    enum:
        FG_N_KERNELS                  # rows of FG_KERNELS (kernels/fg_kernels.h)
        FG_N_TIERS                    # accuracy tiers of FG_TIERS: each makes every row
    const char *const fg_tier_names[]  # "exact", "fast": in the order of the tier ids
    # One row of FG_KERNELS: the ufunc `name`, run by loops[tier][id] of each ISA table.
    ctypedef struct fg_kernel_info:
        const char *name
        int id
        int nin
        int nout
    const fg_kernel_info fg_kernels[]

    ctypedef struct fg_isa_table:
        const char *name
        fg_loop loops[<int>FG_N_TIERS][<int>FG_N_KERNELS][<int>FG_N_DTYPES]
    const fg_isa_table *fg_active
    int fg_select_isa(const char *name)
    const char *const *fg_compiled_isas(int *count)
    int fg_cpu_supports(const char *name)
    const char *fg_compiler()
