/* ocl_loss.c: host side of kernels/reduce.cl and kernels/loss.cl: the SUM kernel,
 * log-softmax and its backward, and the scalar losses (cross-entropy, MSE, BCE on logits)
 * whose per-row or per-element terms are summed in two levels (ocl_sum_to_scalar).
 */
#include "ocl_internal.h"

/* (outer, n, inner) -> (outer, inner), times f0 */
dc_status ocl_sum(dc_backend *be, const dc_kernel_args *a) {
    const int64_t outer = a->p.i[1], n = a->p.i[2], inner = a->p.i[3];
    const float scale = (float)a->p.f[0];
    if (inner == 1)
        return OCL_LAUNCH(be, OCL_PROG_REDUCE, "sum_rows_f32", ocl_groups(outer), OA_T(a->in[0]),
                          OA_T(a->out[0]), OA_L(n), OA_F(scale));
    return OCL_LAUNCH(be, OCL_PROG_REDUCE, "sum_inner_f32", ocl_range1(outer * inner), OA_T(a->in[0]),
                      OA_T(a->out[0]), OA_L(outer), OA_L(n), OA_L(inner), OA_F(scale));
}

static void rows_cols(const dc_tensor *t, int64_t *R, int64_t *C) {
    *C = t->shape[t->ndim - 1];
    *R = *C ? dc_tensor_numel(t) / *C : 0;
}

dc_status ocl_log_softmax(dc_backend *be, const dc_kernel_args *a) {
    int64_t R, C;
    rows_cols(a->in[0], &R, &C);
    return OCL_LAUNCH(be, OCL_PROG_LOSS, "log_softmax_f32", ocl_range1(R), OA_T(a->in[0]), OA_T(a->out[0]), OA_L(R),
                      OA_L(C));
}

dc_status ocl_log_softmax_back(dc_backend *be, const dc_kernel_args *a) {
    int64_t R, C;
    rows_cols(a->in[1], &R, &C);
    return OCL_LAUNCH(be, OCL_PROG_LOSS, "log_softmax_back_f32", ocl_range1(R), OA_T(a->in[0]), OA_T(a->in[1]),
                      OA_T(a->out[0]), OA_L(R), OA_L(C));
}

dc_status ocl_cross_entropy(dc_backend *be, const dc_kernel_args *a) {
    const dc_tensor *x = a->in[0];
    const int64_t R = x->shape[0], C = x->shape[1];
    const int want = a->n_out > 1 && a->out[1];
    cl_mem terms;
    dc_status st = ocl_scratch(be, OCL_SCR_TERMS, (size_t)R * sizeof(float), &terms);
    if (st != DC_OK) return st;
    /* without a gradient output the kernel never writes dl: any buffer will do */
    cl_mem dl = want ? ocl_mem(a->out[1]) : terms;
    int64_t dlo = want ? ocl_off(a->out[1]) : 0;
    st = OCL_LAUNCH(be, OCL_PROG_LOSS, "cross_entropy_rows_f32", ocl_range1(R), OA_T(x), OA_T(a->in[1]), OA_MEM(dl),
                    OA_L(dlo), OA_I(want), OA_L(R), OA_L(C), OA_MEM(terms));
    return st == DC_OK ? ocl_sum_to_scalar(be, terms, R, 1.0 / (double)R, a->out[0]) : st;
}

dc_status ocl_mse(dc_backend *be, const dc_kernel_args *a) {
    const int64_t n = dc_tensor_numel(a->in[0]);
    cl_mem terms;
    dc_status st = ocl_scratch(be, OCL_SCR_TERMS, (size_t)n * sizeof(float), &terms);
    if (st == DC_OK)
        st = OCL_LAUNCH(be, OCL_PROG_LOSS, "mse_terms_f32", ocl_range1(n), OA_T(a->in[0]), OA_T(a->in[1]), OA_L(n),
                        OA_MEM(terms));
    return st == DC_OK ? ocl_sum_to_scalar(be, terms, n, 1.0 / (double)n, a->out[0]) : st;
}

dc_status ocl_bce_logits(dc_backend *be, const dc_kernel_args *a) {
    const int64_t n = dc_tensor_numel(a->in[0]);
    const int want = a->n_out > 1 && a->out[1];
    cl_mem terms;
    dc_status st = ocl_scratch(be, OCL_SCR_TERMS, (size_t)n * sizeof(float), &terms);
    if (st != DC_OK) return st;
    cl_mem dx = want ? ocl_mem(a->out[1]) : terms;
    int64_t dxo = want ? ocl_off(a->out[1]) : 0;
    st = OCL_LAUNCH(be, OCL_PROG_LOSS, "bce_terms_f32", ocl_range1(n), OA_T(a->in[0]), OA_T(a->in[1]), OA_MEM(dx),
                    OA_L(dxo), OA_I(want), OA_L(n), OA_MEM(terms));
    return st == DC_OK ? ocl_sum_to_scalar(be, terms, n, 1.0 / (double)n, a->out[0]) : st;
}
