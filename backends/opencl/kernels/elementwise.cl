/* elementwise.cl: strided COPY (any element size), FILL, broadcasting binary ops,
 * SCALE, MASKED_FILL, unary activations and their backward from the output.
 * Views arrive as (offset, long4 strides) of the output's 4-d shape (leading 1s); a zero
 * stride broadcasts. Offsets count elements.
 */

#define COPY_KERNEL(NAME, T)                                                                 \
    __kernel void NAME(__global const T *src, long so, long4 ss, __global T *dst, long d_off, \
                       long4 ds, long4 n, long total) {                                      \
        long i = get_global_id(0);                                                           \
        if (i >= total) return;                                                              \
        dst[d_off + view_off(i, n, ds)] = src[so + view_off(i, n, ss)];                      \
    }
COPY_KERNEL(copy_u8, uchar)
COPY_KERNEL(copy_u32, uint)
COPY_KERNEL(copy_u64, ulong)

#define FILL_KERNEL(NAME, T)                                                \
    __kernel void NAME(__global T *dst, long d_off, T value, long total) { \
        long i = get_global_id(0);                                          \
        if (i < total) dst[d_off + i] = value;                              \
    }
FILL_KERNEL(fill_u8, uchar)
FILL_KERNEL(fill_u32, uint)

/* op: 0 add, 1 sub, 2 mul, 3 div, 4 atan2 */
inline float bin_apply(int op, float x, float y) {
    switch (op) {
    case 0: return x + y;
    case 1: return x - y;
    case 2: return x * y;
    case 3: return x / y;
    default: return atan2(x, y);
    }
}

__kernel void binary_f32(__global const float *a, long ao, long4 sa, __global const float *b, long bo, long4 sb,
                         __global float *y, long yo, long4 n, long total, int op) {
    long i = get_global_id(0);
    if (i >= total) return;
    y[yo + i] = bin_apply(op, a[ao + view_off(i, n, sa)], b[bo + view_off(i, n, sb)]);
}

/* both inputs dense in the output's layout */
__kernel void binary_dense_f32(__global const float *a, long ao, __global const float *b, long bo,
                               __global float *y, long yo, long total, int op) {
    long i = get_global_id(0);
    if (i >= total) return;
    y[yo + i] = bin_apply(op, a[ao + i], b[bo + i]);
}

__kernel void scale_f32(__global const float *x, long xo, __global float *y, long yo, float alpha, float beta,
                        long total) {
    long i = get_global_id(0);
    if (i < total) y[yo + i] = alpha * x[xo + i] + beta;
}

__kernel void masked_fill_f32(__global const float *x, long xo, __global const uchar *m, long mo, long4 sm,
                              __global float *y, long yo, long4 n, float value, long total) {
    long i = get_global_id(0);
    if (i >= total) return;
    y[yo + i] = m[mo + view_off(i, n, sm)] ? value : x[xo + i];
}

/* op: 0 relu, 1 sigmoid, 2 tanh, 3 exp, 4 log, 5 sqrt */
__kernel void unary_f32(__global const float *x, long xo, __global float *y, long yo, long total, int op) {
    long i = get_global_id(0);
    if (i >= total) return;
    float v = x[xo + i], r;
    switch (op) {
    case 0: r = v > 0.0f ? v : 0.0f; break;
    case 1: { /* split by sign so exp never overflows */
        float e = exp(-fabs(v));
        r = v >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
        break;
    }
    case 2: r = tanh(v); break;
    case 3: r = exp(v); break;
    case 4: r = log(v); break;
    default: r = sqrt(v); break;
    }
    y[yo + i] = r;
}

/* gx = gy * act'(y), from the forward output y; op as in unary_f32 (no log) */
__kernel void act_back_f32(__global const float *gy, long go, __global const float *y, long yo, __global float *gx,
                           long xo, long total, int op) {
    long i = get_global_id(0);
    if (i >= total) return;
    float g = gy[go + i], v = y[yo + i], r;
    switch (op) {
    case 0: r = v > 0.0f ? g : 0.0f; break;
    case 1: r = g * v * (1.0f - v); break;
    case 2: r = g * (1.0f - v * v); break;
    case 5: r = g / (2.0f * v); break;
    default: r = g * v; break; /* exp */
    }
    gx[xo + i] = r;
}
