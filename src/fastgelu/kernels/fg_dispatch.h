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
#include <stdint.h>

/* IEEE binary16 (numpy.float16) as its bits; the float16 loops compute in float32. */
typedef uint16_t fg_half;

/* Element-wise array kernels over n contiguous elements of every operand. An output may
 * be identical to an input (in place); any other overlap is not allowed. */

/* y[i] = f(x[i]) */
typedef void (*fg_array_h)(const fg_half *x, fg_half *y, ptrdiff_t n);
typedef void (*fg_array_f)(const float *x, float *y, ptrdiff_t n);
typedef void (*fg_array_d)(const double *x, double *y, ptrdiff_t n);
typedef struct {
    fg_array_h h;
    fg_array_f f;
    fg_array_d d;
} fg_unary_kernel;

/* y[i] = f(a[i], b[i]) */
typedef void (*fg_binary_h)(const fg_half *a, const fg_half *b, fg_half *y, ptrdiff_t n);
typedef void (*fg_binary_f)(const float *a, const float *b, float *y, ptrdiff_t n);
typedef void (*fg_binary_d)(const double *a, const double *b, double *y, ptrdiff_t n);
typedef struct {
    fg_binary_h h;
    fg_binary_f f;
    fg_binary_d d;
} fg_binary_kernel;

/* (y[i], z[i]) = f(a[i], b[i], c[i]) */
typedef void (*fg_ternary2_h)(const fg_half *a, const fg_half *b, const fg_half *c,
                              fg_half *y, fg_half *z, ptrdiff_t n);
typedef void (*fg_ternary2_f)(const float *a, const float *b, const float *c,
                              float *y, float *z, ptrdiff_t n);
typedef void (*fg_ternary2_d)(const double *a, const double *b, const double *c,
                              double *y, double *z, ptrdiff_t n);
typedef struct {
    fg_ternary2_h h;
    fg_ternary2_f f;
    fg_ternary2_d d;
} fg_ternary2_kernel;

/* Order fixed: the Cython layer registers one ufunc per id. */
enum fg_unary_id { FG_GELU, FG_GELU_GRAD, FG_GELU_TANH, FG_GELU_TANH_GRAD, FG_N_UNARY };
enum fg_binary_id { FG_GELU_BACKWARD, FG_GELU_TANH_BACKWARD, FG_GEGLU, FG_GEGLU_TANH, FG_N_BINARY };
enum fg_ternary2_id { FG_GEGLU_BACKWARD, FG_GEGLU_TANH_BACKWARD, FG_N_TERNARY2 };

typedef struct {
    const char *name;              /* "avx512", "avx2", "baseline" */
    fg_unary_kernel unary[FG_N_UNARY];
    fg_binary_kernel binary[FG_N_BINARY];
    fg_ternary2_kernel ternary2[FG_N_TERNARY2];
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
