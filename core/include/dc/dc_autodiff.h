/* dc_autodiff.h: reverse-mode autodiff over the step context's tape.
 *
 *     dc_params_zero_grad(params);            // gradients accumulate: zero them explicitly
 *     dc_tensor *loss = forward(ctx, ...);    // ops record nodes in ctx's tape
 *     if (dc_backward(ctx, loss) != DC_OK) ... // replay the tape in reverse
 *     dc_adamw_step(opt);                     // parameters' grads are filled
 *     dc_ctx_reset(ctx);                      // tape and activations freed in one go
 *
 * Inside dc_ctx_set_grad_enabled(ctx, 0) nothing is recorded (eval/no-grad mode).
 */
#ifndef DC_AUTODIFF_H
#define DC_AUTODIFF_H

#include "dc_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* loss must hold one element and belong to ctx's tape (or be a leaf). Seeds dloss = 1 and
 * accumulates into the .grad of every tensor with DC_NEEDS_GRAD that loss depends on.
 * Gradients of intermediate tensors are recomputed from zero on each call; gradients of
 * leaves and parameters accumulate (+=). */
dc_status dc_backward(dc_ctx *ctx, dc_tensor *loss);
/* Number of nodes recorded in ctx's tape. */
int64_t dc_tape_size(const dc_ctx *ctx);
/* Zero t->grad (no-op when it has none). */
dc_status dc_grad_zero(dc_tensor *t);

#ifdef __cplusplus
}
#endif
#endif
