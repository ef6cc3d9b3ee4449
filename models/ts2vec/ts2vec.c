/* ts2vec.c: TS2Vec as adapted in the authors' code (docs/METHOD.md §6.1): per-batch crops, masked
 * encoder calls, alignment of the two views, and the hierarchical contrastive loss, all
 * composed from core ops (gather, masked_fill, batched matmul, cross-entropy, max-pool).
 * The method has no heads; it is not a place for InfoTS (models/infots). */
#include <stdlib.h>
#include <string.h>

#include "ts2vec/dc_ts2vec.h"

#define TS2VEC_ALPHA 0.5
/* Stands in for the dropped diagonal: exp(-1e30 - max) is exactly 0 in float32 and float64,
 * so a row's softmax over all 2K entries equals the softmax over the other 2K-1 entries. */
#define TS2VEC_NO_SELF (-1e30)

dc_status dc_ts2vec_draw_crop(dc_rng *rng, int64_t T, int64_t B, dc_ts2vec_crop *c, int64_t *off) {
    if (!rng || !c || !off) return dc_fail(DC_ERR_ARG, "ts2vec crop: NULL argument");
    if (T < 2)
        return dc_fail(DC_ERR_SHAPE, "ts2vec: sequences of T = %lld instances cannot be cropped (crop length >= 2)",
                       (long long)T);
    c->crop_l = dc_rng_randint(rng, 2, T);
    c->left = dc_rng_randint(rng, 0, T - c->crop_l);
    c->right = c->left + c->crop_l;
    c->eleft = dc_rng_randint(rng, 0, c->left);
    c->eright = dc_rng_randint(rng, c->right, T);
    for (int64_t b = 0; b < B; b++) off[b] = dc_rng_randint(rng, -c->eleft, T - c->eright);
    return DC_OK;
}

dc_tensor *dc_ts2vec_mask_input(dc_ctx *ctx, dc_tensor *x, dc_rng *rng) {
    if (!ctx || !x || !rng) {
        if (!dc_last_status()) dc_fail(DC_ERR_ARG, "ts2vec mask: NULL argument");
        return NULL;
    }
    if (x->ndim != 3) {
        char s[128];
        dc_fail(DC_ERR_SHAPE, "ts2vec mask: x must be (B, T, D), got %s", dc_tensor_describe(x, s, sizeof s));
        return NULL;
    }
    /* K ~ Bernoulli(0.5) over (B, T); here 1 marks a dropped step (same law) */
    dc_tensor *drop = dc_tensor_new(ctx, DC_U8, 3, (int64_t[]){x->shape[0], x->shape[1], 1});
    if (!drop || dc_rng_fill_bernoulli(rng, drop, 0.5) != DC_OK) return NULL;
    return dc_masked_fill(ctx, x, drop, 0.0);
}

dc_tensor *dc_ts2vec_encode(dc_encoder *enc, dc_ctx *ctx, dc_tensor *x, int training, dc_rng *rng) {
    dc_tensor *xm = dc_ts2vec_mask_input(ctx, x, rng);
    return xm ? dc_encoder_forward(enc, ctx, xm, training) : NULL;
}

/* Rows of x (B, T, D) from per-row starts: out[b, j] = x[b, start[b] + j], j < L. */
static dc_tensor *take_per_row(dc_ctx *ctx, dc_tensor *x, const int64_t *start, int64_t L) {
    int64_t B = x->shape[0];
    int32_t *h = malloc((size_t)(B * L) * sizeof *h);
    if (!h) {
        dc_fail(DC_ERR_OOM, "ts2vec: out of host memory");
        return NULL;
    }
    for (int64_t b = 0; b < B; b++)
        for (int64_t j = 0; j < L; j++) h[b * L + j] = (int32_t)(start[b] + j);
    dc_tensor *idx = dc_tensor_from_host(ctx, DC_I32, 2, (int64_t[]){B, L}, h);
    free(h);
    return idx ? dc_gather(ctx, x, idx) : NULL;
}

/* o (B, L, F) zero-padded at the end of time to Lm (gather: indices >= L give zero rows). */
static dc_tensor *pad_end(dc_ctx *ctx, dc_tensor *o, int64_t Lm) {
    if (o->shape[1] == Lm) return o;
    int32_t *h = malloc((size_t)Lm * sizeof *h);
    if (!h) {
        dc_fail(DC_ERR_OOM, "ts2vec: out of host memory");
        return NULL;
    }
    for (int64_t j = 0; j < Lm; j++) h[j] = (int32_t)j;
    dc_tensor *idx = dc_tensor_from_host(ctx, DC_I32, 2, (int64_t[]){1, Lm}, h);
    free(h);
    return idx ? dc_gather(ctx, o, idx) : NULL;
}

dc_status dc_ts2vec_align(dc_ctx *ctx, dc_tensor *o1, dc_tensor *o2, const dc_ts2vec_crop *c, int overlap,
                          dc_tensor **a1, dc_tensor **a2) {
    if (!ctx || !o1 || !o2 || !c || !a1 || !a2)
        return dc_last_status() ? dc_last_status() : dc_fail(DC_ERR_ARG, "ts2vec align: NULL argument");
    int64_t L1 = c->right - c->eleft, L2 = c->eright - c->left;
    if (o1->ndim != 3 || o2->ndim != 3 || o1->shape[1] != L1 || o2->shape[1] != L2 || o1->shape[0] != o2->shape[0]) {
        char s1[128], s2[128];
        return dc_fail(DC_ERR_SHAPE, "ts2vec align: views %s and %s do not match the crop (L1 = %lld, L2 = %lld)",
                       dc_tensor_describe(o1, s1, sizeof s1), dc_tensor_describe(o2, s2, sizeof s2), (long long)L1,
                       (long long)L2);
    }
    if (overlap) {
        *a1 = dc_slice(ctx, o1, 1, L1 - c->crop_l, c->crop_l);
        *a2 = dc_slice(ctx, o2, 1, 0, c->crop_l);
    } else {
        int64_t Lm = L1 > L2 ? L1 : L2;
        *a1 = pad_end(ctx, o1, Lm);
        *a2 = pad_end(ctx, o2, Lm);
    }
    return (*a1 && *a2) ? DC_OK : dc_last_status();
}

/* z (G, 2K, F): per group, row i < K has positive K+i and row K+i has positive i; the
 * diagonal is left out. Mean over the G*2K rows of -log softmax(positive). */
static dc_tensor *pair_contrast(dc_ctx *ctx, dc_tensor *z) {
    if (!z) return NULL;
    int64_t G = z->shape[0], M = z->shape[1], K = M / 2;
    uint8_t *eye = calloc((size_t)(M * M), 1);
    int32_t *tgt = malloc((size_t)(G * M) * sizeof *tgt);
    dc_tensor *mask = NULL, *targets = NULL;
    if (eye && tgt) {
        for (int64_t i = 0; i < M; i++) eye[i * M + i] = 1;
        for (int64_t g = 0; g < G; g++)
            for (int64_t i = 0; i < M; i++) tgt[g * M + i] = (int32_t)(i < K ? K + i : i - K);
        mask = dc_tensor_from_host(ctx, DC_U8, 2, (int64_t[]){M, M}, eye);
        targets = mask ? dc_tensor_from_host(ctx, DC_I32, 1, (int64_t[]){G * M}, tgt) : NULL;
    } else {
        dc_fail(DC_ERR_OOM, "ts2vec: out of host memory");
    }
    free(eye);
    free(tgt);
    if (!targets) return NULL;
    dc_tensor *sim = dc_masked_fill(ctx, dc_matmul(ctx, z, z, 0, 1), mask, TS2VEC_NO_SELF);
    return dc_cross_entropy(ctx, dc_reshape(ctx, sim, 2, (int64_t[]){G * M, M}), targets);
}

static int check_pair(const char *what, dc_tensor *z1, dc_tensor *z2) {
    if (!z1 || !z2) {
        if (!dc_last_status()) dc_fail(DC_ERR_ARG, "ts2vec %s: NULL input", what);
        return 0;
    }
    if (z1->ndim != 3 || !dc_tensor_same_shape(z1, z2) || z1->shape[0] < 1 || z1->shape[1] < 1) {
        char s1[128], s2[128];
        dc_fail(DC_ERR_SHAPE, "ts2vec %s: z1 %s and z2 %s must be the same non-empty (B, T, F)", what,
                dc_tensor_describe(z1, s1, sizeof s1), dc_tensor_describe(z2, s2, sizeof s2));
        return 0;
    }
    return 1;
}

dc_tensor *dc_ts2vec_instance_loss(dc_ctx *ctx, dc_tensor *z1, dc_tensor *z2) {
    if (!check_pair("instance loss", z1, z2)) return NULL;
    if (z1->shape[0] == 1) return dc_tensor_zeros(ctx, z1->dtype, 0, NULL);
    dc_tensor *z = dc_concat(ctx, 2, (dc_tensor *[]){z1, z2}, 0); /* (2B, T, F) */
    return pair_contrast(ctx, dc_transpose(ctx, z, 0, 1));        /* (T, 2B, F) */
}

dc_tensor *dc_ts2vec_temporal_loss(dc_ctx *ctx, dc_tensor *z1, dc_tensor *z2) {
    if (!check_pair("temporal loss", z1, z2)) return NULL;
    if (z1->shape[1] == 1) return dc_tensor_zeros(ctx, z1->dtype, 0, NULL);
    return pair_contrast(ctx, dc_concat(ctx, 2, (dc_tensor *[]){z1, z2}, 1)); /* (B, 2T, F) */
}

static dc_tensor *acc(dc_ctx *ctx, dc_tensor *sum, dc_tensor *term, double w) {
    dc_tensor *t = dc_scale(ctx, term, w);
    return sum ? dc_add(ctx, sum, t) : t;
}

dc_tensor *dc_ts2vec_hier_loss(dc_ctx *ctx, dc_tensor *z1, dc_tensor *z2, double alpha) {
    if (!check_pair("hierarchical loss", z1, z2)) return NULL;
    dc_tensor *loss = NULL;
    int64_t d = 0;
    while (z1 && z2 && z1->shape[1] > 1) {
        if (alpha != 0) loss = acc(ctx, loss, dc_ts2vec_instance_loss(ctx, z1, z2), alpha);
        if (1 - alpha != 0) loss = acc(ctx, loss, dc_ts2vec_temporal_loss(ctx, z1, z2), 1 - alpha);
        if (!loss) return NULL;
        d++;
        z1 = dc_maxpool1d(ctx, z1, 2, 2);
        z2 = dc_maxpool1d(ctx, z2, 2, 2);
    }
    if (!z1 || !z2) return NULL;
    if (alpha != 0) loss = acc(ctx, loss, dc_ts2vec_instance_loss(ctx, z1, z2), alpha);
    d++;
    if (!loss) loss = dc_tensor_zeros(ctx, z1->dtype, 0, NULL);
    return dc_scale(ctx, loss, 1.0 / (double)d);
}

/* docs/METHOD.md §6.1: optional 500-window, crop, two masked encoder calls, alignment, loss. */
static dc_tensor *loss_ts2vec(dc_model *m, dc_ctx *ctx, dc_tensor *x, int training, dc_rng *rng, dc_loss_terms *t) {
    int64_t B = x->shape[0], T = x->shape[1], base = 0;
    /* Every shape of the step follows the random crop; the context's pool reuses a buffer only
     * for requests between half its size and its size, so it would still collect buffers for
     * many crop lengths. Hand them back instead (one malloc per tensor per step). */
    dc_ctx_trim(ctx);
    int64_t max_len = dc_cfg_int(&m->cfg, DC_TS2VEC_MAX_LEN);
    if (T > max_len) { /* one random window for the whole batch */
        base = dc_rng_randint(rng, 0, T - max_len);
        T = max_len;
    }
    int64_t *off = malloc((size_t)(3 * B) * sizeof *off), *s1 = off + B, *s2 = off + 2 * B;
    if (!off) {
        dc_fail(DC_ERR_OOM, "ts2vec: out of host memory");
        return NULL;
    }
    dc_ts2vec_crop c;
    dc_tensor *L = NULL;
    if (dc_ts2vec_draw_crop(rng, T, B, &c, off) == DC_OK) {
        for (int64_t b = 0; b < B; b++) {
            s1[b] = base + off[b] + c.eleft;
            s2[b] = base + off[b] + c.left;
        }
        dc_tensor *o1 = dc_ts2vec_encode(m->enc, ctx, take_per_row(ctx, x, s1, c.right - c.eleft), training, rng);
        dc_tensor *o2 = o1 ? dc_ts2vec_encode(m->enc, ctx, take_per_row(ctx, x, s2, c.eright - c.left), training, rng) : NULL;
        dc_tensor *a1 = NULL, *a2 = NULL;
        if (o2 && dc_ts2vec_align(ctx, o1, o2, &c, dc_cfg_on(&m->cfg, DC_TS2VEC_OVERLAP), &a1, &a2) == DC_OK)
            L = dc_ts2vec_hier_loss(ctx, a1, a2, TS2VEC_ALPHA);
    }
    free(off);
    dc_loss_terms_add(t, "hierarchical", L);
    return L;
}

/* TSEncoder zeroes half of the time steps on every call, evaluation included (docs/METHOD.md §7.2). */
static dc_tensor *eval_encode_ts2vec(dc_model *m, dc_ctx *ctx, dc_tensor *x, dc_rng *rng) {
    return dc_ts2vec_encode(m->enc, ctx, x, 0, rng);
}

/* docs/METHOD.md §6.1, §9 item 22 */
static const dc_option k_rows[DC_TS2VEC_N_OPTIONS] = {
    [DC_TS2VEC_OVERLAP] = {"ts2vec_alignment", "ts2vec-alignment", "flags", DC_OPTION_CHOICE, .choices = {"pad", "overlap"},
                           .def = {{NULL, "corrected", 1}, {.value = 0}},
                           .help = "views: end-padded (authors) or their overlap only (original TS2Vec)"},
    [DC_TS2VEC_MAX_LEN] = {"ts2vec_max_len", "ts2vec-max-len", "hyperparameters", DC_OPTION_INT, "[2, inf)",
                           .def = {{.value = 500}}, .help = "maximum training length (a crop needs 2 steps)"},
};
static const dc_option_table k_options = {"ts2vec", k_rows, DC_TS2VEC_N_OPTIONS};

/* The authors' ts2vec.py creates a scheduler but never steps it: no plateau validation. */
const dc_model_vtbl dc_ts2vec_vtbl = {.name = "ts2vec", .display_name = "TS2Vec", .options = &k_options, .loss = loss_ts2vec,
                                      .eval_encode = eval_encode_ts2vec};
