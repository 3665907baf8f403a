/* fg_dispatch.h -- the ISA builds of the array kernels and the choice among them.
 *
 * fg_array.c is compiled once per instruction set (baseline, AVX2+FMA, AVX-512) with
 * FG_ISA naming the build; each build exports one table of contiguous array kernels.
 * fg_dispatch.c detects the running CPU at import and points fg_active at the fastest
 * table it supports; FASTGELU_ISA (or fastgelu's Python API) can force another one.
 */
#ifndef FASTGELU_FG_DISPATCH_H
#define FASTGELU_FG_DISPATCH_H

#include <stddef.h>

/* y[i] = f(x[i]) for i < n; x == y (in place) is allowed, other overlap is not. */
typedef void (*fg_array_f)(const float *x, float *y, ptrdiff_t n);
typedef void (*fg_array_d)(const double *x, double *y, ptrdiff_t n);

typedef struct {
    fg_array_f f;
    fg_array_d d;
} fg_unary_kernel;

/* Order fixed: the Cython layer registers one ufunc per id. */
enum fg_unary_id { FG_GELU, FG_GELU_GRAD, FG_GELU_TANH, FG_GELU_TANH_GRAD, FG_N_UNARY };

typedef struct {
    const char *name;              /* "avx512", "avx2", "baseline" */
    fg_unary_kernel unary[FG_N_UNARY];
} fg_isa_table;

/* The table in use; never NULL after fg_select_isa(). */
extern const fg_isa_table *fg_active;

/* Select by name ("auto" picks the best the CPU supports). Returns 0 on success,
 * -1 if the name is unknown, -2 if this CPU (or this build) lacks it. */
int fg_select_isa(const char *name);

/* Names of the ISA builds compiled in, best first; *count receives how many. */
const char *const *fg_compiled_isas(int *count);

/* 1 if the running CPU (and OS) supports the named build, else 0. */
int fg_cpu_supports(const char *name);

/* The compiler that built the kernels, e.g. "GCC 12.2.0". */
const char *fg_compiler(void);

#endif
