/* tnc.c: TNC as adapted in the authors' code (docs/METHOD.md §6.4): centre draws on the flattened
 * batch, windows by gather, three encoder calls, the per-time-step discriminator (matmul,
 * ReLU, Bernoulli dropout) and the BCE combination, composed from core ops. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tnc/dc_tnc.h"

#define TNC_HIDDEN 128
#define TNC_DROPOUT 0.5

enum { DISC_W0, DISC_B0, DISC_W3, DISC_B3, N_HEADS };
static const char *const k_names[N_HEADS] = {"disc.0.weight", "disc.0.bias", "disc.3.weight", "disc.3.bias"};

static dc_status setup_tnc(dc_model *m, dc_backend *be, dc_rng *rng) {
    const int64_t F2 = 2 * DC_ENCODER_OUT;
    const int64_t shapes[N_HEADS][2] = {{TNC_HIDDEN, F2}, {TNC_HIDDEN, 0}, {1, TNC_HIDDEN}, {1, 0}};
    m->heads = dc_params_new(be, DC_F32, 1);
    if (!m->heads) return dc_last_status();
    for (int i = 0; i < N_HEADS; i++)
        if (!dc_params_add(m->heads, k_names[i], shapes[i][1] ? 2 : 1, shapes[i])) return dc_last_status();
    dc_status st = dc_params_alloc(m->heads);
    /* xavier_uniform: +-sqrt(6 / (fan_in + fan_out)); Linear bias default: +-1/sqrt(fan_in) */
    double xw0 = sqrt(6.0 / (double)(F2 + TNC_HIDDEN)), xw3 = sqrt(6.0 / (double)(TNC_HIDDEN + 1));
    double bb0 = 1.0 / sqrt((double)F2), bb3 = 1.0 / sqrt((double)TNC_HIDDEN);
    const double bound[N_HEADS] = {xw0, bb0, xw3, bb3};
    for (int i = 0; i < N_HEADS && st == DC_OK; i++)
        st = dc_rng_fill_uniform(rng, dc_params_get(m->heads, i), -bound[i], bound[i]);
    return st;
}

dc_status dc_tnc_draw_centres(dc_rng *rng, int64_t w, int64_t mc, int64_t Tc, int64_t B, int64_t T, int64_t *t, int64_t *pos,
                              int64_t *neg) {
    int64_t half = w / 2, delta = 5 * DC_TNC_EPSILON * w;
    if (w < 2 || mc < 1) return dc_fail(DC_ERR_ARG, "tnc: window %lld / Monte-Carlo size %lld", (long long)w, (long long)mc);
    if (Tc < w + 1)
        return dc_fail(DC_ERR_SHAPE, "tnc: Tc = %lld leaves no neighbour centre for window %lld (need Tc >= window + 1)",
                       (long long)Tc, (long long)w);
    /* the authors' np.random.randint(2w, batch_size * w - 2w): the last anchor is B*w - 2w - 1 */
    int64_t t_hi = B * w - 2 * w - 1;
    if (B < 1 || T < 1 || t_hi < 2 * w)
        return dc_fail(DC_ERR_SHAPE, "tnc: a batch of %lld sequences leaves no anchor centre in [2w, B*w - 2w) = [%lld, %lld) "
                       "for window %lld (need B >= 5)", (long long)B, (long long)(2 * w), (long long)(t_hi + 1), (long long)w);
    int64_t need = t_hi + half > Tc ? t_hi + half : Tc; /* last anchor window end, last clipped centre */
    if (B * T < need)
        return dc_fail(DC_ERR_SHAPE,
                       "tnc: window %lld with Tc = %lld needs a flattened batch of >= %lld instances, got B*T = %lld",
                       (long long)w, (long long)Tc, (long long)need, (long long)(B * T));
    *t = dc_rng_randint(rng, 2 * w, t_hi);
    for (int64_t i = 0; i < mc; i++) {
        int64_t tp = (int64_t)((double)*t + dc_rng_normal(rng) * DC_TNC_EPSILON * (double)w); /* int(): toward zero */
        pos[i] = tp < half + 1 ? half + 1 : tp > Tc - half ? Tc - half : tp;
    }
    for (int64_t i = 0; i < mc; i++) {
        if ((double)*t > (double)Tc / 2.0) {
            int64_t hi = *t - delta + 1 > half + 1 ? *t - delta + 1 : half + 1; /* randint(half, hi) */
            neg[i] = dc_rng_randint(rng, half, hi - 1);
        } else {
            int64_t lo = *t + delta < Tc - w - 1 ? *t + delta : Tc - w - 1; /* randint(lo, Tc - half) */
            neg[i] = dc_rng_randint(rng, lo, Tc - half - 1);
        }
    }
    return DC_OK;
}

dc_tensor *dc_tnc_discriminate(dc_ctx *ctx, dc_tensor *za, dc_tensor *zb, dc_tensor *w0, dc_tensor *b0, dc_tensor *w3,
                               dc_tensor *b3, double p_drop, dc_rng *rng) {
    if (!ctx || !za || !zb || !w0 || !b0 || !w3 || !b3) {
        if (!dc_last_status()) dc_fail(DC_ERR_ARG, "tnc discriminator: NULL argument");
        return NULL;
    }
    if (za->ndim != 2 || !dc_tensor_same_shape(za, zb) || w0->ndim != 2 || w0->shape[1] != 2 * za->shape[1] || w3->ndim != 2 ||
        w3->shape[0] != 1 || w3->shape[1] != w0->shape[0]) {
        char s1[128], s2[128], s3[128];
        dc_fail(DC_ERR_SHAPE, "tnc discriminator: za %s, zb %s, w0 %s: need za, zb (N, F), w0 (H, 2F), w3 (1, H)",
                dc_tensor_describe(za, s1, sizeof s1), dc_tensor_describe(zb, s2, sizeof s2),
                dc_tensor_describe(w0, s3, sizeof s3));
        return NULL;
    }
    if (!(p_drop >= 0 && p_drop < 1)) {
        dc_fail(DC_ERR_ARG, "tnc discriminator: dropout %g must be in [0, 1)", p_drop);
        return NULL;
    }
    int64_t N = za->shape[0];
    dc_tensor *x = dc_concat(ctx, 2, (dc_tensor *[]){za, zb}, 1);
    dc_tensor *h = dc_relu(ctx, dc_add(ctx, dc_matmul(ctx, x, w0, 0, 1), b0));
    if (h && p_drop > 0) {
        dc_tensor *keep = dc_tensor_new(ctx, h->dtype, 2, h->shape);
        if (!keep || !rng || dc_rng_fill_bernoulli(rng, keep, 1.0 - p_drop) != DC_OK) {
            if (!dc_last_status()) dc_fail(DC_ERR_ARG, "tnc discriminator: dropout needs an rng");
            return NULL;
        }
        h = dc_mul(ctx, h, dc_scale(ctx, keep, 1.0 / (1.0 - p_drop)));
    }
    dc_tensor *y = dc_add(ctx, dc_matmul(ctx, h, w3, 0, 1), b3); /* (N, 1) */
    return dc_reshape(ctx, y, 1, &N);
}

dc_tensor *dc_tnc_bce(dc_ctx *ctx, dc_tensor *d_p, dc_tensor *d_n, double w) {
    if (!ctx || !d_p || !d_n) {
        if (!dc_last_status()) dc_fail(DC_ERR_ARG, "tnc bce: NULL argument");
        return NULL;
    }
    dc_tensor *one_p = dc_tensor_full(ctx, d_p->dtype, d_p->ndim, d_p->shape, 1.0);
    dc_tensor *one_n = dc_tensor_full(ctx, d_n->dtype, d_n->ndim, d_n->shape, 1.0);
    dc_tensor *zero_n = dc_tensor_zeros(ctx, d_n->dtype, d_n->ndim, d_n->shape);
    dc_tensor *lp = dc_bce_logits(ctx, d_p, one_p);
    dc_tensor *lnu = dc_bce_logits(ctx, d_n, one_n), *ln = dc_bce_logits(ctx, d_n, zero_n);
    dc_tensor *s = dc_add(ctx, dc_add(ctx, lp, dc_scale(ctx, lnu, w)), dc_scale(ctx, ln, 1.0 - w));
    return dc_scale(ctx, s, 0.5);
}

static dc_tensor *head(dc_model *m, dc_ctx *ctx, int i) {
    dc_tensor *p = dc_params_get(m->heads, i);
    return m->cfg.train_heads ? p : dc_view_reshape(ctx, p, p->ndim, p->shape);
}

/* Windows of wl instances around each centre, from the flattened series xs (1, B*T, D),
 * as an (n, wl, D) batch. */
static dc_tensor *windows(dc_ctx *ctx, dc_tensor *xs, const int64_t *centre, int64_t n, int64_t w) {
    int64_t half = w / 2, wl = 2 * half;
    int32_t *h = malloc((size_t)(n * wl) * sizeof *h);
    if (!h) {
        dc_fail(DC_ERR_OOM, "tnc: out of host memory");
        return NULL;
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < wl; j++) h[i * wl + j] = (int32_t)(centre[i] - half + j);
    dc_tensor *idx = dc_tensor_from_host(ctx, DC_I32, 2, (int64_t[]){1, n * wl}, h);
    free(h);
    dc_tensor *g = idx ? dc_gather(ctx, xs, idx) : NULL;
    return g ? dc_reshape(ctx, g, 3, (int64_t[]){n, wl, xs->shape[2]}) : NULL;
}

static dc_tensor *loss_tnc(dc_model *m, dc_ctx *ctx, dc_tensor *x, int training, dc_rng *rng, dc_loss_terms *t) {
    int64_t B = x->shape[0], T = x->shape[1], D = x->shape[2], w = dc_cfg_int(&m->cfg, DC_TNC_WINDOW);
    int64_t mc = dc_cfg_int(&m->cfg, DC_TNC_MC), Tc = dc_cfg_int(&m->cfg, DC_TNC_TC) > 0 ? dc_cfg_int(&m->cfg, DC_TNC_TC) : T;
    if (w > T) {
        dc_fail(DC_ERR_SHAPE, "tnc: the window of %lld instances is longer than the sequences (T = %lld)", (long long)w,
                (long long)T);
        return NULL;
    }
    int64_t *c = malloc((size_t)(3 * mc) * sizeof *c), *pos = c + mc, *neg = c + 2 * mc;
    if (!c) {
        dc_fail(DC_ERR_OOM, "tnc: out of host memory");
        return NULL;
    }
    dc_tensor *L = NULL, *lp = NULL, *ln = NULL;
    if (dc_tnc_draw_centres(rng, w, mc, Tc, B, T, c, pos, neg) == DC_OK) {
        for (int64_t i = 1; i < mc; i++) c[i] = c[0]; /* the anchor, repeated mc times */
        dc_tensor *xs = dc_reshape(ctx, x, 3, (int64_t[]){1, B * T, D});
        dc_tensor *za = dc_encoder_forward(m->enc, ctx, windows(ctx, xs, c, mc, w), training);
        dc_tensor *zp = za ? dc_encoder_forward(m->enc, ctx, windows(ctx, xs, pos, mc, w), training) : NULL;
        dc_tensor *zn = zp ? dc_encoder_forward(m->enc, ctx, windows(ctx, xs, neg, mc, w), training) : NULL;
        const int64_t flat[2] = {-1, DC_ENCODER_OUT};
        za = dc_reshape(ctx, za, 2, flat);
        zp = dc_reshape(ctx, zp, 2, flat);
        zn = dc_reshape(ctx, zn, 2, flat);
        /* authors: the discriminator never leaves train mode (dropout on in validation too) */
        double p = (m->cfg.train_heads && !training) ? 0.0 : TNC_DROPOUT;
        dc_tensor *w0 = head(m, ctx, DISC_W0), *b0 = head(m, ctx, DISC_B0), *w3 = head(m, ctx, DISC_W3),
                  *b3 = head(m, ctx, DISC_B3);
        dc_tensor *dp = dc_tnc_discriminate(ctx, za, zp, w0, b0, w3, b3, p, rng);
        dc_tensor *dn = dp ? dc_tnc_discriminate(ctx, za, zn, w0, b0, w3, b3, p, rng) : NULL;
        L = dn ? dc_tnc_bce(ctx, dp, dn, m->cfg.opt[DC_TNC_WEIGHT]) : NULL;
        if (L) { /* the two plain BCE terms for the log, off the tape */
            int was = dc_ctx_set_grad_enabled(ctx, 0);
            lp = dc_bce_logits(ctx, dp, dc_tensor_full(ctx, dp->dtype, 1, dp->shape, 1.0));
            ln = dc_bce_logits(ctx, dn, dc_tensor_zeros(ctx, dn->dtype, 1, dn->shape));
            dc_ctx_set_grad_enabled(ctx, was);
        }
    }
    free(c);
    dc_loss_terms_add(t, "bce_neighbours", lp);
    dc_loss_terms_add(t, "bce_non_neighbours", ln);
    return L;
}

/* The script's scheduler is never stepped: no plateau validation. */
/* docs/METHOD.md §6.4; Tc is the config's sequence_sample (119 for ECG too) */
static const dc_option k_rows[DC_TNC_N_OPTIONS] = {
    [DC_TNC_WINDOW] = {"tnc_window", "tnc-window", "hyperparameters", DC_OPTION_INT, "[2, inf)", .def = {{.value = 20}},
                       .help = "window w"},
    [DC_TNC_MC] = {"tnc_mc", "tnc-mc", "hyperparameters", DC_OPTION_INT, "[1, inf)", .def = {{.value = 20}},
                   .help = "Monte-Carlo size"},
    [DC_TNC_WEIGHT] = {"tnc_weight", "tnc-weight", "hyperparameters", DC_OPTION_REAL, "[0, 1]", .def = {{.value = 0.1}},
                       .help = "W_TNC, weight of non-neighbours as positives"},
    [DC_TNC_TC] = {"tnc_tc", "tnc-tc", "hyperparameters", DC_OPTION_INT, "[0, inf)",
                   .def = {{"sleepeeg", NULL, 300}, {"harth", NULL, 119}, {"ecg", NULL, 119}, {.value = 0}},
                   .help = "Tc, the centres' clipping bound, 0 = T"},
};
static const dc_option_table k_options = {"tnc", k_rows, DC_TNC_N_OPTIONS};

const dc_model_vtbl dc_tnc_vtbl = {.name = "tnc", .display_name = "TNC", .options = &k_options, .setup = setup_tnc,
                                   .loss = loss_tnc};
