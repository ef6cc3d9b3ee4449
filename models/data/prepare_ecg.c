/* prepare_ecg.c: WFDB ECG records -> prepared dataset (docs/METHOD.md §1.3, §1.3b). Three passes over
 * the records keep memory at one record plus the output: (A) headers and annotations give
 * each record's first rhythm label and the common length L; (B) per-lead mean and std over
 * all records; (C) z-scored records are appended to a rolling buffer of the concatenated
 * signal and every complete STFT frame (W = 1 s, H = 0.5 s) is computed as soon as it fits.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dc/dc.h"
#include "dc/dc_sha256.h"
#include "data/dc_stft.h"
#include "data/dc_wfdb.h"
#include "prepare_util.h"

#define N_RHYTHM 4
static const char *const k_class[N_RHYTHM] = {"AFIB", "AFL", "J", "N"};

typedef struct rec_info {
    char name[256];      /* record name (file stem) */
    char path[4096];     /* folder/name, as the WFDB reader wants it */
    int64_t n_samples, first;
} rec_info;

static int file_exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* 1 if the header's signal files all exist, 0 if none does; an error if only some do. */
static dc_status signals_present(const char *dir, const dc_wfdb_header *h, const char *hea, int *present) {
    int have = 0, miss = 0;
    char p[4096];
    for (int s = 0; s < h->n_sig; s++) {
        if (pp_join(p, sizeof p, dir, h->sig[s].file) != DC_OK) return dc_last_status();
        if (file_exists(p)) have++;
        else miss++;
    }
    if (have && miss) return dc_fail(DC_ERR_IO, "%s: some of the record's signal files are missing", hea);
    *present = have > 0;
    return DC_OK;
}

/* Physical samples (n, n_sig) and per-sample rhythm labels of a record. */
static dc_status load_record(const rec_info *r, dc_wfdb_record **rec, float **phys, int32_t **lab) {
    dc_wfdb_annots *ann = NULL;
    char atr[4200];
    snprintf(atr, sizeof atr, "%s.atr", r->path);
    dc_status st = dc_wfdb_record_read(r->path, rec);
    if (st == DC_OK) st = dc_wfdb_annots_read(atr, &ann);
    if (st == DC_OK) {
        int64_t n = (*rec)->n_samples;
        *phys = pp_alloc((size_t)(n * (*rec)->n_sig) * sizeof(float), r->name);
        *lab = pp_alloc((size_t)n * sizeof(int32_t), r->name);
        if (!*phys || !*lab) st = DC_ERR_OOM;
        if (st == DC_OK) st = dc_wfdb_record_physical(*rec, *phys);
        int64_t first;
        if (st == DC_OK) st = dc_wfdb_rhythm_labels(ann, n, *lab, &first);
        if (st == DC_OK && first != r->first)
            st = dc_fail(DC_ERR_IO, "%s: changed while being read (first rhythm label at %lld, before at %lld)", atr,
                         (long long)first, (long long)r->first);
        if (st) dc_fail_prefix("%s", r->name);
    }
    dc_wfdb_annots_free(ann);
    return st;
}

static void free_record(dc_wfdb_record **rec, float **phys, int32_t **lab) {
    dc_wfdb_record_free(*rec);
    free(*phys);
    free(*lab);
    *rec = NULL, *phys = NULL, *lab = NULL;
}

/* Pass A: records with signals, their lengths and first labelled samples; the hashes of
 * every file; the common rate and signal count. */
static dc_status scan_records(const dc_prepare_opts *o, char **heas, int nh, rec_info *ri, int *n_rec, double *fs,
                              int *n_sig, char (*leads)[64], cJSON *recs, cJSON *skipped, cJSON *src) {
    *n_rec = 0;
    dc_status st = DC_OK;
    for (int i = 0; i < nh && st == DC_OK; i++) {
        rec_info *r = &ri[*n_rec];
        size_t l = strlen(heas[i]) - 4;
        if (l >= sizeof r->name) return dc_fail(DC_ERR_ARG, "%s: record name too long", heas[i]);
        memcpy(r->name, heas[i], l);
        r->name[l] = '\0';
        if ((st = pp_join(r->path, sizeof r->path, o->input, r->name))) break;
        char hea[4200], atr[4200];
        snprintf(hea, sizeof hea, "%s.hea", r->path);
        snprintf(atr, sizeof atr, "%s.atr", r->path);
        dc_wfdb_header *h = NULL;
        dc_wfdb_annots *ann = NULL;
        int present = 0;
        if ((st = dc_wfdb_header_read(r->path, &h))) break;
        if (h->n_sig > 0) st = signals_present(o->input, h, hea, &present);
        if (st == DC_OK && !present) {
            cJSON *sk = cJSON_CreateObject();
            cJSON_AddStringToObject(sk, "record", r->name);
            cJSON_AddStringToObject(sk, "reason", h->n_sig ? "signal file absent" : "header lists no signals");
            cJSON_AddItemToArray(skipped, sk);
            dc_wfdb_header_free(h);
            continue;
        }
        if (st == DC_OK && *n_rec == 0) {
            *fs = h->fs;
            *n_sig = h->n_sig;
            for (int s = 0; s < h->n_sig && s < 8; s++) snprintf(leads[s], 64, "%.63s", h->sig[s].description);
        } else if (st == DC_OK && (h->fs != *fs || h->n_sig != *n_sig)) {
            st = dc_fail(DC_ERR_FORMAT, "%s: %d signals at %g Hz, but the first record has %d at %g Hz", hea, h->n_sig,
                         h->fs, *n_sig, *fs);
        }
        int64_t n = h->n_samples;
        if (st == DC_OK && n == 0) { /* length only in the signal file: read the record */
            dc_wfdb_record *rec = NULL;
            if ((st = dc_wfdb_record_read(r->path, &rec)) == DC_OK) n = rec->n_samples;
            dc_wfdb_record_free(rec);
        }
        if (st == DC_OK && !file_exists(atr)) st = dc_fail(DC_ERR_IO, "%s: missing (rhythm labels come from it)", atr);
        if (st == DC_OK) st = dc_wfdb_annots_read(atr, &ann);
        int32_t *lab = st == DC_OK ? pp_alloc((size_t)n * sizeof(int32_t), hea) : NULL;
        if (st == DC_OK && !lab) st = DC_ERR_OOM;
        if (st == DC_OK) st = dc_wfdb_rhythm_labels(ann, n, lab, &r->first);
        if (st == DC_OK && r->first >= n)
            st = dc_fail(DC_ERR_FORMAT, "%s: no rhythm annotation (type 28 with an aux string) inside the %lld samples",
                         atr, (long long)n);
        free(lab);
        dc_wfdb_annots_free(ann);
        r->n_samples = n;
        /* hashes of the header, each distinct signal file and the annotations */
        cJSON *rj = cJSON_CreateObject(), *files = cJSON_CreateArray();
        const char *fl[10] = {0};
        char namebuf[10][300];
        int nfl = 0;
        snprintf(namebuf[nfl], sizeof namebuf[0], "%s.hea", r->name);
        fl[nfl] = namebuf[nfl], nfl++;
        for (int s = 0; st == DC_OK && s < h->n_sig && nfl < 9; s++) {
            int dup = 0;
            for (int k = 1; k < nfl; k++) dup |= !strcmp(fl[k], h->sig[s].file);
            if (!dup) snprintf(namebuf[nfl], sizeof namebuf[0], "%s", h->sig[s].file), fl[nfl] = namebuf[nfl], nfl++;
        }
        snprintf(namebuf[nfl], sizeof namebuf[0], "%s.atr", r->name);
        fl[nfl] = namebuf[nfl], nfl++;
        for (int k = 0; k < nfl && st == DC_OK; k++) {
            char p[4400], hex[65];
            int64_t bytes = 0;
            if ((st = pp_join(p, sizeof p, o->input, fl[k])) == DC_OK && (st = dc_sha256_file(p, hex, &bytes)) == DC_OK) {
                cJSON_AddItemToArray(src, pp_source(fl[k], bytes, hex));
                cJSON_AddItemToArray(files, cJSON_CreateString(fl[k]));
            }
        }
        cJSON_AddStringToObject(rj, "record", r->name);
        cJSON_AddItemToObject(rj, "files", files);
        cJSON_AddNumberToObject(rj, "samples", (double)n);
        cJSON_AddNumberToObject(rj, "first_rhythm_sample", (double)r->first);
        cJSON_AddItemToArray(recs, rj);
        dc_wfdb_header_free(h);
        if (st == DC_OK) {
            (*n_rec)++;
            st = pp_progress(o, "scanning records", i + 1, nh);
        }
    }
    return st;
}

dc_status dc_prepare_ecg(const dc_prepare_opts *o, dc_dataset *ds, char **meta_extra) {
    if (!o || !o->input || !ds || !meta_extra) return dc_fail(DC_ERR_ARG, "prepare ecg: NULL argument");
    memset(ds, 0, sizeof *ds);
    *meta_extra = NULL;
    char **heas = NULL;
    int nh = 0, n_rec = 0, n_sig = 0;
    dc_status st = dc_prepare_list(o->input, ".hea", &heas, &nh);
    if (st) return st;
    if (nh == 0) {
        dc_prepare_names_free(heas, nh);
        return dc_fail(DC_ERR_IO, "%s: no WFDB .hea headers in this folder", o->input);
    }
    rec_info *ri = calloc((size_t)nh, sizeof *ri);
    cJSON *m = pp_meta_new(o, "ecg"), *recs = cJSON_CreateArray(), *skipped = cJSON_CreateArray();
    cJSON *src = cJSON_CreateArray();
    dc_frames fr;
    memset(&fr, 0, sizeof fr);
    dc_sequences sq;
    memset(&sq, 0, sizeof sq);
    dc_backend *own = NULL, *be = NULL;
    dc_wfdb_record *rec = NULL;
    float *phys = NULL, *buf = NULL;
    int32_t *lab = NULL, *blab = NULL;
    double fs = 0, *mean = NULL, *sd = NULL, *m2 = NULL;
    char leads[8][64];
    memset(leads, 0, sizeof leads);
    if (!ri) {
        st = dc_fail(DC_ERR_OOM, "prepare ecg: out of memory");
        goto done;
    }
    if ((st = scan_records(o, heas, nh, ri, &n_rec, &fs, &n_sig, leads, recs, skipped, src)) != DC_OK) goto done;
    if (n_rec == 0) {
        st = dc_fail(DC_ERR_IO, "%s: no record has its signal files", o->input);
        goto done;
    }
    if (n_sig < 1 || n_sig > 64) {
        st = dc_fail(DC_ERR_FORMAT, "%s.hea: %d signals (need 1..64)", ri[0].path, n_sig);
        goto done;
    }
    int64_t W, H, L = INT64_MAX;
    if ((st = dc_stft_samples(fs, 1.0, 0.5, &W, &H)) != DC_OK) {
        dc_fail_prefix("%s.hea", ri[0].path);
        goto done;
    }
    for (int r = 0; r < n_rec; r++)
        if (ri[r].n_samples - ri[r].first < L) L = ri[r].n_samples - ri[r].first;
    const int64_t nb = W / 2 + 1, D = n_sig * nb, total = (int64_t)n_rec * L;
    const int64_t F = dc_stft_frames(total, W, H);
    if (F == 0) {
        st = dc_fail(DC_ERR_FORMAT, "%s: %d records of %lld labelled samples are shorter than one %lld-sample window",
                     o->input, n_rec, (long long)L, (long long)W);
        goto done;
    }
    const int64_t T = o->seq_len > 0 ? o->seq_len : 500, S = o->stride > 0 ? o->stride : T;
    /* pass B: per-lead mean and M2 per record, combined (Chan et al.) */
    mean = calloc((size_t)n_sig, sizeof *mean);
    sd = calloc((size_t)n_sig, sizeof *sd);
    m2 = calloc((size_t)n_sig, sizeof *m2);
    if (!mean || !sd || !m2) {
        st = dc_fail(DC_ERR_OOM, "prepare ecg: out of memory");
        goto done;
    }
    for (int r = 0; r < n_rec && st == DC_OK; r++) {
        if ((st = load_record(&ri[r], &rec, &phys, &lab)) != DC_OK) break;
        for (int c = 0; c < n_sig; c++) {
            double mu = 0, q = 0;
            const float *p = phys + ri[r].first * n_sig + c;
            for (int64_t t = 0; t < L; t++) mu += p[t * n_sig];
            mu /= (double)L;
            for (int64_t t = 0; t < L; t++) q += (p[t * n_sig] - mu) * (p[t * n_sig] - mu);
            double na = (double)r * (double)L, nt = na + (double)L, d = mu - mean[c];
            mean[c] += d * (double)L / nt;
            m2[c] += q + d * d * na * (double)L / nt;
        }
        free_record(&rec, &phys, &lab);
        st = pp_progress(o, "lead statistics", r + 1, n_rec);
    }
    if (st) goto done;
    for (int c = 0; c < n_sig; c++) {
        sd[c] = sqrt(m2[c] / (double)total);
        if (sd[c] == 0) sd[c] = 1.0;
    }
    /* pass C: z-scored records into a rolling buffer of the concatenation; frames as they fit */
    fr.n = F;
    fr.D = D;
    fr.n_classes = N_RHYTHM;
    for (int k = 0; k < N_RHYTHM; k++) snprintf(fr.class_names[k], sizeof fr.class_names[k], "%s", k_class[k]);
    fr.X = pp_alloc((size_t)F * (size_t)D * sizeof(float), "prepare ecg: features");
    fr.label = pp_alloc((size_t)F * sizeof(int32_t), "prepare ecg: labels");
    fr.subject = pp_alloc((size_t)F * sizeof(int32_t), "prepare ecg: records");
    const int64_t cap = L + W;
    buf = pp_alloc((size_t)cap * (size_t)n_sig * sizeof(float), "prepare ecg: buffer");
    blab = pp_alloc((size_t)cap * sizeof(int32_t), "prepare ecg: buffer");
    if (!fr.X || !fr.label || !fr.subject || !buf || !blab) {
        st = dc_last_status();
        goto done;
    }
    if (!(be = pp_backend(o, &own))) {
        st = dc_fail_prefix("prepare ecg");
        goto done;
    }
    int64_t g0 = 0, bn = 0, next = 0; /* buffer holds global samples [g0, g0 + bn) */
    for (int r = 0; r < n_rec && st == DC_OK; r++) {
        if ((st = load_record(&ri[r], &rec, &phys, &lab)) != DC_OK) break;
        for (int c = 0; c < n_sig; c++) {
            const float *p = phys + ri[r].first * n_sig + c;
            float *dst = buf + c * cap + bn;
            for (int64_t t = 0; t < L; t++) dst[t] = (float)((p[t * n_sig] - mean[c]) / sd[c]);
        }
        memcpy(blab + bn, lab + ri[r].first, (size_t)L * sizeof(int32_t));
        free_record(&rec, &phys, &lab);
        bn += L;
        int64_t end = (g0 + bn - W) / H + 1; /* frames m with m*H + W <= g0 + bn */
        if (g0 + bn < W) end = 0;
        if (end > F) end = F;
        if (end > next) {
            const int64_t o0 = next * H - g0, len = (end - 1 - next) * H + W;
            st = dc_stft_magnitude(be, buf + o0, len, n_sig, 1, cap, W, H, fr.X + next * D, D);
            if (st == DC_OK) st = dc_windowed_labels(blab + o0, len, W, H, N_RHYTHM, fr.label + next);
            for (int64_t k = next; k < end; k++) fr.subject[k] = (int32_t)(k * H / L);
            next = end;
        }
        int64_t drop = next * H - g0; /* samples before the next frame's start */
        if (drop > bn) drop = bn;
        if (drop > 0) {
            for (int c = 0; c < n_sig; c++) memmove(buf + c * cap, buf + c * cap + drop, (size_t)(bn - drop) * sizeof(float));
            memmove(blab, blab + drop, (size_t)(bn - drop) * sizeof(int32_t));
            g0 += drop;
            bn -= drop;
        }
        if (st == DC_OK) st = pp_progress(o, "STFT", r + 1, n_rec);
    }
    if (st) goto done;
    if (next != F) {
        st = dc_fail(DC_ERR_STATE, "prepare ecg: computed %lld of %lld frames", (long long)next, (long long)F);
        goto done;
    }
    if ((st = pp_stream_sequences(F, T, S, o->input, &sq)) != DC_OK) goto done;
    cJSON *pre = cJSON_CreateObject(), *stft = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "source_format", "WFDB records (.hea, .dat, .atr), MIT-BIH style");
    cJSON_AddNumberToObject(pre, "fs_hz", fs);
    cJSON_AddNumberToObject(pre, "leads", n_sig);
    cJSON *ln = cJSON_CreateArray();
    for (int c = 0; c < n_sig; c++) cJSON_AddItemToArray(ln, cJSON_CreateString(c < 8 ? leads[c] : ""));
    cJSON_AddItemToObject(pre, "lead_names", ln);
    cJSON_AddNumberToObject(pre, "common_length", (double)L);
    cJSON_AddStringToObject(pre, "trim",
                            "samples before each record's first rhythm annotation dropped; records cut to the shortest");
    cJSON *nz = cJSON_CreateObject();
    cJSON_AddStringToObject(nz, "kind", "z-score per lead over all records and time (before the STFT)");
    cJSON_AddStringToObject(nz, "std", "population");
    cJSON_AddNumberToObject(nz, "zero_std_replaced_by", 1);
    cJSON_AddItemToObject(nz, "mean", pp_double_array(mean, n_sig));
    cJSON_AddItemToObject(nz, "std_values", pp_double_array(sd, n_sig));
    cJSON_AddItemToObject(pre, "normalization", nz);
    cJSON_AddStringToObject(pre, "concatenation", "records concatenated in time, record after record");
    cJSON_AddNumberToObject(stft, "window_s", 1.0);
    cJSON_AddNumberToObject(stft, "hop_s", 0.5);
    cJSON_AddNumberToObject(stft, "window", (double)W);
    cJSON_AddNumberToObject(stft, "hop", (double)H);
    cJSON_AddStringToObject(stft, "window_fn", "hann (periodic)");
    cJSON_AddBoolToObject(stft, "center", 0);
    cJSON_AddBoolToObject(stft, "onesided", 1);
    cJSON_AddStringToObject(stft, "features", "magnitude");
    char lay[64];
    snprintf(lay, sizeof lay, "channel-major: feature lead*%lld + k", (long long)nb);
    cJSON_AddStringToObject(stft, "layout", lay);
    cJSON_AddItemToObject(pre, "stft", stft);
    cJSON_AddStringToObject(pre, "labels", "rhythm annotations (type 28 + aux) per sample, argmax windowed, ties to the "
                                           "smaller class");
    cJSON_AddStringToObject(pre, "subject", "record index of a frame's first sample");
    cJSON_AddItemToObject(m, "preprocessing", pre);
    cJSON *lm = cJSON_CreateObject();
    cJSON_AddStringToObject(lm, "(AFIB", "AFIB");
    cJSON_AddStringToObject(lm, "(AFL", "AFL");
    cJSON_AddStringToObject(lm, "(J", "J");
    cJSON_AddStringToObject(lm, "(NOD", "J");
    cJSON_AddStringToObject(lm, "other", "N");
    cJSON_AddItemToObject(m, "label_map", lm);
    cJSON_AddItemToObject(m, "records", recs);
    cJSON_AddItemToObject(m, "skipped_records", skipped);
    cJSON_AddItemToObject(m, "sources", src);
    recs = skipped = src = NULL;
    st = pp_finish_meta(m, meta_extra);
    m = NULL;
    if (st == DC_OK) st = pp_check_finite(o, &fr, "ecg");
    if (st == DC_OK) st = dc_dataset_from_frames("ecg", &fr, &sq, S, ds);
    if (st) {
        free(*meta_extra);
        *meta_extra = NULL;
    }
done:
    cJSON_Delete(m);
    cJSON_Delete(recs);
    cJSON_Delete(skipped);
    cJSON_Delete(src);
    free_record(&rec, &phys, &lab);
    free(ri);
    free(buf);
    free(blab);
    free(mean);
    free(sd);
    free(m2);
    dc_prepare_names_free(heas, nh);
    dc_frames_free(&fr);
    dc_sequences_free(&sq);
    dc_backend_free(own);
    return st;
}
