/* dynacl.c: DynaCL's loss and training step on the shared encoder. */
#include <math.h>

#include "dynacl/dc_dynacl.h"

dc_tensor *dc_dynacl_loss(dc_encoder *enc, dc_ctx *ctx, dc_tensor *x, const dc_mpxent_opts *opts) {
    dc_tensor *z = dc_encoder_forward(enc, ctx, x, 1);
    if (!z) return NULL;
    dc_tensor *flat = dc_reshape(ctx, z, 2, (int64_t[]){-1, DC_ENCODER_OUT});
    return dc_mpxent(ctx, flat, opts);
}

dc_status dc_dynacl_step(dc_encoder *enc, dc_adamw *opt, dc_ctx *ctx, dc_tensor *x, const dc_mpxent_opts *opts,
                         double *loss_out) {
    dc_status st = dc_params_zero_grad(enc->params);
    if (st != DC_OK) return st;
    dc_tensor *loss = dc_dynacl_loss(enc, ctx, x, opts);
    if (!loss) return dc_last_status();
    if ((st = dc_backward(ctx, loss)) != DC_OK) return st;
    if ((st = dc_adamw_step(opt)) != DC_OK) return st;
    if (loss_out) {
        *loss_out = dc_tensor_item(loss);
        if (!isfinite(*loss_out)) return dc_fail(DC_ERR_NUMERIC, "dynacl: loss is %g", *loss_out);
    }
    return DC_OK;
}
