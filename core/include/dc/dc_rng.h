/* dc_rng.h: counter-based random numbers (Philox4x32-10), identical on every backend.
 *
 *     dc_rng rng = dc_rng_init(42);
 *     dc_rng_fill_uniform(&rng, t, -0.08, 0.08);  // on t's backend; advances rng
 *     double u = dc_rng_uniform(&rng);            // host draw from the same stream
 *
 * Element j of a fill uses block (counter + j/4), lane j%4, so a fill gives the same
 * values on the CPU, CUDA and OpenCL backends. uniform01(u32) = (u32 >> 8) * 2^-24.
 * Normal draws (Box-Muller) come from dc_rng_normal.h's libm-free log and sincos, bit for
 * bit the same on the host, the CPU and CUDA; OpenCL's kernel still uses its device's
 * log and cos (the same floats but for rare last-bit roundings).
 */
#ifndef DC_RNG_H
#define DC_RNG_H

#include <stdint.h>

#include "dc_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dc_rng {
    uint64_t seed;     /* Philox key */
    uint64_t counter;  /* next unused 128-bit block */
} dc_rng;

enum { DC_RNG_UNIFORM = 0, DC_RNG_NORMAL = 1, DC_RNG_BERNOULLI = 2 };

dc_rng dc_rng_init(uint64_t seed);
/* One Philox4x32-10 block: 4 words from key (seed) and 64-bit counter (upper counter words 0). */
void dc_philox4x32(uint64_t seed, uint64_t counter, uint32_t out[4]);
/* The general block function (128-bit counter, 64-bit key), as in Random123. */
void dc_philox4x32_block(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);
/* Floats exactly as the device kernels compute them. */
double dc_rng_u01(uint32_t u);         /* [0, 1), multiples of 2^-24 */
double dc_rng_u01_open0(uint32_t u);   /* (0, 1] */

/* Host draws (each consumes one block). */
double dc_rng_uniform(dc_rng *r);
double dc_rng_normal(dc_rng *r);
uint64_t dc_rng_u64(dc_rng *r);
int64_t dc_rng_randint(dc_rng *r, int64_t lo, int64_t hi);  /* uniform in [lo, hi] */
/* Uniform random permutation of 0..n-1 (Fisher-Yates). */
void dc_rng_permutation(dc_rng *r, int64_t n, int64_t *out);

/* Device fills of a contiguous tensor; advance r->counter by ceil(numel/4) blocks. */
dc_status dc_rng_fill_uniform(dc_rng *r, dc_tensor *t, double lo, double hi);
dc_status dc_rng_fill_normal(dc_rng *r, dc_tensor *t, double mean, double std);
/* t[j] = uniform01 < p ? 1 : 0 (t may be DC_U8 or a float dtype). */
dc_status dc_rng_fill_bernoulli(dc_rng *r, dc_tensor *t, double p);

#ifdef __cplusplus
}
#endif
#endif
