/* cuda_ops.c: entry points (dc_kernel_fn) of the hand-written CUDA kernels: they unpack
 * dc_kernel_args as documented in dc_backend_impl.h and call the launchers of
 * cuda_kernels.h on the backend's stream. Core has checked shapes and dtypes (f32 floats).
 * cuBLAS, cuFFT and MP-Xent entries are in cuda_libs.c.
 */
#include <stdlib.h>

#include "cuda_internal.h"

static cuda_view4 view4_of(const dc_tensor *t) {
    cuda_view4 v;
    int off = 4 - t->ndim;
    for (int i = 0; i < 4; i++) {
        v.n[i] = i < off ? 1 : t->shape[i - off];
        v.s[i] = i < off ? 0 : t->stride[i - off];
    }
    return v;
}

static int dtype_code(dc_dtype dt) {
    switch (dt) {
    case DC_F64: return CUDA_DT_F64;
    case DC_I32: return CUDA_DT_I32;
    case DC_U8: return CUDA_DT_U8;
    default: return CUDA_DT_F32;
    }
}

/* rows of a tensor whose last axis has `last` elements */
static int64_t rows_of(const dc_tensor *t, int64_t last) { return last ? dc_tensor_numel(t) / last : 0; }

#define STREAM(be) (cuda_st(be)->stream)

/* ---------------------------------------------------------------- data movement, elementwise */

dc_status cuda_op_copy(dc_backend *be, const dc_kernel_args *a) {
    CUDA_ENTER(be);
    CUDA_LAUNCH(be, "copy", cuda_launch_copy(STREAM(be), cuda_ptr(a->in[0]), view4_of(a->in[0]), cuda_ptr(a->out[0]),
                                             view4_of(a->out[0]), (int)dc_dtype_size(a->out[0]->dtype)));
    return DC_OK;
}

dc_status cuda_op_fill(dc_backend *be, const dc_kernel_args *a) {
    CUDA_ENTER(be);
    dc_tensor *t = a->out[0];
    CUDA_LAUNCH(be, "fill",
                cuda_launch_fill(STREAM(be), cuda_ptr(t), dtype_code(t->dtype), dc_tensor_numel(t), a->p.f[0]));
    return DC_OK;
}

dc_status cuda_op_binary(dc_backend *be, const dc_kernel_args *a) {
    CUDA_ENTER(be);
    int op;
    switch (a->op) {
    case DC_OP_ADD: op = CUDA_BIN_ADD; break;
    case DC_OP_SUB: op = CUDA_BIN_SUB; break;
    case DC_OP_MUL: op = CUDA_BIN_MUL; break;
    case DC_OP_DIV: op = CUDA_BIN_DIV; break;
    default: op = CUDA_BIN_ATAN2; break;
    }
    CUDA_LAUNCH(be, dc_op_name(a->op),
                cuda_launch_binary(STREAM(be), op, CUDA_F32(a->in[0]), view4_of(a->in[0]), CUDA_F32(a->in[1]),
                                   view4_of(a->in[1]), CUDA_F32(a->out[0]), view4_of(a->out[0])));
    return DC_OK;
}

dc_status cuda_op_scale(dc_backend *be, const dc_kernel_args *a) {
    CUDA_ENTER(be);
    CUDA_LAUNCH(be, "scale", cuda_launch_scale(STREAM(be), CUDA_F32(a->in[0]), CUDA_F32(a->out[0]),
                                               dc_tensor_numel(a->out[0]), (float)a->p.f[0], (float)a->p.f[1]));
    return DC_OK;
}

dc_status cuda_op_masked_fill(dc_backend *be, const dc_kernel_args *a) {
    CUDA_ENTER(be);
    CUDA_LAUNCH(be, "masked_fill",
                cuda_launch_masked_fill(STREAM(be), CUDA_F32(a->in[0]), (const uint8_t *)cuda_ptr(a->in[1]),
                                        view4_of(a->in[1]), CUDA_F32(a->out[0]), view4_of(a->out[0]),
                                        (float)a->p.f[0]));
    return DC_OK;
}

static int unary_code(dc_op op) {
    switch (op) {
    case DC_OP_RELU: return CUDA_UN_RELU;
    case DC_OP_SIGMOID: return CUDA_UN_SIGMOID;
    case DC_OP_TANH: return CUDA_UN_TANH;
    case DC_OP_EXP: return CUDA_UN_EXP;
    case DC_OP_SQRT: return CUDA_UN_SQRT;
    default: return CUDA_UN_LOG;
    }
}

dc_status cuda_op_unary(dc_backend *be, const dc_kernel_args *a) {
    CUDA_ENTER(be);
    CUDA_LAUNCH(be, dc_op_name(a->op), cuda_launch_unary(STREAM(be), unary_code(a->op), CUDA_F32(a->in[0]),
                                                         CUDA_F32(a->out[0]), dc_tensor_numel(a->out[0])));
    return DC_OK;
}

dc_status cuda_op_act_back(dc_backend *be, const dc_kernel_args *a) {
    CUDA_ENTER(be);
    CUDA_LAUNCH(be, "act_back",
                cuda_launch_act_back(STREAM(be), unary_code((dc_op)a->p.i[0]), CUDA_F32(a->in[0]), CUDA_F32(a->in[1]),
                                     CUDA_F32(a->out[0]), dc_tensor_numel(a->out[0])));
    return DC_OK;
}

dc_status cuda_op_sum(dc_backend *be, const dc_kernel_args *a) {
    CUDA_ENTER(be);
    CUDA_LAUNCH(be, "sum", cuda_launch_sum(STREAM(be), CUDA_F32(a->in[0]), CUDA_F32(a->out[0]), a->p.i[1], a->p.i[2],
                                           a->p.i[3], a->p.f[0]));
    return DC_OK;
}

/* ---------------------------------------------------------------- normalisation */

dc_status cuda_op_batchnorm(dc_backend *be, const dc_kernel_args *a) {
    CUDA_ENTER(be);
    const dc_tensor *x = a->in[0];
    const int64_t C = x->shape[x->ndim - 1], R = rows_of(x, C);
    CUDA_LAUNCH(be, "batchnorm",
                cuda_launch_batchnorm_fwd(STREAM(be), CUDA_F32(x), CUDA_F32(a->in[1]), CUDA_F32(a->in[2]),
                                          CUDA_F32(a->in[3]), CUDA_F32(a->in[4]), CUDA_F32(a->out[0]),
                                          CUDA_F32(a->out[1]), CUDA_F32(a->out[2]), R, C, (int)a->p.i[0],
                                          (int)a->p.i[1], a->p.f[0], a->p.f[1]));
    return DC_OK;
}

dc_status cuda_op_batchnorm_back(dc_backend *be, const dc_kernel_args *a) {
    CUDA_ENTER(be);
    const dc_tensor *x = a->in[1];
    const int64_t C = x->shape[x->ndim - 1], R = rows_of(x, C);
    CUDA_LAUNCH(be, "batchnorm_back",
                cuda_launch_batchnorm_back(STREAM(be), CUDA_F32(a->in[0]), CUDA_F32(x), CUDA_F32(a->in[2]),
                                          CUDA_F32(a->in[3]), CUDA_F32(a->in[4]), CUDA_F32(a->in[5]),
                                          CUDA_F32(a->out[0]), CUDA_F32(a->out[1]), CUDA_F32(a->out[2]), R, C,
                                          (int)a->p.i[0], (int)a->p.i[1]));
    return DC_OK;
}

dc_status cuda_op_l2norm(dc_backend *be, const dc_kernel_args *a) {
    CUDA_ENTER(be);
    const dc_tensor *x = a->in[0];
    const int64_t F = x->shape[x->ndim - 1];
    CUDA_LAUNCH(be, "l2norm", cuda_launch_l2norm_fwd(STREAM(be), CUDA_F32(x), CUDA_F32(a->out[0]),
                                                     CUDA_F32(a->out[1]), rows_of(x, F), F, a->p.f[0]));
    return DC_OK;
}

dc_status cuda_op_l2norm_back(dc_backend *be, const dc_kernel_args *a) {
    CUDA_ENTER(be);
    const dc_tensor *y = a->in[1];
    const int64_t F = y->shape[y->ndim - 1];
    CUDA_LAUNCH(be, "l2norm_back",
                cuda_launch_l2norm_back(STREAM(be), CUDA_F32(a->in[0]), CUDA_F32(y), CUDA_F32(a->in[2]),
                                       CUDA_F32(a->out[0]), rows_of(y, F), F, a->p.f[0]));
    return DC_OK;
}

/* ---------------------------------------------------------------- softmax and losses */

dc_status cuda_op_log_softmax(dc_backend *be, const dc_kernel_args *a) {
    CUDA_ENTER(be);
    const dc_tensor *x = a->in[0];
    const int64_t C = x->shape[x->ndim - 1];
    CUDA_LAUNCH(be, "log_softmax",
                cuda_launch_log_softmax(STREAM(be), CUDA_F32(x), CUDA_F32(a->out[0]), rows_of(x, C), C));
    return DC_OK;
}

dc_status cuda_op_log_softmax_back(dc_backend *be, const dc_kernel_args *a) {
    CUDA_ENTER(be);
    const dc_tensor *y = a->in[1];
    const int64_t C = y->shape[y->ndim - 1];
    CUDA_LAUNCH(be, "log_softmax_back", cuda_launch_log_softmax_back(STREAM(be), CUDA_F32(a->in[0]), CUDA_F32(y),
                                                                      CUDA_F32(a->out[0]), rows_of(y, C), C));
    return DC_OK;
}

dc_status cuda_op_cross_entropy(dc_backend *be, const dc_kernel_args *a) {
    CUDA_ENTER(be);
    const dc_tensor *x = a->in[0];
    const int64_t R = x->shape[0], C = x->shape[1];
    double *row_loss = cuda_scratch(be, (size_t)R * sizeof(double));
    if (!row_loss) return dc_last_status();
    CUDA_LAUNCH(be, "cross_entropy",
                cuda_launch_cross_entropy(STREAM(be), CUDA_F32(x), (const int32_t *)cuda_ptr(a->in[1]),
                                          a->n_out > 1 ? CUDA_F32(a->out[1]) : NULL, R, C, row_loss,
                                          CUDA_F32(a->out[0])));
    return DC_OK;
}

dc_status cuda_op_mse(dc_backend *be, const dc_kernel_args *a) {
    CUDA_ENTER(be);
    const int64_t n = dc_tensor_numel(a->in[0]);
    double *part = cuda_scratch(be, (size_t)cuda_reduce_blocks(n) * sizeof(double));
    if (!part) return dc_last_status();
    CUDA_LAUNCH(be, "mse", cuda_launch_mse(STREAM(be), CUDA_F32(a->in[0]), CUDA_F32(a->in[1]), n, part,
                                           CUDA_F32(a->out[0])));
    return DC_OK;
}

dc_status cuda_op_bce_logits(dc_backend *be, const dc_kernel_args *a) {
    CUDA_ENTER(be);
    const int64_t n = dc_tensor_numel(a->in[0]);
    double *part = cuda_scratch(be, (size_t)cuda_reduce_blocks(n) * sizeof(double));
    if (!part) return dc_last_status();
    CUDA_LAUNCH(be, "bce_logits",
                cuda_launch_bce_logits(STREAM(be), CUDA_F32(a->in[0]), CUDA_F32(a->in[1]),
                                       a->n_out > 1 ? CUDA_F32(a->out[1]) : NULL, n, part, CUDA_F32(a->out[0])));
    return DC_OK;
}

/* ---------------------------------------------------------------- indexing and pooling */

dc_status cuda_op_gather(dc_backend *be, const dc_kernel_args *a) {
    CUDA_ENTER(be);
    const dc_tensor *x = a->in[0], *idx = a->in[1];
    const int64_t To = idx->shape[1];
    CUDA_LAUNCH(be, "gather",
                cuda_launch_gather_fwd(STREAM(be), CUDA_F32(x), (const int32_t *)cuda_ptr(idx), CUDA_F32(a->out[0]),
                                       x->shape[0], x->shape[1], x->shape[2], To, idx->shape[0] == 1 ? 0 : To));
    return DC_OK;
}

dc_status cuda_op_gather_back(dc_backend *be, const dc_kernel_args *a) {
    CUDA_ENTER(be);
    const dc_tensor *idx = a->in[1], *dx = a->out[0];
    const int64_t To = idx->shape[1];
    CUDA_LAUNCH(be, "gather_back",
                cuda_launch_gather_back(STREAM(be), CUDA_F32(a->in[0]), (const int32_t *)cuda_ptr(idx), CUDA_F32(dx),
                                       dx->shape[0], dx->shape[1], dx->shape[2], To, idx->shape[0] == 1 ? 0 : To));
    return DC_OK;
}

dc_status cuda_op_maxpool1d(dc_backend *be, const dc_kernel_args *a) {
    CUDA_ENTER(be);
    const dc_tensor *x = a->in[0], *y = a->out[0];
    CUDA_LAUNCH(be, "maxpool1d",
                cuda_launch_maxpool_fwd(STREAM(be), CUDA_F32(x), CUDA_F32(y), (int32_t *)cuda_ptr(a->out[1]),
                                        x->shape[0], x->shape[1], x->shape[2], a->p.i[0], a->p.i[1], y->shape[1]));
    return DC_OK;
}

/* The forward's kernel and stride travel in p (the backward rule copies the node's params);
 * when they do not describe these shapes, the kernel scans every output instead. */
dc_status cuda_op_maxpool1d_back(dc_backend *be, const dc_kernel_args *a) {
    CUDA_ENTER(be);
    const dc_tensor *gy = a->in[0], *dx = a->out[0];
    const int64_t To = gy->shape[1], T = dx->shape[1];
    int64_t k = a->p.i[0], s = a->p.i[1];
    if (!(k >= 1 && s >= 1 && k <= T && (T - k) / s + 1 == To)) k = s = 0;
    CUDA_LAUNCH(be, "maxpool1d_back",
                cuda_launch_maxpool_back(STREAM(be), CUDA_F32(gy), (const int32_t *)cuda_ptr(a->in[1]), CUDA_F32(dx),
                                        gy->shape[0], To, gy->shape[2], T, k, s));
    return DC_OK;
}

/* ---------------------------------------------------------------- RNG, AdamW */

dc_status cuda_op_rng(dc_backend *be, const dc_kernel_args *a) {
    CUDA_ENTER(be);
    dc_tensor *t = a->out[0];
    if (t->dtype == DC_I32) return dc_fail(DC_ERR_DTYPE, "rng: unsupported dtype %s", dc_dtype_name(t->dtype));
    CUDA_LAUNCH(be, "rng", cuda_launch_rng(STREAM(be), cuda_ptr(t), dtype_code(t->dtype), dc_tensor_numel(t),
                                           (int)a->p.i[0], (uint64_t)a->p.i[1], (uint64_t)a->p.i[2], a->p.f[0],
                                           a->p.f[1]));
    return DC_OK;
}

dc_status cuda_op_adamw(dc_backend *be, const dc_kernel_args *a) {
    CUDA_ENTER(be);
    CUDA_LAUNCH(be, "adamw",
                cuda_launch_adamw(STREAM(be), CUDA_F32(a->in[0]), CUDA_F32(a->in[1]), CUDA_F32(a->in[2]),
                                  CUDA_F32(a->in[3]), CUDA_F32(a->in[4]), dc_tensor_numel(a->in[0]), a->p.f[0],
                                  a->p.f[1], a->p.f[2], a->p.f[3], a->p.f[4]));
    return DC_OK;
}
