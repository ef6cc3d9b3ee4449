/* ref_misc.c: the RNG fill (Philox4x32-10, written out here from its definition and not
 * taken from core, so the stream itself is checked) and the AdamW update, in float64.
 *
 * RNG element j: Philox block at counter c + j/4 (64-bit counter in words 0 and 1, words 2
 * and 3 zero, key = the 64-bit seed), lane j % 4; u = (word >> 8) / 2^24.
 *   uniform(lo, hi) = lo + (hi - lo) u;  bernoulli(p) = [u < p];
 *   normal(mean, std): Box-Muller on lanes (0, 1) and (2, 3), with u1 = ((w0 >> 8) + 1) / 2^24
 *   (never 0): r = sqrt(-2 log u1), mean + std r cos(2 pi u2) and mean + std r sin(2 pi u2).
 * AdamW (decoupled weight decay), step t = in4 + 1:
 *   p <- p (1 - lr wd);  m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
 *   p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 */
#include <math.h>
#include <stdlib.h>

#include "dc/dc_rng.h"
#include "ref_kernels.h"

/* Philox4x32 with 10 rounds (Salmon et al., SC'11): multiply words 0 and 2 by the round
 * constants, mix the high halves with words 1 and 3 and the key, bump the key (Weyl). */
static void philox(uint64_t seed, uint64_t counter, uint32_t out[4]) {
    uint32_t x[4] = {(uint32_t)counter, (uint32_t)(counter >> 32), 0, 0};
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = 0xD2511F53ull * x[0], p1 = 0xCD9E8D57ull * x[2];
        uint32_t y0 = (uint32_t)(p1 >> 32) ^ x[1] ^ key[0];
        uint32_t y1 = (uint32_t)p1;
        uint32_t y2 = (uint32_t)(p0 >> 32) ^ x[3] ^ key[1];
        uint32_t y3 = (uint32_t)p0;
        x[0] = y0, x[1] = y1, x[2] = y2, x[3] = y3;
        key[0] += 0x9E3779B9u;
        key[1] += 0xBB67AE85u;
    }
    for (int l = 0; l < 4; l++) out[l] = x[l];
}

dc_status ref_rng(dc_backend *be, const dc_kernel_args *a) {
    const int dist = (int)a->p.i[0];
    const uint64_t seed = (uint64_t)a->p.i[1], counter = (uint64_t)a->p.i[2];
    const double f0 = a->p.f[0], f1 = a->p.f[1];
    int64_t n = 1;
    for (int d = 0; d < a->out[0]->ndim; d++) n *= a->out[0]->shape[d];
    double *v = ref_zeros(n);
    if (!v) return dc_last_status();
    for (int64_t j = 0; j < n; j++) {
        uint32_t w[4];
        philox(seed, counter + (uint64_t)(j / 4), w);
        const int lane = (int)(j % 4);
        const double u = (double)(w[lane] >> 8) / 16777216.0;
        if (dist == DC_RNG_UNIFORM) {
            v[j] = f0 + (f1 - f0) * u;
        } else if (dist == DC_RNG_BERNOULLI) {
            v[j] = u < f0 ? 1.0 : 0.0;
        } else { /* normal: the pair (lane & ~1, lane | 1) */
            const int l0 = lane & ~1;
            double u1 = (double)((w[l0] >> 8) + 1) / 16777216.0, u2 = (double)(w[l0 + 1] >> 8) / 16777216.0;
            double r = sqrt(-2.0 * log(u1)), th = 2.0 * M_PI * u2;
            v[j] = f0 + f1 * r * (lane % 2 == 0 ? cos(th) : sin(th));
        }
    }
    ref_store(a->out[0], v);
    free(v);
    return DC_OK;
}

dc_status ref_adamw(dc_backend *be, const dc_kernel_args *a) {
    const double lr = a->p.f[0], b1 = a->p.f[1], b2 = a->p.f[2], eps = a->p.f[3], wd = a->p.f[4];
    int64_t n = 1;
    for (int d = 0; d < a->in[0]->ndim; d++) n *= a->in[0]->shape[d];
    double *p = ref_load(a->in[0]), *g = ref_load(a->in[1]), *m = ref_load(a->in[2]), *v = ref_load(a->in[3]);
    double *steps = ref_load(a->in[4]);
    dc_status st = DC_OK;
    if (!p || !g || !m || !v || !steps) {
        st = dc_last_status();
        goto done;
    }
    const double t = steps[0] + 1.0;
    for (int64_t k = 0; k < n; k++) {
        p[k] *= 1.0 - lr * wd;
        m[k] = b1 * m[k] + (1.0 - b1) * g[k];
        v[k] = b2 * v[k] + (1.0 - b2) * g[k] * g[k];
        p[k] -= lr / (1.0 - pow(b1, t)) * m[k] / (sqrt(v[k]) / sqrt(1.0 - pow(b2, t)) + eps);
    }
    ref_store((dc_tensor *)a->in[0], p); /* p, m and v are updated in place */
    ref_store((dc_tensor *)a->in[2], m);
    ref_store((dc_tensor *)a->in[3], v);
done:
    free(p), free(g), free(m), free(v), free(steps);
    return st;
}
