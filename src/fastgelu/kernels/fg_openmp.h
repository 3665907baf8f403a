/* fg_openmp.h -- OpenMP runtime calls that also compile without OpenMP, and fork safety.
 * Without OpenMP (e.g. Apple clang without libomp) the package builds serial:
 * the prange loops become plain loops and these report one thread.
 *
 * Included by the Cython module only (one translation unit). */
#ifndef FASTGELU_FG_OPENMP_H
#define FASTGELU_FG_OPENMP_H
#ifdef _OPENMP
#include <omp.h>
#define FG_OPENMP 1
#else
#define FG_OPENMP 0
static inline int omp_get_max_threads(void) { return 1; }
static inline void omp_set_num_threads(int n) { (void)n; }
static inline double omp_get_wtime(void) { return 0.0; }
#endif

/* Process-wide counters of the threading policy (_ufuncs.pyx), shared by every Python
 * thread. Relaxed atomics: each is a hint on its own and orders no other memory. */
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
typedef volatile __int64 fg_atomic;
static inline long long fg_atomic_add(fg_atomic *p, long long v) {
    return _InterlockedExchangeAdd64(p, v) + v;
}
static inline long long fg_atomic_get(fg_atomic *p) {
    return _InterlockedCompareExchange64(p, 0, 0);
}
static inline void fg_atomic_set(fg_atomic *p, long long v) { _InterlockedExchange64(p, v); }
#else
typedef long long fg_atomic;
static inline long long fg_atomic_add(fg_atomic *p, long long v) {
    return __atomic_add_fetch(p, v, __ATOMIC_RELAXED);
}
static inline long long fg_atomic_get(fg_atomic *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void fg_atomic_set(fg_atomic *p, long long v) {
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}
#endif

/* GNU OpenMP's thread pool does not survive fork(): a child that enters a parallel
 * region after its parent ran one can hang for ever (the pool's threads are gone). A
 * forked child (multiprocessing's 'fork', data-loader workers) therefore runs serial. */
static int fg_forked_child = 0;

#if FG_OPENMP && (defined(__unix__) || defined(__APPLE__))
#include <pthread.h>
static void fg_mark_forked_child(void) { fg_forked_child = 1; }
static int fg_install_fork_guard(void) { return pthread_atfork(NULL, NULL, fg_mark_forked_child); }
#else
static int fg_install_fork_guard(void) { return 0; }
#endif
#endif
