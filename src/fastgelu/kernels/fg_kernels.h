/* fg_kernels.h -- the list of fastgelu's kernels: one row per ufunc.
 *
 * Everything that enumerates the kernels is derived from FG_KERNELS: the kernel ids
 * (fg_dispatch.h), each ISA build's array loops and its table (fg_array.c), the table of
 * names and shapes (fg_kernel_info, fg_dispatch.c) from which _ufuncs.pyx makes one ufunc
 * per row, and through it the package's exports (_ufuncs.KERNELS, fastgelu.__all__).
 *
 * X(name, SHAPE): the ufunc `name` runs fg_<name>_f (float32, float16 and bfloat16) and
 * fg_<name>_d (float64) of fg_math.h; SHAPE says which operands the kernel takes:
 *   UNARY     y = f(x)                float fg_<name>_f(float x)
 *   BINARY    y = f(a, b)             float fg_<name>_f(float a, float b)
 *   TERNARY2  (y, z) = f(a, b, c)     void fg_<name>_f(float a, float b, float c,
 *                                                      float *y, float *z)
 * The order is the ids' order (and the ufuncs' order in _ufuncs.KERNELS).
 *
 * Adding a kernel: its fg_<name>_f / fg_<name>_d in fg_math.h, a row here, its docstring
 * in _docs.py, its line in _ufuncs.pyi.
 */
#ifndef FASTGELU_FG_KERNELS_H
#define FASTGELU_FG_KERNELS_H

#define FG_KERNELS(X)                 \
    X(gelu, UNARY)                    \
    X(gelu_grad, UNARY)               \
    X(gelu_tanh, UNARY)               \
    X(gelu_tanh_grad, UNARY)          \
    X(gelu_backward, BINARY)          \
    X(gelu_tanh_backward, BINARY)     \
    X(geglu, BINARY)                  \
    X(geglu_tanh, BINARY)             \
    X(geglu_backward, TERNARY2)       \
    X(geglu_tanh_backward, TERNARY2)

/* Inputs and outputs of each shape. */
#define FG_NIN_UNARY 1
#define FG_NOUT_UNARY 1
#define FG_NIN_BINARY 2
#define FG_NOUT_BINARY 1
#define FG_NIN_TERNARY2 3
#define FG_NOUT_TERNARY2 2

#endif
