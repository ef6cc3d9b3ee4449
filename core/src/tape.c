/* tape.c: recording ops on a context's tape for autodiff. Not here: replaying it backwards
 * (backward.c) or the op builders that call dc_tape_record (ops_*.c).
 */
#include "dc_internal.h"

dc_node *dc_tape_record(dc_ctx *ctx, dc_op op, dc_tensor *out, int n_in, dc_tensor *const *in,
                        const dc_op_params *p) {
    if (!ctx->grad_enabled) return NULL;
    int need = 0;
    for (int i = 0; i < n_in; i++)
        if (in[i] && (in[i]->flags & DC_NEEDS_GRAD)) need = 1;
    if (!need) return NULL;
    DC_ASSERT(n_in <= DC_MAX_NODE_IN);
    dc_node *n = dc_arena_alloc(ctx, sizeof *n);
    if (!n || !dc_grow_array((void **)&ctx->tape, &ctx->cap_tape, ctx->n_tape + 1, sizeof(dc_node *))) {
        dc_fail(DC_ERR_OOM, "%s: out of host memory recording the tape", dc_op_name(op));
        return NULL;
    }
    n->op = op;
    n->n_in = n_in;
    for (int i = 0; i < n_in; i++) n->in[i] = in[i];
    n->out = out;
    if (p) n->p = *p;
    out->node = n;
    out->flags |= DC_NEEDS_GRAD;
    ctx->tape[ctx->n_tape++] = n;
    return n;
}

int64_t dc_tape_size(const dc_ctx *ctx) { return ctx ? ctx->n_tape : 0; }
