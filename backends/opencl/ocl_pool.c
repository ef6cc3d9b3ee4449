/* ocl_pool.c: host side of kernels/pool.cl: max-pool over time on (B, T, C) with its
 * argmax, gather along time, and their backward kernels (one work-item per (b, c)
 * column, so the scatter-adds need no atomics).
 */
#include "ocl_internal.h"

dc_status ocl_maxpool1d(dc_backend *be, const dc_kernel_args *a) {
    const dc_tensor *x = a->in[0], *y = a->out[0];
    const int64_t B = x->shape[0], T = x->shape[1], C = x->shape[2], To = y->shape[1];
    return OCL_LAUNCH(be, OCL_PROG_POOL, "maxpool_f32", ocl_range1(B * To * C), OA_T(x), OA_T(y), OA_T(a->out[1]),
                      OA_L(B), OA_L(T), OA_L(C), OA_L(To), OA_L(a->p.i[0]), OA_L(a->p.i[1]));
}

dc_status ocl_maxpool1d_back(dc_backend *be, const dc_kernel_args *a) {
    const dc_tensor *gy = a->in[0], *dx = a->out[0];
    const int64_t B = gy->shape[0], To = gy->shape[1], C = gy->shape[2], T = dx->shape[1];
    return OCL_LAUNCH(be, OCL_PROG_POOL, "maxpool_back_f32", ocl_range1(B * C), OA_T(gy), OA_T(a->in[1]), OA_T(dx),
                      OA_L(B), OA_L(T), OA_L(C), OA_L(To));
}

dc_status ocl_gather(dc_backend *be, const dc_kernel_args *a) {
    const dc_tensor *x = a->in[0], *idx = a->in[1];
    const int64_t B = x->shape[0], T = x->shape[1], C = x->shape[2], To = idx->shape[1];
    const int64_t ib = idx->shape[0] == 1 ? 0 : To;
    return OCL_LAUNCH(be, OCL_PROG_POOL, "gather_f32", ocl_range1(B * To * C), OA_T(x), OA_T(idx), OA_T(a->out[0]),
                      OA_L(B), OA_L(T), OA_L(C), OA_L(To), OA_L(ib));
}

dc_status ocl_gather_back(dc_backend *be, const dc_kernel_args *a) {
    const dc_tensor *gy = a->in[0], *idx = a->in[1], *dx = a->out[0];
    const int64_t B = dx->shape[0], T = dx->shape[1], C = dx->shape[2], To = idx->shape[1];
    const int64_t ib = idx->shape[0] == 1 ? 0 : To;
    return OCL_LAUNCH(be, OCL_PROG_POOL, "gather_back_f32", ocl_range1(B * C), OA_T(gy), OA_T(idx), OA_T(dx),
                      OA_L(B), OA_L(T), OA_L(C), OA_L(To), OA_L(ib));
}
