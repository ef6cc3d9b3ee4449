/* mpxent.cl: MP-Xent (docs/METHOD.md §3) with its fused gradient, the steps around the two GEMMs
 * that ocl_mpxent.c runs (S = zh zh^T and dzh = W zh). The math follows
 * backends/cpu/cpu_mpxent.c: E = exp((S - 1) / tau) with a zero diagonal, column sums C, anchor
 * terms log den - log num, column weights w and sub-diagonal corrections sub, then
 * W = (w_r + w_c) E / tau (+ sub_j l_j / tau at (j+1, j) and (j, j+1)).
 * Column sums are two-level: float partial sums over blocks of MPX_BLOCK rows, then the
 * sum of the blocks. Buffers are scratch arrays addressed by element offsets.
 */
#define MPX_BLOCK 256

inline int mpx_is_anchor(long a, long L, int single) {
    long t = a % L;
    return single ? (t <= L - 2) : (t >= 1 && t <= L - 2);
}

/* Row i: nrm = ||z_i||, zh_i = z_i / max(nrm, eps). */
__kernel void mpx_normalize(__global const float *z, long zo, long N, long F, float eps, __global float *zh,
                            __global float *nrm) {
    long i = get_global_id(0);
    if (i >= N) return;
    float s = 0.0f, c = 0.0f;
    for (long f = 0; f < F; f++) kahan_add(&s, &c, z[zo + i * F + f] * z[zo + i * F + f]);
    float n = sqrt(s), d = n > eps ? n : eps;
    nrm[i] = n;
    for (long f = 0; f < F; f++) zh[i * F + f] = z[zo + i * F + f] / d;
}

/* Work-item (c, blk): E = exp((S - 1) / tau) in place for rows of block blk in column c (zero on
 * the diagonal) and their float sum into part[blk * N + c]. */
__kernel void mpx_exp_colpart(__global float *E, long N, float inv_tau, __global float *part) {
    long c = get_global_id(0), blk = get_global_id(1);
    if (c >= N) return;
    long r0 = blk * MPX_BLOCK, r1 = min(r0 + MPX_BLOCK, N);
    float s = 0.0f;
    for (long r = r0; r < r1; r++) {
        float e = r == c ? 0.0f : exp((E[r * N + c] - 1.0f) * inv_tau); /* S <= 1: no overflow */
        E[r * N + c] = e;
        s += e;
    }
    part[blk * N + c] = s;
}

/* Anchor k: term = log den - log num, wd = 1 / (A den), wn = 1 / (A num) (0 for
 * non-anchors), and l_k = E_{k+1,k}. Column sums from the nblk partial sums. */
__kernel void mpx_anchor(__global const float *E, long N, long L, int single, float inv_a,
                         __global const float *part, long nblk, __global float *term, __global float *wd,
                         __global float *wn, __global float *l) {
    long k = get_global_id(0);
    if (k >= N) return;
    l[k] = k + 1 < N ? E[(k + 1) * N + k] : 0.0f;
    if (!mpx_is_anchor(k, L, single)) {
        term[k] = wd[k] = wn[k] = 0.0f;
        return;
    }
    float ck = 0.0f, ckm = 0.0f;
    for (long b = 0; b < nblk; b++) {
        ck += part[b * N + k];
        if (!single) ckm += part[b * N + k - 1];
    }
    float lp = E[(k + 1) * N + k], num, den;
    if (single) {
        num = lp;
        den = ck - lp;
    } else {
        float lm = E[k * N + k - 1];
        num = lm + lp;
        den = (ckm - lm) + (ck - lm - lp);
    }
    term[k] = log(den) - log(num);
    wd[k] = inv_a / den;
    wn[k] = inv_a / num;
}

/* Gathers the anchors' contributions: anchor k adds wd_k to w_k and -(wd_k + wn_k) to
 * sub_k; with two positives it also adds wd_k to w_{k-1} and -(2 wd_k + wn_k) to sub_{k-1}. */
__kernel void mpx_weights(long N, int single, __global const float *wd, __global const float *wn,
                          __global float *w, __global float *sub) {
    long j = get_global_id(0);
    if (j >= N) return;
    float wj = wd[j], sj = -(wd[j] + wn[j]);
    if (!single && j + 1 < N) {
        wj += wd[j + 1];
        sj -= 2.0f * wd[j + 1] + wn[j + 1];
    }
    w[j] = wj;
    sub[j] = sj;
}

/* W in place of E: (w_r + w_c) E_rc / tau plus the sub-diagonal corrections. */
__kernel void mpx_wmatrix(__global float *E, long N, float inv_tau, __global const float *w,
                          __global const float *sub, __global const float *l) {
    long c = get_global_id(0), r = get_global_id(1);
    if (c >= N || r >= N) return;
    float v = (w[r] + w[c]) * E[r * N + c] * inv_tau;
    if (r == c + 1) v += sub[c] * l[c] * inv_tau;
    if (c == r + 1) v += sub[r] * l[r] * inv_tau;
    E[r * N + c] = v;
}

/* Row i, in place on dz = dL/dzh: the normalisation's backward. */
__kernel void mpx_norm_back(__global float *dz, long dzo, __global const float *zh, __global const float *nrm,
                            long N, long F, float eps) {
    long i = get_global_id(0);
    if (i >= N) return;
    __global float *g = dz + dzo + i * F;
    float n = nrm[i];
    if (n > eps) {
        float s = 0.0f, c = 0.0f;
        for (long f = 0; f < F; f++) kahan_add(&s, &c, zh[i * F + f] * g[f]);
        for (long f = 0; f < F; f++) g[f] = (g[f] - zh[i * F + f] * s) / n;
    } else {
        for (long f = 0; f < F; f++) g[f] = g[f] / eps;
    }
}
