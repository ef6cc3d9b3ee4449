/* ocl_matmul.c: GEMM for MATMUL and MP-Xent: CLBlast's SGEMM (strided-batched for
 * batch > 1) on the backend's own queue, or, when built without CLBlast (and for K = 0),
 * the tiled kernel of kernels/gemm.cl. Row-major throughout; offsets count elements.
 */
#include "ocl_internal.h"

#if DC_HAVE_CLBLAST
#include <clblast_c.h>

static const char *clblast_status_name(CLBlastStatusCode c) {
    if (c > -1000) return ocl_error_name((cl_int)c); /* the codes shared with OpenCL */
    switch (c) {
#define N(x) \
    case x: return #x;
        N(CLBlastNotImplemented) N(CLBlastInvalidMatrixA) N(CLBlastInvalidMatrixB) N(CLBlastInvalidMatrixC)
        N(CLBlastInvalidVectorX) N(CLBlastInvalidVectorY) N(CLBlastInvalidDimension) N(CLBlastInvalidLeadDimA)
        N(CLBlastInvalidLeadDimB) N(CLBlastInvalidLeadDimC) N(CLBlastInvalidIncrementX) N(CLBlastInvalidIncrementY)
        N(CLBlastInsufficientMemoryA) N(CLBlastInsufficientMemoryB) N(CLBlastInsufficientMemoryC)
        N(CLBlastInsufficientMemoryX) N(CLBlastInsufficientMemoryY) N(CLBlastInsufficientMemoryTemp)
        N(CLBlastInvalidBatchCount) N(CLBlastInvalidOverrideKernel) N(CLBlastMissingOverrideParameter)
        N(CLBlastInvalidLocalMemUsage) N(CLBlastNoHalfPrecision) N(CLBlastNoDoublePrecision)
        N(CLBlastInvalidVectorScalar) N(CLBlastInsufficientMemoryScalar) N(CLBlastDatabaseError)
        N(CLBlastUnknownError) N(CLBlastUnexpectedError)
#undef N
    default: return "unknown CLBlast status";
    }
}

static dc_status gemm_clblast(dc_backend *be, const ocl_gemm_args *g) {
    ocl_state *s = ocl_st(be);
    const CLBlastTranspose ta = g->ta ? CLBlastTransposeYes : CLBlastTransposeNo;
    const CLBlastTranspose tb = g->tb ? CLBlastTransposeYes : CLBlastTransposeNo;
    CLBlastStatusCode c;
    const char *call;
    if (g->batch == 1) {
        call = "CLBlastSgemm";
        c = CLBlastSgemm(CLBlastLayoutRowMajor, ta, tb, (size_t)g->M, (size_t)g->N, (size_t)g->K, g->alpha, g->A,
                         (size_t)g->ao, (size_t)g->lda, g->B, (size_t)g->bo, (size_t)g->ldb, g->beta, g->C,
                         (size_t)g->co, (size_t)g->ldc, &s->queue, NULL);
    } else {
        call = "CLBlastSgemmStridedBatched";
        c = CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, ta, tb, (size_t)g->M, (size_t)g->N, (size_t)g->K,
                                       g->alpha, g->A, (size_t)g->ao, (size_t)g->lda, (size_t)g->sa, g->B,
                                       (size_t)g->bo, (size_t)g->ldb, (size_t)g->sb, g->beta, g->C, (size_t)g->co,
                                       (size_t)g->ldc, (size_t)g->sc, (size_t)g->batch, &s->queue, NULL);
    }
    if (c != CLBlastSuccess) {
        ocl_fail_call(s, call, clblast_status_name(c), (cl_int)c, __FILE__, __LINE__);
        return dc_fail_prefix("gemm %lldx%lldx%lld (batch %lld)", (long long)g->M, (long long)g->N, (long long)g->K,
                              (long long)g->batch);
    }
    return DC_OK;
}
#endif

static dc_status gemm_tiled(dc_backend *be, const ocl_gemm_args *g) {
    const size_t ts = 16;
    ocl_range r = {3, {((size_t)g->N + ts - 1) / ts * ts, ((size_t)g->M + ts - 1) / ts * ts, (size_t)g->batch},
                   {ts, ts, 1}};
    return OCL_LAUNCH(be, OCL_PROG_GEMM, "gemm_f32", r, OA_I(g->ta), OA_I(g->tb), OA_L(g->M), OA_L(g->N), OA_L(g->K),
                      OA_F(g->alpha), OA_MEM(g->A), OA_L(g->ao), OA_L(g->lda), OA_L(g->sa), OA_MEM(g->B), OA_L(g->bo),
                      OA_L(g->ldb), OA_L(g->sb), OA_F(g->beta), OA_MEM(g->C), OA_L(g->co), OA_L(g->ldc),
                      OA_L(g->sc));
}

dc_status ocl_gemm(dc_backend *be, const ocl_gemm_args *g) {
    if (g->M == 0 || g->N == 0 || g->batch == 0) return DC_OK;
#if DC_HAVE_CLBLAST
    if (g->K > 0) return gemm_clblast(be, g); /* CLBlast rejects K = 0; the tiled kernel gives beta C */
#endif
    return gemm_tiled(be, g);
}

/* out0 (batch, M, N) = f0 op(A) op(B) + f1 out0 */
dc_status ocl_matmul(dc_backend *be, const dc_kernel_args *a) {
    ocl_gemm_args g = {0};
    g.ta = (int)a->p.i[0];
    g.tb = (int)a->p.i[1];
    g.batch = a->p.i[2];
    g.M = a->p.i[3];
    g.N = a->p.i[4];
    g.K = a->p.i[5];
    g.alpha = (float)a->p.f[0];
    g.beta = (float)a->p.f[1];
    g.A = ocl_mem(a->in[0]);
    g.B = ocl_mem(a->in[1]);
    g.C = ocl_mem(a->out[0]);
    g.ao = ocl_off(a->in[0]);
    g.bo = ocl_off(a->in[1]);
    g.co = ocl_off(a->out[0]);
    g.lda = g.ta ? g.M : g.K;
    g.ldb = g.tb ? g.K : g.N;
    g.ldc = g.N;
    g.sa = g.M * g.K;
    g.sb = g.K * g.N;
    g.sc = g.M * g.N;
    return ocl_gemm(be, &g);
}
