/* kernel_harness.c -- accuracy, special-value, FP-flag and speed harness for the scalar
 * kernels of src/fastgelu/kernels/fg_math.h.
 *
 * One file, two roles.  Compiled with -DFG_HARNESS_KERNELS=<isa> it is a kernel object:
 * the array loops `y[i] = fg_<fn>_<f|d>(x[i])` under `#pragma omp simd`, like the
 * package's loops (less their blocks and prefetches, which matter only for arrays beyond
 * the caches: benchmarks/prefetch_sweep.c), compiled with that ISA's flags.  Compiled with -DFG_HARNESS_MAIN it is
 * the driver, linked with the three kernel objects, so every check runs every ISA build on
 * the same inputs against the same reference:
 *
 *   K=src/fastgelu/kernels; H=tools/kernel_harness.c
 *   F="-O3 -ffp-contract=off -fno-math-errno -fopenmp-simd -I$K"
 *   gcc $F -DFG_HARNESS_KERNELS=sse2 -c $H -o /tmp/k_sse2.o
 *   gcc $F -mavx2 -mfma -DFG_HARNESS_KERNELS=avx2 -c $H -o /tmp/k_avx2.o
 *   gcc $F -mavx512f -mavx512dq -mavx512vl -mavx512bw -mavx2 -mfma \
 *       -DFG_HARNESS_KERNELS=avx512 -c $H -o /tmp/k_avx512.o
 *   gcc -O2 -fopenmp -I$K -DFG_HARNESS_MAIN $H /tmp/k_*.o -lm -o /tmp/fg_harness
 *   (add -fopt-info-vec-optimized -fopt-info-vec-missed to the kernel builds for the
 *    vectorization report)
 *
 *   /tmp/fg_harness exhaustive [step]  all 2^32 float32 inputs (or every step-th) vs a
 *                                      long-double reference; OpenMP over the cores
 *   /tmp/fg_harness f64 FILE           float64 sample vs mpmath references (FILE from
 *                                      python3 tools/fit_coefficients.py --reference FILE)
 *   /tmp/fg_harness special            special-value table, both precisions
 *   /tmp/fg_harness bench              ns/element, 4096-element arrays (in L1)
 *   /tmp/fg_harness fast <mode> ...    the same with the fast tier's kernels (fg_fast_f32.h,
 *                                      fg_fast_f64.h; bound 4 ulp): exhaustive, f64 FILE,
 *                                      special (float64 also bit for bit against the exact
 *                                      tier), bench (exact and fast tiers A/B, interleaved)
 *
 * ULP: |y - ref| / ulp(ref), ulp(ref) = 2^(floor(log2|ref|) - 23) (float) or - 52 (double),
 * never below the subnormal spacing 2^-149 / 2^-1074.  FP flags: FE_INVALID, FE_DIVBYZERO,
 * FE_OVERFLOW raised by an array call over finite/inf/quiet-NaN inputs are reported.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdint.h>
#include <string.h>

#define FG_CAT_(a, b) a##_##b
#define FG_CAT(a, b) FG_CAT_(a, b)

#ifdef FG_HARNESS_KERNELS
#include "fg_math.h"
#include "fg_fast_f64.h"
/* one loop per line, so that -fopt-info-vec reports each function and type separately */
#define FG_DEF_F(fn)                                                                   \
    void FG_CAT(fn##_af, FG_HARNESS_KERNELS)(const float *x, float *y, long n)         \
    {                                                                                  \
        _Pragma("omp simd") for (long i = 0; i < n; i++) y[i] = fg_##fn##_f(x[i]);     \
    }
#define FG_DEF_D(fn)                                                                   \
    void FG_CAT(fn##_ad, FG_HARNESS_KERNELS)(const double *x, double *y, long n)       \
    {                                                                                  \
        _Pragma("omp simd") for (long i = 0; i < n; i++) y[i] = fg_##fn##_d(x[i]);     \
    }
FG_DEF_F(gelu)           /* gelu           float32 */
FG_DEF_F(gelu_grad)      /* gelu_grad      float32 */
FG_DEF_F(gelu_tanh)      /* gelu_tanh      float32 */
FG_DEF_F(gelu_tanh_grad) /* gelu_tanh_grad float32 */
FG_DEF_D(gelu)           /* gelu           float64 */
FG_DEF_D(gelu_grad)      /* gelu_grad      float64 */
FG_DEF_D(gelu_tanh)      /* gelu_tanh      float64 */
FG_DEF_D(gelu_tanh_grad) /* gelu_tanh_grad float64 */
#include "fg_fast_f32.h" /* the fast tier's kernels: the driver's `fast` prefix */
FG_DEF_F(fast_gelu)           /* fast gelu           float32 */
FG_DEF_F(fast_gelu_grad)      /* fast gelu_grad      float32 */
FG_DEF_F(fast_gelu_tanh)      /* fast gelu_tanh      float32 */
FG_DEF_F(fast_gelu_tanh_grad) /* fast gelu_tanh_grad float32 */
#define FG_DEF_FAST_D(fn)                                                              \
    void FG_CAT(fast_##fn##_ad, FG_HARNESS_KERNELS)(const double *x, double *y, long n) \
    {                                                                                  \
        _Pragma("omp simd") for (long i = 0; i < n; i++) y[i] = fg_fast_##fn##_d(x[i]); \
    }
FG_DEF_FAST_D(gelu)           /* fast gelu           float64 */
FG_DEF_FAST_D(gelu_grad)      /* fast gelu_grad      float64 */
FG_DEF_FAST_D(gelu_tanh)      /* fast gelu_tanh      float64 */
FG_DEF_FAST_D(gelu_tanh_grad) /* fast gelu_tanh_grad float64 */
#endif /* FG_HARNESS_KERNELS */

#ifdef FG_HARNESS_MAIN
#define M_SQRT1_2L_ 0.707106781186547524400844362104849039L
#include <fenv.h>
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

typedef void (*arr_f)(const float *, float *, long);
typedef void (*arr_d)(const double *, double *, long);

#define FG_DECL(fn, isa)                                                                \
    void fn##_af_##isa(const float *, float *, long);                                   \
    void fn##_ad_##isa(const double *, double *, long);                                 \
    void fast_##fn##_ad_##isa(const double *, double *, long);
#define FG_DECL_ISA(isa)                                                                \
    FG_DECL(gelu, isa) FG_DECL(gelu_grad, isa) FG_DECL(gelu_tanh, isa) FG_DECL(gelu_tanh_grad, isa) \
    FG_DECL(fast_gelu, isa) FG_DECL(fast_gelu_grad, isa) FG_DECL(fast_gelu_tanh, isa)              \
    FG_DECL(fast_gelu_tanh_grad, isa)
FG_DECL_ISA(sse2)
FG_DECL_ISA(avx2)
FG_DECL_ISA(avx512)

#define NFN 4
#define NISA 3
static const char *fn_name[NFN] = {"gelu", "gelu_grad", "gelu_tanh", "gelu_tanh_grad"};
static const char *isa_name[NISA] = {"sse2", "avx2+fma", "avx512"};
static arr_f AF[NISA][NFN] = {
    {gelu_af_sse2, gelu_grad_af_sse2, gelu_tanh_af_sse2, gelu_tanh_grad_af_sse2},
    {gelu_af_avx2, gelu_grad_af_avx2, gelu_tanh_af_avx2, gelu_tanh_grad_af_avx2},
    {gelu_af_avx512, gelu_grad_af_avx512, gelu_tanh_af_avx512, gelu_tanh_grad_af_avx512}};
/* `fast exhaustive [step]`, `fast special`, `fast bench`: the float32 rows are the fast tier's
 * kernels (bound 4 ulp instead of 1; bench then also times the exact tier's, interleaved) */
static arr_f AF_FAST[NISA][NFN] = {
    {fast_gelu_af_sse2, fast_gelu_grad_af_sse2, fast_gelu_tanh_af_sse2, fast_gelu_tanh_grad_af_sse2},
    {fast_gelu_af_avx2, fast_gelu_grad_af_avx2, fast_gelu_tanh_af_avx2, fast_gelu_tanh_grad_af_avx2},
    {fast_gelu_af_avx512, fast_gelu_grad_af_avx512, fast_gelu_tanh_af_avx512, fast_gelu_tanh_grad_af_avx512}};
static double ulp_bound = 1.0;
static arr_d AD_EXACT[NISA][NFN] = {
    {gelu_ad_sse2, gelu_grad_ad_sse2, gelu_tanh_ad_sse2, gelu_tanh_grad_ad_sse2},
    {gelu_ad_avx2, gelu_grad_ad_avx2, gelu_tanh_ad_avx2, gelu_tanh_grad_ad_avx2},
    {gelu_ad_avx512, gelu_grad_ad_avx512, gelu_tanh_ad_avx512, gelu_tanh_grad_ad_avx512}};
#define FG_FAST_ROW(isa) \
    {fast_gelu_ad_##isa, fast_gelu_grad_ad_##isa, fast_gelu_tanh_ad_##isa, fast_gelu_tanh_grad_ad_##isa}
static arr_d AD_FAST[NISA][NFN] = {FG_FAST_ROW(sse2), FG_FAST_ROW(avx2), FG_FAST_ROW(avx512)};
/* the float64 kernels every mode runs: the exact tier's, or with the `fast` prefix the fast
 * tier's (f64 and special then also compare with the exact tier; bench runs both) */
static arr_d (*AD)[NFN] = AD_EXACT;
static int fast_tier = 0;

static int isa_ok(int i)
{
    __builtin_cpu_init();
    if (i == 1) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (i == 2)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
    return 1;
}

/* ---------------------------------------------------------------- long double reference */
static const long double C_L = 0.797884560802865355879892119868763737L;  /* sqrt(2/pi) */
static const long double A_L = 0.044715L;
static const long double ISQ2PI_L = 0.398942280401432677939946059934381868L;

/* x is a float, so x*x is exact in long double (48 bits); t^3 has 72 bits (2^-64 rel). */
static void ref_f(float xf, long double out[NFN])
{
    long double x = xf;
    if (isnan(x)) {
        out[0] = out[1] = out[2] = out[3] = NAN;
        return;
    }
    if (isinf(x)) {
        out[0] = out[2] = x > 0 ? x : 0.0L;
        out[1] = out[3] = x > 0 ? 1.0L : 0.0L;
        return;
    }
    long double Phi = x < 0 ? 0.5L * erfcl(-x * M_SQRT1_2L_) : 1.0L - 0.5L * erfcl(x * M_SQRT1_2L_);
    long double phi = expl(-0.5L * (x * x)) * ISQ2PI_L;
    out[0] = x * Phi;
    out[1] = Phi + x * phi;
    long double t = fabsl(x);
    long double ee = expl(-2.0L * C_L * (t + A_L * (t * t) * t)); /* exp(-2 z(|x|)) */
    long double h = 2.0L * C_L * t * (1.0L + 3.0L * A_L * (t * t));
    long double den = (1.0L + ee) * (1.0L + ee);
    if (x < 0) {
        out[2] = -t * ee / (1.0L + ee);
        out[3] = ee * ((1.0L + ee) - h) / den;
    } else {
        out[2] = x / (1.0L + ee);
        out[3] = (1.0L + ee + ee * h) / den;
    }
}

static double ulp_err(long double y, long double ref, int mant, int emin)
{
    if (isnan(ref)) return isnan(y) ? 0.0 : INFINITY;
    if (isnan(y)) return INFINITY;
    if (y == ref) return 0.0;
    if (isinf(ref) || isinf(y)) return INFINITY;
    int e;
    frexpl(fabsl(ref), &e); /* |ref| = m 2^e, m in [0.5, 1) */
    int ue = e - mant;      /* mant = 24 (float), 53 (double) */
    if (ue < emin) ue = emin;
    return (double)(fabsl(y - ref) / ldexpl(1.0L, ue));
}

static int bad_flags(void) { return fetestexcept(FE_INVALID | FE_DIVBYZERO | FE_OVERFLOW); }

/* Function f of ISA build i at one point x, in float32 (prec 0: x rounded to float) or
 * float64, with the FP flags cleared first (bad_flags() then reports this call's). */
static double eval1(int i, int f, int prec, double x)
{
    feclearexcept(FE_ALL_EXCEPT);
    if (prec == 0) {
        float xf = (float)x, yf;
        AF[i][f](&xf, &yf, 1);
        return yf;
    }
    double y;
    AD[i][f](&x, &y, 1);
    return y;
}

static int is_snan_f(uint32_t u)
{
    return ((u & 0x7f800000u) == 0x7f800000u) && (u & 0x007fffffu) && !(u & 0x00400000u);
}

/* ---------------------------------------------------------------- exhaustive float32 */
typedef struct {
    double max;
    float arg;
    long n_half; /* > 0.5 ulp */
    long n_one;  /* > 1 ulp */
    long flags;
    float flag_arg;
} stat_t;

static int run_exhaustive(uint64_t step)
{
    enum { B = 1 << 14 };
    static stat_t S[NISA][NFN];
    int ok[NISA];
    for (int i = 0; i < NISA; i++) ok[i] = isa_ok(i);
    for (int i = 0; i < NISA; i++)
        for (int f = 0; f < NFN; f++) S[i][f].max = -1.0;
    const uint64_t total = 1ull << 32;
    const long nblocks = (long)(total / ((uint64_t)B * step));
    long done = 0;
    double t0 = omp_get_wtime();
#pragma omp parallel
    {
        stat_t L[NISA][NFN];
        memset(L, 0, sizeof L);
        for (int i = 0; i < NISA; i++)
            for (int f = 0; f < NFN; f++) L[i][f].max = -1.0;
        float *x = malloc(sizeof(float) * B), *y = malloc(sizeof(float) * B * NISA * NFN);
        long double *r = malloc(sizeof(long double) * B * NFN);
#pragma omp for schedule(dynamic, 16)
        for (long b = 0; b < nblocks; b++) {
            for (int j = 0; j < B; j++) {
                uint32_t u = (uint32_t)(((uint64_t)b * B + (uint64_t)j) * step);
                memcpy(&x[j], &u, 4);
                if (is_snan_f(u)) x[j] = NAN; /* a signalling NaN raises FE_INVALID on any load-convert */
            }
            for (int i = 0; i < NISA; i++) {
                if (!ok[i]) continue;
                for (int f = 0; f < NFN; f++) {
                    feclearexcept(FE_ALL_EXCEPT);
                    AF[i][f](x, y + (size_t)(i * NFN + f) * B, B);
                    if (bad_flags()) {
                        /* find the first offending input */
                        for (int j = 0; j < B; j++) {
                            float yy;
                            feclearexcept(FE_ALL_EXCEPT);
                            AF[i][f](x + j, &yy, 1);
                            if (bad_flags()) {
                                if (!L[i][f].flags) L[i][f].flag_arg = x[j];
                                L[i][f].flags++;
                            }
                        }
                    }
                }
            }
            for (int j = 0; j < B; j++) ref_f(x[j], r + (size_t)j * NFN);
            for (int i = 0; i < NISA; i++) {
                if (!ok[i]) continue;
                for (int f = 0; f < NFN; f++) {
                    const float *yy = y + (size_t)(i * NFN + f) * B;
                    stat_t *s = &L[i][f];
                    for (int j = 0; j < B; j++) {
                        double e = ulp_err(yy[j], r[(size_t)j * NFN + f], 24, -149);
                        if (e > 0.5) s->n_half++;
                        if (e > 1.0) s->n_one++;
                        if (e > s->max) {
                            s->max = e;
                            s->arg = x[j];
                        }
                    }
                }
            }
#pragma omp atomic
            done++;
            if (omp_get_thread_num() == 0 && (done & 1023) == 0) {
                fprintf(stderr, "\r  %5.1f%%  %.0f s", 100.0 * done / nblocks, omp_get_wtime() - t0);
                fflush(stderr);
            }
        }
#pragma omp critical
        for (int i = 0; i < NISA; i++)
            for (int f = 0; f < NFN; f++) {
                stat_t *g = &S[i][f], *l = &L[i][f];
                if (l->max > g->max) {
                    g->max = l->max;
                    g->arg = l->arg;
                }
                g->n_half += l->n_half;
                g->n_one += l->n_one;
                if (l->flags && !g->flags) g->flag_arg = l->flag_arg;
                g->flags += l->flags;
            }
        free(x);
        free(y);
        free(r);
    }
    fprintf(stderr, "\n");
    double n = (double)nblocks * B;
    printf("float32 %s: %.0f inputs (every %llu-th bit pattern), %.0f s\n",
           step == 1 ? "EXHAUSTIVE" : "sampled", n, (unsigned long long)step, omp_get_wtime() - t0);
    printf("%-10s %-15s %10s %-16s %12s %10s %s\n", "isa", "function", "max ulp", "at x", ">0.5ulp frac",
           ">1ulp", "FP flags");
    int fail = 0;
    for (int i = 0; i < NISA; i++) {
        if (!ok[i]) {
            printf("%-10s (not supported by this CPU: skipped)\n", isa_name[i]);
            continue;
        }
        for (int f = 0; f < NFN; f++) {
            stat_t *s = &S[i][f];
            char fl[64] = "none";
            if (s->flags) snprintf(fl, sizeof fl, "%ld (first x=%a)", s->flags, s->flag_arg);
            printf("%-10s %-15s %10.4f %-16a %12.3e %10ld %s\n", isa_name[i], fn_name[f], s->max, s->arg,
                   s->n_half / n, s->n_one, fl);
            fail |= s->max > ulp_bound || s->flags;
        }
    }
    return fail;
}

/* ---------------------------------------------------------------- float64 vs mpmath */
/* file: records of 1 + 3*NFN doubles: x, then (hi, lo, sc) per function with
 * reference = (hi + lo) * 2^-sc (sc = 1100 for references below 2^-1000). */
#define REC (1 + 3 * NFN)
static long double ref_of(const double *r) { return ldexpl((long double)r[0] + (long double)r[1], -(int)r[2]); }

static int run_f64(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        perror(path);
        return 2;
    }
    fseek(fp, 0, SEEK_END);
    long sz = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    long n = sz / (long)(sizeof(double) * REC);
    double *rec = malloc((size_t)sz);
    if (fread(rec, 1, (size_t)sz, fp) != (size_t)sz) return 2;
    fclose(fp);
    double *x = malloc(sizeof(double) * n), *y = malloc(sizeof(double) * n);
    for (long j = 0; j < n; j++) x[j] = rec[j * REC];
    printf("float64: %ld points vs mpmath (60 digits)\n", n);
    printf("%-10s %-15s %10s %-26s %12s %-26s %12s %8s %s\n", "isa", "function", "max ulp", "at x",
           "max(>2^-1000)", "at x", ">0.5ulp frac", ">1ulp", "FP flags");
    int fail = 0;
    for (int i = 0; i < NISA; i++) {
        if (!isa_ok(i)) continue;
        for (int f = 0; f < NFN; f++) {
            feclearexcept(FE_ALL_EXCEPT);
            AD[i][f](x, y, n);
            int fl = bad_flags();
            long nflag = 0;
            double flag_x = 0;
            if (fl) {
                for (long j = 0; j < n; j++) {
                    double yy;
                    feclearexcept(FE_ALL_EXCEPT);
                    AD[i][f](x + j, &yy, 1);
                    if (bad_flags()) {
                        if (!nflag) flag_x = x[j];
                        nflag++;
                    }
                }
            }
            double mx = -1, at = 0, mxn = -1, atn = 0;
            long nh = 0, n1 = 0;
            for (long j = 0; j < n; j++) {
                long double rf = ref_of(rec + j * REC + 1 + 3 * f);
                double e = ulp_err(y[j], rf, 53, -1074);
                if (fabsl(rf) >= 0x1p-1000L && e > mxn) { /* away from the subnormal edge */
                    mxn = e;
                    atn = x[j];
                }
                if (e > 0.5) nh++;
                if (e > 1.0) n1++;
                if (e > mx) {
                    mx = e;
                    at = x[j];
                }
            }
            char fls[80] = "none";
            if (nflag) snprintf(fls, sizeof fls, "%ld (first x=%a)", nflag, flag_x);
            printf("%-10s %-15s %10.4f %-26a %12.4f %-26a %12.3e %8ld %s\n", isa_name[i], fn_name[f], mx, at, mxn,
                   atn, (double)nh / n, n1, fls);
            fail |= mx > ulp_bound || nflag; /* the fast tier: <= 4 ulp */
        }
    }
    free(rec);
    free(x);
    free(y);
    return fail;
}

/* ---------------------------------------------------------------- special values */
static int same(double a, double b, int check_sign)
{
    if (isnan(b)) return isnan(a);
    if (a != b) return 0;
    if (check_sign && a == 0) return signbit(a) == signbit(b);
    return 1;
}

static int run_special(void)
{
    const double inf = INFINITY;
    /* input, then expected gelu, grad, tanh, tanh_grad; NaN expected = NaN */
    struct {
        double x;
        double e[NFN];
        int sign; /* check the sign of a zero result */
        int exact; /* results must be exactly e[] (else: only sign/limit checks below) */
    } T[] = {
        {0.0, {0.0, 0.5, 0.0, 0.5}, 1, 1},
        {-0.0, {-0.0, 0.5, -0.0, 0.5}, 1, 1},
        {inf, {inf, 1.0, inf, 1.0}, 0, 1},
        {-inf, {0.0, 0.0, 0.0, 0.0}, 0, 1},
        {NAN, {NAN, NAN, NAN, NAN}, 0, 1},
        {-NAN, {NAN, NAN, NAN, NAN}, 0, 1},
    };
    int fail = 0;
    printf("special values (all ISAs; '=' exact, 'lim' the right limit, flags = FE_INVALID|DIVBYZERO|OVERFLOW)\n");
    for (int i = 0; i < NISA; i++) {
        if (!isa_ok(i)) continue;
        for (int prec = 0; prec < 2; prec++) {
            for (unsigned k = 0; k < sizeof T / sizeof T[0]; k++) {
                for (int f = 0; f < NFN; f++) {
                    double y = eval1(i, f, prec, T[k].x);
                    int fl = bad_flags();
                    int ok = same(y, T[k].e[f], T[k].sign) && !fl;
                    if (fast_tier && prec) { /* bit for bit the exact tier's value */
                        double ye;
                        AD_EXACT[i][f](&T[k].x, &ye, 1);
                        ok &= !memcmp(&y, &ye, sizeof y);
                    }
                    if (!ok || i == 0)
                        printf("  %-8s %-7s %-15s x=%-6g -> %-10g %s%s\n", isa_name[i], prec ? "float64" : "float32",
                               fn_name[f], T[k].x, y, ok ? "ok" : "FAIL", fl ? " (flags)" : "");
                    fail |= !ok;
                }
            }
            /* huge finite inputs: limits x / 0 and 1 / 0, no NaN, no flags */
            double big[2] = {prec ? DBL_MAX : FLT_MAX, prec ? -DBL_MAX : -FLT_MAX};
            double tiny[4] = {prec ? 0x1p-1074 : 0x1p-149, prec ? -0x1p-1074 : -0x1p-149, prec ? 0x1p-1022 : 0x1p-126,
                              prec ? -0x1p-1022 : -0x1p-126};
            for (int b = 0; b < 2; b++)
                for (int f = 0; f < NFN; f++) {
                    double x = big[b], y = eval1(i, f, prec, x);
                    double want = (f & 1) ? (x > 0 ? 1.0 : 0.0) : (x > 0 ? x : 0.0);
                    int ok = y == want && !bad_flags();
                    if (!ok || i == 0)
                        printf("  %-8s %-7s %-15s x=%-10g -> %-10g %s\n", isa_name[i], prec ? "float64" : "float32",
                               fn_name[f], x, y, ok ? "ok (lim)" : "FAIL");
                    fail |= !ok;
                }
            for (int b = 0; b < 4; b++)
                for (int f = 0; f < NFN; f++) {
                    double x = tiny[b], y = eval1(i, f, prec, x);
                    /* gelu(x) = x/2 rounded (+ x^2/sqrt(2pi) breaks the tie); grad = 0.5 */
                    int ok = !bad_flags() && !isnan(y);
                    if (f & 1)
                        ok &= y == 0.5;
                    else
                        ok &= fabs(y - x / 2) <= fabs(x) && (y == 0 || signbit(y) == signbit(x));
                    if (!ok || i == 0)
                        printf("  %-8s %-7s %-15s x=%-10a -> %-10a %s\n", isa_name[i], prec ? "float64" : "float32",
                               fn_name[f], x, y, ok ? "ok" : "FAIL");
                    fail |= !ok;
                }
        }
    }
    printf("special values: %s\n", fail ? "FAIL" : "all ok");
    return fail;
}

/* ---------------------------------------------------------------- timings */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}
static double gauss(unsigned *s)
{
    double u1 = (rand_r(s) + 1.0) / (RAND_MAX + 2.0), u2 = (rand_r(s) + 1.0) / (RAND_MAX + 2.0);
    return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}
static inline uint64_t rdtsc(void)
{
    unsigned lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static int run_bench(void)
{
    enum { N = 4096, REP = 200, TRIALS = 7 };
    static float xf[2][N], yf[N];
    static double xd[2][N], yd[N];
    unsigned s = 12345;
    for (int j = 0; j < N; j++) {
        xd[0][j] = 3.0 * gauss(&s);
        xd[1][j] = -20.0 * (rand_r(&s) / (double)RAND_MAX);
        xf[0][j] = (float)xd[0][j];
        xf[1][j] = (float)xd[1][j];
    }
    /* TSC rate */
    double t0 = now();
    uint64_t c0 = rdtsc();
    while (now() - t0 < 0.2) {
    }
    double tsc_ghz = (rdtsc() - c0) / (now() - t0) / 1e9;
    printf("timings: single thread, arrays of %d in L1, best of %d x %d calls; TSC %.2f GHz\n", N, TRIALS, REP,
           tsc_ghz);
    printf("%-10s %-7s %-15s | %-28s | %-28s\n", "isa", "dtype", "function", "x ~ 3 N(0,1): ns/el  Mel/s  tsc-cyc",
           "x ~ U[-20,0]: ns/el  Mel/s  tsc-cyc");
    for (int i = 0; i < NISA; i++) {
        if (!isa_ok(i)) continue;
        for (int prec = 0; prec < 2 + fast_tier; prec++)
            for (int f = 0; f < NFN; f++) {
              for (int tier = 0; tier < (prec == 0 && fast_tier ? 2 : 1); tier++) {
                arr_f af = tier ? AF_FAST[i][f] : AF[i][f];
                printf("%-10s %-7s %-15s", isa_name[i],
                       prec == 2 ? "fast64" : prec ? "float64" : (tier ? "fast32" : "float32"), fn_name[f]);
                for (int dist = 0; dist < 2; dist++) {
                    double best = 1e30;
                    for (int tr = 0; tr < TRIALS; tr++) {
                        double a = now();
                        for (int r = 0; r < REP; r++) {
                            if (prec == 0)
                                af(xf[dist], yf, N);
                            else
                                (prec == 2 ? AD_FAST : AD_EXACT)[i][f](xd[dist], yd, N);
                            __asm__ volatile("" ::: "memory");
                        }
                        double el = (now() - a) / ((double)REP * N);
                        if (el < best) best = el;
                    }
                    printf(" | %8.3f %9.0f %9.2f", best * 1e9, 1e-6 / best, best * 1e9 * tsc_ghz);
                }
                printf("\n");
              }
            }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 2 && !strcmp(argv[1], "fast")) { /* the fast tier's kernels, bound 4 ulp */
        fast_tier = 1;
        ulp_bound = 4.0;
        if (strcmp(argv[2], "bench")) { /* (bench times both tiers) */
            AD = AD_FAST;
            memcpy(AF, AF_FAST, sizeof AF);
        }
        argc--;
        argv++;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: %s [fast] exhaustive [step] | f64 FILE | special | bench\n", argv[0]);
        return 2;
    }
    if (!strcmp(argv[1], "exhaustive")) return run_exhaustive(argc > 2 ? strtoull(argv[2], 0, 0) : 1);
    if (!strcmp(argv[1], "f64") && argc > 2) return run_f64(argv[2]);
    if (!strcmp(argv[1], "special")) return run_special();
    if (!strcmp(argv[1], "bench")) return run_bench();
    fprintf(stderr, "unknown mode\n");
    return 2;
}
#endif /* FG_HARNESS_MAIN */
