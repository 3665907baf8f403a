/* fg_array.c -- contiguous array loops over the scalar kernels of fg_math.h.
 *
 * This one file is compiled several times, once per instruction set, with -DFG_ISA=<name>
 * and that ISA's compiler flags (see setup.py); each build exports fg_table_<name>.
 * The loops are plain `omp simd` loops: the compiler vectorizes the inlined, branch-free
 * kernels at the width of the ISA (check with -fopt-info-vec, see tools/).
 */
#include "fg_dispatch.h"
#include "fg_math.h"

#ifndef FG_ISA
#error "compile fg_array.c with -DFG_ISA=<isa name>"
#endif

#define FG_CAT2(a, b) a##_##b
#define FG_CAT(a, b) FG_CAT2(a, b)
#define FG_STR2(a) #a
#define FG_STR(a) FG_STR2(a)

#if defined(_MSC_VER) && !defined(__clang__)
#define FG_SIMD_LOOP __pragma(loop(ivdep))
#else
#define FG_SIMD_LOOP _Pragma("omp simd")
#endif

/* One float and one double loop per kernel.  `omp simd` tells the compiler the
 * iterations are independent, which is true also in place (x == y): each element is
 * read before it is written, by the same iteration. */
#define FG_DEFINE_UNARY(kernel)                                                      \
    static void FG_CAT(kernel##_f_array, FG_ISA)(const float *x, float *y, ptrdiff_t n) \
    {                                                                                \
        FG_SIMD_LOOP                                                                 \
        for (ptrdiff_t i = 0; i < n; i++) y[i] = kernel##_f(x[i]);                   \
    }                                                                                \
    static void FG_CAT(kernel##_d_array, FG_ISA)(const double *x, double *y, ptrdiff_t n) \
    {                                                                                \
        FG_SIMD_LOOP                                                                 \
        for (ptrdiff_t i = 0; i < n; i++) y[i] = kernel##_d(x[i]);                   \
    }

FG_DEFINE_UNARY(fg_gelu)
FG_DEFINE_UNARY(fg_gelu_grad)
FG_DEFINE_UNARY(fg_gelu_tanh)
FG_DEFINE_UNARY(fg_gelu_tanh_grad)

#define FG_ENTRY(kernel) {FG_CAT(kernel##_f_array, FG_ISA), FG_CAT(kernel##_d_array, FG_ISA)}

const fg_isa_table FG_CAT(fg_table, FG_ISA) = {
    FG_STR(FG_ISA),
    {
        [FG_GELU] = FG_ENTRY(fg_gelu),
        [FG_GELU_GRAD] = FG_ENTRY(fg_gelu_grad),
        [FG_GELU_TANH] = FG_ENTRY(fg_gelu_tanh),
        [FG_GELU_TANH_GRAD] = FG_ENTRY(fg_gelu_tanh_grad),
    },
};
