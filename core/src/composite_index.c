/* composite_index.c: composites of the scatter-adds GATHER_BACK and MAXPOOL1D_BACK.
 * Without atomics or a scatter primitive, GATHER_BACK contracts gy with the one-hot matrix
 * of the indices in a MATMUL (which sums duplicates deterministically), split in two levels
 * t = t1 K + t0, K = ceil(sqrt(T)), so that memory stays O(To (T1 + K C)) rather than O(To T);
 * MAXPOOL1D_BACK writes each window offset r through a strided view of dx, selecting the
 * windows whose argmax is at that offset. Indices become floats by a GATHER from
 * (0, 1, ..., T-1); integer-valued floats are exact below 2^24 in f32.
 * Not here: the forward GATHER and MAXPOOL1D (primitives).
 */
#include <math.h>

#include "composite.h"

/* [d >= 0] for integer-valued d: relu(d + 1) - relu(d) */
static dc_tensor *at_least0(dc_ctx *ctx, dc_tensor *d, double shift) {
    return dc_sub(ctx, dc_relu(ctx, dc_affine(ctx, d, 1.0, 1.0 - shift)), dc_relu(ctx, dc_affine(ctx, d, 1.0, -shift)));
}

static dc_status check_exact(const char *op, dc_dtype dt, int64_t T) {
    if (dt == DC_F32 && T > (1 << 24))
        return dc_fail(DC_ERR_SHAPE, "%s: %lld positions are not exact as f32 indices (at most 2^24)", op,
                       (long long)T);
    return DC_OK;
}

/* in: gy (B, To, C), idx i32 (Bi, To), Bi = B or 1 -> dx (B, T, C), dx[t] = sum over j with
 * idx_j = t of gy_j. With idx = t1 K + t0: O1 (Bi, To, T1) and O0 (Bi, To, K) one-hot, and
 * dx as (T1, K C) = O1^T (O0 x gy). Indices outside [0, T) get no row in O1. */
dc_status dc_cx_gather_back(dc_ctx *ctx, const dc_kernel_args *a) {
    dc_tensor *gy = dc_cx_in(a, 0), *idx = dc_cx_in(a, 1), *dx = a->out[0];
    const int64_t B = gy->shape[0], To = gy->shape[1], C = gy->shape[2], T = dx->shape[1], Bi = idx->shape[0];
    const dc_dtype dt = gy->dtype;
    if (To == 0 || T == 0 || B * C == 0) return dc_tensor_fill(dx, 0.0);
    dc_status st = check_exact("gather_back", dt, T);
    if (st != DC_OK) return st;
    const int64_t K = (int64_t)ceil(sqrt((double)T)), T1 = (T + K - 1) / K;
    dc_tensor *valid = NULL, *pos = dc_cx_index_float(ctx, dt, idx, T, &valid);
    pos = dc_reshape(ctx, pos, 3, (int64_t[]){Bi, To, 1});
    valid = dc_reshape(ctx, valid, 3, (int64_t[]){Bi, To, 1});
    /* O1: t1 K <= idx < (t1 + 1) K;  t0 = idx - K t1 */
    dc_tensor *starts = dc_reshape(ctx, dc_scale(ctx, dc_cx_iota(ctx, dt, T1), (double)K), 3, (int64_t[]){1, 1, T1});
    dc_tensor *d = dc_sub(ctx, pos, starts);
    dc_tensor *o1 = dc_mul(ctx, dc_sub(ctx, at_least0(ctx, d, 0.0), at_least0(ctx, d, (double)K)), valid);
    dc_tensor *t0 = dc_sub(ctx, pos, dc_sum(ctx, dc_mul(ctx, o1, starts), 2, 1));
    dc_tensor *e = dc_sub(ctx, t0, dc_reshape(ctx, dc_cx_iota(ctx, dt, K), 3, (int64_t[]){1, 1, K}));
    dc_tensor *o0 = dc_relu(ctx, dc_affine(ctx, dc_cx_abs(ctx, e), -1.0, 1.0)); /* (Bi, To, K) */
    if (!o0) return dc_cx_failed();
    if (Bi == B) {
        dc_tensor *P = dc_mul(ctx, dc_reshape(ctx, o0, 4, (int64_t[]){B, To, K, 1}),
                              dc_reshape(ctx, gy, 4, (int64_t[]){B, To, 1, C}));
        dc_tensor *D = dc_matmul(ctx, o1, dc_reshape(ctx, P, 3, (int64_t[]){B, To, K * C}), 1, 0);
        return dc_cx_store(ctx, dx, dc_slice(ctx, dc_reshape(ctx, D, 3, (int64_t[]){B, T1 * K, C}), 1, 0, T));
    }
    /* one index row shared by every batch: (T1, To) x (To, K B C) */
    dc_tensor *g2 = dc_reshape(ctx, dc_permute(ctx, gy, (int[]){1, 0, 2}), 3, (int64_t[]){To, 1, B * C});
    dc_tensor *P = dc_mul(ctx, dc_reshape(ctx, o0, 3, (int64_t[]){To, K, 1}), g2);
    dc_tensor *D = dc_matmul(ctx, dc_reshape(ctx, o1, 2, (int64_t[]){To, T1}),
                             dc_reshape(ctx, P, 2, (int64_t[]){To, K * B * C}), 1, 0);
    dc_tensor *r = dc_slice(ctx, dc_reshape(ctx, D, 3, (int64_t[]){T1 * K, B, C}), 0, 0, T);
    return dc_cx_store(ctx, dx, dc_permute(ctx, r, (int[]){1, 0, 2}));
}

/* in: gy (B, To, C), argmax i32 (B, To, C); i0 kernel k, i1 stride s, i2 T -> dx (B, T, C).
 * The offset of each window's maximum, o = argmax - j s in [0, k), is made a float through
 * GATHER from (0, 1, ..., T-1); [o == r] = relu(1 - |o - r|) for integer-valued o. */
dc_status dc_cx_maxpool1d_back(dc_ctx *ctx, const dc_kernel_args *a) {
    dc_tensor *gy = dc_cx_in(a, 0), *dx = a->out[0];
    const int64_t B = gy->shape[0], To = gy->shape[1], C = gy->shape[2], k = a->p.i[0], s = a->p.i[1], T = a->p.i[2];
    const int64_t M = B * To * C;
    dc_status st = check_exact("maxpool1d_back", gy->dtype, T);
    if (st == DC_OK) st = dc_tensor_fill(dx, 0.0);
    if (st != DC_OK || M == 0) return st;
    dc_tensor *pos = dc_cx_index_float(ctx, gy->dtype, dc_cx_in(a, 1), T, NULL); /* (B, To, C) */
    dc_tensor *start = dc_reshape(ctx, dc_scale(ctx, dc_cx_iota(ctx, gy->dtype, To), (double)s), 3,
                                  (int64_t[]){1, To, 1});
    dc_tensor *o = dc_sub(ctx, pos, start);
    if (!o) return dc_cx_failed();
    if (s >= k) { /* windows do not overlap: all offsets at once, one strided store */
        dc_tensor *d = dc_sub(ctx, dc_reshape(ctx, o, 4, (int64_t[]){B, To, 1, C}),
                              dc_reshape(ctx, dc_cx_iota(ctx, gy->dtype, k), 4, (int64_t[]){1, 1, k, 1}));
        dc_tensor *sel = dc_relu(ctx, dc_affine(ctx, dc_cx_abs(ctx, d), -1.0, 1.0));
        dc_tensor *contrib = dc_mul(ctx, dc_reshape(ctx, gy, 4, (int64_t[]){B, To, 1, C}), sel); /* (B, To, k, C) */
        dc_tensor *dst = dc_view_strided(ctx, dx, 4, (int64_t[]){B, To, k, C}, (int64_t[]){T * C, s * C, C, 1}, 0);
        return dc_cx_store(ctx, dst, contrib);
    }
    for (int64_t r = 0; r < k && st == DC_OK; r++) { /* overlapping windows: accumulate offset by offset */
        dc_tensor *sel = dc_relu(ctx, dc_affine(ctx, dc_cx_abs(ctx, dc_affine(ctx, o, 1.0, -(double)r)), -1.0, 1.0));
        dc_tensor *dst = dc_view_strided(ctx, dx, 3, (int64_t[]){B, To, C}, (int64_t[]){T * C, s * C, 1}, r * C);
        st = dc_cx_store(ctx, dst, dc_add(ctx, dc_contiguous(ctx, dst), dc_mul(ctx, gy, sel)));
    }
    return st;
}
