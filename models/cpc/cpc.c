/* cpc.c: CPC as adapted in the authors' code (docs/METHOD.md §6.3): GRU autoregressor and linear
 * density-ratio estimator composed from core ops (matmul, sigmoid, tanh, gather,
 * cross-entropy), index draws, and the method's heads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpc/dc_cpc.h"

#define CPC_H DC_ENCODER_OUT

enum { GRU_W_IH, GRU_W_HH, GRU_B_IH, GRU_B_HH, EST_W, EST_B, N_HEADS };
static const char *const k_names[N_HEADS] = {"gru.weight_ih_l0", "gru.weight_hh_l0", "gru.bias_ih_l0",
                                            "gru.bias_hh_l0",   "estimator.weight", "estimator.bias"};

static dc_status setup_cpc(dc_model *m, dc_backend *be, dc_rng *rng) {
    const int64_t shapes[N_HEADS][2] = {{3 * CPC_H, CPC_H}, {3 * CPC_H, CPC_H}, {3 * CPC_H, 0},
                                        {3 * CPC_H, 0},     {CPC_H, CPC_H},     {CPC_H, 0}};
    m->heads = dc_params_new(be, DC_F32, 1);
    if (!m->heads) return dc_last_status();
    for (int i = 0; i < N_HEADS; i++)
        if (!dc_params_add(m->heads, k_names[i], shapes[i][1] ? 2 : 1, shapes[i])) return dc_last_status();
    dc_status st = dc_params_alloc(m->heads);
    /* PyTorch: GRU weights and biases U(+-1/sqrt(H)); Linear(32, 32) weight and bias U(+-1/sqrt(32)) */
    double bound = 1.0 / sqrt((double)CPC_H);
    for (int i = 0; i < N_HEADS && st == DC_OK; i++) st = dc_rng_fill_uniform(rng, dc_params_get(m->heads, i), -bound, bound);
    return st;
}

dc_tensor *dc_gru_last(dc_ctx *ctx, dc_tensor *x, dc_tensor *w_ih, dc_tensor *w_hh, dc_tensor *b_ih, dc_tensor *b_hh) {
    if (!ctx || !x || !w_ih || !w_hh || !b_ih || !b_hh) {
        if (!dc_last_status()) dc_fail(DC_ERR_ARG, "gru: NULL argument");
        return NULL;
    }
    int64_t H = w_hh->ndim == 2 ? w_hh->shape[1] : 0;
    if (x->ndim != 3 || w_ih->ndim != 2 || w_ih->shape[0] != 3 * H || w_ih->shape[1] != x->shape[2] || w_hh->shape[0] != 3 * H ||
        b_ih->ndim != 1 || b_ih->shape[0] != 3 * H || b_hh->ndim != 1 || b_hh->shape[0] != 3 * H || x->shape[1] < 1) {
        char s1[128], s2[128], s3[128];
        dc_fail(DC_ERR_SHAPE,
                "gru: x %s, weight_ih %s, weight_hh %s: need x (B, S >= 1, I), weight_ih (3H, I), weight_hh (3H, H), biases (3H)",
                dc_tensor_describe(x, s1, sizeof s1), dc_tensor_describe(w_ih, s2, sizeof s2),
                dc_tensor_describe(w_hh, s3, sizeof s3));
        return NULL;
    }
    int64_t B = x->shape[0], S = x->shape[1];
    dc_tensor *gi_all = dc_add(ctx, dc_matmul(ctx, x, w_ih, 0, 1), b_ih); /* (B, S, 3H) for every step at once */
    dc_tensor *h = dc_tensor_zeros(ctx, x->dtype, 2, (int64_t[]){B, H});
    for (int64_t s = 0; s < S && h && gi_all; s++) {
        dc_tensor *gi = dc_reshape(ctx, dc_slice(ctx, gi_all, 1, s, 1), 2, (int64_t[]){B, 3 * H});
        dc_tensor *gh = dc_add(ctx, dc_matmul(ctx, h, w_hh, 0, 1), b_hh);
        dc_tensor *r = dc_sigmoid(ctx, dc_add(ctx, dc_slice(ctx, gi, 1, 0, H), dc_slice(ctx, gh, 1, 0, H)));
        dc_tensor *z = dc_sigmoid(ctx, dc_add(ctx, dc_slice(ctx, gi, 1, H, H), dc_slice(ctx, gh, 1, H, H)));
        dc_tensor *n = dc_tanh(ctx, dc_add(ctx, dc_slice(ctx, gi, 1, 2 * H, H), dc_mul(ctx, r, dc_slice(ctx, gh, 1, 2 * H, H))));
        h = dc_add(ctx, n, dc_mul(ctx, z, dc_sub(ctx, h, n))); /* (1 - z) n + z h */
    }
    return gi_all ? h : NULL;
}

dc_tensor *dc_cpc_infonce(dc_ctx *ctx, dc_tensor *z, dc_tensor *q, const int32_t *idx, int64_t n_idx) {
    if (!ctx || !z || !q || !idx) {
        if (!dc_last_status()) dc_fail(DC_ERR_ARG, "cpc infonce: NULL argument");
        return NULL;
    }
    if (z->ndim != 3 || q->ndim != 2 || q->shape[0] != z->shape[0] || q->shape[1] != z->shape[2] || n_idx < 1) {
        char s1[128], s2[128];
        dc_fail(DC_ERR_SHAPE, "cpc infonce: z %s and q %s must be (B, T, F) and (B, F), with >= 1 index (got %lld)",
                dc_tensor_describe(z, s1, sizeof s1), dc_tensor_describe(q, s2, sizeof s2), (long long)n_idx);
        return NULL;
    }
    int64_t B = z->shape[0], F = z->shape[2];
    for (int64_t j = 0; j < n_idx; j++)
        if (idx[j] < 0 || idx[j] >= z->shape[1]) {
            dc_fail(DC_ERR_ARG, "cpc infonce: index %d outside the %lld time steps", idx[j], (long long)z->shape[1]);
            return NULL;
        }
    int32_t *tg = malloc((size_t)B * sizeof *tg);
    if (!tg) {
        dc_fail(DC_ERR_OOM, "cpc: out of host memory");
        return NULL;
    }
    for (int64_t b = 0; b < B; b++) tg[b] = (int32_t)(n_idx - 1);
    dc_tensor *ti = dc_tensor_from_host(ctx, DC_I32, 2, (int64_t[]){1, n_idx}, idx);
    dc_tensor *targets = ti ? dc_tensor_from_host(ctx, DC_I32, 1, &B, tg) : NULL;
    free(tg);
    if (!targets) return NULL;
    dc_tensor *sel = dc_gather(ctx, z, ti); /* (B, n_idx, F) */
    dc_tensor *r = dc_matmul(ctx, sel, dc_reshape(ctx, q, 3, (int64_t[]){B, F, 1}), 0, 0);
    return dc_cross_entropy(ctx, dc_reshape(ctx, r, 2, (int64_t[]){B, n_idx}), targets);
}

dc_status dc_cpc_draw_indices(dc_rng *rng, int64_t T, int64_t window, int32_t *idx) {
    int64_t c = T / 2, K = T / 2;
    int64_t n1 = c - 2 > 0 ? c - 2 : 0, n2 = T - (c + 3) > 0 ? T - (c + 3) : 0; /* {0..c-3}, {c+3..T-1} */
    if (window < 1 || c + window > T || c + 1 >= T)
        return dc_fail(DC_ERR_SHAPE,
                       "cpc: the context window of %lld steps from c = T/2 = %lld runs past the sequence (T = %lld)",
                       (long long)window, (long long)c, (long long)T);
    if (K < 1 || n1 + n2 < 1)
        return dc_fail(DC_ERR_SHAPE, "cpc: sequences of T = %lld have no negatives outside c-2..c+2 (c = %lld)", (long long)T,
                       (long long)c);
    for (int64_t j = 0; j < K; j++) {
        int64_t u = dc_rng_randint(rng, 0, n1 + n2 - 1);
        idx[j] = (int32_t)(u < n1 ? u : c + 3 + (u - n1));
    }
    idx[K] = (int32_t)(c + 1);
    return DC_OK;
}

/* A head for this step: the parameter itself when it trains, else a view without gradient
 * (the authors' untrained heads: no gradient is accumulated for them). */
static dc_tensor *head(dc_model *m, dc_ctx *ctx, int i) {
    dc_tensor *p = dc_params_get(m->heads, i);
    return m->cfg.train_heads ? p : dc_view_reshape(ctx, p, p->ndim, p->shape);
}

static dc_tensor *loss_cpc(dc_model *m, dc_ctx *ctx, dc_tensor *x, int training, dc_rng *rng, dc_loss_terms *t) {
    int64_t T = x->shape[1], c = T / 2, W = dc_cfg_int(&m->cfg, DC_CPC_WINDOW);
    int32_t *idx = malloc((size_t)(T / 2 + 1) * sizeof *idx);
    if (!idx) {
        dc_fail(DC_ERR_OOM, "cpc: out of host memory");
        return NULL;
    }
    dc_tensor *L = NULL;
    if (dc_cpc_draw_indices(rng, T, W, idx) == DC_OK) {
        /* docs/METHOD.md §6.3: the authors' validation pass leaves the encoder in train mode */
        int enc_train = strcmp(m->cfg.protocol, "authors") ? training : 1;
        dc_tensor *zs = dc_encoder_forward(m->enc, ctx, x, enc_train);
        dc_tensor *h = zs ? dc_gru_last(ctx, dc_slice(ctx, zs, 1, c, W), head(m, ctx, GRU_W_IH), head(m, ctx, GRU_W_HH),
                                        head(m, ctx, GRU_B_IH), head(m, ctx, GRU_B_HH))
                          : NULL;
        dc_tensor *q = h ? dc_add(ctx, dc_matmul(ctx, h, head(m, ctx, EST_W), 0, 1), head(m, ctx, EST_B)) : NULL;
        L = q ? dc_cpc_infonce(ctx, zs, q, idx, T / 2 + 1) : NULL;
    }
    free(idx);
    dc_loss_terms_add(t, "infonce", L);
    return L;
}

/* docs/METHOD.md §6.3 */
static const dc_option k_rows[DC_CPC_N_OPTIONS] = {
    [DC_CPC_WINDOW] = {"cpc_window", "cpc-window", "hyperparameters", DC_OPTION_INT, "[1, inf)", .def = {{.value = 5}},
                       .help = "GRU context steps from T/2"},
};
static const dc_option_table k_options = {"cpc", k_rows, DC_CPC_N_OPTIONS};

/* The script's scheduler is never stepped: no plateau validation. */
const dc_model_vtbl dc_cpc_vtbl = {.name = "cpc", .display_name = "CPC", .options = &k_options, .setup = setup_cpc,
                                   .loss = loss_cpc};
