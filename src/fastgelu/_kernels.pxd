# Declarations of fastgelu's C layer for the Cython loops in _ufuncs.pyx.
#
# kernels/fg_dispatch.h: the per-ISA tables of vectorized contiguous array kernels
# (kernels/fg_array.c over the scalar kernels of kernels/fg_math.h) and the runtime
# choice among them. kernels/fg_openmp.h: OpenMP calls that also compile without OpenMP.

cdef extern from "kernels/fg_openmp.h" nogil:
    int FG_OPENMP
    int omp_get_max_threads()
    void omp_set_num_threads(int)
    int fg_forked_child
    int fg_install_fork_guard()


cdef extern from "kernels/fg_dispatch.h" nogil:
    ctypedef void (*fg_array_f)(const float *x, float *y, Py_ssize_t n) noexcept
    ctypedef void (*fg_array_d)(const double *x, double *y, Py_ssize_t n) noexcept
    ctypedef struct fg_unary_kernel:
        fg_array_f f
        fg_array_d d
    enum fg_unary_id:
        FG_GELU, FG_GELU_GRAD, FG_GELU_TANH, FG_GELU_TANH_GRAD, FG_N_UNARY
    ctypedef struct fg_isa_table:
        const char *name
        fg_unary_kernel unary[<int>FG_N_UNARY]
    const fg_isa_table *fg_active
    int fg_select_isa(const char *name)
    const char *const *fg_compiled_isas(int *count)
    int fg_cpu_supports(const char *name)
    const char *fg_compiler()
