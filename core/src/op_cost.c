/* op_cost.c: the nominal FLOPs and bytes of one kernel call, from the shapes of its tensors,
 * for the profiler. FLOPs count what a plain implementation of the op's definition does (a
 * multiply-add is 2, an exp or a division 1), not what a given backend's kernel does; bytes
 * are the sizes of the tensors read and written once. Not here: timing (profile.c).
 */
#include <math.h>

#include "dc_internal.h"

static double nbytes(const dc_tensor *t) { return t ? (double)dc_tensor_numel(t) * (double)dc_dtype_size(t->dtype) : 0; }
static double numel(const dc_tensor *t) { return t ? (double)dc_tensor_numel(t) : 0; }

void dc_op_cost(const dc_kernel_args *a, double *flops_out, double *bytes_out) {
    double bytes = 0, f = 0;
    for (int i = 0; i < a->n_in; i++) bytes += nbytes(a->in[i]);
    for (int i = 0; i < a->n_out; i++) bytes += nbytes(a->out[i]);
    const dc_tensor *x = a->n_in ? a->in[0] : NULL, *y = a->n_out ? a->out[0] : NULL;
    const double ny = numel(y), nx = numel(x);
    switch (a->op) {
    case DC_OP_ADD: case DC_OP_SUB: case DC_OP_MUL: case DC_OP_DIV:
    case DC_OP_RELU: case DC_OP_SIGMOID: case DC_OP_TANH: case DC_OP_EXP: case DC_OP_LOG: case DC_OP_SQRT:
    case DC_OP_ATAN2:
        f = ny;
        break;
    case DC_OP_SCALE: case DC_OP_ACT_BACK:
        f = 2 * ny;
        break;
    case DC_OP_SUM:
        f = nx;
        break;
    case DC_OP_MATMUL: {
        const double batch = (double)a->p.i[2], M = (double)a->p.i[3], N = (double)a->p.i[4], K = (double)a->p.i[5];
        f = 2 * batch * M * N * K;
        if (a->p.f[1] != 0) {
            f += 2 * batch * M * N;
            bytes += nbytes(y); /* C is read too */
        }
        break;
    }
    case DC_OP_LINEAR_BN: /* x W^T (2 R C K), then as BATCHNORM */
        f = 2 * ny * (double)x->shape[1] + (a->p.i[0] ? 6 : 3) * ny;
        break;
    case DC_OP_LINEAR_BN_BACK: /* as BATCHNORM_BACK, dW += dh^T x, dx = dh W */
        f = 8 * numel(a->in[0]) + 2 * numel(a->in[0]) * (double)a->in[1]->shape[1] * (a->out[4] ? 2 : 1);
        bytes += nbytes(a->out[0]) + nbytes(a->out[1]) + nbytes(a->out[2]) + nbytes(a->out[3]); /* read, added to */
        break;
    case DC_OP_BATCHNORM: /* training: mean, variance (3 per element), normalise + ReLU (3) */
        f = (a->p.i[0] ? 6 : 3) * ny;
        break;
    case DC_OP_BATCHNORM_BACK:
        f = 8 * ny;
        break;
    case DC_OP_L2NORM:
        f = 3 * nx;
        break;
    case DC_OP_L2NORM_BACK: case DC_OP_LOG_SOFTMAX: case DC_OP_LOG_SOFTMAX_BACK:
        f = 4 * ny;
        break;
    case DC_OP_CROSS_ENTROPY: case DC_OP_BCE_LOGITS:
        f = 5 * nx;
        break;
    case DC_OP_MSE:
        f = 3 * nx;
        break;
    case DC_OP_MPXENT: case DC_OP_MARGIN: { /* S = Zh Zh^T, exp per entry, sums; gradient: W, W Zh */
        const double N = (double)x->shape[0], F = (double)x->shape[1];
        f = 2 * N * N * F + 2 * N * N + 3 * N * F;
        if (a->op == DC_OP_MARGIN) f += 8 * N * N;   /* the modified scores and their exps */
        if (a->n_out > 1 && a->out[1]) f += 2 * N * N * F + 3 * N * N + 4 * N * F;
        break;
    }
    case DC_OP_MAXPOOL1D:
        f = ny * (double)a->p.i[0];
        break;
    case DC_OP_RFFT: case DC_OP_IRFFT: {
        const double n = (double)a->p.i[0], rows = (double)a->p.i[1];
        f = n > 1 ? 2.5 * n * log2(n) * rows : 0;
        break;
    }
    case DC_OP_ADAMW:
        f = 12 * nx;
        break;
    default: /* copies, fills, gathers, masks, random numbers: data movement only */
        f = 0;
        break;
    }
    if (flops_out) *flops_out = f;
    if (bytes_out) *bytes_out = bytes;
}
