/* fg_openmp.h -- OpenMP runtime calls that also compile without OpenMP.
 * Without OpenMP (e.g. Apple clang without libomp) the package builds serial:
 * the prange loops become plain loops and these report one thread. */
#ifndef FASTGELU_FG_OPENMP_H
#define FASTGELU_FG_OPENMP_H
#ifdef _OPENMP
#include <omp.h>
#define FG_OPENMP 1
#else
#define FG_OPENMP 0
static inline int omp_get_max_threads(void) { return 1; }
static inline void omp_set_num_threads(int n) { (void)n; }
static inline int omp_get_num_procs(void) { return 1; }
#endif
#endif
