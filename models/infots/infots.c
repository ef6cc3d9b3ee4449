/* infots.c: the InfoTS method (docs/METHOD.md §6.2): the gated AutoAUG view, the global and local
 * InfoNCE losses, the augmentation-weight head and the protocol switches. The
 * augmentations themselves are in augment.c; the TSEncoder masking is TS2Vec's.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "infots/dc_infots.h"
#include "ts2vec/dc_ts2vec.h"

#define GATE_ROWS 2
#define NEG_FILL -1e30 /* excluded logits: exp underflows to exactly 0 in float32 */

/* Across options (each option's own range is in its row below). */
static dc_status check_infots(const dc_model_config *c) {
    int64_t k = dc_cfg_int(c, DC_INFOTS_LOCAL_K), max_len = dc_cfg_int(c, DC_INFOTS_MAX_LEN);
    if (max_len < k)
        return dc_fail(DC_ERR_ARG, "infots: infots_max_len (%lld) must be >= infots_local_k (%lld)", (long long)max_len,
                       (long long)k);
    return DC_OK;
}

static dc_status setup_infots(dc_model *m, dc_backend *be, dc_rng *rng) {
    m->heads = dc_params_new(be, DC_F32, 1);
    if (!m->heads) return dc_last_status();
    dc_tensor *w = dc_params_add(m->heads, "aug_weight", 2, (int64_t[]){GATE_ROWS, DC_AUG_COUNT});
    if (!w) return dc_last_status();
    dc_status st = dc_params_alloc(m->heads);
    /* AutoAUG.reset_parameters: normal(0, 0.01) */
    return st == DC_OK ? dc_rng_fill_normal(rng, w, 0.0, 0.01) : st;
}

/* ---------------------------------------------------------------- view */

dc_tensor *dc_infots_gates(dc_ctx *ctx, dc_tensor *w, const double *u) {
    if (!ctx || !w || !u) {
        if (!dc_last_status()) dc_fail(DC_ERR_ARG, "infots gates: NULL argument");
        return NULL;
    }
    if (w->ndim != 2) {
        char s[128];
        dc_fail(DC_ERR_SHAPE, "infots gates: weights must be (rows, augmentations), got %s", dc_tensor_describe(w, s, sizeof s));
        return NULL;
    }
    int64_t n = w->shape[0] * w->shape[1];
    double *g = malloc((size_t)n * sizeof *g);
    float *gf = malloc((size_t)n * sizeof *gf);
    dc_tensor *gt = NULL;
    if (g && gf) {
        for (int64_t i = 0; i < n; i++) {
            double eps = 0.9999 - 0.9998 * u[i]; /* (bias - (1 - bias)) u + (1 - bias), bias = 1e-4 */
            g[i] = log(eps) - log(1 - eps);
            gf[i] = (float)g[i];
        }
        gt = w->dtype == DC_F64 ? dc_tensor_from_host(ctx, DC_F64, 2, w->shape, g) : dc_tensor_from_host(ctx, DC_F32, 2, w->shape, gf);
    } else {
        dc_fail(DC_ERR_OOM, "infots gates: out of host memory");
    }
    free(g);
    free(gf);
    return gt ? dc_exp(ctx, dc_log_softmax(ctx, dc_add(ctx, gt, w))) : NULL;
}

dc_tensor *dc_infots_mix(dc_ctx *ctx, dc_tensor *para0, dc_tensor *const *augs) {
    if (!ctx || !para0 || !augs) {
        if (!dc_last_status()) dc_fail(DC_ERR_ARG, "infots mix: NULL argument");
        return NULL;
    }
    if (para0->ndim != 2 || para0->shape[0] != 1 || para0->shape[1] != DC_AUG_COUNT) {
        char s[128];
        dc_fail(DC_ERR_SHAPE, "infots mix: gate weights must be (1, %d), got %s", DC_AUG_COUNT,
                dc_tensor_describe(para0, s, sizeof s));
        return NULL;
    }
    dc_tensor *flat[DC_AUG_COUNT];
    for (int a = 0; a < DC_AUG_COUNT; a++) {
        if (!augs[a]) return NULL;
        if (!dc_tensor_same_shape(augs[a], augs[0])) {
            char s1[128], s2[128];
            dc_fail(DC_ERR_SHAPE, "infots mix: augmentation %s is %s but %s is %s", dc_aug_name(a),
                    dc_tensor_describe(augs[a], s1, sizeof s1), dc_aug_name(0), dc_tensor_describe(augs[0], s2, sizeof s2));
            return NULL;
        }
        flat[a] = dc_reshape(ctx, augs[a], 2, (int64_t[]){1, -1});
    }
    dc_tensor *stacked = dc_concat(ctx, DC_AUG_COUNT, flat, 0); /* (7, B*T*D) */
    dc_tensor *mix = dc_matmul(ctx, para0, stacked, 0, 0);       /* (1, B*T*D) */
    return mix ? dc_reshape(ctx, mix, 3, augs[0]->shape) : NULL;
}

/* ---------------------------------------------------------------- losses */

/* Cross-entropy of each row's target over the logits, with the entries where excl = 1
 * left out (set to a huge negative before the softmax). */
static dc_tensor *ce_excluding(dc_ctx *ctx, dc_tensor *logits, const uint8_t *excl, const int32_t *target) {
    int64_t R = logits->shape[0];
    dc_tensor *m = dc_tensor_from_host(ctx, DC_U8, 2, logits->shape, excl);
    dc_tensor *tg = m ? dc_tensor_from_host(ctx, DC_I32, 1, &R, target) : NULL;
    return tg ? dc_cross_entropy(ctx, dc_masked_fill(ctx, logits, m, NEG_FILL), tg) : NULL;
}

static int check_z(const char *who, const dc_tensor *z) {
    if (!z) {
        if (!dc_last_status()) dc_fail(DC_ERR_ARG, "%s: NULL input", who);
        return 0;
    }
    if (z->ndim != 3 || z->shape[1] < 1) {
        char s[128];
        dc_fail(DC_ERR_SHAPE, "%s: z must be (B, T, F), got %s", who, dc_tensor_describe(z, s, sizeof s));
        return 0;
    }
    return 1;
}

dc_tensor *dc_infots_global_infonce(dc_ctx *ctx, dc_tensor *z1, dc_tensor *z2, double tau) {
    if (!check_z("infots global", z1) || !check_z("infots global", z2)) return NULL;
    if (z1->shape[0] != z2->shape[0] || z1->shape[2] != z2->shape[2] || !(tau > 0)) {
        char s1[128], s2[128];
        dc_fail(DC_ERR_SHAPE, "infots global: views %s and %s need the same B and F, tau > 0 (got %g)",
                dc_tensor_describe(z1, s1, sizeof s1), dc_tensor_describe(z2, s2, sizeof s2), tau);
        return NULL;
    }
    int64_t B = z1->shape[0], F = z1->shape[2], R = 2 * B;
    dc_tensor *p1 = dc_reshape(ctx, dc_maxpool1d(ctx, z1, z1->shape[1], z1->shape[1]), 2, (int64_t[]){B, F});
    dc_tensor *p2 = dc_reshape(ctx, dc_maxpool1d(ctx, z2, z2->shape[1], z2->shape[1]), 2, (int64_t[]){B, F});
    dc_tensor *f = dc_concat(ctx, 2, (dc_tensor *[]){p1, p2}, 0);
    dc_tensor *sim = dc_scale(ctx, dc_matmul(ctx, f, f, 0, 1), 1.0 / tau); /* (2B, 2B) */
    uint8_t *excl = calloc((size_t)(R * R), 1);
    int32_t *tg = malloc((size_t)R * sizeof *tg);
    dc_tensor *L = NULL;
    if (excl && tg) {
        for (int64_t i = 0; i < R; i++) {
            excl[i * R + i] = 1;
            tg[i] = (int32_t)(i < B ? i + B : i - B);
        }
        L = sim ? ce_excluding(ctx, sim, excl, tg) : NULL;
    } else {
        dc_fail(DC_ERR_OOM, "infots global: out of host memory");
    }
    free(excl);
    free(tg);
    return L;
}

dc_tensor *dc_infots_local_infonce(dc_ctx *ctx, dc_tensor *z, int64_t k, int64_t start, double tau, int all_rows) {
    if (!check_z("infots local", z)) return NULL;
    int64_t T = z->shape[1], cs = k >= 1 ? T / k : 0;
    if (k < 4 || cs < 1 || start < 0 || start + k * cs > T || !(tau > 0)) {
        char s[128];
        dc_fail(DC_ERR_ARG, "infots local: k = %lld chunks from %lld need k >= 4, T >= k and 0 <= start <= T - k*(T/k), "
                "tau > 0 (z %s, tau %g)", (long long)k, (long long)start, dc_tensor_describe(z, s, sizeof s), tau);
        return NULL;
    }
    int64_t Bs = all_rows ? z->shape[0] : 1, R = Bs * k, C = k - 2; /* 1 positive + k-3 negatives */
    dc_tensor *zs = all_rows ? z : dc_slice(ctx, z, 0, 0, 1);
    dc_tensor *pooled = dc_maxpool1d(ctx, dc_slice(ctx, zs, 1, start, k * cs), cs, cs); /* (Bs, k, F) */
    dc_tensor *sim = dc_scale(ctx, dc_matmul(ctx, pooled, pooled, 0, 1), 1.0 / tau);    /* (Bs, k, k) */
    int32_t *idx = malloc((size_t)(R * C) * sizeof *idx), *tg = calloc((size_t)R, sizeof *tg);
    dc_tensor *L = NULL;
    if (idx && tg) {
        for (int64_t b = 0; b < Bs; b++)
            for (int64_t i = 0; i < k; i++) {
                int32_t *row = idx + (b * k + i) * C;
                int64_t pos = i < k - 1 ? i + 1 : k - 2, n = 1;
                row[0] = (int32_t)pos;
                for (int64_t j = 0; j < k; j++) {
                    int skip = j >= i - 1 && j <= i + 1;
                    skip |= (i == 0 && j == 2) || (i == k - 1 && j == k - 3);
                    if (!skip) row[n++] = (int32_t)j;
                }
            }
        dc_tensor *it = dc_tensor_from_host(ctx, DC_I32, 2, (int64_t[]){R, C}, idx);
        dc_tensor *tt = it ? dc_tensor_from_host(ctx, DC_I32, 1, &R, tg) : NULL;
        dc_tensor *sel = tt && sim ? dc_gather(ctx, dc_reshape(ctx, sim, 3, (int64_t[]){R, k, 1}), it) : NULL;
        L = sel ? dc_cross_entropy(ctx, dc_reshape(ctx, sel, 2, (int64_t[]){R, C}), tt) : NULL;
    } else {
        dc_fail(DC_ERR_OOM, "infots local: out of host memory");
    }
    free(idx);
    free(tg);
    return L;
}

/* ---------------------------------------------------------------- the method */

/* View 1 (docs/METHOD.md §6.2): x with probability 1 - aug_p, else the gated mix of the augmentations. */
static dc_tensor *view1(dc_model *m, dc_ctx *ctx, dc_tensor *x, dc_rng *rng, dc_tensor *w) {
    if (dc_rng_uniform(rng) >= m->cfg.opt[DC_INFOTS_AUG_P]) return x;
    double u[GATE_ROWS * DC_AUG_COUNT];
    for (int i = 0; i < GATE_ROWS * DC_AUG_COUNT; i++) u[i] = dc_rng_uniform(rng);
    dc_tensor *augs[DC_AUG_COUNT];
    if (dc_infots_augment_all(ctx, x, rng, augs) != DC_OK) return NULL;
    dc_tensor *para = dc_infots_gates(ctx, w, u);
    return dc_infots_mix(ctx, dc_slice(ctx, para, 0, 0, 1), augs);
}

/* Entropy of softmax(w[0]): the variety term of the corrected meta-objective. */
static dc_tensor *gate_entropy(dc_ctx *ctx, dc_tensor *w) {
    dc_tensor *lp = dc_log_softmax(ctx, dc_slice(ctx, w, 0, 0, 1));
    return dc_scale(ctx, dc_sum_all(ctx, dc_mul(ctx, dc_exp(ctx, lp), lp)), -1.0);
}

static dc_tensor *loss_infots(dc_model *m, dc_ctx *ctx, dc_tensor *x, int training, dc_rng *rng, dc_loss_terms *t) {
    const dc_model_config *c = &m->cfg;
    int64_t T = x->shape[1], k = dc_cfg_int(c, DC_INFOTS_LOCAL_K), max_len = dc_cfg_int(c, DC_INFOTS_MAX_LEN);
    if (T > max_len) { /* one random window of max_len for the whole batch */
        int64_t off = dc_rng_randint(rng, 0, T - max_len);
        x = dc_slice(ctx, x, 1, off, max_len);
        T = max_len;
    }
    if (T < k || T < 5) {
        dc_fail(DC_ERR_SHAPE, "infots: sequences of T = %lld are too short (need T >= max(k = %lld, 5))", (long long)T,
                (long long)k);
        return NULL;
    }
    dc_tensor *wp = dc_params_get(m->heads, 0);
    dc_tensor *w = c->train_heads ? wp : dc_view_reshape(ctx, wp, wp->ndim, wp->shape); /* untrained: no gradient */
    dc_tensor *v1 = view1(m, ctx, x, rng, w);
    dc_tensor *o1 = v1 ? dc_ts2vec_encode(m->enc, ctx, v1, training, rng) : NULL;
    dc_tensor *o2 = o1 ? dc_ts2vec_encode(m->enc, ctx, x, training, rng) : NULL;
    dc_tensor *Lg = o2 ? dc_infots_global_infonce(ctx, o1, o2, c->opt[DC_INFOTS_TAU_GLOBAL]) : NULL;
    int64_t start = dc_rng_randint(rng, 0, T - k * (T / k));
    dc_tensor *Ll = Lg ? dc_infots_local_infonce(ctx, o1, k, start, c->opt[DC_INFOTS_TAU_LOCAL], dc_cfg_on(c, DC_INFOTS_LOCAL_ALL)) : NULL;
    dc_loss_terms_add(t, "global", Lg);
    dc_loss_terms_add(t, "local", Ll);
    dc_tensor *L = Ll ? dc_add(ctx, Lg, Ll) : NULL;
    double variety = c->opt[DC_INFOTS_VARIETY];
    if (L && c->train_heads && variety > 0) {
        dc_tensor *H = gate_entropy(ctx, w);
        dc_loss_terms_add(t, "aug_entropy", H);
        L = dc_sub(ctx, L, dc_scale(ctx, H, variety));
    }
    return L;
}

/* InfoTS evaluates through TSEncoder, which zeroes half of the time steps on every call
 * (docs/METHOD.md §7.2). */
static dc_tensor *eval_encode_infots(dc_model *m, dc_ctx *ctx, dc_tensor *x, dc_rng *rng) {
    return dc_ts2vec_encode(m->enc, ctx, x, 0, rng);
}

#define HP "hyperparameters"
/* docs/METHOD.md §6.2, §9 items 19-20. InfoTS keeps the code's objective under both protocols
 * (temperature 1.0, the local loss on the first sequence): corrected only trains the
 * augmentation weights. The paper's temperatures and the all-sequence local loss are a
 * variant by flags. */
static const dc_option k_rows[DC_INFOTS_N_OPTIONS] = {
    [DC_INFOTS_TAU_GLOBAL] = {"infots_tau_global", "infots-tau-global", HP, DC_OPTION_REAL, "(0, inf)", .def = {{.value = 1.0}},
                              .help = "global InfoNCE temperature (the paper's variant: 2.0)"},
    [DC_INFOTS_TAU_LOCAL] = {"infots_tau_local", "infots-tau-local", HP, DC_OPTION_REAL, "(0, inf)", .def = {{.value = 1.0}},
                             .help = "local InfoNCE temperature (the paper's variant: 0.1)"},
    [DC_INFOTS_AUG_P] = {"infots_aug_p", "infots-aug-p", HP, DC_OPTION_REAL, "[0, 1]", .def = {{.value = 0.2}},
                         .help = "probability that view 1 is the augmented mix"},
    [DC_INFOTS_LOCAL_K] = {"infots_local_k", "infots-local-k", HP, DC_OPTION_INT, "[4, inf)", .def = {{.value = 8}},
                           .help = "chunks of the local InfoNCE"},
    [DC_INFOTS_MAX_LEN] = {"infots_max_len", "infots-max-len", HP, DC_OPTION_INT, "[5, inf)", .def = {{.value = 500}},
                           .help = "maximum training length (>= infots-local-k)"},
    [DC_INFOTS_LOCAL_ALL] = {"infots_local_loss", "infots-local", "flags", DC_OPTION_CHOICE,
                             .choices = {"first-sequence", "all-sequences"}, .aliases = {"first", "all"},
                             .def = {{.value = 0}},
                             .help = "local InfoNCE over the first sequence (the code's) or all (the paper's variant)"},
    [DC_INFOTS_VARIETY] = {"infots_variety", "infots-variety", HP, DC_OPTION_REAL, "[0, inf)", .def = {{.value = 0.1}},
                           .help = "weight of the augmentation-entropy term of the trained meta-learner"},
};
static const dc_option_table k_options = {"infots", k_rows, DC_INFOTS_N_OPTIONS};

/* infoTS.py creates a scheduler but never steps it: no plateau validation. */
const dc_model_vtbl dc_infots_vtbl = {.name = "infots", .display_name = "InfoTS", .options = &k_options,
                                      .setup = setup_infots, .check = check_infots, .loss = loss_infots,
                                      .eval_encode = eval_encode_infots};
