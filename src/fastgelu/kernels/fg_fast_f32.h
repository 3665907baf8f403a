/* fg_fast_f32.h -- the float32 kernels of the fast tier (fastgelu.fast, issue #16):
 * fg_fast_<name>_f, same signatures and special values as fg_<name>_f of fg_math.h, computed
 * in FLOAT arithmetic (8 lanes per AVX2 vector, 16 per AVX-512) instead of the exact tier's
 * double (4 / 8 lanes), for a bound of a few ulp instead of ~0.65.
 *
 * DESIGN (t = |x|, clamped; every select on the float bits, as in fg_math.h):
 *   e^{-t^2/2} = 2^k p:  t^2 = s + e exactly (fma); k = rint(-s/(2ln2));
 *       v = s + 2k ln2 with a 14-bit ln2 head (k HI exact, also without FMA; the sum exact by
 *       the spacing of s) and the tail plus e in a second term; p = 1 + v P(v) (FGF_EXP,
 *       degree 6, 1.7e-8). The power 2^k is applied as S = 2^(k+K), K = 40, a NORMAL float
 *       down to k = -166, and 2^-K goes onto p: every intermediate stays normal and a
 *       subnormal result is rounded once, in the last op.
 *   The erf pair's exp carries c = 1/sqrt(2pi) and 2^-K in its coefficients: pc = c p 2^-K
 *       (FGF_EXPC, degree 7, 1.0e-9: degree 6's 1.5e-8 cost 0.4 ulp at the maximum).
 *   gelu(x)      = xs + (-(t S)) A,  A = p m(t) 2^-K = pc/(t + g(t)),  m(t) = Phi(-t) e^{t^2/2},
 *                  g = c/m - t = 2c + t G(t), G = P/Q (FGF_M, (5,5)); xs = x for x >= 0 (NaN,
 *                  +inf), -0 for x < 0: x<0 gives t S A (t S exact), x>0 gives x - t Phi(-t)
 *                  (no cancellation). g(0) = 2c exactly, and G's error reaches g as t G/(t + g), so
 *                  near 0 only the roundings of g, t + g, pc and the quotient remain (until
 *                  session 8, g = P/Q itself passed its ~1.5 units at full weight there, and
 *                  |x| < 1/2 took a path of its own, x/2 + x^2 R(x^2): 12 instructions per 8
 *                  elements more, 1.16-1.22x the time; tools/fit_coefficients.py damped_fit).
 *   gelu_grad(x) = base +- ((t0 - t) S) B,  B = p k(t) 2^-K = pc (1 + h(t)), h = k/c - 1 = P/Q
 *                  (FGF_K, (5,5)): the zero at -t0 is factored out, t0_hi - t exact near it
 *                  (Sterbenz), so the result keeps its relative accuracy there;
 *                  base = -0 (x<0) / 1 (x>=0) / x (NaN).
 *   gelu_tanh(x) = xs - t es/(2^K + es),  es = e 2^K, e = exp(-u/2), u = 4z(t) = 4ca t (1/a + t^2)
 *                  in float-float: u reaches 450 (t = 11) before the result underflows, so it
 *                  needs ~2^-33 relative; 1/a is split with a 12-bit head so that t^2 + head
 *                  has an exact error term (fma(t, t, head - W)).
 *   gelu_tanh_grad, gelu_tanh_backward and geglu_tanh_backward run the exact tier's kernels
 *                  (<= 1 ulp, its speed): in float, e, B = 1 + e - h factored at the zero t1
 *                  as in fg_math.h, (1 + e)^2 and a division were too long a chain for 4 ulp
 *                  (measured 5.7 ulp AVX2, 6.3 SSE2; the products 3.9 / 5.1).
 * Clamps: t <= 8 for x >= 0 (f = x / 1 to the last bit beyond; keeps the correction's exponent
 *   normal, so no spurious underflow), t <= 15 / 11 (erf / tanh pair) for x < 0 (|f| < 2^-154
 *   beyond: -0; the erf pair rounds its tiny value there, raising underflow; the tanh pair
 *   returns -0 directly (S = 0), since its last op, a division, with a subnormal result ran
 *   5x slower on Zen 3), NaN / +-inf: S = 0, so the arithmetic
 *   returns base exactly (NaN quiet, +inf, 1, -0) and raises nothing; t < 2^-30 is taken as 0
 *   in the fitted parts (t^2 would underflow: a spurious flag where f is 1/2).
 * FUSED products w f(x): the exact tier's kernels (see the public fused kernels below).
 * m(t), k(t) IN FLOAT, DAMPED: as plain float rationals in t ((4,5) / (4,4)) every Horner step
 *   weighs ~1 at large t, and each of P and Q lost ~4 units of 2^-24: gelu / gelu_grad measured
 *   5.8 / 6.1 ulp; a degree-9 polynomial in w = 4/(4+t) 4.7 / 3.8 (its coefficients do not
 *   decay). In the forms above an error d of G or h reaches m, k only as t d/(t + g), d h/(1 + h).
 *   The gelu chain is then pc (exp), g, t + g, the quotient and the product, ~1 unit of 2^-24
 *   each: 3.57 ulp at x = -1.8226 over all 2^32 inputs (AVX2; with G of degree (4,4), 1.3e-8:
 *   3.79 ulp, ~4% faster; the form of sessions 6-7, g = P/Q plus the |x| < 1/2 path: 3.40
 *   ulp); until session 6 m and k were the
 *   exact tier's double rationals (2.5 / 3.1 ulp at 1.4-1.7x the time: AVX2, one core, L1, gelu
 *   1.53 -> 1.10 ns/element, gelu_grad 1.53 -> 0.89, tools/kernel_harness.c fast bench).
 * MEASURED: README "Which tier?" (tools/check_exhaustive_f32.py --tier fast, all 2^32 inputs).
 */
#ifndef FASTGELU_FG_FAST_F32_H
#define FASTGELU_FG_FAST_F32_H

#include "fg_math.h"

/* The float kernels need hardware FMA: without it (the x86-64 baseline build, SSE2) their exact
 * products took Veltkamp splits and ran no faster than the exact tier's double kernels (gelu 5.8
 * vs 5.6 ns/element, 11.4 vs 5.5 where the results are subnormal; tools/kernel_harness.c bench
 * fast), so there the fast tier runs the exact tier's kernels (<= 1 ulp). aarch64's baseline
 * has FMA. */
#define FGF_FLOAT_KERNELS FG_HAS_FMA
#if FGF_FLOAT_KERNELS

/* a*b + c in float, one rounding */
FG_INLINE float fgf__ma(float a, float b, float c) { return fmaf(a, b, c); }
#include "fg_fast_f32_coeffs.h"

/* a*b - p exactly for p = fl(a*b) */
FG_INLINE float fgf__prod_err(float a, float b, float p) { return fmaf(a, b, -p); }
FG_INLINE float fgf__xor_sign(float a, uint32_t m) /* a with m's bits xored in (a sign flip) */
{
    return fg__f32_from_bits(fg__f32_bits(a) ^ m);
}

/* ---- the input's class, on its bits --------------------------------------------------- */
#define FGF_TPOS 8.0f   /* x >= 8: gelu(x) = x, grads 1, to the last bit (corrections < 2^-40) */
#define FGF_TNEG 15.0f  /* erf pair, x < -15: |f| < 2^-159, rounds to -0 */
#define FGF_TNEGT 11.0f /* tanh pair, x < -11: |f| < 2^-154 */
/* the exact tier's class of x (fg__f32_arg: bits, abs, neg, nan, far; zero_tail: far also
 * where x < -tneg), and the clamped |x| of the float kernels */
typedef struct {
    fg__f32_arg c;
    float t;  /* min(|x|, T), T = tneg for x < 0, else tpos (NaN, +inf included) */
    float tq; /* t for the fitted parts: 0 where t < 2^-30 (t^2 would underflow) */
} fgf__arg;

FG_INLINE fgf__arg fgf__arg_of(float x, float tpos, float tneg, const int zero_tail)
{
    fgf__arg a;
    const uint32_t tp = fg__f32_bits(tpos), tn = fg__f32_bits(tneg);
    a.c = fg__f32_arg_of(x, tneg, zero_tail);
    uint32_t tb = tp ^ ((tp ^ tn) & a.c.neg);
    uint32_t tc = (int32_t)a.c.abs < (int32_t)tb ? a.c.abs : tb;
    a.t = fg__f32_from_bits(tc);
    a.tq = fg__f32_from_bits(tc & ~fg__mask32((int32_t)tc < 0x30800000)); /* 2^-30 */
    return a;
}
/* xs: x where x >= 0 (NaN, +inf included), -0 where x < 0 */
FG_INLINE float fgf__side_x(fgf__arg a) { return fg__f32_from_bits(fg__f32_side_x_bits(a.c)); }
/* the gradients' base: -0 for x < 0, 1 for x >= 0, x itself for NaN */
FG_INLINE float fgf__grad_base(fgf__arg a)
{
    uint32_t c = 0x3f800000u ^ (a.c.neg & 0xbf800000u);
    return fg__f32_from_bits((a.c.bits & a.c.nan) | (c & ~a.c.nan));
}
/* the sign flip of the gradients' correction: f'(x) = 1 - f'(-x) for x >= 0 */
FG_INLINE uint32_t fgf__flip(fgf__arg a) { return ~a.c.neg & 0x80000000u; }

/* ---- exp(-(vh + vl)/2) = 2^k p, vh in [0, 640], |vl| <= ulp(vh) ------------------------ */
FG_INLINE float fgf__reduce(float vh, float vl, float *ks)
{
    const float shifter = 0x1.8p23f; /* ks = k + shifter: k in the low mantissa bits */
    float k = fgf__ma(vh, FGF_HLOG2E_HI, shifter);
    float kd = k - shifter;
    *ks = k;
    /* vh + kd 2LN2_HI is exact (multiples of 2^-14, below 1), kd 2LN2_HI too (14 bits) */
    return fgf__ma(kd, FGF_2LN2_HI, vh) + fgf__ma(kd, FGF_2LN2_LO, vl);
}
FG_INLINE float fgf__exp_half(float vh, float vl, float *ks)
{
    float v = fgf__reduce(vh, vl, ks);
    return fgf__ma(v, FGF_EXP_P(v), 1.0f);
}
/* 2^(k+K) as a float (normal for -166 <= k <= 0), 0 where far */
FG_INLINE float fgf__scale(float ks, uint32_t far)
{
    uint32_t u = (fg__f32_bits(ks) << 23) + ((uint32_t)(127 + FGF_K) << 23);
    return fg__f32_from_bits(u & ~far);
}

/* ---- erf pair -------------------------------------------------------------------------- */
/* c 2^-K e^{-t^2/2} = 2^-(k+K) pc: FGF_EXPC carries c = 1/sqrt(2pi) (binary32) and 2^-K in its
 * coefficients, so neither costs an operation */
FG_INLINE float fgf__gauss_c(float t, float *ks)
{
    float s = t * t;
    float v = fgf__reduce(s, fgf__prod_err(t, t, s), ks);
    return fgf__ma(v, FGF_EXPC_P(v), FGF_C2K_HI);
}
/* A = p m(t) 2^-K = pc/(t + g) and B = p k(t) 2^-K = pc (1 + h), g = 2c + t P/Q (FGF_M), h = P/Q
 * (FGF_K): m and k in float, in damped forms. An absolute error d of G = P/Q moves m by
 * t d/(t + g) relative (0 at t = 0, ~0.2 d at t ~ 1, ~2c/t^2 at large t), a relative one d of h
 * moves k by d h/(1 + h) (h ~ 0.67 .. t0/t), so the Horner steps that weigh ~1 at large t do not
 * reach the result (as direct float rationals in t, 5.8 / 6.1 ulp). (For m, c Q/(t Q + P), one
 * division less, ran at the same speed on Zen 3, 1.16 ns/element both, best of 8 interleaved
 * runs, and rounds once more. A timing-only variant with both divisions replaced by
 * multiplications ran 4-7% faster (1.08 vs 1.15, 1.24 vs 1.32 ns, three interleaved runs): the
 * divider is not what limits this loop; the multiply-adds are, at ~0.5 cycle each, and each
 * other vector operation beside them costs ~0.2 more (Zen 3, measured: FMAs alone 0.49 cycles
 * each, FMA + vpand 0.74 per pair). benchmarks/speed_of_light.py times these pieces.) */
FG_INLINE float fgf__gelu_A(float pc, float t)
{
    return pc / (t + fgf__ma(t, FGF_M_P(t) / FGF_M_Q(t), FGF_2C_HI));
}
FG_INLINE float fgf__gelu_grad_B(float pc, float t) { return fgf__ma(pc, FGF_K_P(t) / FGF_K_Q(t), pc); }
FG_INLINE float fgf__t0_minus(float t) { return (FGF_T0_HI - t) + FGF_T0_LO; }

/* ---- tanh pair ------------------------------------------------------------------------- */
/* exp(-2z(t)) = 2^k p; u = 4z(t) = 4ca t W, W = 1/a + t^2, both in float-float */
FG_INLINE float fgf__tanh_exp(float t, float *ks)
{
    float wh = fmaf(t, t, FGF_INVA_HI);
    float wl = fmaf(t, t, FGF_INVA_HI - wh) + FGF_INVA_LO; /* INVA_HI - wh exact: 12-bit head */
    float ph = FGF_4CA_HI * t;
    float pl = fgf__ma(FGF_4CA_LO, t, fgf__prod_err(FGF_4CA_HI, t, ph));
    float uh = ph * wh;
    float ul = fgf__ma(pl, wh, fgf__ma(ph, wl, fgf__prod_err(ph, wh, uh)));
    return fgf__exp_half(uh, ul, ks);
}
#define FGF_ONE_K 0x1p40f /* 2^K */

#endif /* FGF_FLOAT_KERNELS */

/* ---- public unary kernels -------------------------------------------------------------- */
FG_INLINE float fg_fast_gelu_f(float x)
{
#if FGF_FLOAT_KERNELS
    fgf__arg a = fgf__arg_of(x, FGF_TPOS, FGF_TNEG, 0);
    float ks, pc = fgf__gauss_c(a.tq, &ks);
    return fgf__ma(-(a.t * fgf__scale(ks, a.c.far)), fgf__gelu_A(pc, a.tq), fgf__side_x(a));
#else
    return fg_gelu_f(x);
#endif
}
FG_INLINE float fg_fast_gelu_grad_f(float x)
{
#if FGF_FLOAT_KERNELS
    fgf__arg a = fgf__arg_of(x, FGF_TPOS, FGF_TNEG, 0);
    float ks, pc = fgf__gauss_c(a.tq, &ks);
    /* (t0 - t) 2^(k+K), sign-flipped for x >= 0: exact */
    float c = fgf__xor_sign(fgf__t0_minus(a.tq) * fgf__scale(ks, a.c.far), fgf__flip(a));
    return fgf__ma(c, fgf__gelu_grad_B(pc, a.tq), fgf__grad_base(a));
#else
    return fg_gelu_grad_f(x);
#endif
}
FG_INLINE float fg_fast_gelu_tanh_f(float x)
{
#if FGF_FLOAT_KERNELS
    fgf__arg a = fgf__arg_of(x, FGF_TPOS, FGF_TNEGT, 1); /* tail: -0 */
    float ks, p = fgf__tanh_exp(a.tq, &ks);
    float es = p * fgf__scale(ks, a.c.far);
    return fgf__side_x(a) - (a.t * es) / (FGF_ONE_K + es);
#else
    return fg_gelu_tanh_f(x);
#endif
}
FG_INLINE float fg_fast_gelu_tanh_grad_f(float x)
{
    return fg_gelu_tanh_grad_f(x);
}

/* ---- public fused kernels -------------------------------------------------------------
 * The exact tier's (<= 1 ulp, rounded once): products formed from these kernels' float parts
 * combined in double ran 0.73-0.94x the exact ones' speed (gelu_backward, geglu, float32, one
 * thread, n = 1e4..1e6: python -m fastgelu bench), the double steps and conversions costing
 * more than the float exp saves. Measured again with the float m, k (session 6): gelu_backward
 * as pc, h in float and v = base + (t0 - t) pc (1 + h) 2^(k+K), g v in double (double needed for
 * 2^(k+K) below 2^-126 down to x = -24 and for g up to FLT_MAX; 2.46 ulp sampled) ran at the
 * exact kernel's speed, 2.42 vs 2.45 ns/element (AVX2, one thread, n = 16384 .. 1e6, while the
 * unary fast gelu_grad ran 1.08): 103 instructions per 8 elements, 24 of them conversions and
 * 64-bit lane work. All in float, g (base + c B) ran 1.03 ns/element against the exact kernel's
 * 2.13 (AVX2, one core, L1), but with five float roundings it measured 3.65 ulp (sampled
 * (g, x) pairs) and needs g and 2^(k+K) kept apart. With that done in float (g pc exact as a
 * sum of two floats, d scaled to [1/2, 1) and 2^k moved onto B in three exact steps, g = 0 /
 * inf through g = 1; 3.62 ulp sampled) it ran at the exact kernel's speed again, 2.10 vs 2.06
 * ns/element: the exponent work costs what the float exp saves.
 * Session 7, a fourth design, built, tested and measured, then withdrawn: g B split exactly
 * (u + ue = g B by fma), y = 2^-64 fma(u, c 2^64, fma(ue, c 2^64, g base 2^64)) -- one rounding
 * of the product; the 2^64 keeps ue c normal wherever y is (unscaled: a spurious underflow for
 * y < 2^-102) -- on the inputs where the float ranges hold (x finite, g = 0 or 2^-60 <= |g| <=
 * 2^60, x >= -15 unless |g| <= 2^8), the array loop testing each block of 128 by the extremes
 * of its inputs' bits (9 instructions per 8 elements) and giving the other elements to the
 * exact kernel. 71 + 9 instructions per 8 elements against the exact kernel's 114, 1.38-1.41
 * ns/element against 2.02-2.05 (one core, L1, x = 3 N(0,1)) -- but 3.97 ulp: every 23rd x with
 * 18 multipliers had shown 3.67, a sweep of 2^16 multiplier mantissas at the worst x found
 * 3.97 at x = 0.00047 (near 0, f' = 1 - c B passes c B's ~2.7 units of 2^-24 at full weight).
 * Made safe -- |x| < 1/4 as g/2 + x g Q(x^2) (a degree-3 fit), t0 split with a 2^-20-multiple
 * head so that t0_hi - t is exact for t >= 1/4 -- it measured 3.653 ulp (dense grid plus the
 * mantissa sweep), but 82 + 9 instructions and 1.07-1.20x the exact kernel's speed (0.97x for
 * x = 6 N(0,1), where blocks holding x < -15 compute both kernels): too little for a 7x looser
 * bound and ~200 lines of loop and test machinery.
 * Session 8, that design again with h pinned at 0 as m is (h = h0 + t P/Q, (4,4), h0 = h(0) in
 * binary32): its near-0 maximum fell from 4.13 to 3.62 ulp (x every 64th float in [2^-20, 1]
 * both signs, 64 multipliers, then 2^16 multiplier mantissas at the 32 worst x), but the tail
 * rose to 4.53 (x = -11.77): at large t, t P/Q ~ -h0 cancels h0, and P/Q's Horner errors pass
 * at ~h0/(1 + h) ~ 0.67 where FGF_K's form, k = c (1 + P/Q), damps them by h/(1 + h). Not kept. */
FG_INLINE float fg_fast_gelu_backward_f(float g, float x) { return fg_gelu_backward_f(g, x); }
FG_INLINE float fg_fast_gelu_tanh_backward_f(float g, float x)
{
    return fg_gelu_tanh_backward_f(g, x);
}
FG_INLINE float fg_fast_geglu_f(float a, float b) { return fg_geglu_f(a, b); }
FG_INLINE float fg_fast_geglu_tanh_f(float a, float b) { return fg_geglu_tanh_f(a, b); }
FG_INLINE void fg_fast_geglu_backward_f(float g, float a, float b, float *da, float *db)
{
    fg_geglu_backward_f(g, a, b, da, db);
}
FG_INLINE void fg_fast_geglu_tanh_backward_f(float g, float a, float b, float *da, float *db)
{
    fg_geglu_tanh_backward_f(g, a, b, da, db);
}

#endif /* FASTGELU_FG_FAST_F32_H */
