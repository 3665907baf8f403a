/* check_fast_backward_f32.c -- the fast tier's float32 gelu_backward(g, x) = g f'(x) over a
 * dense grid: every STEP-th float32 bit pattern x (all of them with STEP = 1) times 18
 * multipliers g (mantissas 1 .. 2 - 2^-23, the ends of the covered range 2^-60 .. 2^60, both
 * zeros, signs), on the inputs the float kernel covers (fg_fast_gelu_backward_f_covers; the
 * array loops give the others to the exact kernel). Two inputs: no exhaustive check.
 *
 * Reference: g times the exact tier's double f'(x) before its rounding to float (within
 * ~0.12 ulp of f', tests/ and tools/check_exhaustive_f32.py), in double. Reports the maximum
 * error in ulps of the result (per region of x), floating-point flags the fast kernel raises
 * and the exact one does not (underflow for x < -24 is expected: there the exact kernel
 * takes f' as -0, the fast one rounds its tiny value, as the unary fast kernels do), and
 * signs of zero that differ.
 *
 *   K=src/fastgelu/kernels
 *   gcc -O2 -ffp-contract=off -fno-math-errno -frounding-math -mavx2 -mfma -I$K \
 *       tools/check_fast_backward_f32.c -lm -o /tmp/check_bwd
 *   /tmp/check_bwd PART NPARTS STEP     e.g. (/tmp/check_bwd 0 2 23 & /tmp/check_bwd 1 2 23)
 *
 * Measured (AMD EPYC Zen 3, STEP 23, 2 processes, ~8 min): 3.2e9 evaluations, maximum
 * 3.674 ulp (x = 0.0046782, g = 1.9), no extra flag but that underflow, no sign difference.
 */
#include <fenv.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fg_fast_f32.h"

static double ulp_error(float y, double ref)
{
    if (ref == 0) return y == 0 ? 0 : INFINITY;
    int e;
    frexp(fabs(ref), &e);
    double ulp = ldexp(1.0, e - 24);
    if (ulp < 0x1p-149) ulp = 0x1p-149;
    if (isinf(y) && fabs(ref) > 0x1.fffffep127) return 0;
    return fabs((double)y - ref) / ulp;
}

#define FLAGS (FE_UNDERFLOW | FE_OVERFLOW | FE_INVALID | FE_DIVBYZERO)
#define REGIONS 6
static int region(float x) { return x < -4 ? 0 : x < -1 ? 1 : x < 0 ? 2 : x < 0.01f ? 3 : x < 1 ? 4 : 5; }
static const char *region_name[REGIONS] = {"x < -4", "[-4, -1)", "[-1, 0)", "[0, 0.01)",
                                           "[0.01, 1)", "x >= 1"};

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s PART NPARTS STEP\n", argv[0]);
        return 2;
    }
    int part = atoi(argv[1]), nparts = atoi(argv[2]);
    long step = atol(argv[3]);
    const float gs[] = {1.0f, 1.99999988f, 1.5f, 1.2345678f, 1.75f, 1.0000001f, 1.3333334f,
                        1.9f, 0x1p-60f, 0x1p-60f * 1.9f, 0x1p60f, 0x1.fffffep59f, -3.1f,
                        1e-18f * 1.61f, 0.0f, -0.0f, 1e-5f * 1.37f, 6.1e15f};
    const int ng = sizeof gs / sizeof gs[0];
    double worst[REGIONS] = {0};
    float worst_x[REGIONS] = {0}, worst_g[REGIONS] = {0};
    long evals = 0, uncovered = 0, extra_flags = 0, extra_not_underflow = 0, sign_diffs = 0;
    for (uint64_t b = (uint64_t)part * step; b < 0x100000000ull; b += (uint64_t)nparts * step) {
        uint32_t bits = (uint32_t)b;
        float x;
        memcpy(&x, &bits, 4);
        for (int j = 0; j < ng; j++) {
            float g = gs[j];
            if (!fg_fast_gelu_backward_f_covers(g, x)) {
                uncovered++;
                continue;
            }
            feclearexcept(FE_ALL_EXCEPT);
            volatile float y = fg_fast_gelu_backward_f(g, x);
            int fast_flags = fetestexcept(FLAGS);
            feclearexcept(FE_ALL_EXCEPT);
            volatile float y_exact = fg_gelu_backward_f(g, x);
            int extra = fast_flags & ~fetestexcept(FLAGS);
            if (extra) {
                extra_flags++;
                if ((extra & ~FE_UNDERFLOW) || !(x < -24)) {
                    if (extra_not_underflow++ < 5)
                        printf("flags %#x at x = %.9g, g = %.9g\n", extra, x, g);
                }
            }
            if (y == 0 && y_exact == 0 && signbit(y) != signbit(y_exact)) sign_diffs++;
            double err = ulp_error(y, (double)g * fg__gelu_grad_value_f(x, 1));
            int r = region(x);
            evals++;
            if (err > worst[r] || err != err) {
                worst[r] = err;
                worst_x[r] = x;
                worst_g[r] = g;
            }
        }
    }
    double max = 0;
    for (int r = 0; r < REGIONS; r++) {
        printf("  %-10s max %.4f ulp at x = %.9g, g = %.9g\n", region_name[r], worst[r],
               worst_x[r], worst_g[r]);
        if (worst[r] > max || worst[r] != worst[r]) max = worst[r];
    }
    printf("part %d/%d, step %ld: %ld evaluations (%ld inputs not covered), max %.4f ulp; "
           "%ld extra flags (%ld other than underflow for x < -24), %ld zero-sign differences\n",
           part, nparts, step, evals, uncovered, max, extra_flags, extra_not_underflow, sign_diffs);
    return max <= 4 && extra_not_underflow == 0 && sign_diffs == 0 ? 0 : 1;
}
