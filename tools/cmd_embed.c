/* cmd_embed.c: `dynacl embed` (encoder outputs in eval mode, as .npy) and `dynacl loss`
 * (the pretext loss of a checkpoint on a split, eval mode). Inputs and weights with NaN or
 * Inf are refused, naming the first one, unless --allow-nonfinite. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "data/dc_dataset.h"
#include "dc/dc_finite.h"
#include "dc/dc_npy.h"
#include "dc/dc_safetensors.h"
#include "eval_tools.h"
#include "tool_common.h"
#include "train/dc_run.h"

static int open_encoder(const char *ckpt, dc_backend *be, int64_t D, unsigned flags, dc_encoder **out) {
    *out = NULL;
    int64_t Dc;
    if (dc_checkpoint_in_dim(ckpt, &Dc) != DC_OK) return 0;
    if (Dc != D) {
        dc_fail(DC_ERR_SHAPE, "%s: the checkpoint's encoder takes D = %lld (conv1.weight [128, %lld, 1]) but the data has D = %lld",
                ckpt, (long long)Dc, (long long)Dc, (long long)D);
        return 0;
    }
    dc_encoder *e = dc_encoder_new(be, D);
    dc_st_file *f = NULL;
    int ok = e && dc_st_open(ckpt, &f) == DC_OK && dc_encoder_load_file_ex(e, f, ckpt, flags) == DC_OK;
    dc_st_close(f);
    if (!ok) {
        dc_encoder_free(e);
        return 0;
    }
    *out = e;
    return 1;
}

/* split "train" | "test" | "all" -> sequence range */
static int split_range(const dc_dataset *ds, const char *split, int64_t *first, int64_t *last) {
    if (!strcmp(split, "train")) *first = 0, *last = ds->n_train;
    else if (!strcmp(split, "test")) *first = ds->n_train, *last = ds->seqs.n;
    else if (!strcmp(split, "all")) *first = 0, *last = ds->seqs.n;
    else {
        fprintf(stderr, "dynacl: --split must be train, test or all, got '%s'\n", split);
        return 0;
    }
    return 1;
}

int cmd_embed(int argc, char **argv) {
    const char *ckpt = NULL, *data = NULL, *input = NULL, *out = NULL, *split = NULL, *backend = "cpu";
    int64_t chunk = 64;
    int allow_nonfinite = 0;
    const dc_opt opts[] = {
        {"checkpoint", OPT_STR, &ckpt, "encoder checkpoint (.safetensors; PyTorch state_dict names)"},
        {"data", OPT_STR, &data, "prepared dataset folder, or 'synthetic': embed the sequences of --split"},
        {"split", OPT_STR, &split, "with --data: train | test | all (default test)", NULL, "train|test|all"},
        {"input", OPT_STR, &input, "instead of --data: a .npy of shape (N, T, D) or (N, D)"},
        {"out", OPT_STR, &out, "output .npy: (n_seq, T, 32) for --data and (N, T, D) input, (N, 32) for (N, D)"},
        {"backend", OPT_STR, &backend, "backend (default cpu)"},
        {"chunk", OPT_INT, &chunk, "sequences per forward pass (default 64)", "[1, inf)"},
        {"allow-nonfinite", OPT_FLAG, &allow_nonfinite,
         "let NaN and Inf in --input and in the weights through (refused by default, naming the first one)"},
        {0},
    };
    int r = dc_opts_parse("embed", "--checkpoint CKPT (--data DIR [--split S] | --input X.npy) --out Z.npy", opts, argc, argv);
    if (r) return r > 0 ? 0 : 2;
    if (!ckpt || !out || (!data == !input)) {
        fprintf(stderr, "dynacl embed: needs --checkpoint, --out and exactly one of --data / --input (see --help)\n");
        return 2;
    }
    if (input && split) {
        fprintf(stderr, "dynacl embed: --split selects sequences of --data; --input is embedded whole\n");
        return 2;
    }
    if (!split) split = "test";
    dc_dataset ds = {0};
    dc_npy in = {0};
    const float *X = NULL;
    int64_t n = 0, T = 1, D = 0, oshape[3];
    int ond = 3, rc = 0;
    if (data) {
        int64_t first, last;
        if (!et_open_data("embed", data, &ds)) return 1;
        if (!split_range(&ds, split, &first, &last)) {
            dc_dataset_close(&ds);
            return 2;
        }
        n = last - first;
        T = ds.seqs.T;
        D = ds.frames.D;
        float *buf = malloc((size_t)(n * T * D) * sizeof *buf + 1);
        int64_t *idx = malloc((size_t)(n + 1) * sizeof *idx);
        for (int64_t i = 0; buf && idx && i < n; i++) idx[i] = first + i;
        if (!buf || !idx || dc_sequences_gather(&ds.frames, &ds.seqs, idx, n, buf) != DC_OK) {
            free(buf), free(idx);
            dc_dataset_close(&ds);
            return dc_tool_fail("embed", "reading sequences");
        }
        free(idx);
        X = buf;
    } else {
        if (dc_npy_open(input, &in) != DC_OK) return dc_tool_fail("embed", "reading --input");
        if (in.dtype != DC_NPY_F32 || (in.ndim != 2 && in.ndim != 3)) {
            fprintf(stderr, "dynacl embed: %s must be float32 (N, T, D) or (N, D)\n", input);
            dc_npy_close(&in);
            return 1;
        }
        if (!allow_nonfinite && dc_check_finite(in.data, 4, in.ndim, in.shape, input) != DC_OK) {
            dc_npy_close(&in);
            return dc_tool_fail("embed", "reading --input (--allow-nonfinite lets NaN and Inf through)");
        }
        n = in.shape[0];
        T = in.ndim == 3 ? in.shape[1] : 1; /* (N, D): N sequences of length 1, as the clustering subset */
        D = in.shape[in.ndim - 1];
        ond = in.ndim;
        X = in.data;
    }
    oshape[0] = n;
    oshape[1] = ond == 3 ? T : 32;
    oshape[2] = 32;
    dc_backend *be = dc_backend_new(backend);
    dc_encoder *enc = NULL;
    float *Z = malloc((size_t)(n * T * 32) * sizeof *Z + 1);
    if (be && Z && !open_encoder(ckpt, be, D, allow_nonfinite ? DC_LOAD_ALLOW_NONFINITE : 0, &enc)) {
        rc = dc_tool_fail("embed", dc_last_status() == DC_ERR_NUMERIC
                                       ? "loading the checkpoint (--allow-nonfinite lets NaN and Inf weights through)"
                                       : "loading the checkpoint");
    } else if (!be || !Z || dc_encoder_embed(enc, X, n, T, Z, chunk) != DC_OK ||
               dc_npy_write(out, DC_NPY_F32, ond, oshape, Z) != DC_OK) {
        rc = dc_tool_fail("embed", "embedding");
    } else {
        printf("wrote %s: %lld x %s32 embeddings (eval-mode BatchNorm)\n", out, (long long)n, ond == 3 ? "T x " : "");
    }
    free(Z);
    dc_encoder_free(enc);
    dc_backend_free(be);
    if (data) free((void *)X);
    dc_npy_close(&in);
    dc_dataset_close(&ds);
    return rc;
}

int cmd_loss(int argc, char **argv) {
    const char *ckpt = NULL, *data = NULL, *split = "test", *model = NULL, *protocol = "authors", *backend = "cpu";
    int64_t batch = 8, seed = 42;
    const dc_opt opts[] = {
        {"checkpoint", OPT_STR, &ckpt, "checkpoint (.safetensors)"},
        {"data", OPT_STR, &data, "prepared dataset folder, or 'synthetic'"},
        {"split", OPT_STR, &split, "train | test (default test)", NULL, "train|test"},
        {"model", OPT_STR, &model, "pretext loss to evaluate (default: the checkpoint's model, else dynacl)"},
        {"protocol", OPT_STR, &protocol, "authors | corrected (default authors)", NULL, "authors|corrected"},
        {"batch", OPT_INT, &batch, "sequences per batch (default 8; the last partial batch is dropped)", "[1, inf)"},
        {"seed", OPT_INT, &seed, "seed of the random draws (masks, projectors) (default 42)", "[0, 9007199254740992]"},
        {"backend", OPT_STR, &backend, "backend (default cpu)"},
        {0},
    };
    int r = dc_opts_parse("loss", "--checkpoint CKPT --data DIR [--split test] [--model M]", opts, argc, argv);
    if (r) return r > 0 ? 0 : 2;
    if (!ckpt || !data) {
        fprintf(stderr, "dynacl loss: needs --checkpoint and --data (see --help)\n");
        return 2;
    }
    if (model && !dc_model_method(model)) {
        dc_model_config u = dc_model_config_defaults(model, NULL, protocol);
        dc_model_config_check(&u);
        fprintf(stderr, "dynacl loss: --model: %s\n", dc_last_error());
        return 2;
    }
    char mname[32] = "dynacl";
    int64_t pre_seed;
    if (model) snprintf(mname, sizeof mname, "%s", model);
    else dc_run_checkpoint_method(ckpt, mname, sizeof mname, &pre_seed); /* its metadata; else its run's; else dynacl */
    dc_dataset ds = {0};
    if (!et_open_data("loss", data, &ds)) return 1;
    dc_model_config cfg = dc_model_config_defaults(mname, ds.name, protocol);
    cfg.seed = (uint64_t)seed;
    dc_backend *be = dc_backend_new(backend);
    dc_model *m = be ? dc_model_new(&cfg, be, ds.frames.D) : NULL;
    int rc = 0;
    double sum, mean;
    dc_rng rng = dc_rng_init((uint64_t)seed);
    if (!m || dc_model_load(m, ckpt) != DC_OK ||
        dc_eval_loss(m, &ds, be, batch, !strcmp(split, "test"), &rng, &sum, &mean) != DC_OK) {
        rc = dc_tool_fail("loss", "evaluating");
    } else {
        printf("%s loss on the %s split (eval mode, batches of %lld): mean %.6f, sum x batch %.6f\n", mname, split,
               (long long)batch, mean, sum);
    }
    dc_model_free(m);
    dc_backend_free(be);
    dc_dataset_close(&ds);
    return rc;
}
