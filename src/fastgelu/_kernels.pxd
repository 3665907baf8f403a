# Declarations of fastgelu's C layer for the Cython loops in _ufuncs.pyx.
#
# kernels/fg_dispatch.h: the per-ISA tables of vectorized contiguous array kernels
# (kernels/fg_array.c over the scalar kernels of kernels/fg_math.h; float16, bfloat16,
# float32 and float64 loops for one-, two- and three-input kernels) and the runtime
# choice among them. kernels/fg_openmp.h: OpenMP calls that also compile without OpenMP.

cdef extern from "kernels/fg_openmp.h" nogil:
    int FG_OPENMP
    int omp_get_max_threads()
    void omp_set_num_threads(int)
    int fg_forked_child
    int fg_install_fork_guard()


cdef extern from "kernels/fg_dispatch.h" nogil:
    ctypedef unsigned short fg_half   # IEEE binary16 bits (numpy.float16)
    ctypedef struct fg_bf16:          # bfloat16 bits (ml_dtypes.bfloat16), as a struct:
        unsigned short bits           # a type of its own for the fused loops

    # One function pointer type per arity and element type (h float16, b bfloat16,
    # f float32, d float64); fg_dispatch.h makes them with one macro.
    ctypedef void (*fg_array_h)(const fg_half *x, fg_half *y, Py_ssize_t n) noexcept
    ctypedef void (*fg_array_b)(const fg_bf16 *x, fg_bf16 *y, Py_ssize_t n) noexcept
    ctypedef void (*fg_array_f)(const float *x, float *y, Py_ssize_t n) noexcept
    ctypedef void (*fg_array_d)(const double *x, double *y, Py_ssize_t n) noexcept
    ctypedef struct fg_unary_kernel:
        fg_array_h h
        fg_array_b b
        fg_array_f f
        fg_array_d d

    ctypedef void (*fg_binary_h)(const fg_half *a, const fg_half *b, fg_half *y,
                                 Py_ssize_t n) noexcept
    ctypedef void (*fg_binary_b)(const fg_bf16 *a, const fg_bf16 *b, fg_bf16 *y,
                                 Py_ssize_t n) noexcept
    ctypedef void (*fg_binary_f)(const float *a, const float *b, float *y,
                                 Py_ssize_t n) noexcept
    ctypedef void (*fg_binary_d)(const double *a, const double *b, double *y,
                                 Py_ssize_t n) noexcept
    ctypedef struct fg_binary_kernel:
        fg_binary_h h
        fg_binary_b b
        fg_binary_f f
        fg_binary_d d

    ctypedef void (*fg_ternary2_h)(const fg_half *a, const fg_half *b, const fg_half *c,
                                   fg_half *y, fg_half *z, Py_ssize_t n) noexcept
    ctypedef void (*fg_ternary2_b)(const fg_bf16 *a, const fg_bf16 *b, const fg_bf16 *c,
                                   fg_bf16 *y, fg_bf16 *z, Py_ssize_t n) noexcept
    ctypedef void (*fg_ternary2_f)(const float *a, const float *b, const float *c,
                                   float *y, float *z, Py_ssize_t n) noexcept
    ctypedef void (*fg_ternary2_d)(const double *a, const double *b, const double *c,
                                   double *y, double *z, Py_ssize_t n) noexcept
    ctypedef struct fg_ternary2_kernel:
        fg_ternary2_h h
        fg_ternary2_b b
        fg_ternary2_f f
        fg_ternary2_d d

    enum fg_unary_id:
        FG_GELU, FG_GELU_GRAD, FG_GELU_TANH, FG_GELU_TANH_GRAD, FG_N_UNARY
    enum fg_binary_id:
        FG_GELU_BACKWARD, FG_GELU_TANH_BACKWARD, FG_GEGLU, FG_GEGLU_TANH, FG_N_BINARY
    enum fg_ternary2_id:
        FG_GEGLU_BACKWARD, FG_GEGLU_TANH_BACKWARD, FG_N_TERNARY2
    ctypedef struct fg_isa_table:
        const char *name
        fg_unary_kernel unary[<int>FG_N_UNARY]
        fg_binary_kernel binary[<int>FG_N_BINARY]
        fg_ternary2_kernel ternary2[<int>FG_N_TERNARY2]
    const fg_isa_table *fg_active
    int fg_select_isa(const char *name)
    const char *const *fg_compiled_isas(int *count)
    int fg_cpu_supports(const char *name)
    const char *fg_compiler()
