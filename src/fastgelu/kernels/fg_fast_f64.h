/* fg_fast_f64.h -- the float64 kernels of the fast tier (fastgelu.fast, issue #16):
 * fg_fast_<name>_d, with the signatures of fg_<name>_d (fg_math.h).
 *
 * Contract: <= 4 ulp (the exact tier: <= 0.76), relative down to where the true result
 * underflows; special values, NaN payloads and FP flags as the exact tier.
 * MEASURED (tools/kernel_harness.c `fast f64` on the 195k-point mpmath sample of
 * fit_coefficients.py --reference and on a second one of seed 2, tails and the gradients'
 * zeros included; max of both, AVX2): gelu 3.41 ulp, gelu_grad 3.27, gelu_tanh 2.53,
 * gelu_tanh_grad 3.80; the fused kernels <= 3.95 (30k samples, |w| in 1e-3..1e3; beyond the
 * clamps f is -0 as in the exact tier). Needs FMA (see the public kernels below). Every
 * rounding on the way is ~1 ulp of the result near the top of a binade, so the formulas are
 * arranged for few of them: a*b + c as one fma,
 * constants folded into exact power-of-two scalings, m and k with damped rounding.
 * SPEED (kernel harness bench, 4096 doubles in L1, one core, A/B in the same run, AVX2):
 * 2.5x (gelu, gelu_grad) to 1.8x (gelu_tanh_grad) the exact tier's float64 throughput;
 * gelu's loop is 25 instructions per element, 47 of the 100 per vector FMA/multiplies
 * (exp of degree 11 and the (10,10) rational for m are most of them).
 *
 * Design: the exact tier's left sides (fg__<fn>_left, fg_math.h) at precision level
 * FG_FAST64: plain double arithmetic, except exp's argument (t^2 by two_prod; the tanh
 * pair's u = 4z(t) as a double-double), which must be exact to ~2^-55 absolute where it
 * reaches ~1600; expm1 of degree 11 and one rational per factor (FG_*_FD, fg_coeffs.h).
 * As in the exact tier the left side is computed x 2^600 (no precision lost to subnormal
 * intermediates) and the right side follows from f(t) = t + f(-t), f'(t) = 1 - f'(-t).
 *
 * Special inputs, with no flag the exact tier does not raise, by few operations:
 *   - |x| is clamped at the left-tail clamp T for x < 0 and at FG_EXACT_D (10) for x >= 0,
 *     where f(x) = x + (a value < 2^-60 x) and f' = 1 - (< 2^-60) round to x and 1: the
 *     left-side value then never underflows on the right side;
 *   - t + FG_FAST64_TLO (2^-62) where t^2 and the Estrin powers are formed: they cannot
 *     underflow (tiny x), and f(-t) moves by < 2^-60 relative (gelu: only e^{-t^2/2} and
 *     m(t), the linear factor is t);
 *   - x = +-inf: the 2^-600 unscaling is 0 instead, so f(-inf) = (clamped value) * 0 = -0
 *     exactly, with no underflow, and f(+inf) = x + 0 or 1 - 0;
 *   - NaN: fg__keep_nan, as the exact tier; the gradients at |x| < 2^-60: exactly 1/2.
 * Branch-free under the rules of fg_math.h (bit selects, no FP compare).
 */
#ifndef FASTGELU_FG_FAST_F64_H
#define FASTGELU_FG_FAST_F64_H

#include "fg_math.h"

/* min(|x|, T) for x < 0, min(x, FG_EXACT_D) for x >= 0, and 0 for a NaN: a NaN reaching the
 * arithmetic would reach 2^k's integer bits too, and its payload could make an overflowing or
 * underflowing power (measured: FE_OVERFLOW on SSE2, FE_UNDERFLOW on AVX2 for random quiet-NaN
 * payloads); the kernels' last step (fg__keep_nan, also in the products' f(x)) returns the NaN. */
FG_INLINE double fg__fast_t(double x, double T)
{
    double t = fg__clamp(fabs(x), fg__sel_neg(x, T, FG_EXACT_D));
    return fg__sel_mask(fg__mask_abs_below(t, INFINITY), t, 0.0);
}
/* 2^-600 (the left side's scale), 0 for x = +-inf (and NaN: fg__keep_nan decides there). */
FG_INLINE double fg__fast_unscale(double x)
{
    return fg__sel_mask(fg__mask_abs_below(x, INFINITY), 0x1p-600, 0.0);
}
/* f'(x) from g = f'(-t) 2^600: g for x < 0, 1 - g for x >= 0, 1/2 for |x| < 2^-60 */
FG_INLINE double fg__fast_grad(double x, double g)
{
    g *= fg__fast_unscale(x);
    double y = fg__sel_neg(x, g, 1.0 - g);
    return fg__keep_nan(x, fg__sel_mask(fg__mask_abs_below(x, FG_TINY_D), 0.5, y));
}

/* the gradients' left side f'(-t) 2^600, from t + FG_FAST64_TLO (f'(-t) = 1/2 + O(t)) */
FG_INLINE double fg__fast_gelu_grad_left(double x)
{
    return fg__gelu_grad_left(fg__fast_t(x, FG_TMAX_D_HI) + FG_FAST64_TLO, FG_FAST64, 600).hi;
}
FG_INLINE double fg__fast_gelu_tanh_grad_left(double x)
{
    return fg__gelu_tanh_grad_left(fg__fast_t(x, FG_TMAXT_D_HI) + FG_FAST64_TLO, FG_FAST64, 600).hi;
}
/* e 2^600, e = exp(-u/2) = exp(-2z(t)), and 1 + e (e there 0 where below 2^-110) */
FG_INLINE double fg__fast_tanh_e(double t, double *one_plus_e)
{
    fg__dd u = fg__tanh_u(1, t + FG_FAST64_TLO);
    double ks;
    fg__dd em1 = fg__expm1_half(u.hi, u.lo, FG_FAST64, 0, &ks);
    double S = fg__pow2(ks, 600, 0);
    fg__dd es = fg__mk(fg__ma(em1.hi, S, S), 0.0);
    *one_plus_e = 1.0 + fg__unscale_beside_one(es).hi;
    return es.hi;
}

/* gelu(x) = gelu(-t) for x < 0, x + gelu(-t) for x >= 0 (t = x there, but for x > 10) */
FG_INLINE double fg__fast_gelu_value(double x)
{
    double t = fg__fast_t(x, FG_TMAX_D_HI);
    double g = fg__gelu_left(t, FG_FAST64, 600).hi * fg__fast_unscale(x);
    return fg__sel_neg(x, g, x + g);
}
/* gelu_tanh(-t) = -t e/(1 + e), gelu_tanh(x) = x/(1 + e) for x >= 0 */
FG_INLINE double fg__fast_gelu_tanh_value(double x)
{
    double t = fg__fast_t(x, FG_TMAXT_D_HI), den;
    double es = fg__fast_tanh_e(t, &den);
    double q = fg__sel_neg(x, t * es, x) / den;
    return q * fg__sel_neg(x, -fg__fast_unscale(x), 1.0);
}

/* ---- the fused products w f(x) -------------------------------------------------------------
 * As the exact tier's (FG__DEFINE_TIMES_D: the double-double product w f rounded once, the
 * same special values and flags), from f(x) as (hi, 0, scale): the fast value before its
 * last scaling, so the product keeps its precision where f(x) is subnormal; x > 10 (+inf)
 * is f(x) = x or 1 itself (scale 1). <= f's relative error + 1/2 ulp. */
FG_INLINE fg__scaled_dd fg__fast_scaled(double x, double v) /* v = f(x) 2^600 for x <= 10 */
{
    return fg__scaled_or_identity(x, FG_EXACT_D, fg__mk(fg__keep_nan(x, v), 0.0));
}
FG_INLINE fg__scaled_dd fg__fast_gelu_scaled(double x)
{
    double t = fg__fast_t(x, FG_TMAX_D_HI);
    double g = fg__gelu_left(t, FG_FAST64, 600).hi;
    return fg__fast_scaled(x, fg__sel_neg(x, g, fg__ma(t, 0x1p600, g)));
}
FG_INLINE fg__scaled_dd fg__fast_grad_scaled(double x, double g) /* g = f'(-t) 2^600 */
{
    return fg__mk_scaled(fg__keep_nan(x, fg__sel_neg(x, g, 0x1p600 - g)), 0.0, 0x1p-600);
}
FG_INLINE fg__scaled_dd fg__fast_gelu_grad_scaled(double x)
{
    return fg__fast_grad_scaled(x, fg__fast_gelu_grad_left(x));
}
FG_INLINE fg__scaled_dd fg__fast_gelu_tanh_scaled(double x)
{
    double t = fg__fast_t(x, FG_TMAXT_D_HI), den;
    double es = fg__fast_tanh_e(t, &den);
    return fg__fast_scaled(x, fg__sel_neg(x, -(t * es), t * 0x1p600) / den);
}
FG_INLINE fg__scaled_dd fg__fast_gelu_tanh_grad_scaled(double x)
{
    return fg__fast_grad_scaled(x, fg__fast_gelu_tanh_grad_left(x));
}
FG__DEFINE_TIMES_D(fg__fast_times_gelu_d, fg__fast_gelu_scaled, FG_TMAX_D_HI, fg__half_scaled)
FG__DEFINE_TIMES_D(fg__fast_times_gelu_grad_d, fg__fast_gelu_grad_scaled, FG_TMAX_D_HI, fg__one_half_scaled)
FG__DEFINE_TIMES_D(fg__fast_times_gelu_tanh_d, fg__fast_gelu_tanh_scaled, FG_TMAXT_D_HI, fg__half_scaled)
FG__DEFINE_TIMES_D(fg__fast_times_gelu_tanh_grad_d, fg__fast_gelu_tanh_grad_scaled, FG_TMAXT_D_HI,
                   fg__one_half_scaled)

/* ---- public kernels ----------------------------------------------------------------------
 * Without hardware FMA (the x86-64 baseline build, SSE2) the fast tier runs the exact tier's
 * kernels, as its float32 kernels do (fg_fast_f32.h): there exact products by two_prod in place of
 * the FMAs kept the unary kernels within 4 ulp (<= 3.80; 3x faster than the exact ones) but a
 * product w f'(x) next to the tanh gradient's zero measured 4.03 ulp. */
#if FG_HAS_FMA
#define FG__FAST64(fast, exact) fast
#else
#define FG__FAST64(fast, exact) exact
#endif
FG_INLINE double fg_fast_gelu_d(double x)
{ return FG__FAST64(fg__keep_nan(x, fg__fast_gelu_value(x)), fg_gelu_d(x)); }
FG_INLINE double fg_fast_gelu_grad_d(double x)
{ return FG__FAST64(fg__fast_grad(x, fg__fast_gelu_grad_left(x)), fg_gelu_grad_d(x)); }
FG_INLINE double fg_fast_gelu_tanh_d(double x)
{ return FG__FAST64(fg__keep_nan(x, fg__fast_gelu_tanh_value(x)), fg_gelu_tanh_d(x)); }
FG_INLINE double fg_fast_gelu_tanh_grad_d(double x)
{ return FG__FAST64(fg__fast_grad(x, fg__fast_gelu_tanh_grad_left(x)), fg_gelu_tanh_grad_d(x)); }

/* fused: fg_fast_<name>_backward_d(g, x) = g f'(x); fg_fast_<gate>_d(a, b) = f(a) b;
 * fg_fast_<gate>_backward_d(g, a, b, &da, &db): da = g b f'(a) (g b a guarded double-double,
 * as in the exact tier), db = g f(a) */
FG_INLINE double fg_fast_gelu_backward_d(double g, double x)
{ return FG__FAST64(fg__fast_times_gelu_grad_d(g, 0.0, 0, 1.0, x), fg_gelu_backward_d(g, x)); }
FG_INLINE double fg_fast_gelu_tanh_backward_d(double g, double x)
{
    return FG__FAST64(fg__fast_times_gelu_tanh_grad_d(g, 0.0, 0, 1.0, x),
                      fg_gelu_tanh_backward_d(g, x));
}
FG_INLINE double fg_fast_geglu_d(double a, double b)
{ return FG__FAST64(fg__fast_times_gelu_d(b, 0.0, 0, 1.0, a), fg_geglu_d(a, b)); }
FG_INLINE double fg_fast_geglu_tanh_d(double a, double b)
{ return FG__FAST64(fg__fast_times_gelu_tanh_d(b, 0.0, 0, 1.0, a), fg_geglu_tanh_d(a, b)); }
FG_INLINE void fg_fast_geglu_backward_d(double g, double a, double b, double *da, double *db)
{
#if FG_HAS_FMA
    fg__wprod gb = fg__two_prod_guarded(g, b);
    *da = fg__fast_times_gelu_grad_d(gb.hi, gb.lo, 1, gb.scale, a);
    *db = fg__fast_times_gelu_d(g, 0.0, 0, 1.0, a);
#else
    fg_geglu_backward_d(g, a, b, da, db);
#endif
}
FG_INLINE void fg_fast_geglu_tanh_backward_d(double g, double a, double b, double *da, double *db)
{
#if FG_HAS_FMA
    fg__wprod gb = fg__two_prod_guarded(g, b);
    *da = fg__fast_times_gelu_tanh_grad_d(gb.hi, gb.lo, 1, gb.scale, a);
    *db = fg__fast_times_gelu_tanh_d(g, 0.0, 0, 1.0, a);
#else
    fg_geglu_tanh_backward_d(g, a, b, da, db);
#endif
}

#endif /* FASTGELU_FG_FAST_F64_H */
