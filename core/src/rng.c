/* rng.c: Philox4x32-10 (Salmon et al., SC'11) on the host, and device fills through the
 * RNG kernel. Counter-based: any element of any stream can be computed independently,
 * so every backend reproduces the same numbers.
 */
#include <math.h>

#include "dc/dc_rng_normal.h"
#include "ops_common.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void dc_philox4x32_block(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0, p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

void dc_philox4x32(uint64_t seed, uint64_t counter, uint32_t out[4]) {
    const uint32_t ctr[4] = {(uint32_t)counter, (uint32_t)(counter >> 32), 0, 0};
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    dc_philox4x32_block(ctr, key, out);
}

double dc_rng_u01(uint32_t u) { return (double)(u >> 8) * (1.0 / 16777216.0); }
double dc_rng_u01_open0(uint32_t u) { return (double)((u >> 8) + 1) * (1.0 / 16777216.0); }

dc_rng dc_rng_init(uint64_t seed) {
    dc_rng r = {seed, 0};
    return r;
}

double dc_rng_uniform(dc_rng *r) {
    uint32_t w[4];
    dc_philox4x32(r->seed, r->counter++, w);
    /* 53-bit uniform from two words, for host-side decisions */
    uint64_t v = ((uint64_t)w[0] << 21) ^ (w[1] >> 11);
    return (double)(v & ((1ull << 53) - 1)) * (1.0 / 9007199254740992.0);
}

double dc_rng_normal(dc_rng *r) {
    uint32_t w[4];
    dc_philox4x32(r->seed, r->counter++, w);
    double z0, z1;
    dc_rng_box_muller(w[0], w[1], 0.0, 1.0, &z0, &z1); /* the kernels' lanes 0 and 1 */
    return z0;
}

uint64_t dc_rng_u64(dc_rng *r) {
    uint32_t w[4];
    dc_philox4x32(r->seed, r->counter++, w);
    return ((uint64_t)w[0] << 32) | w[1];
}

int64_t dc_rng_randint(dc_rng *r, int64_t lo, int64_t hi) {
    if (hi <= lo) return lo;
    uint64_t span = (uint64_t)(hi - lo) + 1, lim = span ? UINT64_MAX - UINT64_MAX % span : 0, v;
    do v = dc_rng_u64(r);
    while (span && v >= lim); /* rejection: no modulo bias */
    return lo + (int64_t)(span ? v % span : v);
}

void dc_rng_permutation(dc_rng *r, int64_t n, int64_t *out) {
    for (int64_t i = 0; i < n; i++) out[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = dc_rng_randint(r, 0, i);
        int64_t t = out[i];
        out[i] = out[j];
        out[j] = t;
    }
}

static dc_status fill(dc_rng *r, dc_tensor *t, int dist, double f0, double f1) {
    if (!r || !t) return dc_fail(DC_ERR_ARG, "rng fill: NULL rng or tensor");
    if (!dc_tensor_is_contiguous(t)) return dc_fail(DC_ERR_ARG, "rng fill: tensor must be contiguous");
    if (dist != DC_RNG_BERNOULLI && !dc_is_float(t))
        return dc_fail(DC_ERR_DTYPE, "rng fill: uniform/normal need a float tensor, got %s", dc_dtype_name(t->dtype));
    if (t->dtype == DC_I32) return dc_fail(DC_ERR_DTYPE, "rng fill: bernoulli needs u8 or float, got i32");
    dc_kernel_args a;
    dc_args_init(&a, DC_OP_RNG);
    a.out[0] = t;
    a.n_out = 1;
    a.p.i[0] = dist;
    a.p.i[1] = (int64_t)r->seed;
    a.p.i[2] = (int64_t)r->counter;
    a.p.f[0] = f0;
    a.p.f[1] = f1;
    dc_status st = dc_dispatch(t->buf->be, &a);
    if (st == DC_OK) r->counter += (uint64_t)(dc_tensor_numel(t) + 3) / 4;
    return st;
}

dc_status dc_rng_fill_uniform(dc_rng *r, dc_tensor *t, double lo, double hi) { return fill(r, t, DC_RNG_UNIFORM, lo, hi); }
dc_status dc_rng_fill_normal(dc_rng *r, dc_tensor *t, double mean, double std) { return fill(r, t, DC_RNG_NORMAL, mean, std); }
dc_status dc_rng_fill_bernoulli(dc_rng *r, dc_tensor *t, double p) { return fill(r, t, DC_RNG_BERNOULLI, p, 0.0); }
