/* fg_kernels.h -- the list of fastgelu's kernels: one row per ufunc, and the tiers that
 * make each row once more.
 *
 * Everything that enumerates the kernels is derived from FG_KERNELS: the kernel ids
 * (fg_dispatch.h), each ISA build's array loops and its table (fg_array.c), the table of
 * names and shapes (fg_kernel_info, fg_dispatch.c) from which _ufuncs.pyx makes one ufunc
 * per row, and through it the package's exports (_ufuncs.KERNELS, fastgelu.__all__).
 *
 * FG_KERNELS(X, c) expands X(c, name, SHAPE) for each row (c: the caller's context, e.g.
 * a tier, passed through). The ufunc `name` of a tier runs <prefix>name_f (float32,
 * float16 and bfloat16) and <prefix>name_d (float64), the tier's prefix being
 * FG_PREFIX_<tier> below; SHAPE says which operands the kernel takes:
 *   UNARY     y = f(x)                float fg_<name>_f(float x)
 *   BINARY    y = f(a, b)             float fg_<name>_f(float a, float b)
 *   TERNARY2  (y, z) = f(a, b, c)     void fg_<name>_f(float a, float b, float c,
 *                                                      float *y, float *z)
 * The order is the ids' order (and the ufuncs' order in _ufuncs.KERNELS).
 *
 * Adding a kernel: its fg_<name>_f / fg_<name>_d in fg_math.h and fg_fast_<name>_f / _d in
 * fg_fast_f32.h / fg_fast_f64.h, a row here, its docstring in _docs.py, its line in
 * _ufuncs.pyi.
 *
 * FG_TIERS(X) expands X(tier) for each accuracy tier, in the order of their ids
 * (FG_TIER_<tier>). Every ISA build has every tier's loops; each tier is a set of ufuncs:
 *   exact  fg_<name>_f/_d       fg_math.h                    <= 1 ulp   fastgelu.<name>
 *   fast   fg_fast_<name>_f/_d  fg_fast_f32.h, fg_fast_f64.h <= 4 ulp   fastgelu.fast.<name>
 */
#ifndef FASTGELU_FG_KERNELS_H
#define FASTGELU_FG_KERNELS_H

#define FG_KERNELS(X, c)              \
    X(c, gelu, UNARY)                 \
    X(c, gelu_grad, UNARY)            \
    X(c, gelu_tanh, UNARY)            \
    X(c, gelu_tanh_grad, UNARY)       \
    X(c, gelu_backward, BINARY)       \
    X(c, gelu_tanh_backward, BINARY)  \
    X(c, geglu, BINARY)               \
    X(c, geglu_tanh, BINARY)          \
    X(c, geglu_backward, TERNARY2)    \
    X(c, geglu_tanh_backward, TERNARY2)

#define FG_TIERS(X) X(exact) X(fast)
#define FG_PREFIX_exact fg_
#define FG_PREFIX_fast fg_fast_

/* Inputs and outputs of each shape. */
#define FG_NIN_UNARY 1
#define FG_NOUT_UNARY 1
#define FG_NIN_BINARY 2
#define FG_NOUT_BINARY 1
#define FG_NIN_TERNARY2 3
#define FG_NOUT_TERNARY2 2

#endif
