/* ocl_misc.c: host side of kernels/misc.cl: the Philox RNG fill (same stream as
 * core/src/rng.c and the CPU backend) and the AdamW update with the step count on the
 * device.
 */
#include <math.h>
#include <string.h>

#include "dc/dc_rng.h"
#include "ocl_internal.h"

_Static_assert(DC_RNG_UNIFORM == 0 && DC_RNG_NORMAL == 1 && DC_RNG_BERNOULLI == 2, "dist codes of misc.cl");

dc_status ocl_rng(dc_backend *be, const dc_kernel_args *a) {
    const dc_tensor *t = a->out[0];
    const int64_t n = dc_tensor_numel(t);
    const int dist = (int)a->p.i[0];
    const uint64_t seed = (uint64_t)a->p.i[1], ctr = (uint64_t)a->p.i[2];
    const double f0 = a->p.f[0], f1 = a->p.f[1];
    if (t->dtype != DC_F32 && t->dtype != DC_U8)
        return dc_fail(DC_ERR_DTYPE, "rng: %s is not supported on opencl", dc_dtype_name(t->dtype));
    /* bernoulli: u01 = m 2^-24 < p  <=>  m < ceil(p 2^24), an exact integer test */
    int64_t thr = !(f0 > 0) ? 0 : f0 >= 1 ? (int64_t)1 << 24 : (int64_t)ceil(f0 * 16777216.0);
    cl_ulong b0, b1;
    memcpy(&b0, &f0, sizeof b0);
    memcpy(&b1, &f1, sizeof b1);
    return OCL_LAUNCH(be, OCL_PROG_MISC, t->dtype == DC_U8 ? "rng_u8" : "rng_f32", ocl_range1((n + 3) / 4), OA_T(t),
                      OA_L(n), OA_U((uint32_t)seed), OA_U((uint32_t)(seed >> 32)), OA_UL(ctr), OA_I(dist), OA_UL(b0),
                      OA_UL(b1), OA_F(f0), OA_F(f1), OA_L(thr));
}

dc_status ocl_adamw(dc_backend *be, const dc_kernel_args *a) {
    const int64_t n = dc_tensor_numel(a->in[0]);
    const double lr = a->p.f[0], b1 = a->p.f[1], b2 = a->p.f[2], eps = a->p.f[3], wd = a->p.f[4];
    return OCL_LAUNCH(be, OCL_PROG_MISC, "adamw_f32", ocl_range1(n), OA_T(a->in[0]), OA_T(a->in[1]), OA_T(a->in[2]),
                      OA_T(a->in[3]), OA_T(a->in[4]), OA_L(n), OA_F(lr), OA_F(b1), OA_F(b2), OA_F(1.0 - b1),
                      OA_F(1.0 - b2), OA_F(log(b1)), OA_F(log(b2)), OA_F(eps), OA_F(1.0 - lr * wd));
}
