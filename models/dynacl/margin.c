/* margin.c: DynaCL-M's pieces (docs/METHOD.md §4): feature masking, the random projector and
 * pseudo-labels, from core ops (so every backend runs them). The margin contrastive loss itself
 * is a core op (dc_margin_loss, core/src/ops_fused.c).
 */
#include <math.h>
#include <stdlib.h>

#include "dynacl/dc_dynacl.h"

dc_tensor *dc_feature_mask(dc_ctx *ctx, dc_tensor *x, double p, dc_rng *rng) {
    if (!x) return NULL;
    dc_tensor *mask = dc_tensor_new(ctx, DC_U8, x->ndim, x->shape);
    if (!mask || dc_rng_fill_bernoulli(rng, mask, p) != DC_OK) return NULL;
    return dc_masked_fill(ctx, x, mask, 0.0);
}

dc_tensor *dc_random_projection(dc_ctx *ctx, dc_tensor *X, int64_t F, dc_rng *rng) {
    if (!X) return NULL;
    int64_t D = X->shape[1];
    double bound = 1.0 / sqrt((double)D);
    int was = dc_ctx_set_grad_enabled(ctx, 0); /* the projector is never trained */
    dc_tensor *W = dc_tensor_new(ctx, X->dtype, 2, (int64_t[]){F, D});
    dc_tensor *b = W ? dc_tensor_new(ctx, X->dtype, 1, &F) : NULL;
    dc_tensor *y = NULL;
    if (b && dc_rng_fill_uniform(rng, W, -bound, bound) == DC_OK && dc_rng_fill_uniform(rng, b, -bound, bound) == DC_OK)
        y = dc_add(ctx, dc_matmul(ctx, X, W, 0, 1), b);
    dc_ctx_set_grad_enabled(ctx, was);
    return y;
}

void dc_pseudo_labels_code(const float *x, int64_t N, int64_t D, double thr, float *Y) {
    for (int64_t k = 0; k < N; k++) {
        const float *a = x + k * D, *b = x + ((k + 1) % N) * D;
        double dot = 0, na = 0, nb = 0;
        for (int64_t d = 0; d < D; d++) {
            dot += (double)a[d] * b[d];
            na += (double)a[d] * a[d];
            nb += (double)b[d] * b[d];
        }
        /* torch cosine_similarity: x.y / max(||x|| ||y||, eps) with eps 1e-8 */
        double den = sqrt(na) * sqrt(nb);
        Y[k] = (float)(dot / (den > 1e-8 ? den : 1e-8));
    }
    for (int64_t k = 0; k < N; k++)
        if (Y[k] >= thr) Y[k] = 0;
    for (int64_t k = 0; k < N; k++)
        if (Y[k] <= thr) Y[k] = 1;
}

/* rows of a (N, F) shifted by one: idx k -> (k + 1) mod N */
static dc_tensor *roll_rows(dc_ctx *ctx, dc_tensor *z) {
    int64_t N = z->shape[0];
    int32_t *idx = malloc((size_t)N * sizeof *idx);
    if (!idx) {
        dc_fail(DC_ERR_OOM, "pseudo-labels: out of host memory");
        return NULL;
    }
    for (int64_t k = 0; k < N; k++) idx[k] = (int32_t)((k + 1) % N);
    dc_tensor *it = dc_tensor_from_host(ctx, DC_I32, 2, (int64_t[]){1, N}, idx);
    free(idx);
    dc_tensor *z3 = dc_reshape(ctx, z, 3, (int64_t[]){1, N, z->shape[1]});
    dc_tensor *r = it ? dc_gather(ctx, z3, it) : NULL;
    return r ? dc_reshape(ctx, r, 2, z->shape) : NULL;
}

dc_tensor *dc_pseudo_labels_embeddings(dc_ctx *ctx, dc_tensor *z, double thr) {
    if (!z) return NULL;
    int64_t N = z->shape[0];
    int was = dc_ctx_set_grad_enabled(ctx, 0); /* constants */
    dc_tensor *zh = dc_l2norm(ctx, z, 1e-8);
    dc_tensor *q = zh ? dc_sum(ctx, dc_mul(ctx, zh, roll_rows(ctx, zh)), 1, 0) : NULL;
    dc_ctx_set_grad_enabled(ctx, was);
    if (!q) return NULL;
    float *h = malloc((size_t)N * sizeof *h);
    dc_tensor *Y = NULL;
    if (h && q->dtype == DC_F32 && dc_tensor_download(q, h, (size_t)N * 4) == DC_OK) {
        for (int64_t k = 0; k < N; k++) h[k] = h[k] <= thr ? 1.0f : 0.0f;
        Y = dc_tensor_from_host(ctx, DC_F32, 1, &N, h);
    } else if (h && q->dtype == DC_F64) {
        double *d = malloc((size_t)N * sizeof *d);
        if (d && dc_tensor_download(q, d, (size_t)N * 8) == DC_OK) {
            for (int64_t k = 0; k < N; k++) d[k] = d[k] <= thr ? 1.0 : 0.0;
            Y = dc_tensor_from_host(ctx, DC_F64, 1, &N, d);
        }
        free(d);
    }
    free(h);
    return Y;
}
