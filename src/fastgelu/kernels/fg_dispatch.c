/* fg_dispatch.c -- runtime choice of the ISA build (see fg_dispatch.h).
 *
 * setup.py compiles fg_array.c for every ISA the target architecture has and defines
 * FG_HAVE_<ISA> here for each one it built. At import the best table this CPU supports
 * becomes fg_active; a forced choice is checked against the CPU, never trusted blindly
 * (running AVX-512 code on a CPU without it would die with SIGILL).
 */
#include <string.h>

#include "fg_dispatch.h"

#define FG__INFO(c, name, SHAPE) {#name, FG_ID_##name, FG_NIN_##SHAPE, FG_NOUT_##SHAPE},
const fg_kernel_info fg_kernels[FG_N_KERNELS] = {FG_KERNELS(FG__INFO, )};
#undef FG__INFO
#define FG__TIER_NAME(tier) #tier,
const char *const fg_tier_names[FG_N_TIERS] = {FG_TIERS(FG__TIER_NAME)};
#undef FG__TIER_NAME

extern const fg_isa_table fg_table_baseline;
#ifdef FG_HAVE_AVX2
extern const fg_isa_table fg_table_avx2;
#endif
#ifdef FG_HAVE_AVX512
extern const fg_isa_table fg_table_avx512;
#endif

/* Best first: "auto" takes the first one the CPU supports. */
static const fg_isa_table *const compiled[] = {
#ifdef FG_HAVE_AVX512
    &fg_table_avx512,
#endif
#ifdef FG_HAVE_AVX2
    &fg_table_avx2,
#endif
    &fg_table_baseline,
};
#define N_COMPILED ((int)(sizeof(compiled) / sizeof(compiled[0])))

static const char *compiled_names[N_COMPILED];

const fg_isa_table *fg_active = &fg_table_baseline;

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
/* libgcc's/compiler-rt's CPU model checks CPUID and that the OS saves the wide
 * registers (XGETBV), so a feature reported here is usable. */
static int cpu_has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
static int cpu_has_avx512(void)
{
    __builtin_cpu_init();
    return cpu_has_avx2() && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512bw");
}
#elif defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
#include <intrin.h>
static int xcr0_has(unsigned long long mask)
{
    int r[4];
    __cpuid(r, 1);
    if (!(r[2] & (1 << 27))) return 0; /* OSXSAVE */
    return (_xgetbv(0) & mask) == mask;
}
static int cpu_has_avx2(void)
{
    int r1[4], r7[4];
    __cpuid(r1, 1);
    __cpuidex(r7, 7, 0);
    return (r1[2] & (1 << 12)) && (r7[1] & (1 << 5)) && xcr0_has(0x6);
}
static int cpu_has_avx512(void)
{
    int r7[4];
    __cpuidex(r7, 7, 0);
    /* F (16), DQ (17), BW (30), VL (31); opmask + ZMM state saved by the OS */
    unsigned b = (unsigned)r7[1];
    return cpu_has_avx2() && (b & (1u << 16)) && (b & (1u << 17)) && (b & (1u << 30)) &&
           (b & (1u << 31)) && xcr0_has(0xe6);
}
#else
static int cpu_has_avx2(void) { return 0; }
static int cpu_has_avx512(void) { return 0; }
#endif

int fg_cpu_supports(const char *name)
{
    if (strcmp(name, "baseline") == 0) return 1;
    if (strcmp(name, "avx2") == 0) return cpu_has_avx2();
    if (strcmp(name, "avx512") == 0) return cpu_has_avx512();
    return 0;
}

int fg_select_isa(const char *name)
{
    int known = 0;
    for (int i = 0; i < N_COMPILED; i++) {
        const fg_isa_table *t = compiled[i];
        int named = strcmp(name, t->name) == 0;
        known |= named;
        if ((named || strcmp(name, "auto") == 0) && fg_cpu_supports(t->name)) {
            fg_active = t;
            return 0;
        }
    }
    return (known || strcmp(name, "avx2") == 0 || strcmp(name, "avx512") == 0) ? -2 : -1;
}

const char *const *fg_compiled_isas(int *count)
{
    for (int i = 0; i < N_COMPILED; i++) compiled_names[i] = compiled[i]->name;
    *count = N_COMPILED;
    return compiled_names;
}

const char *fg_compiler(void)
{
#if defined(__clang__)
    return "Clang " __clang_version__;
#elif defined(__GNUC__)
    return "GCC " __VERSION__;
#elif defined(_MSC_VER)
#define FG_STR2(a) #a
#define FG_STR(a) FG_STR2(a)
    return "MSVC " FG_STR(_MSC_FULL_VER);
#else
    return "unknown";
#endif
}
