/* loss.cl: log-softmax (forward and backward) over the last axis, and the per-element or
 * per-row terms of cross-entropy, MSE and BCE-with-logits. The scalar losses are then
 * summed by reduce.cl's two-level sum on the host's request. One work-item per row or
 * element; offsets count elements.
 */

__kernel void log_softmax_f32(__global const float *x, long xo, __global float *y, long yo, long R, long C) {
    long r = get_global_id(0);
    if (r >= R) return;
    __global const float *xr = x + xo + r * C;
    float m = xr[0], s = 0.0f, c = 0.0f;
    for (long k = 1; k < C; k++) m = xr[k] > m ? xr[k] : m;
    for (long k = 0; k < C; k++) kahan_add(&s, &c, exp(xr[k] - m));
    float lse = m + log(s);
    for (long k = 0; k < C; k++) y[yo + r * C + k] = xr[k] - lse;
}

/* dx = gy - exp(y) * rowsum(gy) */
__kernel void log_softmax_back_f32(__global const float *gy, long go, __global const float *y, long yo,
                                   __global float *dx, long xo, long R, long C) {
    long r = get_global_id(0);
    if (r >= R) return;
    float s = 0.0f, c = 0.0f;
    for (long k = 0; k < C; k++) kahan_add(&s, &c, gy[go + r * C + k]);
    for (long k = 0; k < C; k++) dx[xo + r * C + k] = gy[go + r * C + k] - exp(y[yo + r * C + k]) * s;
}

/* Row r: term[r] = lse(x_r) - x_r[t_r] (0 for a target outside [0, C)) and, when want,
 * dl_r = (softmax(x_r) - onehot(t_r)) / R. */
__kernel void cross_entropy_rows_f32(__global const float *x, long xo, __global const int *t, long to,
                                     __global float *dl, long dlo, int want, long R, long C,
                                     __global float *term) {
    long r = get_global_id(0);
    if (r >= R) return;
    __global const float *xr = x + xo + r * C;
    int tr = t[to + r];
    int valid = tr >= 0 && tr < C;
    float m = xr[0], s = 0.0f, c = 0.0f;
    for (long k = 1; k < C; k++) m = xr[k] > m ? xr[k] : m;
    for (long k = 0; k < C; k++) kahan_add(&s, &c, exp(xr[k] - m));
    float lse = m + log(s);
    term[r] = valid ? lse - xr[tr] : 0.0f;
    if (want)
        for (long k = 0; k < C; k++)
            dl[dlo + r * C + k] = valid ? (exp(xr[k] - lse) - (k == tr ? 1.0f : 0.0f)) / (float)R : 0.0f;
}

__kernel void mse_terms_f32(__global const float *a, long ao, __global const float *b, long bo, long n,
                            __global float *term) {
    long i = get_global_id(0);
    if (i >= n) return;
    float d = a[ao + i] - b[bo + i];
    term[i] = d * d;
}

/* term = max(x,0) - x t + log(1 + exp(-|x|));  dx = (sigmoid(x) - t) / n when want */
__kernel void bce_terms_f32(__global const float *x, long xo, __global const float *t, long to,
                            __global float *dx, long dxo, int want, long n, __global float *term) {
    long i = get_global_id(0);
    if (i >= n) return;
    float v = x[xo + i], tv = t[to + i], e = exp(-fabs(v));
    term[i] = (v > 0.0f ? v : 0.0f) - v * tv + log1p(e);
    if (want) {
        float sig = v >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
        dx[dxo + i] = (sig - tv) / (float)n;
    }
}
