/* speed_of_light.c -- how fast can a GELU of each accuracy contract be? The kernels of
 * src/fastgelu/kernels beside their bare arithmetic (issues #15 and #16).
 *
 * Each `sol_<name>` is a plain vectorized loop y[i] = f(x[i]) over one of:
 *   kernel_*    the package's scalar kernels themselves (fg_math.h, fg_fast_f32.h,
 *               fg_fast_f64.h), as fg_array.c inlines them (less its blocks and prefetches);
 *   *_bare      the same arithmetic -- the same polynomial and rational degrees and
 *               coefficients, the same exact t^2 and exp reduction -- with everything that
 *               is there for correctness and nothing else taken out: the input's class (NaN,
 *               +-inf, clamps), the spurious-flag guards, and in the fast float32 kernel the
 *               damped form of m(t) (two divisions instead of one).
 *               Valid only for finite |x| <= 8, and the float ones not within 4 ulp (near 0,
 *               and the direct rational at large |x|): a floor for the design, not a kernel;
 *   fast_bare_plus_*   the fast float32 floor plus one of those pieces (what each costs);
 *   fast_min    the cheapest exp x rational float design: exp of degree 5 and a (4,4)
 *               rational for m(t) (~10 ulp; the fits of a <= 4-ulp kernel need degree 7
 *               and (5,5)).
 * benchmarks/speed_of_light.py builds this file with the package's AVX2 (or baseline) flags,
 * times every loop against PyTorch and fastgelu's ufuncs on one thread, and counts each
 * loop's instructions per 8 elements in the object (objdump).
 */
#include <math.h>
#include <stdint.h>

#include "fg_math.h"
#include "fg_fast_f32.h"
#include "fg_fast_f64.h"

#define SOL_LOOP(name, T, expr)                                                           \
    void sol_##name(const T *restrict x, T *restrict y, long n)                           \
    {                                                                                     \
        _Pragma("omp simd") for (long i = 0; i < n; i++)                                  \
        {                                                                                 \
            T xi = x[i];                                                                  \
            y[i] = (expr);                                                                \
        }                                                                                 \
    }

/* x for x >= 0, -0 for x < 0: one vmaxps (operand order: +0 gives x). A NaN gives x too, but
 * raises FE_INVALID (vmaxps and C's > signal on quiet NaNs), which the kernels may not: they
 * select on the bits (fg__f32_side_x_bits); the bare loops here take finite x only. */
static inline float side_x(float x) { return (-0.0f > x) ? -0.0f : x; }

#if FGF_FLOAT_KERNELS
/* 2^-K c e^{-t^2/2} = 2^-(k+K) pc as the fast kernels form it (exact t^2, two-part
 * reduction, FGF_EXPC of degree 7), and S = 2^(k+K) */
static inline float gauss_c(float t, float *S)
{
    float ks, pc = fgf__gauss_c(t, &ks);
    *S = fgf__scale(ks, 0);
    return pc;
}
/* m(t)/c as one float rational: the exact tier's (5,5) fit of m (FG_M_F, 6.4e-9), its
 * numerator divided by c = 1/sqrt(2pi) (pc carries c); in float its Horner steps lose
 * ~4 units of 2^-24 at large t, the reason the kernel uses the damped form instead */
#define SOL_H5(t, a0, a1, a2, a3, a4, a5) \
    fmaf(t, fmaf(t, fmaf(t, fmaf(t, fmaf(t, (float)(a5), (float)(a4)), (float)(a3)), (float)(a2)), (float)(a1)), (float)(a0))
#define SOL_IC (1.0 / FG_ISQRT2PI_HI)
static inline float m_over_c(float t)
{
    return SOL_H5(t, FG_M_F_P0 * SOL_IC, FG_M_F_P1 * SOL_IC, FG_M_F_P2 * SOL_IC,
                  FG_M_F_P3 * SOL_IC, FG_M_F_P4 * SOL_IC, FG_M_F_P5 * SOL_IC) /
           SOL_H5(t, FG_M_F_Q0, FG_M_F_Q1, FG_M_F_Q2, FG_M_F_Q3, FG_M_F_Q4, FG_M_F_Q5);
}
/* the fast float32 gelu's arithmetic, m(t) a direct rational (one division) */
static inline float fast_bare(float x)
{
    float t = fabsf(x), S, pc = gauss_c(t, &S);
    return fgf__ma(-(t * S), pc * m_over_c(t), side_x(x));
}
/* + the kernel's damped form pc/(t + g), g = 2c + t P/Q (two divisions) */
static inline float fast_bare_plus_damped(float x)
{
    float t = fabsf(x), S, pc = gauss_c(t, &S);
    return fgf__ma(-(t * S), fgf__gelu_A(pc, t), side_x(x));
}
/* + the kernel's class of x (clamps, NaN, +-inf, tiny t, the side of 0 on the bits) */
static inline float fast_bare_plus_class(float x)
{
    fgf__arg a = fgf__arg_of(x, FGF_TPOS, FGF_TNEG, 0);
    float ks, pc = fgf__gauss_c(a.tq, &ks);
    return fgf__ma(-(a.t * fgf__scale(ks, a.c.far)), pc * m_over_c(a.tq), fgf__side_x(a));
}
/* lower degrees than any <= 4-ulp float kernel can have: exp as 1 + v P(v), P of degree 4
 * (9.2e-8 relative), and m(t) a (4,4) rational on [0, 8] (1.4e-7 relative; a (4,4) cannot
 * go below ~1.5e-7), 2^-K folded into its numerator. Both are quick least-squares fits
 * (numpy, Lawson / Loeb iterations), good to ~10 ulp: a real GELU, timed as the cheapest
 * exp x rational there is. */
#define SOL_H4(t, a0, a1, a2, a3, a4) fmaf(t, fmaf(t, fmaf(t, fmaf(t, a4, a3), a2), a1), a0)
static inline float fast_min(float x)
{
    float t = fabsf(x), s = t * t, ks;
    float v = fgf__reduce(s, fgf__prod_err(t, t, s), &ks); /* the kernels' exact reduction */
    float p = fmaf(v, SOL_H4(v, -0x1.fffff6p-2f, 0x1.fffdc6p-4f, -0x1.555a6ap-6f, 0x1.573a4ap-9f,
                             -0x1.0fa80ep-12f), 1.0f);
    float m = SOL_H4(t, 0x1.fffffbp-42f, 0x1.4b780ap-42f, 0x1.976eb6p-44f, 0x1.9df8e0p-47f,
                     0x1.6498e8p-61f) /
              SOL_H4(t, 1.0f, 0x1.71fde2p+0f, 0x1.b44c20p-1f, 0x1.fcafc8p-3f, 0x1.03e884p-5f);
    return fmaf(-(t * fgf__scale(ks, 0)), p * m, side_x(x));
}
SOL_LOOP(fast_bare, float, fast_bare(xi))
SOL_LOOP(fast_bare_plus_damped, float, fast_bare_plus_damped(xi))
SOL_LOOP(fast_bare_plus_class, float, fast_bare_plus_class(xi))
SOL_LOOP(fast_min, float, fast_min(xi))
#endif

/* the exact float32 gelu's arithmetic in double: exp of degree 6 (FG_EXP_F), m (5,5)
 * (FG_M_F), one division, the products; the float64 conversions */
static inline float exact_bare(float x)
{
    double t = fabs((double)x), s = t * t; /* exact: 24 x 24 bits */
    const double shifter = 0x1.8p52;
    double k = fg__ma(s, -0.5 * FG_LOG2E_HI, shifter), kd = k - shifter;
    double v = fg__ma(kd, 2.0 * FG_LN2D_HI, s);
    double S = fg__from_bits((fg__bits(k) << 52) + ((uint64_t)1023 << 52));
    double m = FG_M_F_P(t) / FG_M_F_Q(t);
    uint32_t xb = fg__f32_bits(x); /* side_x on the bits (GCC 12 does not if-convert it here) */
    double xs = (double)fg__f32_from_bits((xb & ~(uint32_t)((int32_t)xb >> 31)) | (xb & 0x80000000u));
    return (float)fg__ma(-(t * S), fg__ma(v, FG_EXP_F_P(v), 1.0) * m, xs);
}
SOL_LOOP(exact_bare, float, exact_bare(xi))

/* the fast float64 gelu's arithmetic (plain double, exact exp argument, expm1 of degree
 * 11, the (10,10) damped Mills ratio): a floor for any float64 design, exact or fast */
static inline double fast64_bare(double x)
{
    double t = fabs(x);
    fg__dd en = fg__gauss(t, FG_FAST64, 0, 1); /* -c e^{-t^2/2} */
    double xs = (-0.0 > x) ? -0.0 : x;
    return fg__ma(en.hi * fg__mills_fd(t), t, xs);
}
SOL_LOOP(fast64_bare, double, fast64_bare(xi))

SOL_LOOP(kernel_fast_f32, float, fg_fast_gelu_f(xi))
SOL_LOOP(kernel_exact_f32, float, fg_gelu_f(xi))
SOL_LOOP(kernel_fast_f64, double, fg_fast_gelu_d(xi))
SOL_LOOP(kernel_exact_f64, double, fg_gelu_d(xi))
