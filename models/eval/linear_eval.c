/* linear_eval.c: linear evaluation with a frozen encoder (docs/METHOD.md §7.1): a per-instance
 * Linear(F, C) probe trained with Adam on the training split, scored on the test split.
 * Embeddings come from fixed arrays (eval-mode encoder) or, under the authors' BatchNorm
 * quirk, from the encoder in training mode batch by batch. Metrics: metrics.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eval/dc_eval.h"
#include "train/dc_train.h"

dc_linear_eval_opts dc_linear_eval_opts_default(dc_protocol p) {
    dc_linear_eval_opts o = {p, 50, 8, 8, 1e-3, p == DC_PROTOCOL_AUTHORS, DC_SAMPLER_SHUFFLE, -1, 42, NULL, NULL};
    return o;
}

/* Where a batch's embeddings come from: fixed host arrays or the encoder on the dataset. */
typedef struct source {
    int64_t T, F;
    int64_t n[2];                /* sequences: [0] train, [1] test */
    const float *Z[2];           /* (n, T, F) fixed embeddings, or NULL */
    const int32_t *y[2];         /* (n, T) probe classes (-1 ignored), fixed mode */
    dc_encoder *enc;             /* encoder mode */
    const dc_dataset *ds;
    const int32_t *class_map;    /* dataset class -> probe class or -1 */
    float *host;                 /* (batch, T, max(D, F)) staging */
} source;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Embeddings (count * T, F) of sequences seqs of a split; labels into y (count * T). */
static dc_tensor *batch_embed(source *s, dc_ctx *ctx, int split, const int64_t *seqs, int64_t count, int training,
                              int32_t *y) {
    const int64_t T = s->T, F = s->F;
    if (s->Z[0]) {
        for (int64_t i = 0; i < count; i++) {
            memcpy(s->host + i * T * F, s->Z[split] + seqs[i] * T * F, (size_t)(T * F) * sizeof *s->host);
            memcpy(y + i * T, s->y[split] + seqs[i] * T, (size_t)T * sizeof *y);
        }
        return dc_tensor_from_host(ctx, DC_F32, 2, (int64_t[]){count * T, F}, s->host);
    }
    const dc_dataset *ds = s->ds;
    const int64_t D = ds->frames.D, first = split ? ds->n_train : 0;
    int64_t idx[64];
    for (int64_t i0 = 0; i0 < count; i0 += 64) { /* absolute sequence numbers, in chunks */
        int64_t m = count - i0 < 64 ? count - i0 : 64;
        for (int64_t i = 0; i < m; i++) idx[i] = first + seqs[i0 + i];
        if (dc_sequences_gather(&ds->frames, &ds->seqs, idx, m, s->host + i0 * T * D) != DC_OK) return NULL;
        for (int64_t i = 0; i < m; i++)
            for (int64_t t = 0; t < T; t++) {
                int32_t l = ds->frames.label[ds->seqs.start[idx[i]] + t];
                y[(i0 + i) * T + t] = l >= 0 && l < ds->frames.n_classes ? s->class_map[l] : -1;
            }
    }
    dc_tensor *x = dc_tensor_from_host(ctx, DC_F32, 2, (int64_t[]){count * T, D}, s->host);
    int prev = dc_ctx_set_grad_enabled(ctx, 0); /* frozen: no tape through the encoder */
    dc_tensor *z = x ? dc_encoder_forward(s->enc, ctx, x, training) : NULL;
    dc_ctx_set_grad_enabled(ctx, prev);
    return z;
}

/* Train the probe and score the test split. */
static dc_status run_probe(dc_backend *be, source *s, int C, const dc_linear_eval_opts *o, dc_linear_eval_result *out) {
    const int64_t T = s->T, F = s->F, B = o->batch, TB = o->test_batch, ntr = s->n[0], nte = s->n[1];
    if (B < 1 || TB < 1 || o->epochs < 1 || !(o->lr > 0))
        return dc_fail(DC_ERR_ARG, "linear eval: epochs, batch and test batch must be >= 1 and lr > 0");
    if (ntr < B) return dc_fail(DC_ERR_SHAPE, "linear eval: %lld training sequences are fewer than one batch of %lld", (long long)ntr, (long long)B);
    if (nte < TB) return dc_fail(DC_ERR_SHAPE, "linear eval: %lld test sequences are fewer than one batch of %lld", (long long)nte, (long long)TB);
    double t0 = now_s();
    int64_t maxb = B > TB ? B : TB;
    dc_params *ps = dc_params_new(be, DC_F32, 1);
    dc_tensor *W = ps ? dc_params_add(ps, "probe.weight", 2, (int64_t[]){C, F}) : NULL;
    dc_tensor *b = W ? dc_params_add(ps, "probe.bias", 1, (int64_t[]){C}) : NULL;
    dc_ctx *ctx = dc_ctx_new(be), *keep = dc_ctx_new(be);
    dc_adamw *opt = NULL;
    int64_t *order = malloc((size_t)ntr * sizeof *order), *tseq = malloc((size_t)TB * sizeof *tseq);
    int32_t *y = malloc((size_t)(maxb * T) * sizeof *y);
    float *logit = malloc((size_t)(maxb * T * C) * sizeof *logit);
    dc_status st = (b && ctx && keep && order && tseq && y && logit) ? dc_params_alloc(ps)
                                                                            : (dc_last_status() ? dc_last_status() : dc_fail(DC_ERR_OOM, "linear eval: out of memory"));
    dc_rng rng = dc_rng_init(o->seed);
    double bound = 1.0 / sqrt((double)F); /* nn.Linear: U(+-1/sqrt(fan_in)) for weight and bias */
    if (st == DC_OK) st = dc_rng_fill_uniform(&rng, W, -bound, bound);
    if (st == DC_OK) st = dc_rng_fill_uniform(&rng, b, -bound, bound);
    if (st == DC_OK) {
        dc_adamw_opts ao = dc_adamw_opts_default();
        ao.lr = o->lr;
        ao.weight_decay = 0.0; /* Adam = AdamW without decay */
        if (!(opt = dc_adamw_new(ps, ao))) st = dc_last_status();
    }
    dc_tensor *sum = st == DC_OK ? dc_tensor_zeros(keep, DC_F32, 0, NULL) : NULL;
    if (st == DC_OK && !sum) st = dc_last_status();
    int64_t rows_seen = 0;
    for (int64_t ep = 0; ep < o->epochs && st == DC_OK; ep++) {
        int64_t nb = 0;
        if ((st = dc_sampler_epoch(o->sampler, ntr, B, &rng, order, &nb)) != DC_OK) break;
        if ((st = dc_tensor_fill(sum, 0.0)) != DC_OK) break;
        int64_t used = 0;
        for (int64_t k = 0; k < nb && st == DC_OK; k++) {
            dc_ctx_reset(ctx);
            if ((st = dc_params_zero_grad(ps)) != DC_OK) break;
            dc_tensor *z = batch_embed(s, ctx, 0, order + k * B, B, o->bn_train, y);
            int64_t valid = 0;
            for (int64_t i = 0; i < B * T; i++) valid += y[i] >= 0;
            if (!z) {
                st = dc_last_status();
                break;
            }
            if (!valid) continue; /* nothing labelled in this batch */
            used++;
            rows_seen += valid;
            dc_tensor *t = dc_tensor_from_host(ctx, DC_I32, 1, (int64_t[]){B * T}, y);
            dc_tensor *lg = dc_add(ctx, dc_matmul(ctx, z, W, 0, 1), b);
            /* cross_entropy divides by all rows; rescale to the mean over labelled rows */
            dc_tensor *L = dc_scale(ctx, dc_cross_entropy(ctx, lg, t), (double)(B * T) / (double)valid);
            if (!L) st = dc_last_status();
            if (st == DC_OK) st = dc_backward(ctx, L);
            if (st == DC_OK) st = dc_adamw_step(opt);
            if (st == DC_OK) st = dc_tensor_accumulate(sum, L);
        }
        if (st == DC_OK) {
            double v = dc_tensor_item(sum);
            if (!isfinite(v)) st = dc_fail(DC_ERR_NUMERIC, "linear eval: the probe's loss is %g in epoch %lld", v, (long long)ep + 1);
            out->last_epoch_loss = used ? v / (double)used : 0;
            if (st == DC_OK && o->progress) o->progress(o->progress_ud, ep + 1, o->epochs, out->last_epoch_loss);
        }
    }
    if (st == DC_OK && rows_seen == 0) st = dc_fail(DC_ERR_ARG, "linear eval: the training split has no labelled instance");
    dc_class_metrics *m = &out->test;
    memset(m, 0, sizeof *m);
    m->n_classes = C;
    int64_t nbt = nte / TB; /* drop_last */
    for (int64_t k = 0; k < nbt && st == DC_OK; k++) {
        dc_ctx_reset(ctx);
        for (int64_t i = 0; i < TB; i++) tseq[i] = k * TB + i;
        dc_ctx_set_grad_enabled(ctx, 0);
        dc_tensor *z = batch_embed(s, ctx, 1, tseq, TB, 0, y);
        dc_tensor *lg = dc_add(ctx, dc_matmul(ctx, z, W, 0, 1), b);
        dc_ctx_set_grad_enabled(ctx, 1);
        if (!lg || (st = dc_tensor_download(lg, logit, (size_t)(TB * T * C) * sizeof *logit)) != DC_OK) {
            st = st ? st : dc_last_status();
            break;
        }
        for (int64_t r = 0; r < TB * T; r++) {
            if (y[r] < 0) continue;
            int best = 0; /* argmax: first of equals, as torch.argmax on CPU */
            for (int c = 1; c < C; c++)
                if (logit[r * C + c] > logit[r * C + best]) best = c;
            m->confusion[y[r]][best]++;
        }
    }
    if (st == DC_OK) st = dc_class_metrics_from_confusion(m);
    if (st == DC_OK && m->n == 0) st = dc_fail(DC_ERR_ARG, "linear eval: the test split has no labelled instance of the probe's classes");
    out->n_classes = C;
    out->train_rows = rows_seen;
    out->test_rows = m->n;
    out->seconds = now_s() - t0;
    dc_adamw_free(opt);
    dc_ctx_free(ctx);
    dc_ctx_free(keep);
    dc_params_free(ps);
    free(order), free(tseq), free(y), free(logit);
    return st;
}

dc_status dc_linear_probe(dc_backend *be, const float *Ztr, const int32_t *ytr, int64_t ntr, const float *Zte,
                          const int32_t *yte, int64_t nte, int64_t T, int64_t F, int n_classes,
                          const dc_linear_eval_opts *o, dc_linear_eval_result *out) {
    if (!be || !Ztr || !ytr || !Zte || !yte || !o || !out || T < 1 || F < 1)
        return dc_fail(DC_ERR_ARG, "linear probe: NULL argument or empty shape");
    if (n_classes < 2 || n_classes > DC_MAX_CLASSES)
        return dc_fail(DC_ERR_ARG, "linear probe: %d classes; needs 2..%d", n_classes, DC_MAX_CLASSES);
    memset(out, 0, sizeof *out);
    for (int64_t i = 0; i < ntr * T; i++)
        if (ytr[i] >= n_classes) return dc_fail(DC_ERR_ARG, "linear probe: training label %d >= %d classes", ytr[i], n_classes);
    for (int64_t i = 0; i < nte * T; i++)
        if (yte[i] >= n_classes) return dc_fail(DC_ERR_ARG, "linear probe: test label %d >= %d classes", yte[i], n_classes);
    int64_t maxb = o->batch > o->test_batch ? o->batch : o->test_batch;
    source s = {.T = T, .F = F, .n = {ntr, nte}, .Z = {Ztr, Zte}, .y = {ytr, yte}};
    s.host = malloc((size_t)((maxb > 0 ? maxb : 1) * T * F) * sizeof *s.host);
    if (!s.host) return dc_fail(DC_ERR_OOM, "linear probe: out of memory");
    for (int c = 0; c < n_classes; c++) out->class_of[c] = c;
    dc_status st = run_probe(be, &s, n_classes, o, out);
    free(s.host);
    return st;
}

/* The encoder's BatchNorm running statistics and counter, saved and put back. */
typedef struct bn_snapshot {
    dc_params *copy;
    int64_t nbt;
} bn_snapshot;

static dc_status bn_save(dc_encoder *enc, bn_snapshot *s) {
    s->nbt = enc->num_batches_tracked;
    s->copy = dc_params_new(dc_tensor_backend(enc->w[0]), DC_F32, 0);
    if (!s->copy) return dc_last_status();
    for (int i = 0; i < dc_params_count(enc->buffers); i++) {
        dc_tensor *t = dc_params_get(enc->buffers, i);
        if (!dc_params_add(s->copy, t->name, t->ndim, t->shape)) return dc_last_status();
    }
    dc_status st = dc_params_alloc(s->copy);
    return st == DC_OK ? dc_params_copy(s->copy, enc->buffers) : st;
}

static dc_status bn_restore(dc_encoder *enc, bn_snapshot *s) {
    dc_status st = s->copy ? dc_params_copy(enc->buffers, s->copy) : DC_OK;
    enc->num_batches_tracked = s->nbt;
    dc_params_free(s->copy);
    s->copy = NULL;
    return st;
}

dc_status dc_linear_eval(dc_encoder *enc, const dc_dataset *ds, const dc_linear_eval_opts *o,
                         dc_linear_eval_result *out) {
    if (!enc || !ds || !o || !out) return dc_fail(DC_ERR_ARG, "linear eval: NULL argument");
    memset(out, 0, sizeof *out);
    const dc_frames *f = &ds->frames;
    int64_t labelled = 0;
    for (int64_t i = 0; f->label && i < f->n; i++) labelled += f->label[i] >= 0;
    if (!f->label || labelled == 0 || f->n_classes < 1)
        return dc_fail(DC_ERR_ARG, "linear eval: the prepared data '%s' has no labels", ds->name);
    if (enc->dims[0] != f->D)
        return dc_fail(DC_ERR_SHAPE, "linear eval: the encoder takes D = %lld but the data '%s' has D = %lld",
                       (long long)enc->dims[0], ds->name, (long long)f->D);
    if (o->exclude_class >= f->n_classes)
        return dc_fail(DC_ERR_ARG, "linear eval: excluded class %d is not among the %d classes", o->exclude_class, f->n_classes);
    int32_t map[DC_MAX_CLASSES];
    int C = 0;
    for (int c = 0; c < f->n_classes; c++) {
        map[c] = c == o->exclude_class ? -1 : C;
        if (c != o->exclude_class) out->class_of[C++] = c;
    }
    /* every probe class needs training instances; at least two classes */
    int64_t cnt[DC_MAX_CLASSES] = {0};
    for (int64_t s = 0; s < ds->n_train; s++)
        for (int64_t t = 0; t < ds->seqs.T; t++) {
            int32_t l = f->label[ds->seqs.start[s] + t];
            if (l >= 0 && l < f->n_classes && map[l] >= 0) cnt[map[l]]++;
        }
    int present = 0;
    for (int c = 0; c < C; c++) present += cnt[c] > 0;
    if (present < 2)
        return dc_fail(DC_ERR_ARG, "linear eval: the training split of '%s' holds %s; a classifier needs at least two",
                       ds->name, present ? "a single class" : "no class");
    for (int c = 0; c < C; c++)
        if (!cnt[c])
            return dc_fail(DC_ERR_ARG,
                           "linear eval: class '%s' has no instance in the training split of '%s' (empty class); "
                           "exclude it (--exclude-class %s)",
                           f->class_names[out->class_of[c]], ds->name, f->class_names[out->class_of[c]]);
    const int64_t T = ds->seqs.T, D = f->D, F = DC_ENCODER_OUT;
    const int64_t ntr = ds->n_train, nte = ds->seqs.n - ds->n_train;
    int64_t maxb = o->batch > o->test_batch ? o->batch : o->test_batch;
    source s = {.T = T, .F = F, .n = {ntr, nte}, .enc = enc, .ds = ds, .class_map = map};
    dc_status st = DC_OK;
    if (o->bn_train) { /* authors: train-mode BatchNorm per probe batch, running stats drift */
        bn_snapshot snap = {0};
        s.host = malloc((size_t)((maxb > 0 ? maxb : 1) * T * (D > F ? D : F)) * sizeof *s.host);
        if (!s.host) return dc_fail(DC_ERR_OOM, "linear eval: out of memory");
        st = bn_save(enc, &snap);
        if (st == DC_OK) st = run_probe(dc_tensor_backend(enc->w[0]), &s, C, o, out);
        dc_status st2 = bn_restore(enc, &snap);
        free(s.host);
        return st != DC_OK ? st : st2;
    }
    /* frozen in eval mode: embed both splits once, then train the probe on fixed arrays */
    float *X = malloc((size_t)((ntr > nte ? ntr : nte) * T * D) * sizeof *X + 1);
    float *Z[2] = {malloc((size_t)(ntr * T * F) * sizeof(float) + 1), malloc((size_t)(nte * T * F) * sizeof(float) + 1)};
    int32_t *Y[2] = {malloc((size_t)(ntr * T) * sizeof(int32_t) + 1), malloc((size_t)(nte * T) * sizeof(int32_t) + 1)};
    int64_t *idx = malloc((size_t)(ntr > nte ? ntr : nte) * sizeof *idx + 1);
    if (!X || !Z[0] || !Z[1] || !Y[0] || !Y[1] || !idx) st = dc_fail(DC_ERR_OOM, "linear eval: out of memory");
    for (int sp = 0; sp < 2 && st == DC_OK; sp++) {
        int64_t first = sp ? ntr : 0, n = sp ? nte : ntr;
        for (int64_t i = 0; i < n; i++) idx[i] = first + i;
        st = dc_sequences_gather(f, &ds->seqs, idx, n, X);
        if (st == DC_OK) st = dc_encoder_embed(enc, X, n, T, Z[sp], 64);
        for (int64_t i = 0; st == DC_OK && i < n; i++)
            for (int64_t t = 0; t < T; t++) {
                int32_t l = f->label[ds->seqs.start[first + i] + t];
                Y[sp][i * T + t] = l >= 0 && l < f->n_classes ? map[l] : -1;
            }
    }
    free(X);
    if (st == DC_OK) {
        int cls[DC_MAX_CLASSES];
        memcpy(cls, out->class_of, sizeof cls);
        st = dc_linear_probe(dc_tensor_backend(enc->w[0]), Z[0], Y[0], ntr, Z[1], Y[1], nte, T, F, C, o, out);
        memcpy(out->class_of, cls, sizeof cls);
    }
    free(Z[0]), free(Z[1]), free(Y[0]), free(Y[1]), free(idx);
    return st;
}
