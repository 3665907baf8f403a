/* prefetch_sweep.c -- why fg_array.c runs its loops in blocks with a software prefetch.
 *
 * Times, on one thread, arrays large enough to come from DRAM (default 1e7 elements):
 * the plain vectorized loop `y[i] = f(x[i])`, and the same loop in blocks of B bytes with
 * the input prefetched A bytes ahead before each block (as fg_array.c's loops do), for a
 * grid of B and A; also a plain y = 2x loop and memcpy as the memory references.
 *
 *   K=src/fastgelu/kernels
 *   gcc -O3 -ffp-contract=off -fno-math-errno -fopenmp-simd -mavx512f -mavx512dq \
 *       -mavx512vl -mavx512bw -mavx2 -mfma -I$K benchmarks/prefetch_sweep.c -lm -o /tmp/sweep
 *   /tmp/sweep [n]        (drop the -mavx512* flags for the AVX2 build, all for SSE2)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fg_math.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

#define LOOP(name, T, expr)                                                               \
    __attribute__((noinline)) static void name(const T *x, T *y, long s, long e)          \
    {                                                                                     \
        _Pragma("omp simd") for (long i = s; i < e; i++) y[i] = expr;                     \
    }
LOOP(gelu_f, float, fg_gelu_f(x[i]))
LOOP(gelu_tanh_f, float, fg_gelu_tanh_f(x[i]))
LOOP(scale_f, float, 2.0f * x[i])
LOOP(gelu_d, double, fg_gelu_d(x[i]))

typedef void (*loop_fn)(const void *, void *, long, long);

/* block = 0: one pass; else blocks of `block` bytes, each after prefetching the input's
 * lines [start + ahead, + block) */
static void run(loop_fn f, const char *x, char *y, long n, long size, long block, long ahead)
{
    if (!block) {
        f(x, y, 0, n);
        return;
    }
    long per = block / size;
    for (long s = 0; s < n; s += per) {
        long from = s * size + ahead, to = from + block;
        if (to > n * size) to = n * size;
        for (long b = from; b < to; b += 64) __builtin_prefetch(x + b, 0, 3);
        f(x, y, s, n - s < per ? n : s + per);
    }
}

static double rate(loop_fn f, const void *x, void *y, long n, long size, long block, long ahead)
{
    double best = 1e9;
    for (int r = 0; r < 5; r++) {
        double t = now();
        run(f, x, y, n, size, block, ahead);
        t = now() - t;
        if (t < best) best = t;
    }
    return n / best / 1e6;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 10000000;
    float *xf = malloc(n * sizeof *xf), *yf = malloc(n * sizeof *yf);
    double *xd = malloc(n * sizeof *xd), *yd = malloc(n * sizeof *yd);
    srand(1);
    for (long i = 0; i < n; i++) { /* 3 N(0, 1), Box-Muller */
        double u1 = (rand() + 1.0) / (RAND_MAX + 2.0), u2 = (rand() + 1.0) / (RAND_MAX + 2.0);
        xd[i] = 3.0 * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
        xf[i] = (float)xd[i];
    }
    memset(yf, 0, n * sizeof *yf);
    memset(yd, 0, n * sizeof *yd);
    double best = 1e9;
    for (int r = 0; r < 5; r++) {
        double t = now();
        memcpy(yf, xf, n * sizeof *xf);
        t = now() - t;
        if (t < best) best = t;
    }
    printf("n = %ld, one thread, Melem/s (best of 5)\nmemcpy float32        %7.0f\n", n, n / best / 1e6);
    printf("y = 2x float32        %7.0f\n", rate((loop_fn)scale_f, xf, yf, n, 4, 0, 0));
    struct { const char *name; loop_fn f; void *x, *y; long size; } k[] = {
        {"gelu float32", (loop_fn)gelu_f, xf, yf, 4},
        {"gelu_tanh float32", (loop_fn)gelu_tanh_f, xf, yf, 4},
        {"gelu float64", (loop_fn)gelu_d, xd, yd, 8},
    };
    static const long blocks[] = {256, 512, 1024, 4096}, aheads[] = {1024, 2048, 4096, 8192};
    for (int j = 0; j < 3; j++) {
        printf("%-18s plain %7.0f | blocked (bytes, ahead):", k[j].name,
               rate(k[j].f, k[j].x, k[j].y, n, k[j].size, 0, 0));
        for (int b = 0; b < 4; b++)
            for (int a = 0; a < 4; a++)
                printf(" %ld,%ld %.0f", blocks[b], aheads[a],
                       rate(k[j].f, k[j].x, k[j].y, n, k[j].size, blocks[b], aheads[a]));
        printf("\n");
    }
    return 0;
}
