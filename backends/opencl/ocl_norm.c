/* ocl_norm.c: host side of kernels/norm.cl: batch normalisation (statistics then the
 * affine map, optional fused ReLU) with its backward, and row-wise L2 normalisation.
 * Semantics as backends/cpu/cpu_norm.c.
 */
#include "ocl_internal.h"

static void rows_cols(const dc_tensor *t, int64_t *R, int64_t *C) {
    *C = t->shape[t->ndim - 1];
    *R = *C ? dc_tensor_numel(t) / *C : 0;
}

dc_status ocl_batchnorm(dc_backend *be, const dc_kernel_args *a) {
    const int training = (int)a->p.i[0], relu = (int)a->p.i[1];
    const float mom = (float)a->p.f[0], eps = (float)a->p.f[1];
    int64_t R, C;
    rows_cols(a->in[0], &R, &C);
    const dc_tensor *x = a->in[0], *mean = a->out[1], *istd = a->out[2];
    dc_status st = OCL_LAUNCH(be, OCL_PROG_NORM, "bn_stats_f32", ocl_groups(C), OA_T(x), OA_L(R), OA_L(C),
                              OA_I(training), OA_F(mom), OA_F(eps), OA_T(a->in[3]), OA_T(a->in[4]), OA_T(mean),
                              OA_T(istd));
    if (st != DC_OK) return st;
    return OCL_LAUNCH(be, OCL_PROG_NORM, "bn_apply_f32", ocl_range1(R * C), OA_T(x), OA_T(a->in[1]), OA_T(a->in[2]),
                      OA_T(mean), OA_T(istd), OA_T(a->out[0]), OA_L(R), OA_L(C), OA_I(relu));
}

/* in: gy, x, y, gamma, mean, istd -> dx, dgamma, dbeta */
dc_status ocl_batchnorm_back(dc_backend *be, const dc_kernel_args *a) {
    const int training = (int)a->p.i[0], relu = (int)a->p.i[1];
    int64_t R, C;
    rows_cols(a->in[1], &R, &C);
    const dc_tensor *gy = a->in[0], *x = a->in[1], *y = a->in[2], *mean = a->in[4], *istd = a->in[5];
    const dc_tensor *dg = a->out[1], *db = a->out[2];
    dc_status st = OCL_LAUNCH(be, OCL_PROG_NORM, "bn_back_stats_f32", ocl_groups(C), OA_T(gy), OA_T(x), OA_T(y),
                              OA_T(mean), OA_T(istd), OA_L(R), OA_L(C), OA_I(relu), OA_T(dg), OA_T(db));
    if (st != DC_OK) return st;
    return OCL_LAUNCH(be, OCL_PROG_NORM, "bn_back_dx_f32", ocl_range1(R * C), OA_T(gy), OA_T(x), OA_T(y),
                      OA_T(a->in[3]), OA_T(mean), OA_T(istd), OA_T(dg), OA_T(db), OA_T(a->out[0]), OA_L(R), OA_L(C),
                      OA_I(relu), OA_I(training));
}

dc_status ocl_l2norm(dc_backend *be, const dc_kernel_args *a) {
    int64_t R, F;
    rows_cols(a->in[0], &R, &F);
    return OCL_LAUNCH(be, OCL_PROG_NORM, "l2norm_f32", ocl_range1(R), OA_T(a->in[0]), OA_T(a->out[0]),
                      OA_T(a->out[1]), OA_L(R), OA_L(F), OA_F(a->p.f[0]));
}

dc_status ocl_l2norm_back(dc_backend *be, const dc_kernel_args *a) {
    int64_t R, F;
    rows_cols(a->in[1], &R, &F);
    return OCL_LAUNCH(be, OCL_PROG_NORM, "l2norm_back_f32", ocl_range1(R), OA_T(a->in[0]), OA_T(a->in[1]),
                      OA_T(a->in[2]), OA_T(a->out[0]), OA_L(R), OA_L(F), OA_F(a->p.f[0]));
}
