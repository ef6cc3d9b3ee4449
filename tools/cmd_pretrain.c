/* cmd_pretrain.c: `dynacl pretrain`: DynaCL on the embedded synthetic default dataset.
 * Shuffled batches of sequences (SPEC 5), AdamW, per-epoch mean loss, progress display.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "dc/dc_frames.h"
#include "dynacl/dc_dynacl.h"
#include "tool_common.h"

int cmd_pretrain(int argc, char **argv) {
    const char *backend = "cpu", *protocol = "authors";
    int64_t epochs = 20, batch = 8, seq_len = 119, stride = 24, seed = 42, max_steps = 0;
    double lr = 1e-3, tau = 0.5, wd = 0.01;
    int single = 0;
    const dc_opt opts[] = {
        {"backend", OPT_STR, &backend, "backend to train on: cpu, cpu-ref, cuda[:N], opencl[:N] (default cpu)"},
        {"epochs", OPT_INT, &epochs, "epochs over the training split (default 20)"},
        {"batch", OPT_INT, &batch, "sequences per step (default 8)"},
        {"seq-len", OPT_INT, &seq_len, "frames per sequence T (default 119)"},
        {"stride", OPT_INT, &stride, "frames between sequence starts (default 24, HARTH-style overlap)"},
        {"lr", OPT_DBL, &lr, "AdamW learning rate (default 1e-3)"},
        {"weight-decay", OPT_DBL, &wd, "AdamW weight decay (default 0.01, as the authors ran)"},
        {"tau", OPT_DBL, &tau, "MP-Xent temperature (default 0.5)"},
        {"protocol", OPT_STR, &protocol, "authors (positives across the flattened batch) | corrected (within sequences)"},
        {"single-positive", OPT_FLAG, &single, "use the paper's eq. 1 (one positive per anchor)"},
        {"seed", OPT_INT, &seed, "random seed (default 42)"},
        {"max-steps", OPT_INT, &max_steps, "stop after this many steps (0 = no limit)"},
        {0},
    };
    int r = dc_opts_parse("pretrain", "[options]", opts, argc, argv);
    if (r) return r > 0 ? 0 : 2;
    if (strcmp(protocol, "authors") && strcmp(protocol, "corrected")) {
        fprintf(stderr, "dynacl pretrain: --protocol must be 'authors' or 'corrected', got '%s'\n", protocol);
        return 2;
    }
    if (epochs < 1 || batch < 1 || seq_len < 3 || stride < 1) {
        fprintf(stderr, "dynacl pretrain: need --epochs >= 1, --batch >= 1, --seq-len >= 3, --stride >= 1\n");
        return 2;
    }

    dc_frames fr;
    fprintf(stderr, "dynacl pretrain: generating the embedded synthetic dataset (no download needed)\n");
    if (dc_synthetic_generate(NULL, &fr) != DC_OK) return dc_tool_fail("pretrain", "synthetic dataset");
    dc_sequences seq;
    if (dc_sequences_window(&fr, seq_len, stride, &seq) != DC_OK) {
        dc_frames_free(&fr);
        return dc_tool_fail("pretrain", "cutting sequences");
    }
    int64_t n_train = seq.n - (int64_t)(0.2 * (double)seq.n); /* SPEC 1.0: first 80% train */
    int64_t steps_per_epoch = n_train / batch;
    if (steps_per_epoch < 1) {
        fprintf(stderr, "dynacl pretrain: %lld training sequences are fewer than one batch of %lld\n",
                (long long)n_train, (long long)batch);
        return 2;
    }
    dc_backend *be = dc_backend_new(backend);
    if (!be) return dc_tool_fail("pretrain", "opening backend");
    dc_encoder *enc = dc_encoder_new(be, fr.D);
    dc_rng rng = dc_rng_init((uint64_t)seed);
    dc_adamw_opts ao = dc_adamw_opts_default();
    ao.lr = lr;
    ao.weight_decay = wd;
    dc_adamw *opt = enc && dc_encoder_init(enc, &rng) == DC_OK ? dc_adamw_new(enc->params, ao) : NULL;
    dc_ctx *ctx = opt ? dc_ctx_new(be) : NULL;
    float *host = malloc((size_t)(batch * seq_len * fr.D) * sizeof(float));
    int64_t *perm = malloc((size_t)n_train * sizeof(int64_t));
    int rc = 0;
    if (!ctx || !host || !perm) {
        rc = dc_tool_fail("pretrain", "setting up the model");
        goto done;
    }
    printf("dataset: synthetic, %lld frames x D=%lld, %d classes; %lld sequences of T=%lld (train %lld)\n",
           (long long)fr.n, (long long)fr.D, fr.n_classes, (long long)seq.n, (long long)seq_len, (long long)n_train);
    printf("model: DynaCL (MP-Xent, tau %g, %s positives%s) on %s, batch %lld, lr %g, %lld epochs\n", tau,
           strcmp(protocol, "authors") ? "within-sequence" : "flattened-batch", single ? ", single positive" : "",
           dc_backend_name(be), (long long)batch, lr, (long long)epochs);
    dc_mpxent_opts mo = {tau, strcmp(protocol, "authors") ? seq_len : 0, single};
    int64_t total = epochs * steps_per_epoch, step = 0;
    if (max_steps > 0 && max_steps < total) total = max_steps;
    dc_progress pg;
    dc_progress_start(&pg, "pretrain", total);
    double first_epoch = NAN, last_epoch = NAN;
    for (int64_t ep = 0; ep < epochs && step < total; ep++) {
        dc_rng_permutation(&rng, n_train, perm);
        double sum = 0;
        int64_t cnt = 0;
        for (int64_t b = 0; b < steps_per_epoch && step < total; b++, step++) {
            double loss;
            dc_ctx_reset(ctx);
            dc_tensor *x = NULL;
            if (dc_sequences_gather(&fr, &seq, perm + b * batch, batch, host) == DC_OK)
                x = dc_tensor_from_host(ctx, DC_F32, 3, (int64_t[]){batch, seq_len, fr.D}, host);
            if (!x || dc_dynacl_step(enc, opt, ctx, x, &mo, &loss) != DC_OK) {
                if (pg.tty) fputc('\n', stderr);
                rc = dc_tool_fail("pretrain", "training step");
                goto done;
            }
            sum += loss;
            cnt++;
            char msg[64];
            snprintf(msg, sizeof msg, "epoch %lld loss %.4f", (long long)ep + 1, loss);
            dc_progress_update(&pg, step + 1, msg);
        }
        double mean = sum / (double)cnt;
        if (ep == 0) first_epoch = mean;
        last_epoch = mean;
        if (!pg.tty || ep + 1 == epochs) {
            if (pg.tty) fputc('\n', stderr);
            printf("epoch %3lld  mean loss %.5f\n", (long long)ep + 1, mean);
        }
    }
    dc_progress_finish(&pg, "done");
    printf("loss: first epoch %.5f -> last epoch %.5f (%s)\n", first_epoch, last_epoch,
           last_epoch < first_epoch ? "falling" : "NOT falling");
done:
    free(host);
    free(perm);
    dc_ctx_free(ctx);
    dc_adamw_free(opt);
    dc_encoder_free(enc);
    dc_backend_free(be);
    dc_sequences_free(&seq);
    dc_frames_free(&fr);
    return rc;
}
