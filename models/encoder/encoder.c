/* encoder.c: the shared 3-block encoder (docs/METHOD.md §2). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "encoder/dc_encoder.h"

static const int64_t k_hidden[DC_ENCODER_LAYERS] = {128, 64, 32};

dc_encoder *dc_encoder_new(dc_backend *be, int64_t in_dim) {
    if (in_dim < 1) {
        dc_fail(DC_ERR_ARG, "encoder: input dimension must be >= 1 (got %lld)", (long long)in_dim);
        return NULL;
    }
    dc_encoder *e = calloc(1, sizeof *e);
    if (!e) {
        dc_fail(DC_ERR_OOM, "encoder: out of host memory");
        return NULL;
    }
    e->dims[0] = in_dim;
    for (int l = 0; l < DC_ENCODER_LAYERS; l++) e->dims[l + 1] = k_hidden[l];
    e->params = dc_params_new(be, DC_F32, 1);
    e->buffers = e->params ? dc_params_new(be, DC_F32, 0) : NULL;
    if (!e->buffers) goto fail;
    char name[64];
    for (int l = 0; l < DC_ENCODER_LAYERS; l++) { /* state_dict order */
        int64_t out = e->dims[l + 1], in = e->dims[l];
        snprintf(name, sizeof name, "conv%d.weight", l + 1);
        e->w[l] = dc_params_add(e->params, name, 2, (int64_t[]){out, in});
        snprintf(name, sizeof name, "conv%d.bias", l + 1);
        e->b[l] = dc_params_add(e->params, name, 1, &out);
        if (!e->w[l] || !e->b[l]) goto fail;
    }
    for (int l = 0; l < DC_ENCODER_LAYERS; l++) {
        int64_t out = e->dims[l + 1];
        snprintf(name, sizeof name, "bn%d.weight", l + 1);
        e->gamma[l] = dc_params_add(e->params, name, 1, &out);
        snprintf(name, sizeof name, "bn%d.bias", l + 1);
        e->beta[l] = dc_params_add(e->params, name, 1, &out);
        snprintf(name, sizeof name, "bn%d.running_mean", l + 1);
        e->run_mean[l] = dc_params_add(e->buffers, name, 1, &out);
        snprintf(name, sizeof name, "bn%d.running_var", l + 1);
        e->run_var[l] = dc_params_add(e->buffers, name, 1, &out);
        if (!e->gamma[l] || !e->beta[l] || !e->run_mean[l] || !e->run_var[l]) goto fail;
    }
    if (dc_params_alloc(e->params) != DC_OK || dc_params_alloc(e->buffers) != DC_OK) goto fail;
    return e;
fail:
    dc_fail_prefix("encoder (D = %lld)", (long long)in_dim);
    dc_encoder_free(e);
    return NULL;
}

void dc_encoder_free(dc_encoder *e) {
    if (!e) return;
    dc_params_free(e->params);
    dc_params_free(e->buffers);
    free(e);
}

dc_status dc_encoder_init(dc_encoder *e, dc_rng *rng) {
    if (!e || !rng) return dc_fail(DC_ERR_ARG, "encoder_init: NULL encoder or rng");
    dc_status st = DC_OK;
    for (int l = 0; l < DC_ENCODER_LAYERS && st == DC_OK; l++) {
        double bound = 1.0 / sqrt((double)e->dims[l]); /* kaiming_uniform(a=sqrt(5)) == U(+-1/sqrt(fan_in)) */
        st = dc_rng_fill_uniform(rng, e->w[l], -bound, bound);
        if (st == DC_OK) st = dc_rng_fill_uniform(rng, e->b[l], -bound, bound);
    }
    for (int l = 0; l < DC_ENCODER_LAYERS && st == DC_OK; l++) {
        st = dc_tensor_fill(e->gamma[l], 1.0);
        if (st == DC_OK) st = dc_tensor_fill(e->beta[l], 0.0);
        if (st == DC_OK) st = dc_tensor_fill(e->run_mean[l], 0.0);
        if (st == DC_OK) st = dc_tensor_fill(e->run_var[l], 1.0);
    }
    e->num_batches_tracked = 0;
    return st;
}

dc_tensor *dc_encoder_forward(dc_encoder *e, dc_ctx *ctx, dc_tensor *x, int training) {
    if (!e || !x) {
        if (!dc_last_status()) dc_fail(DC_ERR_ARG, "encoder: NULL encoder or input");
        return NULL;
    }
    int64_t D = x->shape[x->ndim - 1];
    if ((x->ndim != 2 && x->ndim != 3) || D != e->dims[0]) {
        char s[160];
        dc_fail(DC_ERR_SHAPE, "encoder: expects (B, T, %lld) or (N, %lld) input, got %s", (long long)e->dims[0],
                (long long)e->dims[0], dc_tensor_describe(x, s, sizeof s));
        return NULL;
    }
    dc_tensor *h = dc_reshape(ctx, x, 2, (int64_t[]){-1, D});
    dc_bn_opts bn = dc_bn_opts_default();
    bn.training = training;
    bn.fuse_relu = 1;
    for (int l = 0; l < DC_ENCODER_LAYERS; l++) {
        h = dc_add(ctx, dc_matmul(ctx, h, e->w[l], 0, 1), e->b[l]);
        h = dc_batchnorm(ctx, h, e->gamma[l], e->beta[l], e->run_mean[l], e->run_var[l], &bn);
    }
    if (!h) return NULL;
    if (training) e->num_batches_tracked++;
    if (x->ndim == 3) return dc_reshape(ctx, h, 3, (int64_t[]){x->shape[0], x->shape[1], DC_ENCODER_OUT});
    return h;
}
