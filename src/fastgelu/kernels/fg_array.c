/* fg_array.c -- contiguous array loops over the scalar kernels of every tier (fg_math.h,
 * fg_fast_f32.h, fg_fast_f64.h).
 *
 * This one file is compiled several times, once per instruction set, with -DFG_ISA=<name>
 * and that ISA's compiler flags (see setup.py); each build exports fg_table_<name>.
 * The loops are plain `omp simd` loops: the compiler vectorizes the inlined, branch-free
 * kernels at the width of the ISA (check with -fopt-info-vec, see tools/).
 *
 * Every row of FG_KERNELS (fg_kernels.h) gets, in each tier of FG_TIERS, four loops from
 * its shape's loop macro:
 * float16 and bfloat16 (computed in float32: convert, run the float32 kernel, convert
 * back, element by element, so the loop stays one pass), float32 and float64. One macro
 * per shape: unary y = f(x), binary y = f(a, b), and ternary with two outputs
 * (y, z) = f(a, b, c).
 */
#include "fg_dispatch.h"
#include "fg_math.h"
#include "fg_fast_f32.h"
#include "fg_fast_f64.h"

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

/* ---- float16 <-> float32, exact and branch-free (integer selects; vectorizes) ----------
 * Written out rather than taken from NumPy's npymath (a link dependency) or F16C (not in
 * the baseline build): the same bits on every ISA build. */
/* (fg__f32_bits, fg__f32_from_bits, fg__mask32: fg_math.h) */
/* The float32 bits of +inf where the mask `overflows` is set, else 0, made by an
 * overflowing float multiply (FLT_MAX * 2), only there: a narrowing that rounds a finite
 * value to inf raises FE_OVERFLOW, as NumPy's float16 cast does (np.errstate sees it). */
static inline uint32_t fg__overflow_inf_bits(uint32_t overflows)
{
    return fg__f32_bits(fg__f32_from_bits(overflows & 0x7f7fffffu) * 2.0f);
}

/* Exact. Subnormal halves are m 2^-24 with m < 2^10: converted as an integer and scaled
 * (no subnormal float operand, which costs a microcode assist on x86); normal halves
 * rebias the exponent (15 -> 127); inf and NaN keep their payload (a signaling NaN stays
 * signaling, as in NumPy's conversion). */
static inline float fg__half_to_float(fg_half h)
{
    uint32_t em = (uint32_t)h & 0x7fffu;
    uint32_t sub = fg__f32_bits((float)(int32_t)em * 0x1p-24f);
    uint32_t nrm = (em << 13) + ((uint32_t)(127 - 15) << 23);
    uint32_t spc = (em << 13) | 0x7f800000u;
    uint32_t is_sub = fg__mask32(em < 0x400u), is_spc = fg__mask32(em >= 0x7c00u);
    uint32_t r = (sub & is_sub) | (nrm & ~is_sub & ~is_spc) | (spc & is_spc);
    return fg__f32_from_bits(r | (((uint32_t)h & 0x8000u) << 16));
}

/* Round to nearest even (IEEE), as NumPy's float -> float16 cast. Values that round to
 * half subnormals go through one float addition of 0.5 (its rounding at 2^-24 is the
 * rounding to the half grid); normals round on the bits; NaN keeps its sign and top
 * payload bits and is made quiet. A finite value that rounds past the largest half
 * (|f| >= 65520) becomes inf and raises FE_OVERFLOW (fg__overflow_inf_bits). */
static inline fg_half fg__float_to_half(float f)
{
    uint32_t u = fg__f32_bits(f);
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t a = u & 0x7fffffffu;
    uint32_t is_sub = fg__mask32(a < (113u << 23));             /* |f| < 2^-14 */
    uint32_t is_big = fg__mask32(a >= 0x477ff000u);             /* rounds to inf, or inf/NaN */
    uint32_t is_nan = fg__mask32(a > 0x7f800000u);
    uint32_t overflows = is_big & fg__mask32(a < 0x7f800000u);
    /* only |f| < 2^-14 enters the addition (never a NaN: no FE_INVALID) */
    uint32_t sub = fg__f32_bits(fg__f32_from_bits(a & is_sub) + 0.5f) - fg__f32_bits(0.5f);
    uint32_t nrm = (a + ((uint32_t)(15 - 127) << 23) + 0xfffu + ((a >> 13) & 1u)) >> 13;
    uint32_t inf_bits = fg__overflow_inf_bits(overflows);
    uint32_t inf = (0x7c00u & ~overflows) | ((inf_bits >> 13) & 0x7c00u);
    uint32_t big = (inf & ~is_nan) | ((0x7e00u | ((a >> 13) & 0x3ffu)) & is_nan);
    uint32_t r = (sub & is_sub) | (nrm & ~is_sub & ~is_big) | (big & is_big);
    return (fg_half)(r | sign);
}

/* ---- bfloat16 <-> float32, branch-free too ------------------------------------------
 * bfloat16 is the top half of a float32: widening is exact (a signaling NaN stays
 * signaling, as for float16). */
static inline float fg__bf16_to_float(fg_bf16 b)
{
    return fg__f32_from_bits((uint32_t)b.bits << 16);
}

/* Round to nearest even on the bits: adding 0x7fff plus the lowest kept bit carries into
 * the kept bits exactly when the dropped half is above one half, or one half with an odd
 * kept part. The encoding is monotonic, so the carry also moves a float32 subnormal up to
 * the normal range and the largest finite values (|f| >= 0x1.ffp127) on to inf, where
 * round to nearest even takes them: one add serves subnormals, normals and overflow
 * (bfloat16 has float32's exponent range; its subnormals are the top bits of float32's).
 * Overflow to inf raises FE_OVERFLOW (fg__overflow_inf_bits), as the float16 narrowing
 * does. NaN keeps its sign and top payload bits and is made quiet (ml_dtypes' own cast
 * returns the default NaN of that sign instead). */
static inline fg_bf16 fg__float_to_bf16(float f)
{
    uint32_t u = fg__f32_bits(f);
    uint32_t a = u & 0x7fffffffu;
    uint32_t is_nan = fg__mask32(a > 0x7f800000u);
    uint32_t overflows = fg__mask32(a >= 0x7f7f8000u) & fg__mask32(a < 0x7f800000u);
    uint32_t rounded = (a + 0x7fffu + ((a >> 16) & 1u)) >> 16;
    rounded |= fg__overflow_inf_bits(overflows) >> 16; /* inf already: only the flag */
    uint32_t nan = (a >> 16) | 0x40u;
    uint32_t r = (rounded & ~is_nan) | (nan & is_nan);
    fg_bf16 b = {(uint16_t)(r | ((u >> 16) & 0x8000u))};
    return b;
}

/* ---- element types: storage, the kernel precision, and the conversions ---------------- */
#define FG_T_h fg_half /* stored as */
#define FG_T_b fg_bf16
#define FG_T_f float
#define FG_T_d double
#define FG_K_h f       /* computed by the kernels of */
#define FG_K_b f
#define FG_K_f f
#define FG_K_d d
#define FG_KT_h float  /* kernel value type */
#define FG_KT_b float
#define FG_KT_f float
#define FG_KT_d double
#define FG_LOAD_h(v) fg__half_to_float(v)
#define FG_LOAD_b(v) fg__bf16_to_float(v)
#define FG_LOAD_f(v) (v)
#define FG_LOAD_d(v) (v)
#define FG_STORE_h(v) fg__float_to_half(v)
#define FG_STORE_b(v) fg__float_to_bf16(v)
#define FG_STORE_f(v) (v)
#define FG_STORE_d(v) (v)

/* <tier prefix><name>_f or _d, e.g. fg_fast_gelu_f: the scalar kernel that computes element
 * type sfx in a tier */
#define FG_PASTE2(a, b) a##b
#define FG_PASTE(a, b) FG_PASTE2(a, b)
#define FG_KERNEL(tier, name, sfx) FG_CAT(FG_PASTE(FG_PREFIX_##tier, name), FG_K_##sfx)
/* the array loop's name in this ISA build, e.g. fg_fast_gelu_array_h_avx2 */
#define FG_LOOP_NAME(tier, name, sfx) FG_CAT(FG_CAT(fg_##tier##_##name##_array, sfx), FG_ISA)

/* ---- streaming: blocks, each with a software prefetch of the input a little ahead -----
 * On arrays that come from DRAM (n = 1e7) the plain loops ran far below their in-cache
 * speed: the hardware prefetchers did not keep ahead of a loop that spends ~1 ns per
 * element, and the misses stalled the kernels. So each loop runs in blocks of
 * FG_BLOCK_BYTES of storage, and before each block prefetches the inputs' lines of one
 * block FG_AHEAD_BYTES ahead. benchmarks/prefetch_sweep.c (AVX-512, one thread, 1e7 float32
 * elements, Melem/s): gelu_tanh 394 -> 1128, gelu 803 -> 935, both back to their
 * in-cache speed; blocks of 256 B to 1 KB, 1 to 4 KB ahead, all within 5% of the best;
 * float64 gelu (4 ns per element) unchanged. A prefetch never faults, and none goes past
 * the operand's last byte. */
#define FG_BLOCK_BYTES 512
#define FG_AHEAD_BYTES 2048
#if defined(__GNUC__) || defined(__clang__)
#define FG_PREFETCH(p) __builtin_prefetch((p), 0, 3)
#elif defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
#include <xmmintrin.h>
#define FG_PREFETCH(p) _mm_prefetch((const char *)(p), _MM_HINT_T0)
#else
#define FG_PREFETCH(p) ((void)(p))
#endif

/* Prefetch the bytes [start + FG_AHEAD_BYTES, + FG_BLOCK_BYTES) of an operand of `size`
 * bytes, one touch per 64-byte line. */
static inline void fg__prefetch_ahead(const void *base, ptrdiff_t start, ptrdiff_t size)
{
    const char *p = (const char *)base;
    ptrdiff_t from = start + FG_AHEAD_BYTES, to = from + FG_BLOCK_BYTES;
    if (to > size) to = size;
    for (ptrdiff_t b = from; b < to; b += 64) FG_PREFETCH(p + b);
}

/* ---- the loops, one per shape (fg_kernels.h) ------------------------------------------
 * Each is written for element type sfx: the operands from ops[] (inputs, then outputs),
 * then FG__BLOCKS: the n elements in blocks [s, e) of FG_BLOCK_BYTES (the last one
 * shorter); before each block the inputs are prefetched ahead (PREFETCH, over at: the
 * block's byte offset, and size: each operand's bytes), then BODY runs for each element i
 * of the block. `omp simd` tells the compiler the iterations are independent, which is
 * true also in place (an output identical to an input): each element's inputs are read
 * before its outputs are written, by the same iteration. */
#define FG__BLOCKS(sfx, PREFETCH, BODY)                                                    \
    const ptrdiff_t es = sizeof(FG_T_##sfx), blk = FG_BLOCK_BYTES / es, size = n * es;     \
    for (ptrdiff_t s = 0; s < n; s += blk) {                                               \
        const ptrdiff_t e = n - s < blk ? n : s + blk, at = s * es;                        \
        PREFETCH                                                                           \
        FG_SIMD_LOOP                                                                       \
        for (ptrdiff_t i = s; i < e; i++) { BODY }                                         \
    }

#define FG_UNARY_LOOP(tier, name, sfx)                                                     \
    static void FG_LOOP_NAME(tier, name, sfx)(char **ops, ptrdiff_t n)                     \
    {                                                                                      \
        const FG_T_##sfx *x = (const FG_T_##sfx *)ops[0];                                  \
        FG_T_##sfx *y = (FG_T_##sfx *)ops[1];                                              \
        FG__BLOCKS(sfx, fg__prefetch_ahead(x, at, size);,                                  \
                   y[i] = FG_STORE_##sfx(FG_KERNEL(tier, name, sfx)(FG_LOAD_##sfx(x[i])));) \
    }

#define FG_BINARY_LOOP(tier, name, sfx)                                                    \
    static void FG_LOOP_NAME(tier, name, sfx)(char **ops, ptrdiff_t n)                     \
    {                                                                                      \
        const FG_T_##sfx *a = (const FG_T_##sfx *)ops[0];                                  \
        const FG_T_##sfx *b = (const FG_T_##sfx *)ops[1];                                  \
        FG_T_##sfx *y = (FG_T_##sfx *)ops[2];                                              \
        FG__BLOCKS(sfx, fg__prefetch_ahead(a, at, size); fg__prefetch_ahead(b, at, size);, \
                   y[i] = FG_STORE_##sfx(FG_KERNEL(tier, name, sfx)(FG_LOAD_##sfx(a[i]),   \
                                                                    FG_LOAD_##sfx(b[i])));) \
    }

#define FG_TERNARY2_LOOP(tier, name, sfx)                                                  \
    static void FG_LOOP_NAME(tier, name, sfx)(char **ops, ptrdiff_t n)                     \
    {                                                                                      \
        const FG_T_##sfx *a = (const FG_T_##sfx *)ops[0];                                  \
        const FG_T_##sfx *b = (const FG_T_##sfx *)ops[1];                                  \
        const FG_T_##sfx *c = (const FG_T_##sfx *)ops[2];                                  \
        FG_T_##sfx *y = (FG_T_##sfx *)ops[3];                                              \
        FG_T_##sfx *z = (FG_T_##sfx *)ops[4];                                              \
        FG__BLOCKS(sfx,                                                                    \
                   fg__prefetch_ahead(a, at, size); fg__prefetch_ahead(b, at, size);       \
                   fg__prefetch_ahead(c, at, size);,                                       \
                   FG_KT_##sfx yi;                                                         \
                   FG_KT_##sfx zi;                                                         \
                   FG_KERNEL(tier, name, sfx)(FG_LOAD_##sfx(a[i]), FG_LOAD_##sfx(b[i]),    \
                                              FG_LOAD_##sfx(c[i]), &yi, &zi);              \
                   y[i] = FG_STORE_##sfx(yi);                                              \
                   z[i] = FG_STORE_##sfx(zi);)                                             \
    }

/* ---- this build's loops and table: every tier, one row of FG_KERNELS at a time -------- */
#define FG__LOOPS(tier, name, SHAPE)                                                       \
    FG_##SHAPE##_LOOP(tier, name, h) FG_##SHAPE##_LOOP(tier, name, b)                      \
    FG_##SHAPE##_LOOP(tier, name, f) FG_##SHAPE##_LOOP(tier, name, d)
#define FG__TIER_LOOPS(tier) FG_KERNELS(FG__LOOPS, tier)
FG_TIERS(FG__TIER_LOOPS)

#define FG__ENTRY(tier, name, SHAPE)                                                       \
    [FG_ID_##name] = {[FG_DT_H] = FG_LOOP_NAME(tier, name, h),                             \
                      [FG_DT_B] = FG_LOOP_NAME(tier, name, b),                             \
                      [FG_DT_F] = FG_LOOP_NAME(tier, name, f),                             \
                      [FG_DT_D] = FG_LOOP_NAME(tier, name, d)},
#define FG__TIER_ENTRIES(tier) [FG_TIER_##tier] = {FG_KERNELS(FG__ENTRY, tier)},
const fg_isa_table FG_CAT(fg_table, FG_ISA) = {FG_STR(FG_ISA), {FG_TIERS(FG__TIER_ENTRIES)}};
