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
