/* dc_dynacl.h: the DynaCL model: the shared encoder trained with MP-Xent (SPEC 3, 5).
 *
 *     dc_tensor *loss = dc_dynacl_loss(enc, ctx, x, &opts);  // x (B, T, D), training mode
 *     dc_dynacl_step(enc, opt, ctx, x, &opts, &value);        // zero grad, loss, backward, AdamW
 *
 * The encoder output (B, T, 32) is flattened to (B*T, 32), row b*T + t, and MP-Xent runs on
 * the whole matrix (authors' protocol, seq_len 0) or within each sequence (seq_len T).
 */
#ifndef DC_DYNACL_H
#define DC_DYNACL_H

#include "encoder/dc_encoder.h"

dc_tensor *dc_dynacl_loss(dc_encoder *enc, dc_ctx *ctx, dc_tensor *x, const dc_mpxent_opts *opts);
/* One optimisation step on x. ctx receives the step's activations and tape; the caller
 * resets it between steps. loss_out (optional) gets the loss value (a device sync). */
dc_status dc_dynacl_step(dc_encoder *enc, dc_adamw *opt, dc_ctx *ctx, dc_tensor *x, const dc_mpxent_opts *opts,
                         double *loss_out);

#endif
