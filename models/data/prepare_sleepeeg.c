/* prepare_sleepeeg.c: Sleep-EDF sleep-cassette EDF files -> prepared dataset (docs/METHOD.md §1.2,
 * 1.3b): each PSG with its hypnogram, 15 instances of 178 raw EEG Fpz-Cz samples per scored
 * 30-s epoch, no normalisation, non-overlapping sequences of T = 300 across files. Also
 * reads TF-C's arrays once converted to .npy (--from-npy).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "data/dc_edf.h"
#include "dc/dc_finite.h"
#include "dc/dc_npy.h"
#include "dc/dc_sha256.h"
#include "prepare_util.h"

#define N_STAGE 5
static const char *const k_class[N_STAGE] = {"W", "N1", "N2", "N3", "REM"};

/* Name up to the last character before the first '-': "SC4001E0-PSG.edf" -> "SC4001E". */
static size_t recording_key(const char *name, char *key, size_t cap) {
    const char *dash = strchr(name, '-');
    size_t n = dash ? (size_t)(dash - name) : 0;
    if (n < 2 || n >= cap) return 0;
    memcpy(key, name, n - 1);
    key[n - 1] = '\0';
    return n - 1;
}

static void set_classes(dc_frames *fr) {
    fr->n_classes = N_STAGE;
    for (int k = 0; k < N_STAGE; k++) snprintf(fr->class_names[k], sizeof fr->class_names[k], "%s", k_class[k]);
}

static dc_status append_rows(dc_frames *fr, int64_t *cap, const float *x, const int32_t *y, int64_t n, int32_t subj) {
    if (fr->n + n > *cap) {
        int64_t nc = *cap ? *cap : 65536;
        while (nc < fr->n + n) nc *= 2;
        float *X = realloc(fr->X, (size_t)nc * DC_SLEEPEEG_D * sizeof(float));
        if (X) fr->X = X;
        int32_t *l = X ? realloc(fr->label, (size_t)nc * sizeof(int32_t)) : NULL;
        if (l) fr->label = l;
        int32_t *s = l ? realloc(fr->subject, (size_t)nc * sizeof(int32_t)) : NULL;
        if (s) fr->subject = s;
        if (!s) return dc_fail(DC_ERR_OOM, "prepare sleepeeg: out of memory for %lld instances", (long long)nc);
        *cap = nc;
    }
    memcpy(fr->X + fr->n * DC_SLEEPEEG_D, x, (size_t)n * DC_SLEEPEEG_D * sizeof(float));
    memcpy(fr->label + fr->n, y, (size_t)n * sizeof(int32_t));
    for (int64_t i = 0; i < n; i++) fr->subject[fr->n + i] = subj;
    fr->n += n;
    return DC_OK;
}

static dc_status read_edf_hashed(const char *dir, const char *name, dc_edf **e, cJSON *src) {
    char p[4096], hex[65];
    uint8_t *buf = NULL;
    size_t len = 0;
    dc_status st = pp_join(p, sizeof p, dir, name);
    if (st == DC_OK) st = pp_read_hashed(p, &buf, &len, hex);
    if (st == DC_OK) st = dc_edf_parse(buf, len, p, e);
    free(buf);
    if (st == DC_OK) cJSON_AddItemToArray(src, pp_source(name, (int64_t)len, hex));
    return st;
}

static dc_status from_edf(const dc_prepare_opts *o, dc_frames *fr, cJSON *m, cJSON *src) {
    char **psg = NULL, **hyp = NULL;
    int np = 0, nh = 0;
    dc_status st = dc_prepare_list(o->input, "-PSG.edf", &psg, &np);
    if (st == DC_OK) st = dc_prepare_list(o->input, "-Hypnogram.edf", &hyp, &nh);
    if (st == DC_OK && np == 0)
        st = dc_fail(DC_ERR_IO, "%s: no *-PSG.edf files in this folder (use --from-npy for TF-C arrays)", o->input);
    cJSON *pairs = cJSON_CreateArray();
    int64_t cap = 0;
    for (int i = 0; i < np && st == DC_OK; i++) {
        char key[256], hk[256];
        int match = -1, count = 0;
        if (!recording_key(psg[i], key, sizeof key)) {
            st = dc_fail(DC_ERR_FORMAT, "%s/%s: name does not look like a Sleep-EDF PSG file", o->input, psg[i]);
            break;
        }
        for (int j = 0; j < nh; j++)
            if (recording_key(hyp[j], hk, sizeof hk) && !strcmp(key, hk)) match = j, count++;
        if (count != 1) {
            st = dc_fail(DC_ERR_IO, "%s/%s: %s hypnogram named %s?-Hypnogram.edf", o->input, psg[i],
                         count ? "more than one" : "no", key);
            break;
        }
        dc_edf *pe = NULL, *he = NULL;
        float *x = NULL;
        int32_t *y = NULL;
        int64_t n = 0;
        st = read_edf_hashed(o->input, psg[i], &pe, src);
        if (st == DC_OK) st = read_edf_hashed(o->input, hyp[match], &he, src);
        if (st == DC_OK) st = dc_sleepeeg_build(pe, he, &x, &y, &n);
        if (st == DC_OK) st = append_rows(fr, &cap, x, y, n, i);
        if (st == DC_OK) {
            cJSON *pj = cJSON_CreateObject();
            cJSON_AddStringToObject(pj, "psg", psg[i]);
            cJSON_AddStringToObject(pj, "hypnogram", hyp[match]);
            cJSON_AddNumberToObject(pj, "subject", i);
            cJSON_AddNumberToObject(pj, "instances", (double)n);
            cJSON_AddItemToArray(pairs, pj);
        }
        free(x);
        free(y);
        dc_edf_free(pe);
        dc_edf_free(he);
        if (st == DC_OK) st = pp_progress(o, "reading EDF pairs", i + 1, np);
    }
    cJSON_AddItemToObject(m, "pairs", pairs);
    cJSON_AddStringToObject(m, "source_format", "Sleep-EDF expanded sleep-cassette EDF (PSG) + EDF+ (Hypnogram)");
    cJSON *pre = cJSON_CreateObject();
    cJSON_AddStringToObject(pre, "channel", DC_SLEEPEEG_LABEL);
    cJSON_AddNumberToObject(pre, "fs_hz", DC_SLEEPEEG_FS);
    cJSON_AddStringToObject(pre, "instances",
                            "each scored 30-s epoch -> 15 windows of 200 samples, each keeping its first 178");
    cJSON_AddStringToObject(pre, "stages", "W, N1, N2, N3 (with N4), REM; movement and unknown epochs dropped");
    cJSON_AddStringToObject(pre, "normalization", "none: raw physical values (uV)");
    cJSON_AddItemToObject(m, "preprocessing", pre);
    dc_prepare_names_free(psg, np);
    dc_prepare_names_free(hyp, nh);
    return st;
}

static dc_status open_hashed_npy(const char *dir, const char *name, dc_npy *a, cJSON *src) {
    char p[4096], hex[65];
    int64_t bytes = 0;
    dc_status st = pp_join(p, sizeof p, dir, name);
    if (st == DC_OK) st = dc_npy_open(p, a);
    if (st == DC_OK) st = dc_sha256_file(p, hex, &bytes);
    if (st == DC_OK) cJSON_AddItemToArray(src, pp_source(name, bytes, hex));
    return st;
}

static dc_status from_npy(const dc_prepare_opts *o, dc_frames *fr, cJSON *m, cJSON *src) {
    dc_npy xs, ls;
    memset(&xs, 0, sizeof xs);
    memset(&ls, 0, sizeof ls);
    dc_status st = open_hashed_npy(o->input, "samples.npy", &xs, src);
    if (st == DC_OK) st = open_hashed_npy(o->input, "labels.npy", &ls, src);
    int64_t n = xs.ndim ? xs.shape[0] : 0, D = xs.ndim ? xs.shape[xs.ndim - 1] : 0;
    if (st == DC_OK && ((xs.dtype != DC_NPY_F32 && xs.dtype != DC_NPY_F64) || !(xs.ndim == 2 || (xs.ndim == 3 && xs.shape[1] == 1))))
        st = dc_fail(DC_ERR_FORMAT, "%s/samples.npy: need float32 or float64 of shape (N, D) or (N, 1, D), got %s with %d dims",
                     o->input, dc_npy_dtype_descr(xs.dtype), xs.ndim);
    if (st == DC_OK && ((ls.dtype != DC_NPY_I32 && ls.dtype != DC_NPY_I64) || ls.ndim != 1 || ls.shape[0] != n))
        st = dc_fail(DC_ERR_FORMAT, "%s/labels.npy: need int32 or int64 of shape (%lld,), got %s with %d dims", o->input,
                     (long long)n, dc_npy_dtype_descr(ls.dtype), ls.ndim);
    if (st == DC_OK && (n < 1 || D < 1)) st = dc_fail(DC_ERR_FORMAT, "%s/samples.npy: no instances", o->input);
    if (st == DC_OK) {
        fr->n = n;
        fr->D = D;
        fr->X = pp_alloc((size_t)n * (size_t)D * sizeof(float), "prepare sleepeeg: samples");
        fr->label = pp_alloc((size_t)n * sizeof(int32_t), "prepare sleepeeg: labels");
        fr->subject = calloc((size_t)n, sizeof(int32_t));
        if (!fr->X || !fr->label || !fr->subject) st = dc_fail(DC_ERR_OOM, "prepare sleepeeg: out of memory");
    }
    for (int64_t i = 0; st == DC_OK && i < n; i++) {
        int64_t v = ls.dtype == DC_NPY_I32 ? ((const int32_t *)ls.data)[i] : ((const int64_t *)ls.data)[i];
        if (v < 0 || v >= N_STAGE)
            st = dc_fail(DC_ERR_FORMAT, "%s/labels.npy: element %lld is %lld, outside 0..4", o->input, (long long)i,
                         (long long)v);
        else fr->label[i] = (int32_t)v;
    }
    for (int64_t i = 0; st == DC_OK && i < n * D; i++)
        fr->X[i] = xs.dtype == DC_NPY_F32 ? ((const float *)xs.data)[i] : (float)((const double *)xs.data)[i];
    if (st == DC_OK && !o->allow_nonfinite) { /* checked after the conversion: a float64 beyond float32 is Inf */
        char what[4200], msg[4400];
        snprintf(what, sizeof what, "%s/samples.npy", o->input);
        if (dc_check_finite(fr->X, 4, xs.ndim, xs.shape, what) != DC_OK) {
            snprintf(msg, sizeof msg, "%s", dc_last_error());
            st = dc_fail(DC_ERR_NUMERIC, "%s (as float32; --allow-nonfinite keeps NaN and Inf)", msg);
        }
    }
    dc_npy_close(&xs);
    dc_npy_close(&ls);
    cJSON_AddStringToObject(m, "source_format", "TF-C SleepEEG arrays converted to .npy (samples.npy, labels.npy)");
    cJSON *pre = cJSON_CreateObject();
    cJSON_AddStringToObject(pre, "instances", "rows of samples.npy as given (channel axis squeezed)");
    cJSON_AddStringToObject(pre, "normalization", "none");
    cJSON_AddStringToObject(pre, "subject", "0 for every instance (the arrays carry no subject)");
    cJSON_AddItemToObject(m, "preprocessing", pre);
    return st;
}

dc_status dc_prepare_sleepeeg(const dc_prepare_opts *o, dc_dataset *ds, char **meta_extra) {
    if (!o || !o->input || !ds || !meta_extra) return dc_fail(DC_ERR_ARG, "prepare sleepeeg: NULL argument");
    memset(ds, 0, sizeof *ds);
    *meta_extra = NULL;
    const int64_t T = o->seq_len > 0 ? o->seq_len : 300, S = o->stride > 0 ? o->stride : T;
    dc_frames fr;
    memset(&fr, 0, sizeof fr);
    fr.D = DC_SLEEPEEG_D;
    set_classes(&fr);
    dc_sequences sq;
    memset(&sq, 0, sizeof sq);
    cJSON *m = pp_meta_new(o, "sleepeeg"), *src = cJSON_CreateArray();
    dc_status st = o->from_npy ? from_npy(o, &fr, m, src) : from_edf(o, &fr, m, src);
    cJSON_AddItemToObject(m, "sources", src);
    if (st == DC_OK) st = pp_stream_sequences(fr.n, T, S, o->input, &sq);
    if (st == DC_OK) {
        cJSON_AddStringToObject(m, "sequences", "blocks of seq_len consecutive instances (may span files)");
        st = pp_finish_meta(m, meta_extra);
        m = NULL;
    }
    if (st == DC_OK) st = pp_check_finite(o, &fr, "sleepeeg");
    if (st == DC_OK) st = dc_dataset_from_frames("sleepeeg", &fr, &sq, S, ds);
    if (st) {
        free(*meta_extra);
        *meta_extra = NULL;
    }
    cJSON_Delete(m);
    dc_frames_free(&fr);
    dc_sequences_free(&sq);
    return st;
}
