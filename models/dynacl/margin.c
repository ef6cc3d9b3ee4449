/* margin.c: DynaCL-M's pieces (docs/METHOD.md §4): feature masking, the random projector, pseudo-labels
 * and the margin contrastive loss, composed from core ops (so every backend runs them).
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

/* Elements (r, c) of the (N, N) matrix E listed by idx_r*N + idx_c, as a vector. */
static dc_tensor *pick(dc_ctx *ctx, dc_tensor *E, const int32_t *flat_idx, int64_t n) {
    int64_t N = E->shape[0];
    dc_tensor *it = dc_tensor_from_host(ctx, DC_I32, 2, (int64_t[]){1, n}, flat_idx);
    dc_tensor *E3 = dc_reshape(ctx, E, 3, (int64_t[]){1, N * N, 1});
    dc_tensor *v = it ? dc_gather(ctx, E3, it) : NULL;
    return v ? dc_reshape(ctx, v, 1, &n) : NULL;
}

dc_tensor *dc_margin_loss(dc_ctx *ctx, dc_tensor *z, dc_tensor *Y, double tau, double margin, double gamma,
                          int64_t seq_len) {
    if (!z || !Y) {
        if (!dc_last_status()) dc_fail(DC_ERR_ARG, "margin loss: NULL input");
        return NULL;
    }
    int64_t N = z->shape[0], L = seq_len ? seq_len : N;
    if (z->ndim != 2 || N < 3 || L < 3 || N % L != 0 || Y->ndim != 1 || Y->shape[0] != N) {
        char s1[128], s2[128];
        dc_fail(DC_ERR_SHAPE, "margin loss: z must be (N >= 3, F) with seq_len %lld dividing N and Y (N); got %s and %s",
                (long long)L, dc_tensor_describe(z, s1, sizeof s1), dc_tensor_describe(Y, s2, sizeof s2));
        return NULL;
    }
    if (N * N > INT32_MAX) {
        dc_fail(DC_ERR_SHAPE, "margin loss: N = %lld rows is too many (N^2 must fit in 32 bits)", (long long)N);
        return NULL;
    }
    int32_t *idx = malloc((size_t)(2 * N) * sizeof *idx);
    uint8_t *skip = malloc((size_t)N);
    if (!idx || !skip) {
        free(idx), free(skip);
        dc_fail(DC_ERR_OOM, "margin loss: out of host memory");
        return NULL;
    }
    dc_tensor *zh = dc_l2norm(ctx, z, 1e-12);
    dc_tensor *S = dc_matmul(ctx, zh, zh, 0, 1);                         /* (N, N), diagonal included */
    dc_tensor *e = dc_exp(ctx, dc_scale(ctx, S, 1.0 / tau));
    /* m_rc = Y_c 0.5 max(0, Mg - S)^2 - (1 - Y_c) 0.5 S^2; x = exp(gamma m / tau) */
    dc_tensor *hinge = dc_relu(ctx, dc_affine(ctx, S, -1.0, margin));
    dc_tensor *Yr = dc_reshape(ctx, Y, 2, (int64_t[]){1, N});
    dc_tensor *pos = dc_mul(ctx, Yr, dc_mul(ctx, hinge, hinge));
    dc_tensor *neg = dc_mul(ctx, dc_affine(ctx, Yr, -1.0, 1.0), dc_mul(ctx, S, S));
    dc_tensor *x = dc_exp(ctx, dc_scale(ctx, dc_sub(ctx, pos, neg), 0.5 * gamma / tau));
    /* column sums without the diagonal, removed by subtraction as the authors do
     * (so an overflowed column gives inf - inf = NaN, as in their code with margin 100) */
    for (int64_t c = 0; c < N; c++) idx[c] = (int32_t)(c * N + c);
    dc_tensor *Cx = dc_sub(ctx, dc_sum(ctx, x, 0, 0), pick(ctx, x, idx, N));
    /* l_j = e(j+1, j), j = 0..N-2; anchors a = 1..N-2 use l_{a-1} = e(a, a-1), l_a = e(a+1, a) */
    for (int64_t j = 0; j + 1 < N; j++) idx[j] = (int32_t)((j + 1) * N + j);
    dc_tensor *l = pick(ctx, e, idx, N - 1);
    dc_tensor *lm = dc_slice(ctx, l, 0, 0, N - 2), *lp = dc_slice(ctx, l, 0, 1, N - 2);
    dc_tensor *num = dc_add(ctx, lm, lp);
    dc_tensor *den = dc_sub(ctx, dc_add(ctx, dc_slice(ctx, Cx, 0, 0, N - 2), dc_slice(ctx, Cx, 0, 1, N - 2)), lm);
    dc_tensor *terms = dc_sub(ctx, dc_log(ctx, den), dc_log(ctx, num)); /* -log(num / den), anchors 1..N-2 */
    int64_t A = 0;
    for (int64_t a = 1; a <= N - 2; a++) {
        int64_t t = a % L;
        skip[a - 1] = !(t >= 1 && t <= L - 2);
        A += !skip[a - 1];
    }
    dc_tensor *sum;
    if (A == N - 2) {
        sum = dc_sum_all(ctx, terms);
    } else {
        dc_tensor *sk = dc_tensor_from_host(ctx, DC_U8, 1, (int64_t[]){N - 2}, skip);
        sum = dc_sum_all(ctx, dc_masked_fill(ctx, terms, sk, 0.0));
    }
    free(idx);
    free(skip);
    return dc_scale(ctx, sum, 1.0 / (double)A);
}
