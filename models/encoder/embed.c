/* embed.c: batched eval-mode inference of the shared encoder on host data. */
#include <stdlib.h>

#include "encoder/dc_encoder.h"

dc_status dc_encoder_embed(dc_encoder *enc, const float *X, int64_t n, int64_t T, float *Z, int64_t chunk) {
    if (!enc || !X || !Z || n < 0 || T < 1 || chunk < 1) return dc_fail(DC_ERR_ARG, "embed: bad arguments");
    dc_backend *be = dc_tensor_backend(enc->w[0]);
    dc_ctx *ctx = dc_ctx_new(be);
    if (!ctx) return dc_last_status();
    dc_ctx_set_grad_enabled(ctx, 0);
    int64_t D = enc->dims[0];
    dc_status st = DC_OK;
    for (int64_t s = 0; s < n && st == DC_OK; s += chunk) {
        int64_t b = n - s < chunk ? n - s : chunk;
        dc_ctx_reset(ctx);
        dc_tensor *x = dc_tensor_from_host(ctx, DC_F32, 3, (int64_t[]){b, T, D}, X + s * T * D);
        dc_tensor *z = x ? dc_encoder_forward(enc, ctx, x, 0) : NULL;
        st = z ? dc_tensor_download(z, Z + s * T * DC_ENCODER_OUT, (size_t)(b * T * DC_ENCODER_OUT) * sizeof(float))
               : dc_last_status();
    }
    dc_ctx_free(ctx);
    return st;
}
