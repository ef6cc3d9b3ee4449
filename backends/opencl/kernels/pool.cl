/* pool.cl: max-pool over time on (B, T, C) and gather along time, with their backward
 * kernels. The backward kernels give each (b, c) column to one work-item, which zeroes its
 * column of dx and scatter-adds in order: no atomics, and the same summation order as
 * the CPU backend. Offsets count elements.
 */

/* One work-item per output (b, o, c); NaN propagates, the first maximum wins. */
__kernel void maxpool_f32(__global const float *x, long xo, __global float *y, long yo, __global int *idx,
                          long io, long B, long T, long C, long To, long k, long s) {
    long i = get_global_id(0);
    if (i >= B * To * C) return;
    long c = i % C, o = (i / C) % To, b = i / (C * To);
    long best = o * s;
    float m = x[xo + (b * T + best) * C + c];
    for (long t = o * s + 1; t < o * s + k; t++) {
        float v = x[xo + (b * T + t) * C + c];
        if (v > m || (isnan(v) && !isnan(m))) {
            m = v;
            best = t;
        }
    }
    y[yo + i] = m;
    idx[io + i] = (int)best;
}

__kernel void maxpool_back_f32(__global const float *gy, long go, __global const int *idx, long io,
                               __global float *dx, long dxo, long B, long T, long C, long To) {
    long i = get_global_id(0);
    if (i >= B * C) return;
    long b = i / C, c = i % C;
    for (long t = 0; t < T; t++) dx[dxo + (b * T + t) * C + c] = 0.0f;
    for (long o = 0; o < To; o++) {
        long k = (b * To + o) * C + c;
        dx[dxo + (b * T + idx[io + k]) * C + c] += gy[go + k];
    }
}

/* One work-item per output (b, j, c); ib = 0 when the indices are shared by all b. */
__kernel void gather_f32(__global const float *x, long xo, __global const int *ix, long io, __global float *y,
                         long yo, long B, long T, long C, long To, long ib) {
    long i = get_global_id(0);
    if (i >= B * To * C) return;
    long c = i % C, j = (i / C) % To, b = i / (C * To);
    int t = ix[io + b * ib + j];
    y[yo + i] = (t < 0 || t >= T) ? 0.0f : x[xo + (b * T + t) * C + c];
}

__kernel void gather_back_f32(__global const float *gy, long go, __global const int *ix, long io,
                              __global float *dx, long dxo, long B, long T, long C, long To, long ib) {
    long i = get_global_id(0);
    if (i >= B * C) return;
    long b = i / C, c = i % C;
    for (long t = 0; t < T; t++) dx[dxo + (b * T + t) * C + c] = 0.0f;
    for (long j = 0; j < To; j++) {
        int t = ix[io + b * ib + j];
        if (t >= 0 && t < T) dx[dxo + (b * T + t) * C + c] += gy[go + (b * To + j) * C + c];
    }
}
