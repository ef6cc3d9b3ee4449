/* ocl_mpxent.c: MP-Xent (docs/METHOD.md §3) and its fused gradient on the device: normalise rows,
 * S = zh zh^T (GEMM), E = exp((S - 1) / tau) with two-level column sums, per-anchor terms and
 * weights, the loss as a two-level sum, then W in place of E, dzh = W zh (GEMM) and the
 * normalisation's backward. Same math as backends/cpu/cpu_mpxent.c (see kernels/mpxent.cl).
 * Scratch: zh (N, F), E (N, N), block partial sums (ceil(N/256), N), six vectors of N.
 */
#include "ocl_internal.h"

#define MPX_BLOCK 256 /* rows per partial column sum, as in kernels/mpxent.cl */

static int64_t count_anchors(int64_t N, int64_t L, int single) {
    int64_t A = 0;
    for (int64_t k = 0; k < N; k++) {
        int64_t t = k % L;
        A += single ? (t <= L - 2) : (t >= 1 && t <= L - 2);
    }
    return A;
}

dc_status ocl_mpxent(dc_backend *be, const dc_kernel_args *a) {
    const dc_tensor *z = a->in[0];
    const int64_t N = z->shape[0], F = z->shape[1], L = a->p.i[0];
    const int single = (int)a->p.i[1], want = (int)a->p.i[2] && a->n_out > 1 && a->out[1];
    const float inv_tau = (float)(1.0 / a->p.f[0]), eps = (float)a->p.f[1];
    const int64_t nblk = (N + MPX_BLOCK - 1) / MPX_BLOCK, A = count_anchors(N, L, single);
    cl_mem zh, E, part, v[6];
    dc_status st = ocl_scratch(be, OCL_SCR_MPX_ZH, (size_t)(N * F) * sizeof(float), &zh);
    if (st == DC_OK) st = ocl_scratch(be, OCL_SCR_MPX_E, (size_t)(N * N) * sizeof(float), &E);
    if (st == DC_OK) st = ocl_scratch(be, OCL_SCR_MPX_PART, (size_t)(nblk * N) * sizeof(float), &part);
    for (int i = 0; i < 6 && st == DC_OK; i++)
        st = ocl_scratch(be, OCL_SCR_MPX_VEC + i, (size_t)N * sizeof(float), &v[i]);
    if (st != DC_OK) return dc_fail_prefix("mpxent: scratch for N = %lld", (long long)N);
    cl_mem nrm = v[0], wd = v[1], wn = v[2], l = v[3], w = v[4], sub = v[5];
    st = OCL_LAUNCH(be, OCL_PROG_MPXENT, "mpx_normalize", ocl_range1(N), OA_T(z), OA_L(N), OA_L(F), OA_F(eps),
                    OA_MEM(zh), OA_MEM(nrm));
    if (st == DC_OK) {
        ocl_gemm_args g = {.ta = 0, .tb = 1, .M = N, .N = N, .K = F, .batch = 1, .alpha = 1.0f, .beta = 0.0f,
                           .A = zh, .B = zh, .C = E, .lda = F, .ldb = F, .ldc = N};
        st = ocl_gemm(be, &g);
    }
    if (st == DC_OK)
        st = OCL_LAUNCH(be, OCL_PROG_MPXENT, "mpx_exp_colpart", ocl_range2(N, nblk), OA_MEM(E), OA_L(N),
                        OA_F(inv_tau), OA_MEM(part));
    cl_mem terms = NULL;
    if (st == DC_OK) st = ocl_scratch(be, OCL_SCR_TERMS, (size_t)N * sizeof(float), &terms);
    if (st == DC_OK)
        st = OCL_LAUNCH(be, OCL_PROG_MPXENT, "mpx_anchor", ocl_range1(N), OA_MEM(E), OA_L(N), OA_L(L), OA_I(single),
                        OA_F(1.0 / (double)A), OA_MEM(part), OA_L(nblk), OA_MEM(terms), OA_MEM(wd), OA_MEM(wn),
                        OA_MEM(l));
    if (st == DC_OK) st = ocl_sum_to_scalar(be, terms, N, 1.0 / (double)A, a->out[0]);
    if (want) {
        const dc_tensor *dz = a->out[1];
        if (st == DC_OK)
            st = OCL_LAUNCH(be, OCL_PROG_MPXENT, "mpx_weights", ocl_range1(N), OA_L(N), OA_I(single), OA_MEM(wd),
                            OA_MEM(wn), OA_MEM(w), OA_MEM(sub));
        if (st == DC_OK)
            st = OCL_LAUNCH(be, OCL_PROG_MPXENT, "mpx_wmatrix", ocl_range2(N, N), OA_MEM(E), OA_L(N), OA_F(inv_tau),
                            OA_MEM(w), OA_MEM(sub), OA_MEM(l));
        if (st == DC_OK) {
            ocl_gemm_args g = {.ta = 0, .tb = 0, .M = N, .N = F, .K = N, .batch = 1, .alpha = 1.0f, .beta = 0.0f,
                               .A = E, .B = zh, .C = ocl_mem(dz), .co = ocl_off(dz), .lda = N, .ldb = F, .ldc = F};
            st = ocl_gemm(be, &g);
        }
        if (st == DC_OK)
            st = OCL_LAUNCH(be, OCL_PROG_MPXENT, "mpx_norm_back", ocl_range1(N), OA_T(dz), OA_MEM(zh), OA_MEM(nrm),
                            OA_L(N), OA_L(F), OA_F(eps));
    }
    return st;
}
