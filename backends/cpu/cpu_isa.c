/* cpu_isa.c: which vector instruction set the `cpu` backend's kernels use, decided once per
 * process from the CPU (cpu_simd.h). DC_CPU_ISA=avx2 or generic forces a narrower level, so
 * that tests can run every code path on a wide machine; a level the CPU lacks is not taken.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_simd.h"

static cpu_isa_level g_level;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void pick(void) {
    g_level = CPU_ISA_GENERIC;
#ifdef CPU_X86
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (__builtin_cpu_supports("avx512f") && avx2) g_level = CPU_ISA_AVX512;
    else if (avx2) g_level = CPU_ISA_AVX2;
#endif
    const char *force = getenv("DC_CPU_ISA");
    if (force && !strcmp(force, "generic")) g_level = CPU_ISA_GENERIC;
    else if (force && !strcmp(force, "avx2") && g_level > CPU_ISA_AVX2) g_level = CPU_ISA_AVX2;
}

cpu_isa_level cpu_isa(void) {
    pthread_once(&g_once, pick);
    return g_level;
}
