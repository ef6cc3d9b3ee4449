/* composite_mpxent.c: the composite of the fused MP-Xent kernel (docs/METHOD.md §3), loss
 * and dL/dz, with the sums the kernel's reference states (backends/cpu/cpu_mpxent.c):
 * zh = z / max(||z||, eps), E_rc = exp((zh_r . zh_c - 1) / tau) off the diagonal, 0 on it
 * (as every kernel: S <= 1 never overflows, and exp(-1/tau) cancels in the loss and dL/dz),
 * C = column sums of E, l_j = E_{j+1,j}; anchors a at position t of their block of L rows,
 *   multi (1 <= t <= L-2):  num = l_{a-1} + l_a,  den = (C_{a-1} - l_{a-1}) + (C_a - l_{a-1} - l_a)
 *   single (t <= L-2):      num = l_a,            den = C_a - l_a
 *   loss = mean over anchors of log den - log num.
 * The gradient is dL/dE = 1 w^T (column weights) plus a correction on the sub-diagonal, then
 * dzh = (G.E + (G.E)^T) zh / tau and the normalisation's backward. Every vector runs over
 * all rows; the rows that are not anchors are zeroed by a u8 mask built with FILL and COPY.
 * Not here: the builder (ops_nn.c) or the fused kernels (backends).
 */
#include "composite.h"

/* Column sums of E without the two neighbours: C2_c = sum over r not in {c-1, c, c+1} of
 * E_rc (E symmetric, zero diagonal), from a copy whose first sub- and super-diagonals are
 * zeroed. den is built from these by additions only: with a small tau the positives l can
 * dwarf the rest of a column below float precision, and C - l would lose it all. */
static dc_tensor *col_sums_without_neighbours(dc_ctx *ctx, dc_tensor *E, int64_t N) {
    dc_tensor *E2 = dc_copy(ctx, E);
    dc_tensor *zero = E2 ? dc_view_broadcast(ctx, dc_cx_scalar(ctx, E->dtype, 0.0), 1, (int64_t[]){N - 1}) : NULL;
    dc_tensor *sup = E2 ? dc_view_strided(ctx, E2, 1, (int64_t[]){N - 1}, (int64_t[]){N + 1}, 1) : NULL;
    if (!zero || !sup || dc_cx_store(ctx, dc_cx_sub_diagonal(ctx, E2, N), zero) != DC_OK || dc_cx_store(ctx, sup, zero) != DC_OK)
        return NULL;
    return dc_sum(ctx, E2, 0, 0);
}

dc_status dc_cx_mpxent(dc_ctx *ctx, const dc_kernel_args *a) {
    dc_tensor *z = dc_cx_in(a, 0);
    const int64_t N = z->shape[0], L = a->p.i[0];
    const int single = a->p.i[1] != 0, want = a->p.i[2] && a->out[1];
    const double tau = a->p.f[0], eps = a->p.f[1];
    const dc_dtype dt = z->dtype;
    dc_tensor *zh, *nrm;
    dc_status st = dc_cx_unit_rows(ctx, z, eps, &zh, &nrm);
    if (st != DC_OK) return st;
    dc_tensor *E = dc_exp(ctx, dc_scale(ctx, dc_affine(ctx, dc_matmul(ctx, zh, zh, 0, 1), 1.0, -1.0), 1.0 / tau));
    dc_tensor *diag = E ? dc_view_strided(ctx, E, 1, &N, (int64_t[]){N + 1}, 0) : NULL;
    if (!diag || dc_cx_store(ctx, diag, dc_view_broadcast(ctx, dc_cx_scalar(ctx, dt, 0.0), 1, &N)) != DC_OK)
        return dc_cx_failed();
    dc_tensor *C2 = col_sums_without_neighbours(ctx, E, N); /* (N) */
    dc_tensor *l = dc_contiguous(ctx, dc_cx_sub_diagonal(ctx, E, N)); /* (N-1) */
    /* num, den over the rows a in [lo, lo + n) that can be anchors; with lp = (0, l) (N),
     * C_c - l_c = C2_c + lp_c and C_c - l_{c-1} - l_c = C2_c */
    const int64_t lo = single ? 0 : 1, n = single ? N - 1 : N - 2, A = (N / L) * (single ? L - 1 : L - 2);
    dc_tensor *lp0 = dc_cx_place(ctx, l, 1, N); /* lp0_c = l_{c-1}, 0 for c = 0 */
    dc_tensor *num, *den;
    if (single) { /* den_k = C_k - l_k */
        num = l;
        den = dc_add(ctx, dc_slice(ctx, C2, 0, 0, n), dc_slice(ctx, lp0, 0, 0, n));
    } else {      /* den_a = (C_{a-1} - l_{a-1}) + (C_a - l_{a-1} - l_a) */
        dc_tensor *lm = dc_slice(ctx, l, 0, 0, n), *lp = dc_slice(ctx, l, 0, 1, n);
        num = dc_add(ctx, lm, lp);
        den = dc_add(ctx, dc_add(ctx, dc_slice(ctx, C2, 0, 0, n), dc_slice(ctx, lp0, 0, 0, n)),
                     dc_slice(ctx, C2, 0, 1, n));
    }
    dc_tensor *off = dc_slice(ctx, dc_cx_non_anchors(ctx, N, L, lo, L - 1), 0, lo, n);
    dc_tensor *terms = dc_masked_fill(ctx, dc_sub(ctx, dc_log(ctx, den), dc_log(ctx, num)), off, 0.0);
    st = dc_cx_store(ctx, a->out[0], dc_scale(ctx, dc_sum_all(ctx, terms), 1.0 / (double)A));
    if (st != DC_OK || !want) return st;

    /* dL/dE: every entry of column c gets w_c (+ w_{c+1} multi), w = 1 / (A den) on anchors;
     * the sub-diagonal entry (j+1, j) also gets sub_j (the l terms of num and den) */
    dc_tensor *w = dc_masked_fill(ctx, dc_scale(ctx, dc_cx_recip(ctx, den), 1.0 / (double)A), off, 0.0);
    dc_tensor *u = dc_masked_fill(ctx, dc_scale(ctx, dc_cx_recip(ctx, num), 1.0 / (double)A), off, 0.0);
    dc_tensor *W = dc_cx_place(ctx, w, lo, N), *WU = dc_cx_place(ctx, dc_add(ctx, w, u), lo, N);
    dc_tensor *colw, *sub;
    if (single) {
        colw = W;
        sub = dc_scale(ctx, dc_slice(ctx, WU, 0, 0, N - 1), -1.0);
    } else { /* sub_j = -(2 w_{j+1} + u_{j+1} + w_j + u_j) */
        colw = dc_add(ctx, W, dc_cx_place(ctx, dc_slice(ctx, W, 0, 1, N - 1), 0, N));
        sub = dc_scale(ctx, dc_add(ctx, dc_slice(ctx, dc_add(ctx, W, WU), 0, 1, N - 1), dc_slice(ctx, WU, 0, 0, N - 1)),
                       -1.0);
    }
    dc_tensor *GE = dc_mul(ctx, E, colw); /* G .* E, the diagonal stays 0 */
    dc_tensor *ge_sub = dc_cx_sub_diagonal(ctx, GE, N);
    if (!ge_sub || dc_cx_store(ctx, ge_sub, dc_add(ctx, dc_contiguous(ctx, ge_sub), dc_mul(ctx, sub, l))) != DC_OK)
        return dc_cx_failed();
    dc_tensor *dS = dc_scale(ctx, GE, 1.0 / tau);
    dc_tensor *dzh = dc_add(ctx, dc_matmul(ctx, dS, zh, 0, 0), dc_matmul(ctx, dS, zh, 1, 0));
    return dc_cx_unit_rows_back(ctx, dzh, zh, nrm, eps, a->out[1]);
}
