/* op_cases.c: the op test-case table. Shapes include odd sizes; every differentiable op
 * appears at least once with each of its differentiable inputs. */
#include "op_cases.h"

#include <stdlib.h>
#include <string.h>

#define SH(...) {__VA_ARGS__}

static dc_tensor *b_copy(dc_ctx *x, dc_tensor *const *i, const op_case *c) {
    return dc_mul(x, dc_copy(x, i[0]), i[1]);
}
static dc_tensor *b_reshape(dc_ctx *x, dc_tensor *const *i, const op_case *c) {
    return dc_mul(x, dc_reshape(x, i[0], 2, (int64_t[]){-1, 7}), i[1]);
}
static dc_tensor *b_permute(dc_ctx *x, dc_tensor *const *i, const op_case *c) {
    return dc_permute(x, i[0], (int[]){2, 0, 1});
}
static dc_tensor *b_transpose(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return dc_transpose(x, i[0], 0, 1); }
static dc_tensor *b_slice(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return dc_slice(x, i[0], 1, 2, 5); }
static dc_tensor *b_concat(dc_ctx *x, dc_tensor *const *i, const op_case *c) {
    return dc_concat(x, 3, (dc_tensor *const[]){i[0], i[1], i[2]}, 1);
}
static dc_tensor *b_broadcast(dc_ctx *x, dc_tensor *const *i, const op_case *c) {
    return dc_broadcast_to(x, i[0], 3, (int64_t[]){4, 5, 7});
}
static dc_tensor *b_add(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return dc_add(x, i[0], i[1]); }
static dc_tensor *b_sub(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return dc_sub(x, i[0], i[1]); }
static dc_tensor *b_mul(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return dc_mul(x, i[0], i[1]); }
static dc_tensor *b_div(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return dc_div(x, i[0], i[1]); }
static dc_tensor *b_affine(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return dc_affine(x, i[0], -1.7, 0.3); }
static dc_tensor *b_masked(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return dc_masked_fill(x, i[0], i[1], 0.25); }
static dc_tensor *b_relu(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return dc_relu(x, i[0]); }
static dc_tensor *b_sigmoid(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return dc_sigmoid(x, dc_scale(x, i[0], 3.0)); }
static dc_tensor *b_tanh(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return dc_tanh(x, dc_scale(x, i[0], 2.0)); }
static dc_tensor *b_exp(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return dc_exp(x, i[0]); }
static dc_tensor *b_log(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return dc_log(x, i[0]); }
static dc_tensor *b_sum0(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return dc_sum(x, i[0], 0, 0); }
static dc_tensor *b_sum1k(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return dc_sum(x, i[0], 1, 1); }
static dc_tensor *b_mean2(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return dc_mean(x, i[0], -1, 0); }
static dc_tensor *b_mm_nn(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return dc_matmul(x, i[0], i[1], 0, 0); }
static dc_tensor *b_mm_nt(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return dc_matmul(x, i[0], i[1], 0, 1); }
static dc_tensor *b_mm_tn(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return dc_matmul(x, i[0], i[1], 1, 0); }
static dc_tensor *b_mm_tt(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return dc_matmul(x, i[0], i[1], 1, 1); }
static dc_tensor *bn_common(dc_ctx *x, dc_tensor *const *i, int training, int relu) {
    /* running stats are fresh per call so every evaluation sees the same state */
    int64_t C = i[0]->shape[i[0]->ndim - 1];
    dc_tensor *rm = dc_tensor_zeros(x, i[0]->dtype, 1, &C);
    dc_tensor *rv = dc_tensor_full(x, i[0]->dtype, 1, &C, 1.3);
    dc_bn_opts o = dc_bn_opts_default();
    o.training = training;
    o.fuse_relu = relu;
    return dc_batchnorm(x, i[0], i[1], i[2], rm, rv, &o);
}
static dc_tensor *b_bn_train(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return bn_common(x, i, 1, 0); }
static dc_tensor *b_bn_train_relu(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return bn_common(x, i, 1, 1); }
static dc_tensor *b_bn_eval(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return bn_common(x, i, 0, 0); }
static dc_tensor *b_l2norm(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return dc_l2norm(x, i[0], 1e-12); }
static dc_tensor *b_logsm(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return dc_log_softmax(x, dc_scale(x, i[0], 2.0)); }
static dc_tensor *b_ce(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return dc_cross_entropy(x, dc_scale(x, i[0], 2.0), i[1]); }
static dc_tensor *b_mse(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return dc_mse(x, i[0], i[1]); }
static dc_tensor *b_mpx(dc_ctx *x, dc_tensor *const *i, const op_case *c) {
    dc_mpxent_opts o = {0.5, c->iparam, 0};
    return dc_mpxent(x, i[0], &o);
}
static dc_tensor *b_mpx_single(dc_ctx *x, dc_tensor *const *i, const op_case *c) {
    dc_mpxent_opts o = {0.5, c->iparam, 1};
    return dc_mpxent(x, i[0], &o);
}
static dc_tensor *b_mpx_relu(dc_ctx *x, dc_tensor *const *i, const op_case *c) {
    /* non-negative rows as after the encoder's ReLU, tau 0.2 */
    dc_mpxent_opts o = {0.2, c->iparam, 0};
    return dc_mpxent(x, dc_relu(x, i[0]), &o);
}
static dc_tensor *b_mpx_tiny_tau(dc_ctx *x, dc_tensor *const *i, const op_case *c) {
    /* tau below 1/88, where exp(S / tau) overflows float (S > 0.88: similar rows, as here,
     * every entry in [0.5, 1.5]): every backend, and the composite, must still agree */
    dc_mpxent_opts o = {0.01, c->iparam, 0};
    return dc_mpxent(x, dc_affine(x, dc_relu(x, i[0]), 1.0, 0.5), &o);
}
static dc_tensor *b_maxpool(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return dc_maxpool1d(x, i[0], c->iparam, 2); }
static dc_tensor *b_maxpool_all(dc_ctx *x, dc_tensor *const *i, const op_case *c) {
    return dc_maxpool1d(x, i[0], i[0]->shape[1], 1);
}
static dc_tensor *b_rfft(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return dc_rfft(x, i[0]); }
static dc_tensor *b_irfft(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return dc_irfft(x, i[0], c->iparam); }
static dc_tensor *b_sqrt(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return dc_sqrt(x, i[0]); }
static dc_tensor *b_atan2(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return dc_atan2(x, i[0], i[1]); }
static dc_tensor *b_bce(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return dc_bce_logits(x, dc_scale(x, i[0], 3.0), i[1]); }
static dc_tensor *b_gather(dc_ctx *x, dc_tensor *const *i, const op_case *c) { return dc_gather(x, i[0], i[1]); }

#define F IN_UNIFORM
#define A IN_AWAY
#define P IN_POSITIVE

const op_case dc_op_cases[] = {
    /* name, op, n_in, ndim[], shape[][], kind[], grad_mask, build, iparam, tol */
    {"copy_strided", DC_OP_COPY, 2, {2, 2}, {SH(7, 5), SH(7, 5)}, {F, F}, 3, b_copy},
    {"reshape", DC_OP_RESHAPE, 2, {3, 2}, {SH(3, 2, 7), SH(6, 7)}, {F, F}, 3, b_reshape},
    {"permute_3d", DC_OP_PERMUTE, 1, {3}, {SH(5, 7, 11)}, {F}, 1, b_permute},
    {"transpose", DC_OP_PERMUTE, 1, {2}, {SH(13, 5)}, {F}, 1, b_transpose},
    {"slice", DC_OP_SLICE, 1, {3}, {SH(3, 9, 4)}, {F}, 1, b_slice},
    {"concat3", DC_OP_CONCAT, 3, {2, 2, 2}, {SH(4, 3), SH(4, 1), SH(4, 5)}, {F, F, F}, 7, b_concat},
    {"broadcast_to", DC_OP_COPY, 1, {2}, {SH(5, 1)}, {F}, 1, b_broadcast},
    {"add_bcast", DC_OP_ADD, 2, {3, 1}, {SH(5, 7, 11), SH(11)}, {F, F}, 3, b_add},
    {"add_bcast_mid", DC_OP_ADD, 2, {3, 3}, {SH(5, 1, 11), SH(1, 7, 1)}, {F, F}, 3, b_add},
    {"sub", DC_OP_SUB, 2, {2, 2}, {SH(13, 17), SH(13, 1)}, {F, F}, 3, b_sub},
    {"mul_bcast", DC_OP_MUL, 2, {2, 2}, {SH(9, 13), SH(1, 13)}, {F, F}, 3, b_mul},
    {"div", DC_OP_DIV, 2, {2, 1}, {SH(6, 10), SH(10)}, {F, P}, 3, b_div},
    {"affine", DC_OP_SCALE, 1, {3}, {SH(3, 5, 7)}, {F}, 1, b_affine},
    {"masked_fill", DC_OP_MASKED_FILL, 2, {2, 2}, {SH(9, 7), SH(1, 7)}, {F, IN_MASK}, 1, b_masked},
    {"relu", DC_OP_RELU, 1, {2}, {SH(33, 17)}, {A}, 1, b_relu},
    {"sigmoid", DC_OP_SIGMOID, 1, {2}, {SH(31, 7)}, {F}, 1, b_sigmoid},
    {"tanh", DC_OP_TANH, 1, {1}, {SH(257)}, {F}, 1, b_tanh},
    {"exp", DC_OP_EXP, 1, {2}, {SH(5, 13)}, {F}, 1, b_exp},
    {"log", DC_OP_LOG, 1, {2}, {SH(5, 13)}, {P}, 1, b_log},
    {"sum_axis0", DC_OP_SUM, 1, {3}, {SH(7, 5, 3)}, {F}, 1, b_sum0},
    {"sum_axis1_keep", DC_OP_SUM, 1, {3}, {SH(7, 5, 3)}, {F}, 1, b_sum1k},
    {"mean_last", DC_OP_MEAN, 1, {3}, {SH(4, 6, 9)}, {F}, 1, b_mean2},
    {"matmul_nn", DC_OP_MATMUL, 2, {2, 2}, {SH(7, 13), SH(13, 5)}, {F, F}, 3, b_mm_nn},
    {"matmul_nt", DC_OP_MATMUL, 2, {2, 2}, {SH(9, 17), SH(11, 17)}, {F, F}, 3, b_mm_nt},
    {"matmul_tn", DC_OP_MATMUL, 2, {2, 2}, {SH(17, 9), SH(17, 11)}, {F, F}, 3, b_mm_tn},
    {"matmul_tt", DC_OP_MATMUL, 2, {2, 2}, {SH(6, 5), SH(3, 6)}, {F, F}, 3, b_mm_tt},
    {"matmul_batched", DC_OP_MATMUL, 2, {3, 3}, {SH(3, 5, 7), SH(3, 7, 4)}, {F, F}, 3, b_mm_nn},
    {"matmul_3d_2d", DC_OP_MATMUL, 2, {3, 2}, {SH(2, 5, 7), SH(6, 7)}, {F, F}, 3, b_mm_nt},
    {"matmul_large", DC_OP_MATMUL, 2, {2, 2}, {SH(67, 129), SH(33, 129)}, {F, F}, 3, b_mm_nt, 0, 1e-5, 1e-4},
    {"batchnorm_train", DC_OP_BATCHNORM, 3, {2, 1, 1}, {SH(37, 5), SH(5), SH(5)}, {F, IN_ONES_ISH, F}, 7, b_bn_train},
    {"batchnorm_train_relu", DC_OP_BATCHNORM, 3, {3, 1, 1}, {SH(4, 9, 6), SH(6), SH(6)}, {F, IN_ONES_ISH, F}, 7,
     b_bn_train_relu},
    {"batchnorm_eval", DC_OP_BATCHNORM, 3, {2, 1, 1}, {SH(11, 3), SH(3), SH(3)}, {F, IN_ONES_ISH, F}, 7, b_bn_eval},
    {"l2norm", DC_OP_L2NORM, 1, {2}, {SH(19, 7)}, {F}, 1, b_l2norm},
    {"log_softmax", DC_OP_LOG_SOFTMAX, 1, {2}, {SH(13, 9)}, {F}, 1, b_logsm},
    {"cross_entropy", DC_OP_CROSS_ENTROPY, 2, {2, 1}, {SH(17, 6), SH(17)}, {F, IN_LABEL}, 1, b_ce, 6},
    {"mse", DC_OP_MSE, 2, {2, 2}, {SH(9, 11), SH(9, 11)}, {F, F}, 3, b_mse},
    {"mpxent_authors", DC_OP_MPXENT, 1, {2}, {SH(13, 5)}, {F}, 1, b_mpx, 0},
    {"mpxent_within_seq", DC_OP_MPXENT, 1, {2}, {SH(15, 4)}, {F}, 1, b_mpx, 5},
    {"mpxent_single", DC_OP_MPXENT, 1, {2}, {SH(11, 6)}, {F}, 1, b_mpx_single, 0},
    {"mpxent_single_seq", DC_OP_MPXENT, 1, {2}, {SH(12, 3)}, {F}, 1, b_mpx_single, 4},
    {"mpxent_relu_rows", DC_OP_MPXENT, 1, {2}, {SH(40, 8)}, {A}, 1, b_mpx_relu, 0},
    {"mpxent_large", DC_OP_MPXENT, 1, {2}, {SH(240, 32)}, {A}, 1, b_mpx_relu, 80, 1e-5, 1e-4},
    {"mpxent_tiny_tau", DC_OP_MPXENT, 1, {2}, {SH(40, 8)}, {A}, 1, b_mpx_tiny_tau, 0},
    {"maxpool_k2", DC_OP_MAXPOOL1D, 1, {3}, {SH(3, 9, 5)}, {F}, 1, b_maxpool, 2},
    {"maxpool_k3_overlap", DC_OP_MAXPOOL1D, 1, {3}, {SH(2, 10, 3)}, {F}, 1, b_maxpool, 3},
    {"maxpool_global", DC_OP_MAXPOOL1D, 1, {3}, {SH(4, 7, 6)}, {F}, 1, b_maxpool_all},
    {"sqrt", DC_OP_SQRT, 1, {2}, {SH(7, 9)}, {P}, 1, b_sqrt},
    {"atan2", DC_OP_ATAN2, 2, {2, 2}, {SH(6, 9), SH(1, 9)}, {F, A}, 3, b_atan2},
    {"bce_logits", DC_OP_BCE_LOGITS, 2, {2, 2}, {SH(11, 7), SH(11, 7)}, {F, IN_PROB}, 1, b_bce},
    {"gather_batch", DC_OP_GATHER, 2, {3, 2}, {SH(3, 9, 5), SH(3, 12)}, {F, IN_INDEX}, 1, b_gather, 9},
    {"gather_shared", DC_OP_GATHER, 2, {3, 2}, {SH(2, 7, 4), SH(1, 20)}, {F, IN_INDEX}, 1, b_gather, 7},
    {"rfft_odd", DC_OP_RFFT, 1, {2}, {SH(3, 119)}, {F}, 1, b_rfft},
    {"rfft_even", DC_OP_RFFT, 1, {2}, {SH(5, 50)}, {F}, 1, b_rfft},
    {"rfft_3d", DC_OP_RFFT, 1, {3}, {SH(2, 3, 17)}, {F}, 1, b_rfft},
    {"irfft_even", DC_OP_IRFFT, 1, {3}, {SH(4, 9, 2)}, {F}, 1, b_irfft, 16},
    {"irfft_odd", DC_OP_IRFFT, 1, {3}, {SH(3, 8, 2)}, {F}, 1, b_irfft, 15},
};
const int dc_n_op_cases = (int)(sizeof dc_op_cases / sizeof dc_op_cases[0]);

int64_t opc_numel(const op_case *c, int i) {
    int64_t n = 1;
    for (int d = 0; d < c->ndim[i]; d++) n *= c->shape[i][d];
    return n;
}

void *opc_make_input(const op_case *c, int i, dc_dtype dt, uint64_t seed) {
    int64_t n = opc_numel(c, i);
    dc_rng r = dc_rng_init(seed * 1000003u + (uint64_t)i * 7919u + 17u);
    void *p = malloc((size_t)(n > 0 ? n : 1) * 8);
    if (!p) return NULL;
    for (int64_t k = 0; k < n; k++) {
        double u = dc_rng_uniform(&r), v;
        switch (c->kind[i]) {
        case IN_AWAY: v = (0.2 + 0.8 * u) * (dc_rng_uniform(&r) < 0.5 ? -1 : 1); break;
        case IN_POSITIVE: v = 0.5 + 1.5 * u; break;
        case IN_ONES_ISH: v = 0.5 + u; break;
        case IN_MASK: v = u < 0.3; break;
        case IN_LABEL: v = (double)(int)(u * (double)c->iparam); break;
        case IN_PROB: v = u; break;
        case IN_INDEX: v = (double)((int)(u * (double)(c->iparam + 4)) - 2); break;
        default: v = 2 * u - 1; break;
        }
        switch (dt) {
        case DC_F32: ((float *)p)[k] = (float)v; break;
        case DC_F64: ((double *)p)[k] = v; break;
        case DC_U8: ((uint8_t *)p)[k] = (uint8_t)v; break;
        default: ((int32_t *)p)[k] = (int32_t)v; break;
        }
    }
    return p;
}

int opc_upload_inputs(dc_ctx *ctx, const op_case *c, dc_dtype dt, uint64_t seed, dc_tensor **in) {
    for (int i = 0; i < c->n_in; i++) {
        dc_dtype idt = c->kind[i] == IN_MASK ? DC_U8 : (c->kind[i] == IN_LABEL || c->kind[i] == IN_INDEX) ? DC_I32 : dt;
        void *h = opc_make_input(c, i, idt, seed);
        in[i] = h ? dc_tensor_from_host(ctx, idt, c->ndim[i], c->shape[i], h) : NULL;
        free(h);
        if (!in[i]) return 0;
    }
    return 1;
}
