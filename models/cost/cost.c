/* cost.c: the CoST method (docs/METHOD.md §6.5): input_fc, trend and seasonal disentanglers, MoCo with a
 * key encoder, queue and momentum updates, the frequency-domain season loss, and the
 * protocol switch between the authors' self-keyed frozen encoder and a separate key encoder.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cost/dc_cost.h"
#include "ts2vec/dc_ts2vec.h"

#define DROPOUT_P 0.1
#define FREQ_EPS 1e-6

enum { HEAD_W0, HEAD_B0, HEAD_W2, HEAD_B2, N_HEAD };

typedef struct cost_impl {
    int frozen;                                /* authors: the encoder is its own key encoder */
    int64_t F;                                 /* season frequencies, Lb/2 + 1 */
    dc_tensor *fc_w, *fc_b;                    /* input_fc (D, D), (D) */
    dc_tensor *tfd_w[DC_COST_KERNELS];         /* (16, 32, k_i) */
    dc_tensor *tfd_b[DC_COST_KERNELS];         /* (16) */
    dc_tensor *sfd_wr, *sfd_wi;                /* (F, 32, 16) */
    dc_tensor *sfd_br, *sfd_bi;                /* (F, 16) */
    dc_tensor *hq[N_HEAD], *hk[N_HEAD];        /* Linear(16, 16) -> ReLU -> Linear(16, 16) */
    dc_tensor *queue;                          /* (16, K) unit columns */
    dc_encoder key;                            /* corrected: views of the key tensors */
    dc_tensor *kfc_w, *kfc_b;
    dc_tensor *ktfd_w[DC_COST_KERNELS], *ktfd_b[DC_COST_KERNELS];
} cost_impl;

static int64_t kernel_of(int i) { return (int64_t)1 << i; }

/* Across options (each option's own range is in its row at the end). */
static dc_status check_cost(const dc_model_config *c) {
    if (!c->train_heads) return dc_fail(DC_ERR_ARG, "cost: head_q is trained under both protocols, so train_heads must be on");
    return DC_OK;
}

/* dst <- src on the device, bit for bit (0 + v = v). */
static dc_status copy_into(dc_tensor *dst, const dc_tensor *src) {
    dc_status st = dc_tensor_fill(dst, 0.0);
    return st == DC_OK ? dc_tensor_accumulate(dst, src) : st;
}

/* ---------------------------------------------------------------- setup */

/* Declare a member of ps and keep its pointer in *slot. */
static dc_tensor *member(dc_params *ps, const char *name, int ndim, const int64_t *shape, dc_tensor **slot) {
    *slot = dc_params_add(ps, name, ndim, shape);
    return *slot;
}

static dc_status declare(dc_model *m, cost_impl *I, int64_t D) {
    dc_params *enc_group = I->frozen ? m->head_buffers : m->heads;
    const int64_t O = DC_COST_DIM, C = DC_ENCODER_OUT, F = I->F;
    char name[64];
    int ok = member(enc_group, "input_fc.weight", 2, (int64_t[]){D, D}, &I->fc_w) && member(enc_group, "input_fc.bias", 1, &D, &I->fc_b);
    for (int i = 0; i < DC_COST_KERNELS && ok; i++) {
        snprintf(name, sizeof name, "tfd.%d.weight", i);
        ok = member(enc_group, name, 3, (int64_t[]){O, C, kernel_of(i)}, &I->tfd_w[i]) != NULL;
        snprintf(name, sizeof name, "tfd.%d.bias", i);
        ok = ok && member(enc_group, name, 1, &O, &I->tfd_b[i]);
    }
    ok = ok && member(enc_group, "sfd.weight_real", 3, (int64_t[]){F, C, O}, &I->sfd_wr) &&
         member(enc_group, "sfd.weight_imag", 3, (int64_t[]){F, C, O}, &I->sfd_wi) &&
         member(enc_group, "sfd.bias_real", 2, (int64_t[]){F, O}, &I->sfd_br) &&
         member(enc_group, "sfd.bias_imag", 2, (int64_t[]){F, O}, &I->sfd_bi);
    const char *hn[N_HEAD] = {"0.weight", "0.bias", "2.weight", "2.bias"};
    for (int i = 0; i < N_HEAD && ok; i++) {
        int nd = i % 2 ? 1 : 2;
        const int64_t *sh = (int64_t[]){O, O};
        snprintf(name, sizeof name, "head_q.%s", hn[i]);
        ok = member(m->heads, name, nd, sh, &I->hq[i]) != NULL;
        snprintf(name, sizeof name, "head_k.%s", hn[i]);
        ok = ok && member(m->head_buffers, name, nd, sh, &I->hk[i]);
    }
    ok = ok && member(m->head_buffers, "queue", 2, (int64_t[]){O, dc_cfg_int(&m->cfg, DC_COST_QUEUE)}, &I->queue);
    if (ok && !I->frozen) { /* the separate key encoder (corrected) */
        dc_encoder *e = m->enc, *k = &I->key;
        memcpy(k->dims, e->dims, sizeof k->dims);
        for (int l = 0; l < DC_ENCODER_LAYERS && ok; l++) {
            int64_t out = e->dims[l + 1], in = e->dims[l];
            snprintf(name, sizeof name, "key.conv%d.weight", l + 1);
            ok = member(m->head_buffers, name, 2, (int64_t[]){out, in}, &k->w[l]) != NULL;
            snprintf(name, sizeof name, "key.conv%d.bias", l + 1);
            ok = ok && member(m->head_buffers, name, 1, &out, &k->b[l]);
            snprintf(name, sizeof name, "key.bn%d.weight", l + 1);
            ok = ok && member(m->head_buffers, name, 1, &out, &k->gamma[l]);
            snprintf(name, sizeof name, "key.bn%d.bias", l + 1);
            ok = ok && member(m->head_buffers, name, 1, &out, &k->beta[l]);
            snprintf(name, sizeof name, "key.bn%d.running_mean", l + 1);
            ok = ok && member(m->head_buffers, name, 1, &out, &k->run_mean[l]);
            snprintf(name, sizeof name, "key.bn%d.running_var", l + 1);
            ok = ok && member(m->head_buffers, name, 1, &out, &k->run_var[l]);
        }
        ok = ok && member(m->head_buffers, "key.input_fc.weight", 2, (int64_t[]){D, D}, &I->kfc_w) &&
             member(m->head_buffers, "key.input_fc.bias", 1, &D, &I->kfc_b);
        for (int i = 0; i < DC_COST_KERNELS && ok; i++) {
            snprintf(name, sizeof name, "key.tfd.%d.weight", i);
            ok = member(m->head_buffers, name, 3, (int64_t[]){O, C, kernel_of(i)}, &I->ktfd_w[i]) != NULL;
            snprintf(name, sizeof name, "key.tfd.%d.bias", i);
            ok = ok && member(m->head_buffers, name, 1, &O, &I->ktfd_b[i]);
        }
    }
    return ok ? DC_OK : dc_last_status();
}

/* PyTorch's default initialisation of every layer, head_k = head_q, a unit-column queue and,
 * under corrected, the key encoder as a copy of the query side. */
static dc_status init_values(dc_model *m, cost_impl *I, dc_backend *be, dc_rng *rng, int64_t D) {
    double bfc = 1.0 / sqrt((double)D), bsfd = 1.0 / sqrt((double)(DC_ENCODER_OUT * DC_COST_DIM)), bh = 1.0 / sqrt((double)DC_COST_DIM);
    dc_status st = dc_rng_fill_uniform(rng, I->fc_w, -bfc, bfc);
    if (st == DC_OK) st = dc_rng_fill_uniform(rng, I->fc_b, -bfc, bfc);
    for (int i = 0; i < DC_COST_KERNELS && st == DC_OK; i++) {
        double bt = 1.0 / sqrt((double)(DC_ENCODER_OUT * kernel_of(i)));
        st = dc_rng_fill_uniform(rng, I->tfd_w[i], -bt, bt);
        if (st == DC_OK) st = dc_rng_fill_uniform(rng, I->tfd_b[i], -bt, bt);
    }
    dc_tensor *sfd[4] = {I->sfd_wr, I->sfd_wi, I->sfd_br, I->sfd_bi};
    for (int i = 0; i < 4 && st == DC_OK; i++) st = dc_rng_fill_uniform(rng, sfd[i], -bsfd, bsfd);
    for (int i = 0; i < N_HEAD && st == DC_OK; i++) st = dc_rng_fill_uniform(rng, I->hq[i], -bh, bh);
    for (int i = 0; i < N_HEAD && st == DC_OK; i++) st = copy_into(I->hk[i], I->hq[i]);
    if (st != DC_OK) return st;
    dc_ctx *ctx = dc_ctx_new(be);
    if (!ctx) return dc_last_status();
    dc_tensor *g = dc_tensor_new(ctx, DC_F32, 2, I->queue->shape);
    st = g ? dc_rng_fill_normal(rng, g, 0.0, 1.0) : dc_last_status();
    dc_tensor *n = st == DC_OK ? dc_transpose(ctx, dc_l2norm(ctx, dc_transpose(ctx, g, 0, 1), 1e-12), 0, 1) : NULL;
    if (st == DC_OK) st = n ? copy_into(I->queue, n) : dc_last_status();
    dc_ctx_free(ctx);
    if (st != DC_OK || I->frozen) return st;
    dc_encoder *e = m->enc, *k = &I->key;
    for (int l = 0; l < DC_ENCODER_LAYERS && st == DC_OK; l++) {
        dc_tensor *src[6] = {e->w[l], e->b[l], e->gamma[l], e->beta[l], e->run_mean[l], e->run_var[l]};
        dc_tensor *dst[6] = {k->w[l], k->b[l], k->gamma[l], k->beta[l], k->run_mean[l], k->run_var[l]};
        for (int j = 0; j < 6 && st == DC_OK; j++) st = copy_into(dst[j], src[j]);
    }
    if (st == DC_OK) st = copy_into(I->kfc_w, I->fc_w);
    if (st == DC_OK) st = copy_into(I->kfc_b, I->fc_b);
    for (int i = 0; i < DC_COST_KERNELS && st == DC_OK; i++) {
        st = copy_into(I->ktfd_w[i], I->tfd_w[i]);
        if (st == DC_OK) st = copy_into(I->ktfd_b[i], I->tfd_b[i]);
    }
    return st;
}

static void free_cost(dc_model *m) {
    free(m->impl);
    m->impl = NULL;
}

static dc_status setup_cost(dc_model *m, dc_backend *be, dc_rng *rng) {
    cost_impl *I = calloc(1, sizeof *I);
    if (!I) return dc_fail(DC_ERR_OOM, "cost: out of host memory");
    m->impl = I;
    I->frozen = !dc_cfg_on(&m->cfg, DC_COST_KEY_ENCODER);
    I->F = dc_cfg_int(&m->cfg, DC_COST_SEASON_LEN) / 2 + 1;
    m->encoder_frozen = I->frozen;
    int64_t D = m->enc->dims[0];
    m->heads = dc_params_new(be, DC_F32, 1);
    m->head_buffers = m->heads ? dc_params_new(be, DC_F32, 0) : NULL;
    if (!m->head_buffers) return dc_last_status();
    dc_status st = declare(m, I, D);
    if (st == DC_OK) st = dc_params_alloc(m->heads);
    if (st == DC_OK) st = dc_params_alloc(m->head_buffers);
    return st == DC_OK ? init_values(m, I, be, rng, D) : st;
}

/* ---------------------------------------------------------------- building blocks */

dc_tensor *dc_cost_trend(dc_ctx *ctx, dc_tensor *h, dc_tensor *const *w, dc_tensor *const *b, const int32_t *pos,
                         int64_t P) {
    if (!ctx || !h || !w || !b || !pos) {
        if (!dc_last_status()) dc_fail(DC_ERR_ARG, "cost trend: NULL argument");
        return NULL;
    }
    if (h->ndim != 3 || P < 1) {
        char s[128];
        dc_fail(DC_ERR_SHAPE, "cost trend: h must be (B, T, C) with >= 1 position, got %s and %lld", dc_tensor_describe(h, s, sizeof s),
                (long long)P);
        return NULL;
    }
    int64_t B = h->shape[0], T = h->shape[1], C = h->shape[2], O = w[0] ? w[0]->shape[0] : 0;
    dc_tensor *sum = NULL, *bsum = NULL;
    for (int i = 0; i < DC_COST_KERNELS; i++) {
        int64_t k = kernel_of(i);
        if (!w[i] || !b[i]) return NULL;
        if (w[i]->ndim != 3 || w[i]->shape[0] != O || w[i]->shape[1] != C || w[i]->shape[2] != k || b[i]->ndim != 1 ||
            b[i]->shape[0] != O) {
            char s1[128], s2[128];
            dc_fail(DC_ERR_SHAPE, "cost trend: conv %d must be (%lld, %lld, %lld) with bias (%lld) for h %s, got %s", i,
                    (long long)O, (long long)C, (long long)k, (long long)O, dc_tensor_describe(h, s1, sizeof s1),
                    dc_tensor_describe(w[i], s2, sizeof s2));
            return NULL;
        }
        dc_tensor *wk = dc_permute(ctx, w[i], (int[]){2, 1, 0}); /* (k, C, O) */
        if (k < DC_COST_KMAX) {
            dc_tensor *pad = dc_tensor_zeros(ctx, w[i]->dtype, 3, (int64_t[]){DC_COST_KMAX - k, C, O});
            wk = dc_concat(ctx, 2, (dc_tensor *[]){pad, wk}, 0);
        }
        sum = sum ? dc_add(ctx, sum, wk) : wk;
        bsum = bsum ? dc_add(ctx, bsum, b[i]) : b[i];
    }
    for (int64_t p = 0; p < P; p++)
        if (pos[p] < 0 || pos[p] >= T) {
            dc_fail(DC_ERR_ARG, "cost trend: position %d outside the %lld time steps", pos[p], (long long)T);
            return NULL;
        }
    int32_t *idx = malloc((size_t)(P * DC_COST_KMAX) * sizeof *idx);
    if (!idx) {
        dc_fail(DC_ERR_OOM, "cost trend: out of host memory");
        return NULL;
    }
    for (int64_t p = 0; p < P; p++) /* im2col: row p reads h[pos - 127 .. pos], zero before 0 */
        for (int64_t j = 0; j < DC_COST_KMAX; j++) idx[p * DC_COST_KMAX + j] = (int32_t)(pos[p] - (DC_COST_KMAX - 1) + j);
    dc_tensor *it = dc_tensor_from_host(ctx, DC_I32, 2, (int64_t[]){1, P * DC_COST_KMAX}, idx);
    free(idx);
    dc_tensor *W = dc_reshape(ctx, dc_scale(ctx, sum, 1.0 / DC_COST_KERNELS), 2, (int64_t[]){DC_COST_KMAX * C, O});
    dc_tensor *cols = it ? dc_reshape(ctx, dc_gather(ctx, h, it), 2, (int64_t[]){B * P, DC_COST_KMAX * C}) : NULL;
    dc_tensor *y = dc_add(ctx, dc_matmul(ctx, cols, W, 0, 0), dc_scale(ctx, bsum, 1.0 / DC_COST_KERNELS));
    return y ? dc_reshape(ctx, y, 3, (int64_t[]){B, P, O}) : NULL;
}

dc_tensor *dc_cost_season(dc_ctx *ctx, dc_tensor *h, dc_tensor *wr, dc_tensor *wi, dc_tensor *br, dc_tensor *bi) {
    if (!ctx || !h || !wr || !wi || !br || !bi) {
        if (!dc_last_status()) dc_fail(DC_ERR_ARG, "cost season: NULL argument");
        return NULL;
    }
    int64_t F = wr->ndim == 3 ? wr->shape[0] : 0, O = wr->ndim == 3 ? wr->shape[2] : 0;
    int64_t C = h->ndim == 3 ? h->shape[2] : -1, T = h->ndim == 3 ? h->shape[1] : 0, Fall = T / 2 + 1;
    if (h->ndim != 3 || !dc_tensor_same_shape(wr, wi) || wr->ndim != 3 || wr->shape[1] != C || br->ndim != 2 ||
        !dc_tensor_same_shape(br, bi) || br->shape[0] != F || br->shape[1] != O) {
        char s1[128], s2[128], s3[128];
        dc_fail(DC_ERR_SHAPE, "cost season: h %s, weight %s, bias %s: need h (B, T, C), weights (F, C, O), biases (F, O)",
                dc_tensor_describe(h, s1, sizeof s1), dc_tensor_describe(wr, s2, sizeof s2), dc_tensor_describe(br, s3, sizeof s3));
        return NULL;
    }
    if (F > Fall) {
        dc_fail(DC_ERR_SHAPE, "cost season: the layer was built for %lld frequencies (length %lld) but T = %lld has %lld; "
                "the season length (sequence_sample) must not exceed T", (long long)F, (long long)(2 * (F - 1)),
                (long long)T, (long long)Fall);
        return NULL;
    }
    int64_t B = h->shape[0];
    dc_tensor *X = dc_rfft(ctx, dc_permute(ctx, h, (int[]){0, 2, 1}));                  /* (B, C, Fall, 2) */
    dc_tensor *Xp = dc_permute(ctx, dc_slice(ctx, X, 2, 0, F), (int[]){2, 0, 3, 1});      /* (F, B, 2, C) */
    Xp = dc_reshape(ctx, Xp, 3, (int64_t[]){F, B, 2 * C});                              /* [re | im] */
    dc_tensor *top = dc_concat(ctx, 2, (dc_tensor *[]){wr, wi}, 2);                     /* (F, C, 2O) */
    dc_tensor *bot = dc_concat(ctx, 2, (dc_tensor *[]){dc_scale(ctx, wi, -1.0), wr}, 2);
    dc_tensor *W2 = dc_concat(ctx, 2, (dc_tensor *[]){top, bot}, 1);                    /* (F, 2C, 2O) */
    dc_tensor *bias = dc_reshape(ctx, dc_concat(ctx, 2, (dc_tensor *[]){br, bi}, 1), 3, (int64_t[]){F, 1, 2 * O});
    dc_tensor *Y = dc_add(ctx, dc_matmul(ctx, Xp, W2, 0, 0), bias);                      /* (F, B, 2O) */
    Y = dc_permute(ctx, dc_reshape(ctx, Y, 4, (int64_t[]){F, B, 2, O}), (int[]){1, 3, 0, 2}); /* (B, O, F, 2) */
    if (Y && F < Fall) {
        dc_tensor *z = dc_tensor_zeros(ctx, Y->dtype, 4, (int64_t[]){B, O, Fall - F, 2});
        Y = dc_concat(ctx, 2, (dc_tensor *[]){Y, z}, 2);
    }
    dc_tensor *s = dc_irfft(ctx, Y, T); /* (B, O, T) */
    return dc_permute(ctx, s, (int[]){0, 2, 1});
}

/* amp and phase of rfft over time of x (B, T, C) as (B, Fall, C) each. */
static void amp_phase(dc_ctx *ctx, dc_tensor *x, dc_tensor **amp, dc_tensor **phase) {
    dc_tensor *S = dc_rfft(ctx, dc_permute(ctx, x, (int[]){0, 2, 1})); /* (B, C, Fall, 2) */
    *amp = *phase = NULL;
    if (!S) return;
    int64_t sh[3] = {S->shape[0], S->shape[1], S->shape[2]};
    dc_tensor *re = dc_reshape(ctx, dc_slice(ctx, S, 3, 0, 1), 3, sh), *im = dc_reshape(ctx, dc_slice(ctx, S, 3, 1, 1), 3, sh);
    dc_tensor *re_e = dc_affine(ctx, re, 1.0, FREQ_EPS), *im_e = dc_affine(ctx, im, 1.0, FREQ_EPS);
    dc_tensor *a = dc_sqrt(ctx, dc_add(ctx, dc_mul(ctx, re_e, re_e), dc_mul(ctx, im_e, im_e)));
    dc_tensor *p = dc_atan2(ctx, im, re_e);
    *amp = dc_permute(ctx, a, (int[]){0, 2, 1});
    *phase = dc_permute(ctx, p, (int[]){0, 2, 1});
}

dc_tensor *dc_cost_season_loss(dc_ctx *ctx, dc_tensor *sq, dc_tensor *sk) {
    if (!ctx || !sq || !sk) {
        if (!dc_last_status()) dc_fail(DC_ERR_ARG, "cost season loss: NULL argument");
        return NULL;
    }
    if (sq->ndim != 3 || !dc_tensor_same_shape(sq, sk)) {
        char s1[128], s2[128];
        dc_fail(DC_ERR_SHAPE, "cost season loss: seasons %s and %s must both be (B, T, C)", dc_tensor_describe(sq, s1, sizeof s1),
                dc_tensor_describe(sk, s2, sizeof s2));
        return NULL;
    }
    dc_tensor *aq, *pq, *ak, *pk;
    amp_phase(ctx, dc_l2norm(ctx, sq, 1e-12), &aq, &pq);
    amp_phase(ctx, dc_l2norm(ctx, sk, 1e-12), &ak, &pk);
    if (!aq || !pq || !ak || !pk) return NULL;
    return dc_add(ctx, dc_ts2vec_instance_loss(ctx, aq, ak), dc_ts2vec_instance_loss(ctx, pq, pk));
}

dc_tensor *dc_cost_moco_loss(dc_ctx *ctx, dc_tensor *q, dc_tensor *k, dc_tensor *queue, double tau) {
    if (!ctx || !q || !k || !queue) {
        if (!dc_last_status()) dc_fail(DC_ERR_ARG, "cost moco: NULL argument");
        return NULL;
    }
    if (q->ndim != 2 || !dc_tensor_same_shape(q, k) || queue->ndim != 2 || queue->shape[0] != q->shape[1] || !(tau > 0)) {
        char s1[128], s2[128], s3[128];
        dc_fail(DC_ERR_SHAPE, "cost moco: q %s, k %s, queue %s: need q, k (B, C), queue (C, K), tau > 0 (got %g)",
                dc_tensor_describe(q, s1, sizeof s1), dc_tensor_describe(k, s2, sizeof s2),
                dc_tensor_describe(queue, s3, sizeof s3), tau);
        return NULL;
    }
    int64_t B = q->shape[0];
    dc_tensor *pos = dc_sum(ctx, dc_mul(ctx, q, k), 1, 1);   /* (B, 1) */
    dc_tensor *neg = dc_matmul(ctx, q, queue, 0, 0);          /* (B, K) */
    dc_tensor *logits = dc_scale(ctx, dc_concat(ctx, 2, (dc_tensor *[]){pos, neg}, 1), 1.0 / tau);
    dc_tensor *tg = dc_tensor_zeros(ctx, DC_I32, 1, &B);
    return dc_cross_entropy(ctx, logits, tg);
}

/* Fires with probability p, as `if random.random() > p: return x`. */
static int fires(dc_rng *rng, double p) { return !(dc_rng_uniform(rng) > p); }

dc_tensor *dc_cost_augment(dc_ctx *ctx, dc_tensor *x, double sigma, double p, dc_rng *rng) {
    if (!ctx || !x || !rng) {
        if (!dc_last_status()) dc_fail(DC_ERR_ARG, "cost augment: NULL argument");
        return NULL;
    }
    if (x->ndim != 3) {
        char s[128];
        dc_fail(DC_ERR_SHAPE, "cost augment: x must be (B, T, D), got %s", dc_tensor_describe(x, s, sizeof s));
        return NULL;
    }
    int64_t D = x->shape[2];
    dc_tensor *y = x;
    if (fires(rng, p)) { /* scale: x * (1 + sigma N(0, 1)), one factor per feature */
        dc_tensor *f = dc_tensor_new(ctx, x->dtype, 3, (int64_t[]){1, 1, D});
        if (!f || dc_rng_fill_normal(rng, f, 1.0, sigma) != DC_OK) return NULL;
        y = dc_mul(ctx, y, f);
    }
    if (fires(rng, p)) { /* shift: + sigma N(0, 1) per feature */
        dc_tensor *s = dc_tensor_new(ctx, x->dtype, 3, (int64_t[]){1, 1, D});
        if (!s || dc_rng_fill_normal(rng, s, 0.0, sigma) != DC_OK) return NULL;
        y = dc_add(ctx, y, s);
    }
    if (fires(rng, p)) { /* jitter: + sigma N(0, 1) per element */
        dc_tensor *n = dc_tensor_new(ctx, x->dtype, 3, x->shape);
        if (!n || dc_rng_fill_normal(rng, n, 0.0, sigma) != DC_OK) return NULL;
        y = dc_add(ctx, y, n);
    }
    return y;
}

/* ---------------------------------------------------------------- the method */

/* input_fc then the FeatureProjector: (B, T, D) -> (B, T, 32). */
static dc_tensor *project(dc_ctx *ctx, dc_encoder *enc, dc_tensor *fw, dc_tensor *fb, dc_tensor *x, int training) {
    return dc_encoder_forward(enc, ctx, dc_add(ctx, dc_matmul(ctx, x, fw, 0, 1), fb), training);
}

/* normalize(Linear -> ReLU -> Linear) of v (B, 16). */
static dc_tensor *head(dc_ctx *ctx, dc_tensor *const *hw, dc_tensor *v) {
    dc_tensor *a = dc_relu(ctx, dc_add(ctx, dc_matmul(ctx, v, hw[HEAD_W0], 0, 1), hw[HEAD_B0]));
    return dc_l2norm(ctx, dc_add(ctx, dc_matmul(ctx, a, hw[HEAD_W2], 0, 1), hw[HEAD_B2]), 1e-12);
}

static dc_tensor *dropout(dc_ctx *ctx, dc_tensor *x, double p, dc_rng *rng) {
    dc_tensor *keep = x ? dc_tensor_new(ctx, x->dtype, x->ndim, x->shape) : NULL;
    if (!keep || dc_rng_fill_bernoulli(rng, keep, 1.0 - p) != DC_OK) return NULL;
    return dc_mul(ctx, x, dc_scale(ctx, keep, 1.0 / (1.0 - p)));
}

static dc_status momentum_one(dc_ctx *ctx, dc_tensor *k, dc_tensor *q, double mom) {
    dc_tensor *v = dc_add(ctx, dc_scale(ctx, k, mom), dc_scale(ctx, q, 1.0 - mom));
    return v ? copy_into(k, v) : dc_last_status();
}

/* key <- m key + (1 - m) query for head_k and, with a separate key encoder, its parameters
 * (not its BatchNorm running statistics). The self-keyed encoder's update is the identity. */
static dc_status momentum_update(dc_model *m, cost_impl *I, dc_ctx *ctx) {
    double mom = m->cfg.opt[DC_COST_MOMENTUM];
    dc_status st = DC_OK;
    for (int i = 0; i < N_HEAD && st == DC_OK; i++) st = momentum_one(ctx, I->hk[i], I->hq[i], mom);
    if (I->frozen) return st;
    dc_encoder *e = m->enc, *k = &I->key;
    for (int l = 0; l < DC_ENCODER_LAYERS && st == DC_OK; l++) {
        st = momentum_one(ctx, k->w[l], e->w[l], mom);
        if (st == DC_OK) st = momentum_one(ctx, k->b[l], e->b[l], mom);
        if (st == DC_OK) st = momentum_one(ctx, k->gamma[l], e->gamma[l], mom);
        if (st == DC_OK) st = momentum_one(ctx, k->beta[l], e->beta[l], mom);
    }
    if (st == DC_OK) st = momentum_one(ctx, I->kfc_w, I->fc_w, mom);
    if (st == DC_OK) st = momentum_one(ctx, I->kfc_b, I->fc_b, mom);
    for (int i = 0; i < DC_COST_KERNELS && st == DC_OK; i++) {
        st = momentum_one(ctx, I->ktfd_w[i], I->tfd_w[i], mom);
        if (st == DC_OK) st = momentum_one(ctx, I->ktfd_b[i], I->tfd_b[i], mom);
    }
    return st;
}

/* FIFO: drop the B oldest columns at the front, append k^T (B, C) at the back. */
static dc_status enqueue(dc_ctx *ctx, dc_tensor *queue, dc_tensor *k) {
    int64_t K = queue->shape[1], B = k->shape[0];
    dc_tensor *kt = dc_transpose(ctx, k, 0, 1);
    dc_tensor *nq = B < K ? dc_concat(ctx, 2, (dc_tensor *[]){dc_slice(ctx, queue, 1, B, K - B), kt}, 1) : kt;
    return nq ? copy_into(queue, nq) : dc_last_status();
}

/* The season of h (B, T, 32) from the query encoder, with dropout in training. */
static dc_tensor *season_of(dc_ctx *ctx, cost_impl *I, dc_tensor *h, int training, dc_rng *rng) {
    dc_tensor *s = dc_cost_season(ctx, h, I->sfd_wr, I->sfd_wi, I->sfd_br, I->sfd_bi);
    return training && s ? dropout(ctx, s, DROPOUT_P, rng) : s;
}

static dc_tensor *loss_cost(dc_model *m, dc_ctx *ctx, dc_tensor *x, int training, dc_rng *rng, dc_loss_terms *t) {
    cost_impl *I = m->impl;
    const dc_model_config *c = &m->cfg;
    int64_t B = x->shape[0], T = x->shape[1], max_len = dc_cfg_int(c, DC_COST_MAX_LEN), K = dc_cfg_int(c, DC_COST_QUEUE);
    if (T > max_len) { /* the same random window for x_q and x_k */
        int64_t off = dc_rng_randint(rng, 0, T - max_len);
        x = dc_slice(ctx, x, 1, off, max_len);
        T = max_len;
    }
    if (I->F > T / 2 + 1) {
        dc_fail(DC_ERR_SHAPE, "cost: the season layer was built for sequence_sample = %lld (%lld frequencies) but the "
                "batch has T = %lld (%lld); set cost_season_len <= T", (long long)dc_cfg_int(c, DC_COST_SEASON_LEN), (long long)I->F,
                (long long)T, (long long)(T / 2 + 1));
        return NULL;
    }
    if (training && K % B != 0) {
        dc_fail(DC_ERR_SHAPE, "cost: the queue size K = %lld must be a multiple of the batch size B = %lld (as MoCo asserts)",
                (long long)K, (long long)B);
        return NULL;
    }
    dc_tensor *xk = dc_cost_augment(ctx, x, c->opt[DC_COST_SIGMA], c->opt[DC_COST_AUG_P], rng);
    int32_t ri = (int32_t)dc_rng_randint(rng, 0, T - 1);
    int g = dc_ctx_grad_enabled(ctx), ge = g && !I->frozen;
    /* pass 1: the query encoder on x_q */
    dc_ctx_set_grad_enabled(ctx, ge);
    dc_tensor *hq = xk ? project(ctx, m->enc, I->fc_w, I->fc_b, x, training) : NULL;
    dc_tensor *tq = hq ? dc_cost_trend(ctx, hq, I->tfd_w, I->tfd_b, &ri, 1) : NULL;
    dc_tensor *sq = tq ? season_of(ctx, I, hq, training, rng) : NULL;
    dc_ctx_set_grad_enabled(ctx, g);
    dc_tensor *q = sq ? head(ctx, I->hq, dc_reshape(ctx, tq, 2, (int64_t[]){B, DC_COST_DIM})) : NULL;
    /* pass 2: momentum update, then the key encoder on x_k, without gradient */
    dc_ctx_set_grad_enabled(ctx, 0);
    dc_tensor *k = NULL;
    if (q && (!training || momentum_update(m, I, ctx) == DC_OK)) {
        dc_encoder *ke = I->frozen ? m->enc : &I->key;
        dc_tensor *hk = project(ctx, ke, I->frozen ? I->fc_w : I->kfc_w, I->frozen ? I->fc_b : I->kfc_b, xk, training);
        dc_tensor *tk = hk ? dc_cost_trend(ctx, hk, I->frozen ? I->tfd_w : I->ktfd_w, I->frozen ? I->tfd_b : I->ktfd_b, &ri, 1) : NULL;
        k = tk ? head(ctx, I->hk, dc_reshape(ctx, tk, 2, (int64_t[]){B, DC_COST_DIM})) : NULL;
    }
    dc_tensor *queue = k ? dc_copy(ctx, I->queue) : NULL; /* a snapshot: backward reads it after the enqueue */
    dc_ctx_set_grad_enabled(ctx, g);
    dc_tensor *Lt = queue ? dc_cost_moco_loss(ctx, q, k, queue, c->opt[DC_COST_TAU]) : NULL;
    if (Lt && training) {
        dc_ctx_set_grad_enabled(ctx, 0);
        dc_status st = enqueue(ctx, I->queue, k);
        dc_ctx_set_grad_enabled(ctx, g);
        if (st != DC_OK) return NULL;
    }
    /* pass 3: the query encoder on x_k, for the season */
    dc_ctx_set_grad_enabled(ctx, ge);
    dc_tensor *hkq = Lt ? project(ctx, m->enc, I->fc_w, I->fc_b, xk, training) : NULL;
    dc_tensor *skq = hkq ? season_of(ctx, I, hkq, training, rng) : NULL;
    dc_tensor *Ls = skq ? dc_cost_season_loss(ctx, sq, skq) : NULL;
    dc_ctx_set_grad_enabled(ctx, g);
    dc_loss_terms_add(t, "trend", Lt);
    dc_loss_terms_add(t, "season", Ls);
    return Ls ? dc_add(ctx, Lt, dc_scale(ctx, Ls, 0.5 * c->opt[DC_COST_ALPHA])) : NULL;
}

#define HP "hyperparameters"
/* docs/METHOD.md §6.5, §9 item 19; the season length is the config's sequence_sample (119 elsewhere) */
static const dc_option k_rows[DC_COST_N_OPTIONS] = {
    [DC_COST_QUEUE] = {"cost_queue", "cost-queue", HP, DC_OPTION_INT, "[1, inf)", .def = {{.value = 256}},
                       .help = "MoCo queue size K (a multiple of the batch)"},
    [DC_COST_MOMENTUM] = {"cost_momentum", "cost-momentum", HP, DC_OPTION_REAL, "[0, 1]", .def = {{.value = 0.999}},
                          .help = "momentum of the key encoder"},
    [DC_COST_TAU] = {"cost_tau", "cost-tau", HP, DC_OPTION_REAL, "(0, inf)", .def = {{.value = 0.07}},
                     .help = "MoCo temperature"},
    [DC_COST_ALPHA] = {"cost_alpha", "cost-alpha", HP, DC_OPTION_REAL, "[0, inf)", .def = {{.value = 0.05}},
                       .help = "weight of the season loss (halved)"},
    [DC_COST_SIGMA] = {"cost_sigma", "cost-sigma", HP, DC_OPTION_REAL, "[0, inf)", .def = {{.value = 0.5}},
                       .help = "augmentation scale"},
    [DC_COST_AUG_P] = {"cost_aug_p", "cost-aug-p", HP, DC_OPTION_REAL, "[0, 1]", .def = {{.value = 0.5}},
                       .help = "probability of each augmentation step"},
    [DC_COST_MAX_LEN] = {"cost_max_len", "cost-max-len", HP, DC_OPTION_INT, "[2, inf)", .def = {{.value = 300}},
                         .help = "maximum training length"},
    [DC_COST_SEASON_LEN] = {"cost_season_len", "cost-season-len", HP, DC_OPTION_INT, "[1, inf)",
                            .def = {{"sleepeeg", NULL, 300}, {.value = 119}}, .help = "season layer length (sequence_sample)"},
    [DC_COST_KEY_ENCODER] = {"cost_key_encoder", "cost-key-encoder", "flags", DC_OPTION_CHOICE, .choices = {"self", "momentum"},
                             .def = {{NULL, "corrected", 1}, {.value = 0}},
                             .help = "key encoder: the frozen encoder itself (authors) or a momentum copy"},
};
static const dc_option_table k_options = {"cost", k_rows, DC_COST_N_OPTIONS};

/* cost.py creates a scheduler but never steps it: no plateau validation. head_q is in the
 * optimiser under both protocols. */
const dc_model_vtbl dc_cost_vtbl = {.name = "cost", .display_name = "CoST", .options = &k_options, .heads_always_train = 1,
                                    .setup = setup_cost, .check = check_cost, .loss = loss_cost, .free_impl = free_cost};
