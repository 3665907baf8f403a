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
/* bfloat16 (ml_dtypes.bfloat16: the top 16 bits of a float32) as its bits; the bfloat16
 * loops compute in float32. A struct, so that it is a type of its own, not fg_half's. */
typedef struct {
    uint16_t bits;
} fg_bf16;

/* Element-wise array kernels over n contiguous elements of every operand, one pointer
 * type per element type (sfx: h float16, b bfloat16, f float32, d float64). An output
 * may be identical to an input (in place); any other overlap is not allowed. */
#define FG_KERNEL_TYPES(sfx, T)                                                          \
    /* y[i] = f(x[i]) */                                                                 \
    typedef void (*fg_array_##sfx)(const T *x, T *y, ptrdiff_t n);                       \
    /* y[i] = f(a[i], b[i]) */                                                           \
    typedef void (*fg_binary_##sfx)(const T *a, const T *b, T *y, ptrdiff_t n);          \
    /* (y[i], z[i]) = f(a[i], b[i], c[i]) */                                             \
    typedef void (*fg_ternary2_##sfx)(const T *a, const T *b, const T *c, T *y, T *z,    \
                                      ptrdiff_t n);
FG_KERNEL_TYPES(h, fg_half)
FG_KERNEL_TYPES(b, fg_bf16)
FG_KERNEL_TYPES(f, float)
FG_KERNEL_TYPES(d, double)
#undef FG_KERNEL_TYPES

/* One kernel: its loop for each element type. */
#define FG_KERNEL_STRUCT(arity) \
    struct {                    \
        fg_##arity##_h h;       \
        fg_##arity##_b b;       \
        fg_##arity##_f f;       \
        fg_##arity##_d d;       \
    }
typedef FG_KERNEL_STRUCT(array) fg_unary_kernel;
typedef FG_KERNEL_STRUCT(binary) fg_binary_kernel;
typedef FG_KERNEL_STRUCT(ternary2) fg_ternary2_kernel;
#undef FG_KERNEL_STRUCT

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
