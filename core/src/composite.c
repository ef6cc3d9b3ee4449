/* composite.c: the minimal primitive set and the composite of every other kernel, in one
 * place. A backend must implement the primitives; every other kernel slot may stay NULL and
 * then runs as its composite (also when the slot lacks the dtype, or is switched off by
 * DC_NO_FUSED=1 / dc_backend_set_no_fused). Both lists are in the order a porter should
 * fill the slots (docs/PORTING.md §2). Not here: the composites (composite_*.c).
 */
#include "composite.h"

_Static_assert(DC_OP_COUNT <= 64, "dc_backend.ops_off holds one bit per op");

/* The minimal primitive set. Why each one cannot be composed from the others:
 * FILL, COPY, the elementwise arithmetic, SUM and MATMUL are the algebra itself; EXP, LOG,
 * SQRT, ATAN2 and the activations are transcendental (SIGMOID and TANH could be built from
 * EXP, at a loss of accuracy near 0, and RELU only through MAXPOOL1D: not worth it for
 * kernels this simple); MASKED_FILL is the only op that reads a u8 mask; GATHER is the only
 * indexed read; MAXPOOL1D is the only comparison (its argmax gives the composites exact
 * steps and maxima); RNG is integer arithmetic (Philox); RFFT and IRFFT would need a
 * twiddle table uploaded per length and O(n^2) work as a DFT by MATMUL, where a porter has
 * a vendor FFT instead. */
static const dc_op k_primitives[] = {
    DC_OP_FILL,   DC_OP_COPY,    DC_OP_ADD,  DC_OP_SUB,  DC_OP_MUL,         DC_OP_DIV,    DC_OP_SCALE,
    DC_OP_MATMUL, DC_OP_SUM,     DC_OP_EXP,  DC_OP_LOG,  DC_OP_SQRT,        DC_OP_RELU,   DC_OP_SIGMOID,
    DC_OP_TANH,   DC_OP_GATHER,  DC_OP_MAXPOOL1D, DC_OP_MASKED_FILL, DC_OP_RNG, DC_OP_ATAN2, DC_OP_RFFT,
    DC_OP_IRFFT,
};

/* Every other kernel, with its composite; first the ones a training step spends most in. */
static const struct {
    dc_op op;
    dc_composite_fn fn;
} k_composites[] = {
    {DC_OP_MPXENT, dc_cx_mpxent},
    {DC_OP_BATCHNORM, dc_cx_batchnorm},
    {DC_OP_BATCHNORM_BACK, dc_cx_batchnorm_back},
    {DC_OP_ACT_BACK, dc_cx_act_back},
    {DC_OP_ADAMW, dc_cx_adamw},
    {DC_OP_GATHER_BACK, dc_cx_gather_back},
    {DC_OP_MAXPOOL1D_BACK, dc_cx_maxpool1d_back},
    {DC_OP_L2NORM, dc_cx_l2norm},
    {DC_OP_L2NORM_BACK, dc_cx_l2norm_back},
    {DC_OP_LOG_SOFTMAX, dc_cx_log_softmax},
    {DC_OP_LOG_SOFTMAX_BACK, dc_cx_log_softmax_back},
    {DC_OP_CROSS_ENTROPY, dc_cx_cross_entropy},
    {DC_OP_BCE_LOGITS, dc_cx_bce_logits},
    {DC_OP_MSE, dc_cx_mse},
};
#define N_COMPOSITES ((int)(sizeof k_composites / sizeof k_composites[0]))

static _Thread_local int64_t g_calls[DC_OP_COUNT];

static dc_composite_fn composite_of(dc_op op) {
    for (int i = 0; i < N_COMPOSITES; i++)
        if (k_composites[i].op == op) return k_composites[i].fn;
    return NULL;
}

int dc_op_is_primitive(dc_op op) {
    for (size_t i = 0; i < sizeof k_primitives / sizeof k_primitives[0]; i++)
        if (k_primitives[i] == op) return 1;
    return 0;
}

int dc_op_has_composite(dc_op op) { return composite_of(op) != NULL; }

int64_t dc_composite_calls(dc_op op) { return ((int)op >= 0 && op < DC_OP_COUNT) ? g_calls[op] : 0; }

dc_status dc_composite_run(dc_ctx *ctx, const dc_kernel_args *a) {
    dc_composite_fn fn = composite_of(a->op);
    if (!fn) return dc_fail(DC_ERR_UNSUPPORTED, "%s: no composite (a primitive)", dc_op_name(a->op));
    dc_status st = dc_check_kernel_args(ctx->be, a);
    if (st != DC_OK) return st;
    int was = dc_ctx_set_grad_enabled(ctx, 0);
    st = fn(ctx, a);
    dc_ctx_set_grad_enabled(ctx, was);
    if (st != DC_OK) {
        if (dc_last_status() == DC_OK) dc_fail(st, "a primitive failed");
        return dc_fail_prefix("%s: composite on %s", dc_op_name(a->op), ctx->be->name);
    }
    g_calls[a->op]++;
    return DC_OK;
}
