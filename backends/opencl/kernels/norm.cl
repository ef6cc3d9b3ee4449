/* norm.cl: batch normalisation (PyTorch semantics, optional fused ReLU) and row-wise L2
 * normalisation, forward and backward; the same formulas as backends/cpu/cpu_norm.c.
 * Per-channel statistics use one work-group per channel (Kahan per work-item, then a
 * tree sum); elementwise parts use one work-item per element. Offsets count elements.
 */

/* Channel c = group id. Training: batch mean and biased variance (two passes), running
 * stats updated in place with the unbiased variance. Eval: the running statistics. */
__kernel void bn_stats_f32(__global const float *x, long xo, long R, long C, int training, float mom, float eps,
                           __global float *rm, long rmo, __global float *rv, long rvo, __global float *mean,
                           long mo, __global float *istd, long io) {
    __local float red[RED_MAX];
    long ch = get_group_id(0);
    int lid = (int)get_local_id(0);
    if (!training) {
        if (lid == 0) {
            mean[mo + ch] = rm[rmo + ch];
            istd[io + ch] = 1.0f / sqrt(rv[rvo + ch] + eps);
        }
        return;
    }
    float s = 0.0f, c = 0.0f;
    for (long r = lid; r < R; r += get_local_size(0)) kahan_add(&s, &c, x[xo + r * C + ch]);
    float mu = wg_sum(s, red) / (float)R;
    s = 0.0f;
    c = 0.0f;
    for (long r = lid; r < R; r += get_local_size(0)) {
        float d = x[xo + r * C + ch] - mu;
        kahan_add(&s, &c, d * d);
    }
    float var = wg_sum(s, red) / (float)R;
    if (lid == 0) {
        mean[mo + ch] = mu;
        istd[io + ch] = 1.0f / sqrt(var + eps);
        rm[rmo + ch] = (1.0f - mom) * rm[rmo + ch] + mom * mu;
        rv[rvo + ch] = (1.0f - mom) * rv[rvo + ch] + mom * var * (float)R / (float)(R - 1);
    }
}

/* y = relu?(x * scale + shift), scale = gamma istd, shift = beta - mean scale */
__kernel void bn_apply_f32(__global const float *x, long xo, __global const float *g, long go,
                           __global const float *b, long bo, __global const float *mean, long mo,
                           __global const float *istd, long io, __global float *y, long yo, long R, long C,
                           int relu) {
    long i = get_global_id(0);
    if (i >= R * C) return;
    long ch = i % C;
    float scale = g[go + ch] * istd[io + ch];
    float shift = b[bo + ch] - mean[mo + ch] * scale;
    float v = x[xo + i] * scale + shift;
    y[yo + i] = (relu && v < 0.0f) ? 0.0f : v;
}

/* Channel c = group id: dbeta = sum g, dgamma = sum g xh (g masked by y > 0 with ReLU). */
__kernel void bn_back_stats_f32(__global const float *gy, long gyo, __global const float *x, long xo,
                                __global const float *y, long yo, __global const float *mean, long mo,
                                __global const float *istd, long io, long R, long C, int relu,
                                __global float *dg, long dgo, __global float *db, long dbo) {
    __local float red[RED_MAX];
    long ch = get_group_id(0);
    float mu = mean[mo + ch], is = istd[io + ch];
    float s1 = 0.0f, c1 = 0.0f, s2 = 0.0f, c2 = 0.0f;
    for (long r = get_local_id(0); r < R; r += get_local_size(0)) {
        long k = r * C + ch;
        float g = (relu && !(y[yo + k] > 0.0f)) ? 0.0f : gy[gyo + k];
        kahan_add(&s1, &c1, g);
        kahan_add(&s2, &c2, g * ((x[xo + k] - mu) * is));
    }
    float sg = wg_sum(s1, red), sgx = wg_sum(s2, red);
    if (get_local_id(0) == 0) {
        db[dbo + ch] = sg;
        dg[dgo + ch] = sgx;
    }
}

/* dx = gamma istd (g - sg/R - xh sgx/R) in training, gamma istd g in eval */
__kernel void bn_back_dx_f32(__global const float *gy, long gyo, __global const float *x, long xo,
                             __global const float *y, long yo, __global const float *gamma, long gmo,
                             __global const float *mean, long mo, __global const float *istd, long io,
                             __global const float *dg, long dgo, __global const float *db, long dbo,
                             __global float *dx, long dxo, long R, long C, int relu, int training) {
    long i = get_global_id(0);
    if (i >= R * C) return;
    long ch = i % C;
    float g = (relu && !(y[yo + i] > 0.0f)) ? 0.0f : gy[gyo + i];
    float k1 = gamma[gmo + ch] * istd[io + ch];
    if (training) {
        float xh = (x[xo + i] - mean[mo + ch]) * istd[io + ch];
        dx[dxo + i] = k1 * (g - db[dbo + ch] / (float)R - xh * dg[dgo + ch] / (float)R);
    } else {
        dx[dxo + i] = k1 * g;
    }
}

/* Row r: y = x / max(||x||, eps); norms keep the unclamped ||x||. */
__kernel void l2norm_f32(__global const float *x, long xo, __global float *y, long yo, __global float *nrm,
                         long no, long R, long F, float eps) {
    long r = get_global_id(0);
    if (r >= R) return;
    __global const float *xr = x + xo + r * F;
    float s = 0.0f, c = 0.0f;
    for (long f = 0; f < F; f++) kahan_add(&s, &c, xr[f] * xr[f]);
    float n = sqrt(s), d = n > eps ? n : eps;
    nrm[no + r] = n;
    for (long f = 0; f < F; f++) y[yo + r * F + f] = xr[f] / d;
}

/* dx = (gy - y (y . gy)) / ||x|| when ||x|| > eps, else gy / eps */
__kernel void l2norm_back_f32(__global const float *gy, long go, __global const float *y, long yo,
                              __global const float *nrm, long no, __global float *dx, long dxo, long R, long F,
                              float eps) {
    long r = get_global_id(0);
    if (r >= R) return;
    __global const float *g = gy + go + r * F, *yr = y + yo + r * F;
    float n = nrm[no + r];
    if (n > eps) {
        float s = 0.0f, c = 0.0f;
        for (long f = 0; f < F; f++) kahan_add(&s, &c, yr[f] * g[f]);
        for (long f = 0; f < F; f++) dx[dxo + r * F + f] = (g[f] - yr[f] * s) / n;
    } else {
        for (long f = 0; f < F; f++) dx[dxo + r * F + f] = g[f] / eps;
    }
}
