/* conf_whole.c: the whole-run checks of the conformance suite, written once for every
 * backend. Each compares the backend under test with the reference backend of whole runs
 * (conf_whole_reference: cpu, or cpu-ref when cpu is under test), from the same weights and
 * the same batches of the embedded synthetic dataset (D = 156, HARTH-style):
 *   train.dynacl          200 DynaCL steps (30 with --quick): loss trajectory and final weights
 *   step.<method>.<prot>  one step of each method under both protocols: loss and gradients
 *   embed.<method>        eval-mode embeddings
 *   graph.replay          a captured training step replayed against eager steps (backends
 *                         that capture)
 *   determinism           two runs bit-identical (backends that claim it)
 *   error.oom, error.bad_argument   a clear error, a status and no crash
 * Thresholds: conf_run_tolerances (conf_checks.c). Not here: the op checks (conf_ops.c).
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"
#include "data/dc_frames.h"
#include "dynacl/dc_dynacl.h"
#include "tool_common.h"
#include "train/dc_model.h"

const char *conf_whole_reference(const char *kind) { return strcmp(kind, "cpu") ? "cpu" : "cpu-ref"; }

/* ---------------------------------------------------------------- data */

typedef struct batches {
    dc_frames fr;
    dc_sequences seq;
    int64_t *perm, B, T;
} batches;

static dc_status batches_open(batches *b, int64_t B, int64_t T) {
    memset(b, 0, sizeof *b);
    dc_status st = dc_synthetic_generate(NULL, &b->fr);
    if (st == DC_OK) st = dc_sequences_window(&b->fr, T, 24, &b->seq);
    if (st == DC_OK && b->seq.n < B) st = dc_fail(DC_ERR_STATE, "conformance: the synthetic set has too few sequences");
    if (st == DC_OK && !(b->perm = malloc((size_t)b->seq.n * sizeof *b->perm)))
        st = dc_fail(DC_ERR_OOM, "conformance: out of host memory");
    b->B = B;
    b->T = T;
    return st;
}

/* Batch i of a fixed shuffled order (reshuffled every pass over the sequences). */
static dc_status batches_get(batches *b, int64_t i, float *host) {
    int64_t per = b->seq.n / b->B, epoch = i / per, k = i % per;
    dc_rng r = dc_rng_init(1000 + (uint64_t)epoch);
    dc_rng_permutation(&r, b->seq.n, b->perm);
    return dc_sequences_gather(&b->fr, &b->seq, b->perm + k * b->B, b->B, host);
}

static void batches_close(batches *b) {
    free(b->perm);
    dc_sequences_free(&b->seq);
    dc_frames_free(&b->fr);
}

/* ---------------------------------------------------------------- a DynaCL trainer */

typedef struct trainer {
    dc_backend *be;
    dc_encoder *enc;
    dc_adamw *opt;
    dc_ctx *ctx, *data;
    dc_tensor *x, *loss;
    dc_mpxent_opts mo;
} trainer;

static void trainer_close(trainer *t) {
    dc_ctx_free(t->ctx);
    dc_ctx_free(t->data);
    dc_adamw_free(t->opt);
    dc_encoder_free(t->enc);
    memset(t, 0, sizeof *t);
}

/* An encoder on be initialised from seed 42, or with init's weights; poisoned contexts. */
static dc_status trainer_open(trainer *t, dc_backend *be, const batches *b, const dc_encoder *init) {
    memset(t, 0, sizeof *t);
    t->be = be;
    t->mo = dc_mpxent_opts_default();
    dc_rng r = dc_rng_init(42);
    t->enc = dc_encoder_new(be, b->fr.D);
    dc_status st = t->enc ? dc_encoder_init(t->enc, &r) : dc_last_status();
    if (st == DC_OK && init) st = dc_params_copy(t->enc->params, init->params);
    if (st == DC_OK && init) st = dc_params_copy(t->enc->buffers, init->buffers);
    if (st == DC_OK && !(t->opt = dc_adamw_new(t->enc->params, dc_adamw_opts_default()))) st = dc_last_status();
    if (st == DC_OK && (!(t->ctx = dc_ctx_new(be)) || !(t->data = dc_ctx_new(be)))) st = dc_last_status();
    if (st == DC_OK) {
        dc_ctx_set_poison(t->ctx, 1);
        dc_ctx_set_poison(t->data, 1);
        t->x = dc_tensor_new(t->data, DC_F32, 3, (int64_t[]){b->B, b->T, b->fr.D});
        if (!t->x) st = dc_last_status();
    }
    if (st != DC_OK) trainer_close(t);
    return st;
}

/* One step: zero grads, loss, backward, AdamW; keeps the loss tensor (a graph step). */
static dc_status trainer_step(void *user) {
    trainer *t = user;
    dc_ctx_reset(t->ctx);
    dc_status st = dc_params_zero_grad(t->enc->params);
    if (st != DC_OK) return st;
    t->loss = dc_dynacl_loss(t->enc, t->ctx, t->x, &t->mo);
    if (!t->loss) return dc_last_status();
    if ((st = dc_backward(t->ctx, t->loss)) != DC_OK) return st;
    return dc_adamw_step(t->opt);
}

/* The flat parameters of a group as doubles. */
static double *params_host(const dc_params *ps, int grad) {
    dc_tensor *t = grad ? dc_params_flat_grad(ps) : dc_params_flat(ps);
    return t ? conf_download(t) : NULL;
}

/* ---------------------------------------------------------------- the checks */

typedef struct whole {
    conf_report *r;
    int be_i;
    const conf_opts *o;
    dc_backend *test, *ref;
    batches data;
    float *host;                     /* one batch */
} whole;

#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
static void result(whole *w, const char *row, conf_verdict v, double err, const char *fmt, ...);
static void result(whole *w, const char *row, conf_verdict v, double err, const char *fmt, ...) {
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    conf_cell_add(conf_run_cell(w->r, row, w->be_i), v, err, reason);
    conf_report_line(w->r, row, w->r->be[w->be_i], "run", v, err, NAN, reason);
    fprintf(w->o->log, "  %-28s %s  %s\n", row, v == CONF_PASS ? "PASS" : v == CONF_SKIP ? "SKIP" : "FAIL", reason);
}

/* A library failure inside a check: FAIL with the message. */
static void failed(whole *w, const char *row, const char *what) {
    result(w, row, CONF_FAIL, NAN, "%s: %s", what, dc_last_error()[0] ? dc_last_error() : "failed");
}

/* a on ba from seed 42, b on bb with a's weights; 0 (a FAIL recorded) when either fails */
static int trainer_pair(whole *w, const char *row, dc_backend *ba, dc_backend *bb, trainer *a, trainer *b) {
    if (trainer_open(a, ba, &w->data, NULL) != DC_OK) {
        failed(w, row, "encoder");
        return 0;
    }
    if (trainer_open(b, bb, &w->data, a->enc) != DC_OK) {
        failed(w, row, "encoder");
        trainer_close(a);
        return 0;
    }
    return 1;
}

/* batch s of the fixed order into t's input */
static dc_status trainer_feed(whole *w, trainer *t, int64_t s) {
    dc_status st = batches_get(&w->data, s, w->host);
    return st == DC_OK ? dc_tensor_upload(t->x, w->host, (size_t)(w->data.B * w->data.T * w->data.fr.D) * sizeof *w->host)
                       : st;
}

static void check_train(whole *w) {
    const char *row = "train.dynacl";
    const conf_run_tols *tl = &conf_run_tolerances;
    const int64_t steps = w->o->train_steps > 0 ? w->o->train_steps : w->o->quick ? 30 : 200;
    trainer a, b;
    if (!trainer_pair(w, row, w->ref, w->test, &a, &b)) return;
    double *la = malloc((size_t)steps * sizeof *la), *lb = malloc((size_t)steps * sizeof *lb);
    double worst = 0, tail_a = 0, tail_b = 0;
    int64_t worst_at = 0, tail = steps < 50 ? steps : 50;
    const char *bad = NULL;
    char why[256] = "";
    for (int64_t s = 0; la && lb && s < steps && !bad; s++) {
        if (trainer_feed(w, &a, s) != DC_OK || trainer_feed(w, &b, s) != DC_OK) {
            bad = "data";
            break;
        }
        if (trainer_step(&a) != DC_OK) {
            snprintf(why, sizeof why, "reference step %lld: %s", (long long)s, dc_last_error());
            bad = why;
            break;
        }
        if (trainer_step(&b) != DC_OK) {
            snprintf(why, sizeof why, "step %lld: %s", (long long)s, dc_last_error());
            bad = why;
            break;
        }
        la[s] = dc_tensor_item(a.loss);
        lb[s] = dc_tensor_item(b.loss);
        double rel = fabs(lb[s] - la[s]) / fabs(la[s]);
        double env = fmin(tl->traj_cap, tl->traj_start * pow(2.0, (double)s / tl->traj_doubling_steps));
        if (!(rel <= env)) {
            snprintf(why, sizeof why, "step %lld: loss %.7f, reference %.7f: rel diff %.3g > %.2g", (long long)s, lb[s],
                     la[s], rel, env);
            bad = why;
            worst = isnan(rel) ? INFINITY : rel;
        }
        if (rel > worst) worst = rel, worst_at = s;
        if (s >= steps - tail) tail_a += la[s] / (double)tail, tail_b += lb[s] / (double)tail;
    }
    double we = NAN;
    if (!bad && la && lb) {
        double *pa = params_host(a.enc->params, 0), *pb = params_host(b.enc->params, 0);
        int64_t mism = 0;
        we = pa && pb ? conf_rel_err(pb, pa, dc_params_numel(a.enc->params), &mism) : NAN;
        if (!pa || !pb)
            snprintf(why, sizeof why, "reading the weights back: %s", dc_last_error());
        else if (mism || !(we <= tl->final_weights))
            snprintf(why, sizeof why, "final weights: rel err %.3g > %.2g", we, tl->final_weights);
        else if (fabs(tail_b - tail_a) > tl->traj_tail * fabs(tail_a))
            snprintf(why, sizeof why, "mean loss of the last %lld steps %.6f, reference %.6f", (long long)tail, tail_b,
                     tail_a);
        else if (!(lb[steps - 1] < lb[0]))
            snprintf(why, sizeof why, "the loss did not fall (%.6f -> %.6f)", lb[0], lb[steps - 1]);
        if (why[0]) bad = why;
        free(pa);
        free(pb);
    }
    if (!la || !lb) result(w, row, CONF_FAIL, NAN, "out of host memory");
    else if (bad) result(w, row, CONF_FAIL, worst, "%lld steps against %s: %s", (long long)steps, dc_backend_kind(w->ref), bad);
    else
        result(w, row, CONF_PASS, worst,
               "%lld steps against %s: loss %.5f -> %.5f (reference %.5f -> %.5f), worst rel diff %.2g at step %lld, "
               "final weights rel err %.2g",
               (long long)steps, dc_backend_kind(w->ref), lb[0], lb[steps - 1], la[0], la[steps - 1], worst,
               (long long)worst_at, we);
    free(la);
    free(lb);
    trainer_close(&a);
    trainer_close(&b);
}

/* ---- one step of a method */

typedef struct method_run {
    dc_model *m;
    dc_ctx *ctx, *data;
    dc_tensor *x;
    double loss;
} method_run;

static void method_close(method_run *mr) {
    dc_ctx_free(mr->ctx);
    dc_ctx_free(mr->data);
    dc_model_free(mr->m);
    memset(mr, 0, sizeof *mr);
}

static dc_status copy_group(dc_params *dst, const dc_params *src) { return dst && src ? dc_params_copy(dst, src) : DC_OK; }

/* The method on be, with init's weights (every group) when given, the batch in host. */
static dc_status method_open(method_run *mr, const dc_model_config *cfg, dc_backend *be, const batches *b,
                             const float *host, const dc_model *init) {
    memset(mr, 0, sizeof *mr);
    mr->m = dc_model_new(cfg, be, b->fr.D);
    dc_status st = mr->m ? DC_OK : dc_last_status();
    if (st == DC_OK && init) st = copy_group(mr->m->enc->params, init->enc->params);
    if (st == DC_OK && init) st = copy_group(mr->m->enc->buffers, init->enc->buffers);
    if (st == DC_OK && init) st = copy_group(mr->m->heads, init->heads);
    if (st == DC_OK && init) st = copy_group(mr->m->head_buffers, init->head_buffers);
    if (st == DC_OK && (!(mr->ctx = dc_ctx_new(be)) || !(mr->data = dc_ctx_new(be)))) st = dc_last_status();
    if (st == DC_OK) {
        dc_ctx_set_poison(mr->ctx, 1);
        mr->x = dc_tensor_from_host(mr->data, DC_F32, 3, (int64_t[]){b->B, b->T, b->fr.D}, host);
        if (!mr->x) st = dc_last_status();
    }
    return st;
}

/* zero grads, loss in training mode from a fixed RNG seed, backward */
static dc_status method_step(method_run *mr) {
    dc_status st = dc_params_zero_grad(mr->m->enc->params);
    if (st == DC_OK && mr->m->heads) st = dc_params_zero_grad(mr->m->heads);
    if (st != DC_OK) return st;
    dc_rng rng = dc_rng_init(7);
    dc_tensor *L = dc_model_loss(mr->m, mr->ctx, mr->x, 1, &rng, NULL);
    if (!L) return dc_last_status();
    if ((st = dc_backward(mr->ctx, L)) != DC_OK) return st;
    mr->loss = dc_tensor_item(L);
    return isfinite(mr->loss) ? DC_OK : dc_fail(DC_ERR_NUMERIC, "loss is %g", mr->loss);
}

/* relative L2 error of the gradients of one group (0 when the group is absent) */
static double grad_err(const dc_params *test, const dc_params *ref) {
    if (!test || !ref || !dc_params_flat_grad(ref)) return 0;
    double *a = params_host(test, 1), *b = params_host(ref, 1);
    int64_t mism = 0;
    double e = a && b ? conf_rel_err(a, b, dc_params_numel(ref), &mism) : INFINITY;
    free(a);
    free(b);
    return mism ? INFINITY : e;
}

static void check_method(whole *w, const char *model, const char *protocol) {
    char row[CONF_NAME];
    snprintf(row, sizeof row, "step.%s.%s", model, protocol);
    if (!conf_selected(w->o, row, "runs")) return;
    const conf_run_tols *tl = &conf_run_tolerances;
    dc_model_config cfg = dc_model_config_defaults(model, "synthetic", protocol);
    method_run a = {0}, b = {0};
    /* b copies a's weights and buffers (queues, running statistics) before either steps */
    if (method_open(&a, &cfg, w->ref, &w->data, w->host, NULL) != DC_OK) {
        failed(w, row, "reference");
    } else if (method_open(&b, &cfg, w->test, &w->data, w->host, a.m) != DC_OK) {
        failed(w, row, "model");
    } else if (method_step(&a) != DC_OK) {
        failed(w, row, "reference step");
    } else if (method_step(&b) != DC_OK) {
        failed(w, row, "step");
    } else {
        double el = fabs(b.loss - a.loss) / fmax(fabs(a.loss), 1e-30);
        double ge = fmax(grad_err(b.m->enc->params, a.m->enc->params), grad_err(b.m->heads, a.m->heads));
        int ok = el <= tl->step_loss && ge <= tl->step_grad;
        result(w, row, ok ? CONF_PASS : CONF_FAIL, fmax(el, ge),
               "loss %.7g (reference %.7g, rel diff %.2g%s), gradients rel err %.2g%s", b.loss, a.loss, el,
               el <= tl->step_loss ? "" : " too large", ge, ge <= tl->step_grad ? "" : " too large");
    }
    method_close(&a);
    method_close(&b);
}

/* ---- eval-mode embeddings: the reference's weights and running statistics (after two
 * training-mode forwards) in both, the same sequences embedded */
static void check_embed(whole *w, const char *model) {
    char row[CONF_NAME];
    snprintf(row, sizeof row, "embed.%s", model);
    if (!conf_selected(w->o, row, "runs")) return;
    dc_model_config cfg = dc_model_config_defaults(model, "synthetic", "authors");
    method_run a = {0}, b = {0};
    const int64_t n = w->data.B, T = w->data.T, nz = n * T * DC_ENCODER_OUT;
    float *za = malloc((size_t)nz * sizeof *za), *zb = malloc((size_t)nz * sizeof *zb);
    double *da = malloc((size_t)nz * sizeof *da), *db = malloc((size_t)nz * sizeof *db);
    dc_status st = za && zb && da && db ? method_open(&a, &cfg, w->ref, &w->data, w->host, NULL)
                                        : dc_fail(DC_ERR_OOM, "out of host memory");
    for (int k = 0; st == DC_OK && k < 2; k++) { /* move the running statistics */
        dc_ctx_reset(a.ctx);
        if (!dc_encoder_forward(a.m->enc, a.ctx, a.x, 1)) st = dc_last_status();
    }
    dc_rng ra = dc_rng_init(11), rb = dc_rng_init(11);
    if (st != DC_OK) {
        failed(w, row, "reference");
    } else if (method_open(&b, &cfg, w->test, &w->data, w->host, a.m) != DC_OK) {
        failed(w, row, "model");
    } else if (dc_model_embed(a.m, w->host, n, T, za, &ra) != DC_OK) {
        failed(w, row, "reference embedding");
    } else if (dc_model_embed(b.m, w->host, n, T, zb, &rb) != DC_OK) {
        failed(w, row, "embedding");
    } else {
        for (int64_t k = 0; k < nz; k++) da[k] = za[k], db[k] = zb[k];
        int64_t mism = 0;
        double e = conf_rel_err(db, da, nz, &mism);
        result(w, row, !mism && e <= conf_run_tolerances.embed ? CONF_PASS : CONF_FAIL, e,
               "%lld x %lld x %lld -> 32 in eval mode: rel err %.2g%s", (long long)n, (long long)T,
               (long long)w->data.fr.D, e, mism ? ", NaN/Inf mismatches" : "");
    }
    free(za), free(zb), free(da), free(db);
    method_close(&a);
    method_close(&b);
}

/* ---- a captured step replayed against eager steps on the same backend */
static void check_graph(whole *w) {
    const char *row = "graph.replay";
    if (!conf_selected(w->o, row, "runs")) return;
    if (!dc_backend_can_capture(w->test)) {
        result(w, row, CONF_SKIP, NAN, "%s cannot capture graphs (no capture entries in its vtable)", dc_backend_kind(w->test));
        return;
    }
    const int64_t steps = w->o->quick ? 10 : 40;
    trainer e, g;
    if (!trainer_pair(w, row, w->test, w->test, &e, &g)) return;
    double *le = malloc((size_t)steps * sizeof *le), *lg = malloc((size_t)steps * sizeof *lg), worst = 0;
    dc_status st = le && lg ? DC_OK : dc_fail(DC_ERR_OOM, "out of host memory");
    for (int64_t s = 0; st == DC_OK && s < steps; s++) {
        st = trainer_feed(w, &e, s);
        if (st == DC_OK) st = trainer_step(&e);
        if (st == DC_OK) le[s] = dc_tensor_item(e.loss);
    }
    dc_graph *gr = NULL;
    if (st == DC_OK) st = trainer_feed(w, &g, 0);
    if (st == DC_OK && !(gr = dc_graph_capture_step(w->test, trainer_step, &g))) st = dc_last_status();
    if (st == DC_OK) lg[0] = dc_tensor_item(g.loss); /* the eager warm-up step */
    for (int64_t s = 1; st == DC_OK && s < steps; s++) {
        st = trainer_feed(w, &g, s);
        if (st == DC_OK) st = dc_graph_launch(gr);
        if (st == DC_OK) lg[s] = dc_tensor_item(g.loss);
    }
    if (st != DC_OK) {
        failed(w, row, "capture and replay");
    } else {
        int64_t at = 0;
        for (int64_t s = 0; s < steps; s++) {
            double rel = fabs(lg[s] - le[s]) / fabs(le[s]);
            if (!(rel <= worst)) worst = rel, at = s;
        }
        result(w, row, worst <= conf_run_tolerances.graph ? CONF_PASS : CONF_FAIL, worst,
               "%lld steps, one eager then replays: worst rel diff to eager %.2g at step %lld", (long long)steps, worst,
               (long long)at);
    }
    dc_graph_free(gr);
    free(le);
    free(lg);
    trainer_close(&e);
    trainer_close(&g);
}

/* ---- determinism: the same work twice, compared bit for bit */

/* 5 DynaCL steps from the same weights; losses and final weights appended to out */
static dc_status dynacl_twice_run(whole *w, const dc_encoder *init, double *losses, double **weights) {
    trainer t;
    dc_status st = trainer_open(&t, w->test, &w->data, init);
    for (int s = 0; st == DC_OK && s < 5; s++) {
        st = trainer_feed(w, &t, s);
        if (st == DC_OK) st = trainer_step(&t);
        if (st == DC_OK) losses[s] = dc_tensor_item(t.loss);
    }
    if (st == DC_OK && !(*weights = params_host(t.enc->params, 0))) st = dc_last_status();
    trainer_close(&t);
    return st;
}

static void check_determinism(whole *w) {
    const char *row = "determinism";
    if (!conf_selected(w->o, row, "runs")) return;
    if (!dc_backend_is_deterministic(w->test)) {
        result(w, row, CONF_SKIP, NAN, "%s makes no claim (vtable .deterministic = 0)", dc_backend_kind(w->test));
        return;
    }
    /* training steps, and the ops whose kernels are most tempted by atomics or by
     * run-to-run algorithm choices: long reductions, scatter-adds, MP-Xent, GEMM */
    static const char *const k_cases[] = {"sum_all_100003", "matmul_tn_252x2016x129", "mpxent_2400x32_single",
                                          "maxpool_k2_8x300x64", "gather_batch_8x300x32", "batchnorm_train_952x128",
                                          "mpxent_large", "gather_batch", "matmul_large"};
    trainer init;
    if (trainer_open(&init, w->test, &w->data, NULL) != DC_OK) {
        failed(w, row, "encoder");
        return;
    }
    double l1[5], l2[5], *w1 = NULL, *w2 = NULL;
    dc_status st = dynacl_twice_run(w, init.enc, l1, &w1);
    if (st == DC_OK) st = dynacl_twice_run(w, init.enc, l2, &w2);
    const int64_t np = dc_params_numel(init.enc->params);
    trainer_close(&init);
    if (st != DC_OK) {
        free(w1), free(w2);
        failed(w, row, "training steps");
        return;
    }
    char diff[640] = "";
    if (memcmp(l1, l2, sizeof l1) || memcmp(w1, w2, (size_t)np * sizeof *w1))
        snprintf(diff, sizeof diff, "5 DynaCL steps: losses or weights differ between two runs");
    free(w1), free(w2);
    int n_cases = 0;
    for (size_t i = 0; !diff[0] && i < sizeof k_cases / sizeof k_cases[0]; i++) {
        const conf_case *c = conf_find_case(k_cases[i]);
        if (!c || (w->o->quick && c->size == CONF_TRAIN)) continue;
        conf_side_result a, b;
        conf_run_case(c, w->test, DC_F32, &a);
        conf_run_case(c, w->test, DC_F32, &b);
        int same = a.st == b.st && a.ny == b.ny && (!a.y || !memcmp(a.y, b.y, (size_t)a.ny * sizeof *a.y));
        for (int k = 0; same && k < CONF_MAX_IN; k++)
            same = a.ng[k] == b.ng[k] && (!a.g[k] || !memcmp(a.g[k], b.g[k], (size_t)a.ng[k] * sizeof *a.g[k]));
        if (!same) snprintf(diff, sizeof diff, "%s: results differ between two runs", c->name);
        if (a.st != DC_OK && a.st != DC_ERR_UNSUPPORTED && !diff[0])
            snprintf(diff, sizeof diff, "%s: %s", c->name, a.err);
        n_cases += a.st == DC_OK;
        conf_side_free(&a);
        conf_side_free(&b);
    }
    if (diff[0]) result(w, row, CONF_FAIL, NAN, "%s", diff);
    else result(w, row, CONF_PASS, 0.0, "5 DynaCL steps and %d op cases bit-identical in two runs", n_cases);
}

/* ---- error paths */

static void check_oom(whole *w) {
    const char *row = "error.oom";
    if (!conf_selected(w->o, row, "runs")) return;
    dc_ctx *ctx = dc_ctx_new(w->test);
    if (!ctx) {
        failed(w, row, "context");
        return;
    }
    dc_clear_error();
    dc_tensor *huge = dc_tensor_new(ctx, DC_F32, 1, (int64_t[]){(int64_t)1 << 42}); /* 16 TiB */
    char msg[512];
    snprintf(msg, sizeof msg, "%s", dc_last_error());
    dc_status st = dc_last_status();
    /* the backend still works afterwards */
    dc_tensor *t = dc_tensor_full(ctx, DC_F32, 1, (int64_t[]){1000}, 2.5);
    double sum = t ? dc_tensor_item(dc_sum_all(ctx, t)) : NAN;
    if (huge) result(w, row, CONF_FAIL, NAN, "a 16 TiB tensor was allocated");
    else if (st != DC_ERR_OOM) result(w, row, CONF_FAIL, NAN, "status '%s', not 'out of memory': %s", dc_status_name(st), msg);
    else if (!strstr(msg, dc_backend_name(w->test))) result(w, row, CONF_FAIL, NAN, "the message does not name %s: %s", dc_backend_name(w->test), msg);
    else if (sum != 2500.0) result(w, row, CONF_FAIL, NAN, "the backend is broken after the failure (sum %g, not 2500): %s", sum, dc_last_error());
    else result(w, row, CONF_PASS, NAN, "%s", msg);
    dc_ctx_free(ctx);
}

static void check_bad_arguments(whole *w) {
    const char *row = "error.bad_argument";
    if (!conf_selected(w->o, row, "runs")) return;
    dc_ctx *ctx = dc_ctx_new(w->test);
    if (!ctx) {
        failed(w, row, "context");
        return;
    }
    dc_ctx_set_poison(ctx, 1);
    dc_tensor *a = dc_tensor_full(ctx, DC_F32, 2, (int64_t[]){3, 4}, 1.0), *b = dc_tensor_full(ctx, DC_F32, 2, (int64_t[]){5, 6}, 1.0);
    dc_tensor *z = dc_tensor_full(ctx, DC_F32, 2, (int64_t[]){12, 4}, 0.5), *f = dc_tensor_full(ctx, DC_F32, 2, (int64_t[]){2, 3}, 0.0);
    dc_tensor *x3 = dc_tensor_full(ctx, DC_F32, 3, (int64_t[]){2, 4, 3}, 1.0);
    if (!a || !b || !z || !f || !x3) {
        dc_ctx_free(ctx);
        failed(w, row, "inputs");
        return;
    }
    float host[5] = {0};
    struct {
        const char *what;
        int ok;
    } k[12];
    int n = 0;
#define EXPECT(what_, call_, st_)                                                                                \
    do {                                                                                                         \
        dc_clear_error();                                                                                        \
        int null_ = (call_) == NULL;                                                                             \
        k[n].what = what_;                                                                                       \
        k[n++].ok = null_ && dc_last_status() == (st_) && dc_last_error()[0];                                    \
    } while (0)
    EXPECT("matmul (3, 4) x (5, 6)", dc_matmul(ctx, a, b, 0, 0), DC_ERR_SHAPE);
    EXPECT("add (3, 4) + (5, 6)", dc_add(ctx, a, b), DC_ERR_SHAPE);
    EXPECT("mpxent seq_len 5 on 12 rows", dc_mpxent(ctx, z, &(dc_mpxent_opts){0.5, 5, 0}), DC_ERR_SHAPE);
    EXPECT("maxpool kernel 9 on T = 4", dc_maxpool1d(ctx, x3, 9, 1), DC_ERR_ARG);
    EXPECT("gather with float indices", dc_gather(ctx, x3, f), DC_ERR_DTYPE);
    EXPECT("irfft to 7 from 3 bins", dc_irfft(ctx, dc_reshape(ctx, f, 3, (int64_t[]){1, 3, 2}), 7), DC_ERR_SHAPE);
    EXPECT("relu of NULL keeps the first error", (dc_fail(DC_ERR_ARG, "first"), dc_relu(ctx, NULL)), DC_ERR_ARG);
    char spec[48];
    snprintf(spec, sizeof spec, "%s:999", dc_backend_kind(w->test));
    EXPECT("opening device 999", dc_backend_new(spec), DC_ERR_BACKEND);
#undef EXPECT
    dc_clear_error();
    int up = dc_tensor_upload(a, host, sizeof host) == DC_ERR_SHAPE; /* 20 bytes for a 48-byte tensor */
    double s = dc_tensor_item(dc_sum_all(ctx, a)); /* still works */
    char bad[256] = "";
    for (int i = 0; i < n; i++)
        if (!k[i].ok) snprintf(bad + strlen(bad), sizeof bad - strlen(bad), "%s%s", bad[0] ? "; " : "", k[i].what);
    if (!up) snprintf(bad + strlen(bad), sizeof bad - strlen(bad), "%supload of the wrong size", bad[0] ? "; " : "");
    if (s != 12.0) snprintf(bad + strlen(bad), sizeof bad - strlen(bad), "%sbroken afterwards", bad[0] ? "; " : "");
    if (bad[0]) result(w, row, CONF_FAIL, NAN, "no or a wrong status for: %s", bad);
    else result(w, row, CONF_PASS, NAN, "%d bad calls each returned a status and a message", n + 1);
    dc_ctx_free(ctx);
}

int conf_whole_names(char names[][CONF_NAME]) {
    int n = 0;
    snprintf(names[n++], CONF_NAME, "train.dynacl");
    for (const char *const *m = dc_model_names(); *m && n + 2 < CONF_MAX_RUNS - 8; m++) {
        snprintf(names[n++], CONF_NAME, "step.%s.authors", *m);
        snprintf(names[n++], CONF_NAME, "step.%s.corrected", *m);
    }
    static const char *const rest[] = {"embed.dynacl", "embed.ts2vec", "graph.replay", "determinism", "error.oom",
                                       "error.bad_argument"};
    for (size_t i = 0; i < sizeof rest / sizeof rest[0]; i++) snprintf(names[n++], CONF_NAME, "%s", rest[i]);
    return n;
}

int conf_whole_wanted(const conf_opts *o) {
    char names[CONF_MAX_RUNS][CONF_NAME];
    int n = conf_whole_names(names);
    for (int i = 0; i < n; i++)
        if (conf_selected(o, names[i], "runs")) return 1;
    return 0;
}

int conf_run_whole(conf_report *r, int be_i, const conf_opts *o) {
    whole w = {r, be_i, o, NULL, NULL};
    const char *kind = r->be[be_i], *refk = conf_whole_reference(kind);
    double t0 = dc_now();
    w.test = conf_open_test_backend(o, kind);
    w.ref = w.test ? dc_backend_new(refk) : NULL;
    if (w.ref) dc_backend_set_no_fused(w.ref, 0); /* the reference as shipped, whatever DC_NO_FUSED says */
    if (!w.test || !w.ref) {
        conf_cell_add(conf_run_cell(r, "open", be_i), CONF_FAIL, NAN, dc_last_error());
        dc_backend_free(w.test);
        return -1;
    }
    /* the HARTH batch: B = 8 also under --quick (TNC needs B >= 5 anchors' room, CoST a B that
     * divides its queue of 256) */
    const int64_t B = 8, T = 119;
    if (batches_open(&w.data, B, T) != DC_OK ||
        !(w.host = malloc((size_t)(B * T * w.data.fr.D) * sizeof *w.host)) || batches_get(&w.data, 0, w.host) != DC_OK) {
        conf_cell_add(conf_run_cell(r, "data", be_i), CONF_FAIL, NAN, dc_last_error());
    } else {
        if (conf_selected(o, "train.dynacl", "runs")) check_train(&w);
        batches_get(&w.data, 0, w.host);
        for (const char *const *m = dc_model_names(); *m; m++) {
            check_method(&w, *m, "authors");
            check_method(&w, *m, "corrected");
        }
        check_embed(&w, "dynacl");
        check_embed(&w, "ts2vec");
        check_graph(&w);
        check_determinism(&w);
        check_oom(&w);
        check_bad_arguments(&w);
    }
    fprintf(o->log, "conformance: %s: whole runs against %s in %.1f s\n", kind, refk, dc_now() - t0);
    free(w.host);
    batches_close(&w.data);
    dc_backend_free(w.ref);
    dc_backend_free(w.test);
    return 0;
}
