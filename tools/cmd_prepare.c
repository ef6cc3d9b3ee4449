/* cmd_prepare.c: `dynacl prepare harth|ecg|sleepeeg`: raw public files -> a prepared
 * dataset folder (docs/METHOD.md §1), with progress, Ctrl-C handling (nothing is left under the output
 * name) and a summary of instances per class, per split and per subject.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "dc/dc.h"
#include "data/dc_dataset.h"
#include "data/dc_prepare.h"
#include "tool_common.h"

static volatile sig_atomic_t g_interrupted = 0;

static void on_signal(int sig) {
    if (g_interrupted) { /* second Ctrl-C: stop now (only a hidden temporary folder can remain) */
        signal(sig, SIG_DFL);
        raise(sig);
    }
    g_interrupted = 1;
}

typedef struct prog_state {
    dc_progress pg;
    char stage[64];
    int active, quiet;
} prog_state;

static int on_progress(void *user, const char *stage, int64_t done, int64_t total) {
    prog_state *ps = user;
    if (!ps->quiet) {
        if (!ps->active || strcmp(ps->stage, stage) != 0) {
            if (ps->active) dc_progress_finish(&ps->pg, "");
            snprintf(ps->stage, sizeof ps->stage, "%s", stage);
            dc_progress_start(&ps->pg, ps->stage, total);
            ps->active = 1;
        }
        if (done >= total) {
            ps->pg.done = done;
            dc_progress_finish(&ps->pg, "");
            ps->active = 0;
        } else {
            dc_progress_update(&ps->pg, done, "");
        }
    }
    return g_interrupted != 0;
}

/* Name of subject s from the pipeline's meta (sources / records / pairs), or its number. */
static void subject_name(const cJSON *meta, int32_t s, char *out, size_t cap) {
    const char *keys[3][2] = {{"records", "record"}, {"pairs", "psg"}, {"sources", "file"}};
    for (int k = 0; k < 3; k++) {
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(meta, keys[k][0]);
        const cJSON *it = cJSON_IsArray(arr) && s >= 0 ? cJSON_GetArrayItem(arr, s) : NULL;
        const cJSON *nm = it ? cJSON_GetObjectItemCaseSensitive(it, keys[k][1]) : NULL;
        if (cJSON_IsString(nm)) {
            snprintf(out, cap, "%s", nm->valuestring);
            return;
        }
    }
    snprintf(out, cap, "%d", s);
}

static void print_summary(const dc_dataset *ds, const char *extra, const char *out) {
    dc_dataset_counts c;
    if (dc_dataset_count(ds, &c) != DC_OK) return;
    const int nc = ds->frames.n_classes;
    printf("\nprepared %s -> %s\n", ds->name, out);
    printf("  instances %lld x D=%lld; %lld sequences of T=%lld every %lld (train %lld, test %lld)\n",
           (long long)ds->frames.n, (long long)ds->frames.D, (long long)ds->seqs.n, (long long)ds->seqs.T,
           (long long)ds->stride, (long long)ds->n_train, (long long)(ds->seqs.n - ds->n_train));
    printf("\n  %-24s %12s %14s %14s %10s\n", "class", "instances", "train (x seq)", "test (x seq)", "balanced");
    int64_t tf = 0, tt = 0, te = 0, tb = 0;
    for (int k = 0; k <= nc; k++) {
        if (k == nc && !c.frames[nc] && !c.train[nc] && !c.test[nc]) break;
        const char *nm = k < nc ? ds->frames.class_names[k] : "(unlabelled)";
        int64_t b = k < nc ? ds->balanced_count[k] : 0;
        printf("  %-24s %12lld %14lld %14lld %10lld\n", nm, (long long)c.frames[k], (long long)c.train[k],
               (long long)c.test[k], (long long)b);
        tf += c.frames[k], tt += c.train[k], te += c.test[k], tb += b;
    }
    printf("  %-24s %12lld %14lld %14lld %10lld\n", "total", (long long)tf, (long long)tt, (long long)te, (long long)tb);
    cJSON *meta = extra ? cJSON_Parse(extra) : NULL;
    printf("\n  %-24s %12s  per class\n", "subject", "instances");
    for (int64_t s = 0; s < c.n_subjects; s++) {
        char name[64];
        subject_name(meta, c.subject_id[s], name, sizeof name);
        const int64_t *row = c.subject_frames + s * (DC_MAX_CLASSES + 1);
        int64_t tot = 0;
        for (int k = 0; k <= nc; k++) tot += row[k];
        printf("  %-24s %12lld ", name, (long long)tot);
        for (int k = 0; k < nc; k++)
            if (row[k]) printf(" %s %lld", ds->frames.class_names[k], (long long)row[k]);
        if (row[nc]) printf(" unlabelled %lld", (long long)row[nc]);
        printf("\n");
    }
    cJSON_Delete(meta);
    dc_dataset_counts_free(&c);
}

int cmd_prepare(int argc, char **argv) {
    const char *synopsis = "harth|ecg|sleepeeg --input DIR --out DIR [options]";
    const char *input = NULL, *out = NULL, *backend = "cpu";
    int64_t seed = 42, seq_len = 0, stride = 0, threads = 0;
    int force = 0, from_npy = 0, quiet = 0, allow_nonfinite = 0;
    const dc_opt opts[] = {
        {"input", OPT_STR, &input, "folder with the raw files (CSVs, WFDB records, EDF files or .npy)"},
        {"out", OPT_STR, &out, "output folder (written atomically)"},
        {"seed", OPT_INT, &seed, "default seed of the balanced clustering subset, stored in meta.json (42)", "[0, 9007199254740992]"},
        {"backend", OPT_STR, &backend, "backend that runs the STFT's FFTs (default cpu)"},
        {"seq-len", OPT_INT, &seq_len, "instances per sequence (default harth 119, ecg 500, sleepeeg 300)", "[1, inf)"},
        {"stride", OPT_INT, &stride, "instances between sequence starts (default harth 24, others = seq-len)", "[1, inf)"},
        {"threads", OPT_INT, &threads, "threads reading and hashing files (default: all cores)", "[1, 4096]"},
        {"from-npy", OPT_FLAG, &from_npy, "sleepeeg: read samples.npy + labels.npy (TF-C arrays) instead of EDF"},
        {"allow-nonfinite", OPT_FLAG, &allow_nonfinite,
         "keep instances with NaN or Inf (refused by default, naming the first one)"},
        {"force", OPT_FLAG, &force, "replace an existing prepared dataset at --out"},
        {"quiet", OPT_FLAG, &quiet, "no progress display"},
        {0},
    };
    /* the dataset name comes first: `dynacl prepare harth --input ...` */
    const char *dataset = argc > 1 && argv[1][0] != '-' ? argv[1] : NULL;
    if (dataset) {
        argv[1] = argv[0];
        argv++;
        argc--;
    }
    int r = dc_opts_parse("prepare", synopsis, opts, argc, argv);
    if (r) return r > 0 ? 0 : 2;
    if (!dataset || (strcmp(dataset, "harth") && strcmp(dataset, "ecg") && strcmp(dataset, "sleepeeg"))) {
        fprintf(stderr, "dynacl prepare: name the dataset: harth, ecg or sleepeeg (see --help)\n");
        return 2;
    }
    if (!input || !out) {
        fprintf(stderr, "dynacl prepare: --input and --out are required\n");
        return 2;
    }
    if (from_npy && strcmp(dataset, "sleepeeg")) {
        fprintf(stderr, "dynacl prepare: --from-npy applies to sleepeeg only\n");
        return 2;
    }
    dc_backend *be = dc_backend_new(backend);
    if (!be) return dc_tool_fail("prepare", "opening backend");
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    prog_state ps;
    memset(&ps, 0, sizeof ps);
    ps.quiet = quiet;
    dc_prepare_opts o = dc_prepare_opts_default();
    o.input = input;
    o.backend = be;
    o.seed = (uint64_t)seed;
    o.seq_len = seq_len;
    o.stride = stride;
    o.threads = (int)threads;
    o.from_npy = from_npy;
    o.allow_nonfinite = allow_nonfinite;
    o.progress = on_progress;
    o.user = &ps;
    double t0 = dc_now();
    dc_dataset ds;
    char *extra = NULL;
    int rc = 0;
    if (dc_prepare(dataset, &o, &ds, &extra) != DC_OK) {
        if (ps.active && ps.pg.tty) fputc('\n', stderr);
        rc = dc_tool_fail("prepare", g_interrupted ? "interrupted; nothing written" : dataset);
        goto done;
    }
    double t1 = dc_now();
    if (!quiet) fprintf(stderr, "writing %s\n", out);
    if (dc_dataset_write(&ds, out, extra, force) != DC_OK) {
        rc = dc_tool_fail("prepare", "writing the dataset (nothing was left under the output name)");
    } else {
        print_summary(&ds, extra, out);
        printf("\ntime: %.2f s preparing, %.2f s writing\n", t1 - t0, dc_now() - t1);
    }
    dc_dataset_close(&ds);
done:
    free(extra);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    dc_backend_free(be);
    return rc;
}
