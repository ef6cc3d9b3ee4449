/* cpu_fft.h: any-length complex FFT in double for the CPU backend (mixed radix + Bluestein).
 *
 * Internal to the CPU backend: plans, complex-to-complex, real-to-complex and complex-to-real
 * transforms on interleaved (re, im) doubles. Not a public dynacl API and not a wrapper around
 * any third-party FFT library; transforms are unnormalized in both directions.
 */
#ifndef DC_CPU_FFT_H
#define DC_CPU_FFT_H

#include <stddef.h>
#include <stdint.h>

#include "dc/dc_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest supported transform length (plans beyond this fail with DC_ERR_ARG). */
#define CPU_FFT_MAX_LEN ((int64_t)1 << 40)

typedef struct cpu_fft_plan cpu_fft_plan;

/* Plan for length n >= 1. Returns NULL and records DC_ERR_ARG or DC_ERR_OOM on error. */
cpu_fft_plan *cpu_fft_plan_new(int64_t n);
/* Release a plan; accepts NULL. */
void cpu_fft_plan_free(cpu_fft_plan *p);
/* Transform length n of the plan. */
int64_t cpu_fft_plan_len(const cpu_fft_plan *p);
/* Doubles of scratch one exec (c2c, r2c or c2r) needs. */
size_t cpu_fft_scratch_doubles(const cpu_fft_plan *p);
/* Nonzero when the plan uses Bluestein's algorithm (n has a prime factor > 13). */
int cpu_fft_plan_is_bluestein(const cpu_fft_plan *p);

/* Complex-to-complex, interleaved (re,im) doubles, length n. sign = -1 forward, +1 inverse
 * (unnormalized): out[k] = sum_j in[j] exp(sign * 2 pi i j k / n). in and out may alias.
 * scratch: cpu_fft_scratch_doubles() doubles, or NULL (then exec allocates and frees).
 * A plan is immutable after creation, so exec is thread-safe with distinct scratch. */
dc_status cpu_fft_c2c(const cpu_fft_plan *p, const double *in, double *out, int sign,
                      double *scratch);
/* Real-to-complex forward: n reals in -> n/2+1 complex (interleaved) out, DC first.
 * in and out may alias (out then needs 2*(n/2+1) doubles of room). */
dc_status cpu_fft_r2c(const cpu_fft_plan *p, const double *in, double *out, double *scratch);
/* Complex-to-real inverse (unnormalized): n/2+1 complex in (Hermitian half) -> n reals.
 * The imaginary parts of bin 0 and (n even) bin n/2 are ignored. in and out may alias. */
dc_status cpu_fft_c2r(const cpu_fft_plan *p, const double *in, double *out, double *scratch);

#ifdef __cplusplus
}
#endif
#endif
