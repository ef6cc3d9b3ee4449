/* trainer.c: the pretraining loop shared by every method (docs/METHOD.md §5): sampler, steps, the
 * validation loss and ReduceLROnPlateau, checkpoints and resume, the records of metrics.jsonl.
 * Where the run folder's files live and what they hold is the run API's (dc_run.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "train/run_state.h"

typedef struct trainer {
    dc_model *m;
    const dc_dataset *ds;
    dc_backend *be;
    dc_train_opts o;
    const char *dir;
    const dc_train_hooks *h;
    dc_adamw *opt[2];
    dc_params *groups[2];
    int n_opt;
    dc_ctx *step_ctx, *data_ctx;
    dc_tensor *X_dev;     /* (1, n, D) when the dataset lives on the device */
    dc_tensor *idx_dev;   /* (1, B*T) gather indices */
    dc_tensor *epoch_sum; /* running sum of step losses on the device */
    float *host_batch;
    int32_t *idx_host;
    int64_t *order;
    int64_t steps_per_epoch, total_steps;
    dc_run_state s;
    FILE *metrics;
    double t_start;
    double last_loss;
    int complete; /* resumed a run that had already ended */
} trainer;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double elapsed(const trainer *t) { return t->s.elapsed + now_s() - t->t_start; }

double dc_plateau_update(double lr, double val, double *best, int *has_best, int64_t *bad, int64_t patience,
                         double factor, double threshold) {
    if (!*has_best || val < *best * (1.0 - threshold)) {
        *best = val;
        *has_best = 1;
        *bad = 0;
    } else if (++*bad > patience) {
        lr *= factor;
        *bad = 0;
    }
    return lr;
}

static void progress(trainer *t, const char *event) {
    if (!t->h || !t->h->progress) return;
    dc_train_status st = {t->s.step, t->total_steps, t->s.epoch, t->o.epochs, t->last_loss, t->s.lr, elapsed(t), event};
    t->h->progress(t->h->ud, &st);
}

static void metrics_line(trainer *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void metrics_line(trainer *t, const char *fmt, ...) {
    if (!t->metrics) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(t->metrics, fmt, ap);
    va_end(ap);
    fputc('\n', t->metrics);
    fflush(t->metrics);
}

/* The batch of sequences order[b*B .. b*B+B) as a (B, T, D) tensor in the step context. */
static dc_tensor *batch_tensor(trainer *t, const int64_t *seqs) {
    const dc_dataset *ds = t->ds;
    int64_t B = t->o.batch, T = ds->seqs.T, D = ds->frames.D;
    if (!t->X_dev) {
        if (dc_sequences_gather(&ds->frames, &ds->seqs, seqs, B, t->host_batch) != DC_OK) return NULL;
        return dc_tensor_from_host(t->step_ctx, DC_F32, 3, (int64_t[]){B, T, D}, t->host_batch);
    }
    for (int64_t i = 0; i < B; i++)
        for (int64_t k = 0; k < T; k++) t->idx_host[i * T + k] = (int32_t)(ds->seqs.start[seqs[i]] + k);
    if (dc_tensor_upload(t->idx_dev, t->idx_host, (size_t)(B * T) * sizeof(int32_t)) != DC_OK) return NULL;
    dc_tensor *g = dc_gather(t->step_ctx, t->X_dev, t->idx_dev);
    return g ? dc_reshape(t->step_ctx, g, 3, (int64_t[]){B, T, D}) : NULL;
}

dc_status dc_eval_loss(dc_model *m, const dc_dataset *ds, dc_backend *be, int64_t batch, int split_test, dc_rng *rng,
                       double *sum_out, double *mean_out) {
    int64_t first = split_test ? ds->n_train : 0, last = split_test ? ds->seqs.n : ds->n_train;
    int64_t nb = (last - first) / batch, T = ds->seqs.T, D = ds->frames.D;
    if (nb < 1) return dc_fail(DC_ERR_SHAPE, "eval loss: the %s split has fewer than %lld sequences", split_test ? "test" : "train", (long long)batch);
    dc_ctx *ctx = dc_ctx_new(be);
    float *host = malloc((size_t)(batch * T * D) * sizeof *host);
    int64_t *idx = malloc((size_t)batch * sizeof *idx);
    dc_status st = (ctx && host && idx) ? DC_OK : dc_fail(DC_ERR_OOM, "eval loss: out of memory");
    double sum = 0;
    if (ctx) dc_ctx_set_grad_enabled(ctx, 0);
    for (int64_t b = 0; b < nb && st == DC_OK; b++) {
        dc_ctx_reset(ctx);
        for (int64_t i = 0; i < batch; i++) idx[i] = first + b * batch + i;
        dc_tensor *x = NULL, *L = NULL;
        if (dc_sequences_gather(&ds->frames, &ds->seqs, idx, batch, host) == DC_OK)
            x = dc_tensor_from_host(ctx, DC_F32, 3, (int64_t[]){batch, T, D}, host);
        if (x) L = dc_model_loss(m, ctx, x, 0, rng, NULL);
        if (!L) st = dc_last_status();
        else sum += dc_tensor_item(L) * (double)batch;
    }
    free(host);
    free(idx);
    dc_ctx_free(ctx);
    if (st == DC_OK) {
        *sum_out = sum;
        *mean_out = sum / (double)(nb * batch);
    }
    return st;
}

static dc_status save_checkpoint(trainer *t, int final) {
    double sum = dc_tensor_item(t->epoch_sum);
    if (!isfinite(sum))
        return dc_fail(DC_ERR_NUMERIC, "loss became %g before step %lld; not saving, the last good checkpoint is kept",
                       sum, (long long)t->s.step);
    t->s.epoch_loss_sum = sum;
    t->s.num_batches_tracked = t->m->enc->num_batches_tracked;
    t->s.elapsed = elapsed(t);
    t->s.optimizer_steps = dc_adamw_steps(t->opt[0]);
    dc_status st = dc_run_write_checkpoint(t->dir, t->m, &t->s, t->opt, t->n_opt, final);
    if (st == DC_OK) {
        char rec[DC_RUN_PATH_MAX + 128];
        dc_run_metrics_checkpoint_record(rec, sizeof rec, t->s.step, t->s.epoch);
        metrics_line(t, "%s", rec);
        progress(t, "checkpoint");
    }
    return st;
}

static dc_status validate(trainer *t) {
    double sum = 0, mean = 0;
    dc_status st = dc_eval_loss(t->m, t->ds, t->be, t->o.batch, 1, &t->s.rng, &sum, &mean);
    if (st != DC_OK) return st;
    if (!isfinite(sum)) return dc_fail(DC_ERR_NUMERIC, "validation loss is %g at epoch %lld", sum, (long long)t->s.epoch + 1);
    if (t->m->vt->validates) {
        t->s.lr = dc_plateau_update(t->s.lr, sum, &t->s.plateau_best, &t->s.plateau_has_best, &t->s.plateau_bad,
                                    t->o.patience, t->o.plateau_factor, t->o.plateau_threshold);
        for (int i = 0; i < t->n_opt; i++) dc_adamw_set_lr(t->opt[i], t->s.lr);
    }
    char extra[2048] = "";
    if (t->h && t->h->on_validate && (st = t->h->on_validate(t->h->ud, t->m, t->be, t->s.epoch + 1, extra, sizeof extra)) != DC_OK)
        return st;
    metrics_line(t, "{\"event\": \"validation\", \"step\": %lld, \"epoch\": %lld, \"val_loss\": %.9g, \"val_loss_mean\": %.9g, "
                 "\"lr\": %.9g, \"wall_s\": %.3f%s%s}",
                 (long long)t->s.step, (long long)t->s.epoch + 1, sum, mean, t->s.lr, elapsed(t), extra[0] ? ", " : "", extra);
    progress(t, "validation");
    return DC_OK;
}

/* One optimisation step on the batch of sequences seqs. */
static dc_status train_step(trainer *t, const int64_t *seqs) {
    dc_ctx_reset(t->step_ctx);
    for (int i = 0; i < t->n_opt; i++) {
        dc_status st = dc_params_zero_grad(t->groups[i]);
        if (st != DC_OK) return st;
    }
    dc_loss_terms terms = {0};
    dc_tensor *x = batch_tensor(t, seqs);
    dc_tensor *L = x ? dc_model_loss(t->m, t->step_ctx, x, 1, &t->s.rng, &terms) : NULL;
    if (!L) return dc_last_status();
    dc_status st = dc_backward(t->step_ctx, L);
    for (int i = 0; i < t->n_opt && st == DC_OK; i++) st = dc_adamw_step(t->opt[i]);
    if (st == DC_OK) st = dc_tensor_accumulate(t->epoch_sum, L);
    if (st != DC_OK) return st;
    t->s.step++;
    t->s.batch_in_epoch++;
    if (t->o.log_every > 0 && t->s.step % t->o.log_every == 0) {
        t->last_loss = dc_tensor_item(L);
        if (!isfinite(t->last_loss))
            return dc_fail(DC_ERR_NUMERIC, "loss is %g at step %lld (epoch %lld); stopping, the last good checkpoint is kept",
                           t->last_loss, (long long)t->s.step, (long long)t->s.epoch + 1);
        char buf[512] = "";
        size_t k = 0;
        for (int i = 0; i < terms.n && k < sizeof buf; i++)
            k += (size_t)snprintf(buf + k, sizeof buf - k, "%s\"%s\": %.9g", i ? ", " : "", terms.name[i],
                                  terms.value[i] ? dc_tensor_item(terms.value[i]) : NAN);
        metrics_line(t, "{\"step\": %lld, \"epoch\": %lld, \"loss\": %.9g, \"terms\": {%s}, \"lr\": %.9g, \"wall_s\": %.3f}",
                     (long long)t->s.step, (long long)t->s.epoch + 1, t->last_loss, buf, t->s.lr, elapsed(t));
        progress(t, "step");
    }
    return DC_OK;
}

static dc_status setup(trainer *t) {
    const dc_dataset *ds = t->ds;
    int64_t B = t->o.batch, T = ds->seqs.T, D = ds->frames.D;
    if (D != t->m->enc->dims[0])
        return dc_fail(DC_ERR_SHAPE, "train: the data has D = %lld but the encoder expects %lld", (long long)D,
                       (long long)t->m->enc->dims[0]);
    t->steps_per_epoch = ds->n_train / B;
    if (t->steps_per_epoch < 1)
        return dc_fail(DC_ERR_SHAPE, "train: %lld training sequences are fewer than one batch of %lld", (long long)ds->n_train,
                       (long long)B);
    t->total_steps = t->o.epochs * t->steps_per_epoch;
    if (t->o.max_steps > 0 && t->o.max_steps < t->total_steps) t->total_steps = t->o.max_steps;
    dc_adamw_opts ao = dc_adamw_opts_default();
    ao.lr = t->o.lr;
    ao.weight_decay = t->o.weight_decay;
    if (!t->m->encoder_frozen) { /* CoST (authors): the encoder is not in the optimiser */
        t->groups[t->n_opt] = t->m->enc->params;
        t->opt[t->n_opt++] = dc_adamw_new(t->m->enc->params, ao);
    }
    if (t->m->heads && t->m->cfg.train_heads) {
        t->groups[t->n_opt] = t->m->heads;
        t->opt[t->n_opt++] = dc_adamw_new(t->m->heads, ao);
    }
    if (t->n_opt == 0) return dc_fail(DC_ERR_ARG, "train: %s has nothing to train (frozen encoder, no trained heads)", t->m->cfg.model);
    for (int i = 0; i < t->n_opt; i++)
        if (!t->opt[i]) return dc_last_status();
    t->step_ctx = dc_ctx_new(t->be);
    t->data_ctx = dc_ctx_new(t->be);
    t->order = malloc((size_t)(ds->n_train + 1) * sizeof *t->order);
    if (!t->step_ctx || !t->data_ctx || !t->order) return dc_fail(DC_ERR_OOM, "train: out of memory");
    t->epoch_sum = dc_tensor_zeros(t->data_ctx, DC_F32, 0, NULL);
    if (!t->epoch_sum) return dc_last_status();
    if (t->o.device_data) {
        t->X_dev = dc_tensor_from_host(t->data_ctx, DC_F32, 3, (int64_t[]){1, ds->frames.n, D}, ds->frames.X);
        t->idx_dev = t->X_dev ? dc_tensor_new(t->data_ctx, DC_I32, 2, (int64_t[]){1, B * T}) : NULL;
        t->idx_host = malloc((size_t)(B * T) * sizeof *t->idx_host);
        if (!t->idx_dev || !t->idx_host) return dc_last_status() ? dc_last_status() : dc_fail(DC_ERR_OOM, "train: out of memory");
    } else {
        t->host_batch = malloc((size_t)(B * T * D) * sizeof *t->host_batch);
        if (!t->host_batch) return dc_fail(DC_ERR_OOM, "train: out of host memory");
    }
    return DC_OK;
}

/* Continue the run in t->dir: from its latest checkpoint, or from the beginning when it was
 * stopped before the first one (the folder then holds only its config). *resumed: a
 * checkpoint was loaded; t->complete: the run had already ended, nothing is left to do. */
static dc_status resume(trainer *t, const char *config_json, int *resumed) {
    dc_status st = dc_run_check_config(t->dir, config_json);
    dc_run_status rs;
    if (st == DC_OK) st = dc_run_status_read(t->dir, &rs);
    if (st != DC_OK || rs.stage < DC_RUN_RESUMABLE) return st;
    if ((st = dc_run_read_checkpoint(t->dir, t->m, &t->s, t->opt, t->n_opt)) != DC_OK) return st;
    t->m->enc->num_batches_tracked = t->s.num_batches_tracked;
    if ((st = dc_tensor_fill(t->epoch_sum, t->s.epoch_loss_sum)) != DC_OK) return st;
    *resumed = 1;
    int final = t->s.epoch >= t->o.epochs || t->s.step >= t->total_steps; /* the checkpoint of the run's end */
    t->complete = final && rs.stage == DC_RUN_COMPLETE;
    return t->complete ? DC_OK : dc_run_trim_metrics(t->dir, t->s.step, t->s.epoch, final);
}

static dc_status run(trainer *t, dc_run_mode mode, const char *config_json) {
    dc_status st = setup(t);
    if (st != DC_OK) return st;
    t->s.rng = dc_rng_init(t->m->cfg.seed ^ 0x5eed5eedULL); /* the run's one generator (docs/METHOD.md §9 item 23) */
    t->s.lr = t->o.lr;
    int resumed = 0;
    if (mode == DC_RUN_RESUME) {
        if ((st = resume(t, config_json, &resumed)) != DC_OK) return st;
        if (t->complete) {
            progress(t, "done");
            return DC_OK;
        }
    } else if ((st = dc_run_write_config(t->dir, config_json ? config_json : "{}\n")) != DC_OK) {
        return st;
    }
    if (!(t->metrics = dc_run_metrics_open(t->dir, resumed))) return dc_last_status();
    int64_t save_every = t->o.save_every > 0 ? t->o.save_every : 50 * t->steps_per_epoch;
    for (; t->s.epoch < t->o.epochs && t->s.step < t->total_steps; t->s.epoch++) {
        int64_t nb;
        if (resumed) { /* redraw this epoch's order from where it was drawn */
            dc_rng r = {t->s.rng.seed, t->s.rng_counter_epoch};
            if ((st = dc_sampler_epoch(t->o.sampler, t->ds->n_train, t->o.batch, &r, t->order, &nb)) != DC_OK) return st;
            resumed = 0;
        } else {
            t->s.rng_counter_epoch = t->s.rng.counter;
            t->s.batch_in_epoch = 0;
            t->s.epoch_loss_sum = 0;
            if ((st = dc_tensor_fill(t->epoch_sum, 0.0)) != DC_OK) return st;
            if ((st = dc_sampler_epoch(t->o.sampler, t->ds->n_train, t->o.batch, &t->s.rng, t->order, &nb)) != DC_OK)
                return st;
        }
        while (t->s.batch_in_epoch < nb && t->s.step < t->total_steps) {
            if (t->h && t->h->should_stop && t->h->should_stop(t->h->ud, t->s.step)) return DC_OK; /* simulated kill */
            if ((st = train_step(t, t->order + t->s.batch_in_epoch * t->o.batch)) != DC_OK) return st;
            if (t->s.step % save_every == 0 && t->s.step < t->total_steps && (st = save_checkpoint(t, 0)) != DC_OK) return st;
        }
        if (t->s.batch_in_epoch < nb) break; /* max_steps reached mid-epoch */
        double sum = dc_tensor_item(t->epoch_sum);
        if (!isfinite(sum))
            return dc_fail(DC_ERR_NUMERIC, "epoch %lld: loss became %g; stopping, the last good checkpoint is kept",
                           (long long)t->s.epoch + 1, sum);
        metrics_line(t, "{\"event\": \"epoch\", \"step\": %lld, \"epoch\": %lld, \"mean_loss\": %.9g, \"lr\": %.9g, \"wall_s\": %.3f}",
                     (long long)t->s.step, (long long)t->s.epoch + 1, sum / (double)nb, t->s.lr, elapsed(t));
        t->last_loss = sum / (double)nb;
        progress(t, "epoch");
        if (t->o.valid_interval > 0 && (t->s.epoch + 1) % t->o.valid_interval == 0 && (st = validate(t)) != DC_OK) return st;
    }
    st = save_checkpoint(t, 1);
    if (st == DC_OK) progress(t, "done");
    return st;
}

dc_status dc_train_run(dc_model *m, const dc_dataset *ds, dc_backend *be, const dc_train_opts *o, const char *run_dir,
                       dc_run_mode mode, const char *config_json, const dc_train_hooks *hooks) {
    if (!m || !ds || !be || !o || !run_dir) return dc_fail(DC_ERR_ARG, "train: NULL argument");
    dc_status st = dc_train_opts_check(o);
    if (st == DC_OK) st = dc_run_dir_prepare(run_dir, mode);
    if (st != DC_OK) return st;
    trainer t;
    memset(&t, 0, sizeof t);
    t.m = m;
    t.ds = ds;
    t.be = be;
    t.o = *o;
    t.dir = run_dir;
    t.h = hooks;
    t.t_start = now_s();
    t.last_loss = NAN;
    st = run(&t, mode, config_json);
    if (t.metrics) fclose(t.metrics);
    for (int i = 0; i < t.n_opt; i++) dc_adamw_free(t.opt[i]);
    dc_ctx_free(t.step_ctx);
    dc_ctx_free(t.data_ctx);
    free(t.host_batch);
    free(t.idx_host);
    free(t.order);
    return st;
}
