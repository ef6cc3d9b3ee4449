/* reduce.cl: the SUM kernel's two shapes and the two-level scalar sum used by the losses.
 * Sums are Kahan-compensated within a work-item and tree-summed across a work-group, so
 * float accumulation stays close to the CPU backend's double sums. Offsets count elements.
 */

/* x seen as (outer, n) with inner == 1: one work-group per outer row. */
__kernel void sum_rows_f32(__global const float *x, long xo, __global float *y, long yo, long n, float scale) {
    __local float red[RED_MAX];
    long o = get_group_id(0);
    float s = 0.0f, c = 0.0f;
    for (long k = get_local_id(0); k < n; k += get_local_size(0)) kahan_add(&s, &c, x[xo + o * n + k]);
    float t = wg_sum(s, red);
    if (get_local_id(0) == 0) y[yo + o] = t * scale;
}

/* x seen as (outer, n, inner): one work-item per output (o, j), sequential over n. */
__kernel void sum_inner_f32(__global const float *x, long xo, __global float *y, long yo, long outer, long n,
                            long inner, float scale) {
    long i = get_global_id(0);
    if (i >= outer * inner) return;
    long o = i / inner, j = i % inner;
    __global const float *p = x + xo + o * n * inner + j;
    float s = 0.0f, c = 0.0f;
    for (long k = 0; k < n; k++) kahan_add(&s, &c, p[k * inner]);
    y[yo + i] = s * scale;
}

/* First level of a scalar sum: each work-group sums a grid-strided share of x[0..n) into
 * partials[group]. */
__kernel void sum_partial_f32(__global const float *x, long xo, long n, __global float *partials) {
    __local float red[RED_MAX];
    float s = 0.0f, c = 0.0f;
    for (long k = get_global_id(0); k < n; k += get_global_size(0)) kahan_add(&s, &c, x[xo + k]);
    float t = wg_sum(s, red);
    if (get_local_id(0) == 0) partials[get_group_id(0)] = t;
}

/* Second level: one work-group sums the partials; y = scale * sum. */
__kernel void sum_finish_f32(__global const float *partials, long count, __global float *y, long yo, float scale) {
    __local float red[RED_MAX];
    float s = 0.0f, c = 0.0f;
    for (long k = get_local_id(0); k < count; k += get_local_size(0)) kahan_add(&s, &c, partials[k]);
    float t = wg_sum(s, red);
    if (get_local_id(0) == 0) y[yo] = t * scale;
}
