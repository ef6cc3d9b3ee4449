/* dynacl.c: the four DynaCL methods as dc_model vtables, the options they share, and the
 * one-step driver. The losses' building blocks are in margin.c and the core's MP-Xent. */
#include <math.h>
#include <stdlib.h>

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

/* ---------------------------------------------------------------- shared pieces */

static int64_t seq_len_of(const dc_model *m, const dc_tensor *x) { return dc_cfg_on(&m->cfg, DC_DYNACL_WITHIN_SEQ) ? x->shape[1] : 0; }

static dc_tensor *flat_embed(dc_model *m, dc_ctx *ctx, dc_tensor *x, int training) {
    dc_tensor *z = dc_encoder_forward(m->enc, ctx, x, training);
    return z ? dc_reshape(ctx, z, 2, (int64_t[]){-1, DC_ENCODER_OUT}) : NULL;
}

static dc_tensor *mpxent_of(dc_model *m, dc_ctx *ctx, dc_tensor *zf, dc_tensor *x) {
    dc_mpxent_opts o = {m->cfg.opt[DC_DYNACL_TAU], seq_len_of(m, x), dc_cfg_on(&m->cfg, DC_DYNACL_SINGLE_POSITIVE)};
    return dc_mpxent(ctx, zf, &o);
}

/* Y for the margin loss: the authors' rule on the raw input, or the intended rule on z. */
static dc_tensor *pseudo_labels(dc_model *m, dc_ctx *ctx, dc_tensor *x, dc_tensor *zf) {
    int64_t N = zf->shape[0];
    double thr = m->cfg.opt[DC_DYNACL_THRESHOLD];
    if (dc_cfg_on(&m->cfg, DC_DYNACL_PSEUDO_EMB)) return dc_pseudo_labels_embeddings(ctx, zf, thr);
    if (thr > 0 && thr < 1) /* docs/METHOD.md §4.3: the sequential assignments make Y = 1 for any 0 < thr < 1 */
        return dc_tensor_full(ctx, zf->dtype, 1, &N, 1.0);
    int64_t D = x->shape[x->ndim - 1];
    float *h = malloc((size_t)(N * D) * sizeof *h), *Y = malloc((size_t)N * sizeof *Y);
    dc_tensor *t = NULL;
    if (h && Y && dc_tensor_download(x, h, (size_t)(N * D) * sizeof *h) == DC_OK) {
        dc_pseudo_labels_code(h, N, D, thr, Y);
        t = dc_tensor_from_host(ctx, DC_F32, 1, &N, Y);
    } else if (!h || !Y) {
        dc_fail(DC_ERR_OOM, "pseudo-labels: out of host memory");
    }
    free(h);
    free(Y);
    return t;
}

static dc_tensor *margin_of(dc_model *m, dc_ctx *ctx, dc_tensor *zf, dc_tensor *x) {
    dc_tensor *Y = pseudo_labels(m, ctx, x, zf);
    return dc_margin_loss(ctx, zf, Y, m->cfg.opt[DC_DYNACL_TAU], m->cfg.opt[DC_DYNACL_MARGIN], m->cfg.opt[DC_DYNACL_MARGIN_GAMMA],
                          seq_len_of(m, x));
}

/* lam * mse + (1 - lam) * contrastive (authors), or lam * contrastive + (1 - lam) * mse (paper) */
static dc_tensor *mix(dc_model *m, dc_ctx *ctx, dc_tensor *mse, dc_tensor *con) {
    double lam = m->cfg.opt[DC_DYNACL_LAMBDA];
    if (dc_cfg_on(&m->cfg, DC_DYNACL_LAMBDA_PAPER)) return dc_add(ctx, dc_scale(ctx, con, lam), dc_scale(ctx, mse, 1.0 - lam));
    return dc_add(ctx, dc_scale(ctx, mse, lam), dc_scale(ctx, con, 1.0 - lam));
}

/* Masked embeddings and the MSE to a fresh random projection of the unmasked input. */
static dc_tensor *masked_mse(dc_model *m, dc_ctx *ctx, dc_tensor *x, int training, dc_rng *rng, dc_tensor **zf_out) {
    dc_tensor *xm = dc_feature_mask(ctx, x, m->cfg.opt[DC_DYNACL_MASK], rng);
    dc_tensor *zf = flat_embed(m, ctx, xm, training);
    dc_tensor *X = zf ? dc_reshape(ctx, x, 2, (int64_t[]){-1, x->shape[x->ndim - 1]}) : NULL;
    dc_tensor *zbar = dc_random_projection(ctx, X, DC_ENCODER_OUT, rng);
    *zf_out = zf;
    return dc_mse(ctx, zf, zbar);
}

/* ---------------------------------------------------------------- the four methods */

static dc_tensor *loss_dynacl(dc_model *m, dc_ctx *ctx, dc_tensor *x, int training, dc_rng *rng, dc_loss_terms *t) {
    dc_tensor *L = mpxent_of(m, ctx, flat_embed(m, ctx, x, training), x);
    dc_loss_terms_add(t, "mpxent", L);
    return L;
}

static dc_tensor *loss_dynacl_m(dc_model *m, dc_ctx *ctx, dc_tensor *x, int training, dc_rng *rng, dc_loss_terms *t) {
    dc_tensor *zf = NULL, *mse = masked_mse(m, ctx, x, training, rng, &zf);
    dc_tensor *mar = mse ? margin_of(m, ctx, zf, x) : NULL;
    dc_loss_terms_add(t, "mse", mse);
    dc_loss_terms_add(t, "margin", mar);
    return mar ? mix(m, ctx, mse, mar) : NULL;
}

static dc_tensor *loss_mpxent_mse(dc_model *m, dc_ctx *ctx, dc_tensor *x, int training, dc_rng *rng, dc_loss_terms *t) {
    dc_tensor *zf = NULL, *mse = masked_mse(m, ctx, x, training, rng, &zf);
    dc_tensor *mpx = mse ? mpxent_of(m, ctx, zf, x) : NULL;
    dc_loss_terms_add(t, "mse", mse);
    dc_loss_terms_add(t, "mpxent", mpx);
    return mpx ? mix(m, ctx, mse, mpx) : NULL;
}

static dc_tensor *loss_mpxent_margin(dc_model *m, dc_ctx *ctx, dc_tensor *x, int training, dc_rng *rng,
                                     dc_loss_terms *t) {
    dc_tensor *zf = flat_embed(m, ctx, x, training);
    dc_tensor *L = zf ? margin_of(m, ctx, zf, x) : NULL;
    dc_loss_terms_add(t, "margin", L);
    return L;
}

/* ---------------------------------------------------------------- options and vtables */

#define HP "hyperparameters"
/* docs/METHOD.md §4.5 (per dataset; SleepEEG lambda 0.4 as configured, §9 item 7; synthetic and
 * other data take SleepEEG's values, a non-degenerate mix) and §9 (protocol switches). */
static const dc_option k_rows[DC_DYNACL_N_OPTIONS] = {
    [DC_DYNACL_TAU] = {"tau", "tau", HP, DC_OPTION_REAL, "(0, inf)", .def = {{.value = 0.5}}, .help = "temperature"},
    [DC_DYNACL_SINGLE_POSITIVE] = {"single_positive", "single-positive", HP, DC_OPTION_BOOL,
                                   .help = "MP-Xent with one positive (the paper's eq. 1)"},
    [DC_DYNACL_MASK] = {"mask_fraction", "mask", HP, DC_OPTION_REAL, "[0, 1)", .def = {{"harth", NULL, 1e-5}, {.value = 0.3}},
                        .help = "feature-mask fraction"},
    [DC_DYNACL_LAMBDA] = {"lambda", "lambda", HP, DC_OPTION_REAL, "[0, 1]",
                          .def = {{"harth", NULL, 1e-30}, {"ecg", NULL, 1.0}, {.value = 0.4}}, .help = "MSE/contrastive mix"},
    /* docs/METHOD.md §9 item 6: 5 for every dataset (ECG's config value 100 gives NaN) */
    [DC_DYNACL_MARGIN] = {"margin", "margin", HP, DC_OPTION_REAL, "[0, inf)", .def = {{.value = 5.0}},
                          .help = "margin Mg of DynaCL-M"},
    [DC_DYNACL_MARGIN_GAMMA] = {"margin_gamma", "margin-gamma", HP, DC_OPTION_REAL, "[0, inf)", .def = {{.value = 0.05}},
                                .help = "gamma of the margin loss (hard-coded in the authors' code)"},
    [DC_DYNACL_THRESHOLD] = {"threshold", "threshold", HP, DC_OPTION_REAL, "[-1, 1]", .def = {{.value = 0.4}},
                             .help = "pseudo-label cosine threshold"},
    [DC_DYNACL_WITHIN_SEQ] = {"mpxent_positives", "mpxent-positives", "flags", DC_OPTION_CHOICE, .choices = {"flattened", "within-seq"},
                              .def = {{NULL, "corrected", 1}, {.value = 0}},
                              .help = "MP-Xent positives: across the flattened batch (authors) or within each sequence"},
    [DC_DYNACL_PSEUDO_EMB] = {"pseudo_labels", "pseudo-labels", "flags", DC_OPTION_CHOICE, .choices = {"input", "embeddings"},
                              .def = {{NULL, "corrected", 1}, {.value = 0}},
                              .help = "pseudo-labels from the raw input (authors: all 1) or from the embeddings"},
    [DC_DYNACL_LAMBDA_PAPER] = {"lambda_form", "lambda-form", "flags", DC_OPTION_CHOICE, .choices = {"code", "paper"},
                                .def = {{NULL, "corrected", 1}, {.value = 0}},
                                .help = "code (authors: lam MSE + (1-lam) contrastive) or paper (eq. 6)"},
};
const dc_option_table dc_dynacl_options = {"dynacl, dynacl-m, mpxent-mse, mpxent-margin", k_rows, DC_DYNACL_N_OPTIONS};

/* docs/METHOD.md §5, §4.6: DynaCL, DynaCL-M and MP-Xent+MSE validate (ReduceLROnPlateau); the margin-only
 * ablation script has no validation pass. */
#define DYNACL_METHOD(key, shown, fn, valid) \
    {.name = key, .display_name = shown, .options = &dc_dynacl_options, .loss = fn, .validates = valid}
const dc_model_vtbl dc_dynacl_vtbl = DYNACL_METHOD("dynacl", "DynaCL", loss_dynacl, 1);
const dc_model_vtbl dc_dynacl_m_vtbl = DYNACL_METHOD("dynacl-m", "DynaCL-M", loss_dynacl_m, 1);
const dc_model_vtbl dc_mpxent_mse_vtbl = DYNACL_METHOD("mpxent-mse", "MP-Xent + MSE", loss_mpxent_mse, 1);
const dc_model_vtbl dc_mpxent_margin_vtbl = DYNACL_METHOD("mpxent-margin", "MP-Xent + margin", loss_mpxent_margin, 0);
