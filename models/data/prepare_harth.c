/* prepare_harth.c: HARTH CSVs -> prepared dataset (docs/METHOD.md §1.1, §1.3b, §9 items 2–3). Files are
 * read, hashed and parsed in parallel; the STFT (W 50, H 25, D = 6 x 26) and the windowed
 * labels run per file in sorted name order; then the per-feature z-score over all frames
 * and windows of T = 119 frames every 24 frames within each file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "dc/dc.h"
#include "data/dc_harth.h"
#include "data/dc_stft.h"
#include "data_file.h"
#include "prepare_util.h"

#define FS 50
#define WIN 50
#define HOP 25
#define NBIN (WIN / 2 + 1)
#define D_FEAT (DC_HARTH_CHANNELS * NBIN)

static const char *const k_class[DC_HARTH_CLASSES] = {
    "walking", "running", "shuffling", "stairs_up", "stairs_down", "standing", "sitting", "lying",
    "cycling_sit", "cycling_stand", "cycling_sit_inactive", "cycling_stand_inactive"};
static const int k_codes[DC_HARTH_CLASSES] = {1, 2, 3, 4, 5, 6, 7, 8, 13, 14, 130, 140};
static const char *const k_chan[DC_HARTH_CHANNELS] = {"back_x", "back_y", "back_z", "thigh_x", "thigh_y", "thigh_z"};

typedef struct hfile {
    dc_harth *h;
    char sha[65];
    int64_t bytes, frames, rows, dropped;
    dc_status st;
    char err[512];
} hfile;

/* Read, hash and parse every file; errors are kept per file (messages are thread-local). */
static dc_status read_all(const dc_prepare_opts *o, char **names, int nf, hfile *hf) {
    volatile int stop = 0;
    int done = 0;
    dc_status cancel = DC_OK;
    int threads = o->threads > 0 ? o->threads : 0;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads ? threads : omp_get_max_threads())
#else
    (void)threads;
#endif
    for (int i = 0; i < nf; i++) {
        if (stop) continue;
        char path[4096];
        uint8_t *buf = NULL;
        size_t len = 0;
        dc_status st = pp_join(path, sizeof path, o->input, names[i]);
        if (st == DC_OK) st = pp_read_hashed(path, &buf, &len, hf[i].sha);
        if (st == DC_OK) st = dc_harth_parse((const char *)buf, len, path, &hf[i].h);
        free(buf);
        hf[i].bytes = (int64_t)len;
        hf[i].st = st;
        if (st) {
            snprintf(hf[i].err, sizeof hf[i].err, "%s", dc_last_error());
            stop = 1;
        }
#ifdef _OPENMP
#pragma omp atomic
#endif
        done++;
#ifdef _OPENMP
        if (omp_get_thread_num() == 0)
#endif
        {
            if (!stop && pp_progress(o, "reading CSV files", done, nf) != DC_OK) {
                cancel = DC_ERR_STATE;
                stop = 1;
            }
        }
    }
    if (cancel) return dc_fail(DC_ERR_STATE, "reading CSV files: interrupted");
    for (int i = 0; i < nf; i++)
        if (hf[i].st) return dc_fail(hf[i].st, "%s", hf[i].err);
    return DC_OK;
}

dc_status dc_prepare_harth(const dc_prepare_opts *o, dc_dataset *ds, char **meta_extra) {
    if (!o || !o->input || !ds || !meta_extra) return dc_fail(DC_ERR_ARG, "prepare harth: NULL argument");
    memset(ds, 0, sizeof *ds);
    *meta_extra = NULL;
    const int64_t T = o->seq_len > 0 ? o->seq_len : 119, S = o->stride > 0 ? o->stride : 24;
    char **names = NULL;
    int nf = 0;
    dc_status st = dc_prepare_list(o->input, ".csv", &names, &nf);
    if (st) return st;
    if (nf == 0) {
        dc_prepare_names_free(names, nf);
        return dc_fail(DC_ERR_IO, "%s: no HARTH .csv files in this folder", o->input);
    }
    hfile *hf = calloc((size_t)nf, sizeof *hf);
    dc_frames fr;
    memset(&fr, 0, sizeof fr);
    dc_sequences sq;
    memset(&sq, 0, sizeof sq);
    dc_backend *own = NULL, *be = NULL;
    double mean[D_FEAT], sd[D_FEAT];
    if (!hf) {
        st = dc_fail(DC_ERR_OOM, "prepare harth: out of memory");
        goto done;
    }
    if ((st = read_all(o, names, nf, hf)) != DC_OK) goto done;
    int64_t n = 0;
    for (int i = 0; i < nf; i++) {
        hf[i].rows = hf[i].h->n;
        hf[i].dropped = hf[i].h->n_dropped;
        n += hf[i].frames = dc_stft_frames(hf[i].h->n, WIN, HOP);
    }
    if (n == 0) {
        st = dc_fail(DC_ERR_FORMAT, "%s: no file has the %d rows one STFT frame needs", o->input, WIN);
        goto done;
    }
    fr.n = n;
    fr.D = D_FEAT;
    fr.n_classes = DC_HARTH_CLASSES;
    for (int k = 0; k < DC_HARTH_CLASSES; k++) snprintf(fr.class_names[k], sizeof fr.class_names[k], "%s", k_class[k]);
    fr.X = pp_alloc((size_t)n * D_FEAT * sizeof(float), "prepare harth: features");
    fr.label = pp_alloc((size_t)n * sizeof(int32_t), "prepare harth: labels");
    fr.subject = pp_alloc((size_t)n * sizeof(int32_t), "prepare harth: subjects");
    if (!fr.X || !fr.label || !fr.subject) {
        st = dc_last_status();
        goto done;
    }
    if (!(be = pp_backend(o, &own))) {
        st = dc_fail_prefix("prepare harth");
        goto done;
    }
    int64_t off = 0;
    for (int i = 0; i < nf && st == DC_OK; i++) {
        const dc_harth *h = hf[i].h;
        st = dc_stft_magnitude(be, h->x, h->n, DC_HARTH_CHANNELS, DC_HARTH_CHANNELS, 1, WIN, HOP,
                               fr.X + off * D_FEAT, D_FEAT);
        if (st == DC_OK) st = dc_windowed_labels(h->y, h->n, WIN, HOP, DC_HARTH_CLASSES, fr.label + off);
        if (st) {
            dc_fail_prefix("%s/%s", o->input, names[i]);
            break;
        }
        for (int64_t m = 0; m < hf[i].frames; m++) fr.subject[off + m] = i;
        off += hf[i].frames;
        dc_harth_free(hf[i].h);
        hf[i].h = NULL;
        st = pp_progress(o, "STFT", i + 1, nf);
    }
    if (st) goto done;
    if ((st = pp_zscore(fr.X, n, D_FEAT, 1e-10, mean, sd)) != DC_OK) goto done;
    if ((st = dc_sequences_window(&fr, T, S, &sq)) != DC_OK) {
        dc_fail_prefix("%s", o->input);
        goto done;
    }
    cJSON *m = pp_meta_new(o, "harth"), *pre = cJSON_CreateObject(), *stft = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "source_format", "HARTH CSV, one file per subject (timestamp, back_xyz, thigh_xyz, label)");
    cJSON_AddNumberToObject(pre, "fs_hz", FS);
    cJSON_AddNumberToObject(stft, "window", WIN);
    cJSON_AddNumberToObject(stft, "hop", HOP);
    cJSON_AddStringToObject(stft, "window_fn", "hann (periodic)");
    cJSON_AddBoolToObject(stft, "center", 0);
    cJSON_AddBoolToObject(stft, "onesided", 1);
    cJSON_AddStringToObject(stft, "features", "magnitude");
    cJSON_AddStringToObject(stft, "layout", "channel-major: feature c*26 + k");
    cJSON_AddItemToObject(stft, "channels", cJSON_CreateStringArray(k_chan, DC_HARTH_CHANNELS));
    cJSON_AddItemToObject(pre, "stft", stft);
    cJSON_AddStringToObject(pre, "labels", "argmax windowed labels (W 50, H 25), ties to the smaller class");
    cJSON *nz = cJSON_CreateObject();
    cJSON_AddStringToObject(nz, "kind", "z-score per feature over all frames of all files");
    cJSON_AddStringToObject(nz, "std", "population");
    cJSON_AddNumberToObject(nz, "zero_std_replaced_by", 1e-10);
    cJSON_AddItemToObject(nz, "mean", pp_double_array(mean, D_FEAT));
    cJSON_AddItemToObject(nz, "std_values", pp_double_array(sd, D_FEAT));
    cJSON_AddItemToObject(pre, "normalization", nz);
    cJSON_AddStringToObject(pre, "sequences", "per file: windows of seq_len frames every stride frames that fit");
    cJSON_AddItemToObject(m, "preprocessing", pre);
    cJSON *lm = cJSON_CreateObject();
    for (int k = 0; k < DC_HARTH_CLASSES; k++) {
        char code[16];
        snprintf(code, sizeof code, "%d", k_codes[k]);
        cJSON_AddNumberToObject(lm, code, k);
    }
    cJSON_AddItemToObject(m, "label_map", lm);
    cJSON *src = cJSON_CreateArray();
    for (int i = 0; i < nf; i++) {
        cJSON *s = pp_source(names[i], hf[i].bytes, hf[i].sha);
        cJSON_AddNumberToObject(s, "subject", i);
        cJSON_AddNumberToObject(s, "rows", (double)hf[i].rows);
        cJSON_AddNumberToObject(s, "rows_dropped_nan", (double)hf[i].dropped);
        cJSON_AddNumberToObject(s, "frames", (double)hf[i].frames);
        cJSON_AddItemToArray(src, s);
    }
    cJSON_AddItemToObject(m, "sources", src);
    if ((st = pp_finish_meta(m, meta_extra)) != DC_OK) goto done;
    st = pp_check_finite(o, &fr, "harth");
    if (st == DC_OK) st = dc_dataset_from_frames("harth", &fr, &sq, S, ds);
    if (st) {
        free(*meta_extra);
        *meta_extra = NULL;
    }
done:
    if (hf)
        for (int i = 0; i < nf; i++) dc_harth_free(hf[i].h);
    free(hf);
    dc_prepare_names_free(names, nf);
    dc_frames_free(&fr);
    dc_sequences_free(&sq);
    dc_backend_free(own);
    return st;
}
