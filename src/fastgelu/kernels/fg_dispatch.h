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

#include "fg_kernels.h"

/* IEEE binary16 (numpy.float16) as its bits; the float16 loops compute in float32. */
typedef uint16_t fg_half;
/* bfloat16 (ml_dtypes.bfloat16: the top 16 bits of a float32) as its bits; the bfloat16
 * loops compute in float32. A struct, so that it is a type of its own, not fg_half's. */
typedef struct {
    uint16_t bits;
} fg_bf16;

/* The array loop of one kernel for one element type: the kernel on n contiguous
 * elements of each operand, ops[] holding the inputs, then the outputs (as a ufunc loop
 * gets them). One signature for every shape, so that the caller looks up one pointer per
 * call. An output may be identical to an input (in place); any other overlap is not
 * allowed. */
typedef void (*fg_loop)(char **ops, ptrdiff_t n);

/* Element types of the loops: their index in a kernel's loops (h float16, b bfloat16:
 * both computed in float32; f float32, d float64). */
enum fg_dtype { FG_DT_H, FG_DT_B, FG_DT_F, FG_DT_D, FG_N_DTYPES };

/* The kernel ids, FG_ID_<name>, in the order of FG_KERNELS. */
#define FG__ID(c, name, SHAPE) FG_ID_##name,
enum fg_kernel_id { FG_KERNELS(FG__ID, ) FG_N_KERNELS };
#undef FG__ID

/* The accuracy tiers, FG_TIER_<tier>, in the order of FG_TIERS; fg_tier_names[id] is the
 * tier's name ("exact", "fast"). */
#define FG__TIER_ID(tier) FG_TIER_##tier,
enum fg_tier_id { FG_TIERS(FG__TIER_ID) FG_N_TIERS };
#undef FG__TIER_ID
extern const char *const fg_tier_names[FG_N_TIERS];

/* One row of FG_KERNELS, for the ufunc layer: loops[tier][id] runs the ufunc `name` of
 * each tier. */
typedef struct {
    const char *name;
    int id;
    int nin, nout;
} fg_kernel_info;

/* The rows of FG_KERNELS, in order (fg_kernels[i].id == i). */
extern const fg_kernel_info fg_kernels[FG_N_KERNELS];

typedef struct {
    const char *name; /* "avx512", "avx2", "baseline" */
    fg_loop loops[FG_N_TIERS][FG_N_KERNELS][FG_N_DTYPES];
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
