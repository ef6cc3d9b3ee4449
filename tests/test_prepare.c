/* test_prepare.c: the prepare pipelines end to end. ECG on genuine MIT-BIH records from
 * the genuine data folder (features against a direct DFT of independently z-scored signals,
 * labels against a naive argmax, per-record class totals against the rhythm durations
 * counted once from the genuine .atr files by an independent parser, split sizes, meta.json,
 * reopening memory-mapped); HARTH and
 * SleepEEG on files written here in the public layouts; the balanced subset; atomic output
 * (failures and cancellation leave nothing); dataset folder validation; the CLI.
 */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dc/dc.h"
#include "data/dc_dataset.h"
#include "data/dc_edf.h"
#include "dc/dc_npy.h"
#include "data/dc_prepare.h"
#include "dc/dc_sha256.h"
#include "data/dc_wfdb.h"
#include "dc_test.h"

#define PI 3.14159265358979323846

/* ---- helpers ---------------------------------------------------------------------------- */

static char *slurp_text(const char *path) {
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *b = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = '\0';
    fclose(f);
    return b;
}

/* The number after "key": in JSON text (first occurrence). */
static double json_num(const char *text, const char *key) {
    char k[128];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *p = strstr(text, k);
    ck_assert_msg(p != NULL, "no %s in meta.json", k);
    return strtod(p + strlen(k), NULL);
}

static void link_records(const char *dir, const char *const *recs, int n) {
    for (int i = 0; i < n; i++)
        for (int e = 0; e < 3; e++) {
            static const char *const ext[3] = {"hea", "dat", "atr"};
            char src[4096], dst[8400], rel[64];
            snprintf(rel, sizeof rel, "mitdb/%s.%s", recs[i], ext[e]);
            dc_test_data_path(src, sizeof src, rel);
            snprintf(dst, sizeof dst, "%s/%s.%s", dir, recs[i], ext[e]);
            ck_assert_msg(symlink(src, dst) == 0, "symlink %s", dst);
        }
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    ck_assert(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static int exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0;
}

static dc_prepare_opts opts_for(const char *input) {
    dc_prepare_opts o = dc_prepare_opts_default();
    o.input = input;
    return o;
}

/* ---- ECG on genuine MIT-BIH records ------------------------------------------------------ */

typedef struct ecg_ref {
    int n_rec;
    int64_t L, F;
    double *z;        /* (2, n_rec * L) z-scored concatenation */
    int32_t *lab;     /* (n_rec * L) */
} ecg_ref;

/* The ECG pipeline's expected input, computed here from the readers (docs/METHOD.md §1.3 steps 2-6). */
static ecg_ref ecg_reference(const char *const *recs, int n) {
    ecg_ref r = {n, INT64_MAX, 0, NULL, NULL};
    float *phys[8];
    int32_t *lab[8];
    int64_t first[8];
    for (int i = 0; i < n; i++) {
        char base[4096], rel[64];
        snprintf(rel, sizeof rel, "mitdb/%s", recs[i]);
        dc_test_data_path(base, sizeof base, rel);
        dc_wfdb_record *rec;
        ck_assert_int_eq(dc_wfdb_record_read(base, &rec), DC_OK);
        ck_assert_int_eq(rec->n_samples, 650000);
        phys[i] = malloc(650000 * 2 * sizeof(float));
        lab[i] = malloc(650000 * sizeof(int32_t));
        ck_assert_int_eq(dc_wfdb_record_physical(rec, phys[i]), DC_OK);
        char atr[4200];
        snprintf(atr, sizeof atr, "%s.atr", base);
        dc_wfdb_annots *a;
        ck_assert_int_eq(dc_wfdb_annots_read(atr, &a), DC_OK);
        ck_assert_int_eq(dc_wfdb_rhythm_labels(a, 650000, lab[i], &first[i]), DC_OK);
        if (650000 - first[i] < r.L) r.L = 650000 - first[i];
        dc_wfdb_annots_free(a);
        dc_wfdb_record_free(rec);
    }
    const int64_t tot = n * r.L;
    r.z = malloc((size_t)(2 * tot) * sizeof(double));
    r.lab = malloc((size_t)tot * sizeof(int32_t));
    for (int c = 0; c < 2; c++) {
        double mu = 0, var = 0;
        for (int i = 0; i < n; i++)
            for (int64_t t = 0; t < r.L; t++) r.z[c * tot + i * r.L + t] = phys[i][(first[i] + t) * 2 + c];
        for (int64_t t = 0; t < tot; t++) mu += r.z[c * tot + t];
        mu /= (double)tot;
        for (int64_t t = 0; t < tot; t++) var += (r.z[c * tot + t] - mu) * (r.z[c * tot + t] - mu);
        double sd = sqrt(var / (double)tot);
        for (int64_t t = 0; t < tot; t++) r.z[c * tot + t] = (r.z[c * tot + t] - mu) / sd;
    }
    for (int i = 0; i < n; i++) {
        memcpy(r.lab + i * r.L, lab[i] + first[i], (size_t)r.L * sizeof(int32_t));
        free(phys[i]);
        free(lab[i]);
    }
    r.F = 1 + (tot - 360) / 180;
    return r;
}

static double ref_mag(const ecg_ref *r, int c, int64_t m, int64_t k) {
    const int64_t tot = r->n_rec * r->L;
    double re = 0, im = 0;
    for (int64_t n = 0; n < 360; n++) {
        double v = (0.5 - 0.5 * cos(2 * PI * n / 360.0)) * r->z[c * tot + m * 180 + n];
        re += v * cos(2 * PI * (double)(k * n % 360) / 360.0);
        im -= v * sin(2 * PI * (double)(k * n % 360) / 360.0);
    }
    return sqrt(re * re + im * im);
}

START_TEST(test_ecg_mitdb_end_to_end) {
    static const char *const recs[3] = {"201", "202", "203"};
    char *dir = dc_test_tmpdir(), in[4096], out[4096];
    snprintf(in, sizeof in, "%s/raw", dir);
    snprintf(out, sizeof out, "%s/prepared", dir);
    mkdir(in, 0777);
    link_records(in, recs, 3);
    /* a header whose signal file is absent (like afdb 00735 / 03665) is skipped */
    char src[4096], dst[4200];
    dc_test_data_path(src, sizeof src, "mitdb/100.hea");
    snprintf(dst, sizeof dst, "%s/099.hea", in);
    ck_assert_int_eq(symlink(src, dst), 0);
    dc_prepare_opts o = opts_for(in);
    dc_dataset ds;
    char *extra = NULL;
    ck_assert_msg(dc_prepare_ecg(&o, &ds, &extra) == DC_OK, "%s", dc_last_error());
    ecg_ref r = ecg_reference(recs, 3);
    ck_assert_str_eq(ds.name, "ecg");
    ck_assert_int_eq(ds.frames.D, 362); /* 2 leads x (360/2 + 1) bins at 360 Hz */
    ck_assert_int_eq(ds.frames.n, r.F);
    ck_assert_int_eq(ds.frames.n_classes, 4);
    ck_assert_str_eq(ds.frames.class_names[2], "J");
    /* features: frames at the start, around both record junctions, the end, and a spread */
    int64_t ms[40], nm = 0;
    ms[nm++] = 0, ms[nm++] = 1, ms[nm++] = r.F - 1;
    for (int j = 1; j < 3; j++)
        for (int64_t d = -2; d <= 1; d++) ms[nm++] = j * r.L / 180 + d;
    while (nm < 40) ms[nm] = (nm * 7919) % r.F, nm++;
    double worst = 0;
    for (int i = 0; i < nm; i++)
        for (int c = 0; c < 2; c++)
            for (int64_t k = 0; k < 181; k++) {
                double ref = ref_mag(&r, c, ms[i], k), got = ds.frames.X[ms[i] * 362 + c * 181 + k];
                double err = fabs(got - ref) / (1 + ref);
                if (err > worst) worst = err;
            }
    ck_assert_msg(worst < 1e-4, "feature relative error %g", worst);
    /* labels: argmax over each frame's 360 samples of the concatenated per-sample rhythm */
    int64_t bad = 0;
    for (int64_t m = 0; m < r.F; m++) {
        int cnt[4] = {0};
        for (int64_t n = 0; n < 360; n++) cnt[r.lab[m * 180 + n]]++;
        int best = 0;
        for (int k = 1; k < 4; k++) best = cnt[k] > cnt[best] ? k : best;
        bad += ds.frames.label[m] != best;
        bad += ds.frames.subject[m] != (int32_t)(m * 180 / r.L);
    }
    ck_assert_int_eq(bad, 0);
    /* class totals per record against the independently counted rhythm durations (0.5 s per frame):
     * 201 AFIB 606 s, NOD 24 s, N+T+SVTA 777+397+2 s; 202 N 1171, AFIB 586, AFL 48;
     * 203 AFIB 1455, AFL 314, VT+T 33+4 */
    static const double secs[3][4] = {{606, 0, 24, 1176}, {586, 48, 0, 1171}, {1455, 314, 0, 37}};
    dc_dataset_counts cnt;
    ck_assert_int_eq(dc_dataset_count(&ds, &cnt), DC_OK);
    ck_assert_int_eq(cnt.n_subjects, 3);
    for (int s = 0; s < 3; s++)
        for (int k = 0; k < 4; k++) {
            double got = 0.5 * (double)cnt.subject_frames[s * (DC_MAX_CLASSES + 1) + k];
            ck_assert_msg(fabs(got - secs[s][k]) <= 3.0, "record %s class %d: %.1f s, counted %.0f s", recs[s], k, got,
                          secs[s][k]);
        }
    dc_dataset_counts_free(&cnt);
    /* split: non-overlapping sequences of 500, the first n - floor(n/5) train */
    const int64_t n_seq = r.F / 500;
    ck_assert_int_eq(ds.seqs.n, n_seq);
    ck_assert_int_eq(ds.seqs.T, 500);
    ck_assert_int_eq(ds.stride, 500);
    ck_assert_int_eq(ds.n_train, n_seq - (int64_t)floor(0.2 * (double)n_seq));
    for (int64_t s = 0; s < n_seq; s++) ck_assert_int_eq(ds.seqs.start[s], 500 * s);
    /* written, then opened memory-mapped: identical arrays, meta.json with sources */
    ck_assert_msg(dc_dataset_write(&ds, out, extra, 0) == DC_OK, "%s", dc_last_error());
    dc_dataset mp;
    ck_assert_msg(dc_dataset_open(out, &mp) == DC_OK, "%s", dc_last_error());
    ck_assert_int_eq(mp.frames.n, ds.frames.n);
    ck_assert_int_eq(mp.n_train, ds.n_train);
    ck_assert(!memcmp(mp.frames.X, ds.frames.X, (size_t)(ds.frames.n * 362) * sizeof(float)));
    ck_assert(!memcmp(mp.frames.label, ds.frames.label, (size_t)ds.frames.n * sizeof(int32_t)));
    ck_assert_str_eq(mp.frames.class_names[0], "AFIB");
    /* the paper's counts, limited to what the test split holds (1324 AFIB items here) */
    dc_dataset_counts cc;
    ck_assert_int_eq(dc_dataset_count(&ds, &cc), DC_OK);
    ck_assert_int_eq(mp.balanced_count[0], cc.test[0] < 1577 ? cc.test[0] : 1577);
    ck_assert_int_eq(mp.balanced_count[3], cc.test[3] < 1467 ? cc.test[3] : 1467);
    dc_dataset_counts_free(&cc);
    ck_assert_str_eq(mp.dir, out);
    dc_dataset_close(&mp);
    char mpath[4200];
    snprintf(mpath, sizeof mpath, "%s/meta.json", out);
    char *meta = slurp_text(mpath);
    ck_assert_int_eq((int64_t)json_num(meta, "D"), 362);
    ck_assert_int_eq((int64_t)json_num(meta, "window"), 360);
    ck_assert_int_eq((int64_t)json_num(meta, "hop"), 180);
    ck_assert_int_eq((int64_t)json_num(meta, "n_train"), ds.n_train);
    ck_assert_int_eq((int64_t)json_num(meta, "common_length"), r.L);
    ck_assert_int_eq((int64_t)json_num(meta, "seed"), 42);
    ck_assert(strstr(meta, "16610ae46eff900794597503d15af4572a8b1518f18dbed2843b7e68c81f3898")); /* 201.dat */
    ck_assert(strstr(meta, "\"099\"") && strstr(meta, "signal file absent"));
    ck_assert(strstr(meta, "\"classes\":\t[\"AFIB\", \"AFL\", \"J\", \"N\"]"));
    free(meta);
    free(extra);
    dc_dataset_close(&ds);
    free(r.z);
    free(r.lab);
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_ecg_seq119_single_record) {
    static const char *const recs[1] = {"202"};
    char *dir = dc_test_tmpdir();
    link_records(dir, recs, 1);
    dc_prepare_opts o = opts_for(dir);
    o.seq_len = 119;
    dc_dataset ds;
    char *extra = NULL;
    ck_assert_msg(dc_prepare_ecg(&o, &ds, &extra) == DC_OK, "%s", dc_last_error());
    ck_assert_int_eq(ds.seqs.T, 119);
    ck_assert_int_eq(ds.seqs.n, ds.frames.n / 119);
    dc_dataset_counts c;
    ck_assert_int_eq(dc_dataset_count(&ds, &c), DC_OK);
    ck_assert_msg(fabs(0.5 * c.frames[1] - 48) <= 2 && fabs(0.5 * c.frames[0] - 586) <= 2 &&
                      fabs(0.5 * c.frames[3] - 1171) <= 2 && c.frames[2] == 0,
                  "202: AFIB %lld AFL %lld N %lld frames", (long long)c.frames[0], (long long)c.frames[1],
                  (long long)c.frames[3]);
    ck_assert_int_eq(c.train[0] + c.train[1] + c.train[2] + c.train[3], ds.n_train * 119);
    dc_dataset_counts_free(&c);
    free(extra);
    dc_dataset_close(&ds);
    /* errors: a missing .atr, an empty folder */
    char p[4200];
    snprintf(p, sizeof p, "%s/202.atr", dir);
    unlink(p);
    ck_assert_int_eq(dc_prepare_ecg(&o, &ds, &extra), DC_ERR_IO);
    ck_assert_msg(strstr(dc_last_error(), "202.atr") != NULL, "%s", dc_last_error());
    dc_test_rmtree(dir);
    mkdir(dir, 0777);
    ck_assert_int_eq(dc_prepare_ecg(&o, &ds, &extra), DC_ERR_IO);
    ck_assert(strstr(dc_last_error(), "no WFDB .hea headers"));
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- HARTH on CSVs written in the public layout ------------------------------------------- */

static const int k_codes[12] = {1, 2, 3, 4, 5, 6, 7, 8, 13, 14, 130, 140};

static double harth_value(int f, int64_t i, int c) {
    return 0.6 * sin(0.05 * (double)i * (c + 1) + f) + 0.3 * cos(0.31 * (double)i * (f + 2)) +
           0.02 * (double)(((i * 7 + c * 13 + f) * 2654435761u) % 1000) / 1000.0 - 0.1 * c;
}

static int harth_label(int f, int64_t i) { return k_codes[(int)((i / 330 + f * 5) % 12)]; }

/* rows of file f; the NaN row (f == 1, row 100) is dropped by the reader */
static void write_harth(const char *path, int f, int64_t rows) {
    FILE *o = fopen(path, "w");
    ck_assert(o);
    const char *eol = f == 2 ? "\r\n" : "\n";
    fprintf(o, "%stimestamp,back_x,back_y,back_z,thigh_x,thigh_y,thigh_z,label%s", f == 0 ? "," : "", eol);
    for (int64_t i = 0; i < rows; i++) {
        if (f == 0) fprintf(o, "%lld,", (long long)i);
        fprintf(o, "2019-01-12 %02lld:%02lld:%02lld.%03lld", (long long)(i / 180000), (long long)(i / 3000 % 60),
                (long long)(i / 50 % 60), (long long)(i % 50 * 20));
        for (int c = 0; c < 6; c++) {
            if (f == 1 && i == 100 && c == 3) fprintf(o, ",nan");
            else fprintf(o, ",%.6f", harth_value(f, i, c));
        }
        fprintf(o, ",%d%s", harth_label(f, i), eol);
    }
    fclose(o);
}

static int code_class(int code) {
    for (int k = 0; k < 12; k++)
        if (k_codes[k] == code) return k;
    return -1;
}

START_TEST(test_harth_pipeline) {
    char *dir = dc_test_tmpdir(), p[4200];
    /* written out of order: the pipeline sorts by name (S006, S008, S010) */
    const char *names[3] = {"S006.csv", "S008.csv", "S010.csv"};
    const int64_t rows[3] = {8000, 9001, 10000};
    for (int f = 2; f >= 0; f--) {
        snprintf(p, sizeof p, "%s/%s", dir, names[f]);
        write_harth(p, f, rows[f]);
    }
    snprintf(p, sizeof p, "%s/notes.txt", dir); /* ignored */
    FILE *t = fopen(p, "w");
    fputs("not a csv\n", t);
    fclose(t);
    dc_prepare_opts o = opts_for(dir);
    o.seed = 7;
    dc_dataset ds;
    char *extra = NULL;
    ck_assert_msg(dc_prepare_harth(&o, &ds, &extra) == DC_OK, "%s", dc_last_error());
    /* reference: raw samples -> direct STFT (W 50, H 25) -> z-score in double */
    int64_t F[3], n = 0;
    for (int f = 0; f < 3; f++) n += F[f] = 1 + (rows[f] - (f == 1) - 50) / 25;
    ck_assert_int_eq(ds.frames.n, n);
    ck_assert_int_eq(ds.frames.D, 156);
    double *ref = malloc((size_t)(n * 156) * sizeof(double));
    int32_t *rlab = malloc((size_t)n * sizeof(int32_t));
    int64_t row0 = 0;
    for (int f = 0; f < 3; f++) {
        int64_t kept = rows[f] - (f == 1);
        double *sig = malloc((size_t)(kept * 6) * sizeof(double));
        int *lab = malloc((size_t)kept * sizeof(int));
        for (int64_t i = 0, j = 0; i < rows[f]; i++) {
            if (f == 1 && i == 100) continue;
            for (int c = 0; c < 6; c++) {
                char txt[32];
                snprintf(txt, sizeof txt, "%.6f", harth_value(f, i, c));
                sig[j * 6 + c] = (double)strtof(txt, NULL); /* the value as the CSV holds it */
            }
            lab[j++] = code_class(harth_label(f, i));
        }
        for (int64_t m = 0; m < F[f]; m++) {
            for (int c = 0; c < 6; c++)
                for (int k = 0; k < 26; k++) {
                    double re = 0, im = 0;
                    for (int q = 0; q < 50; q++) {
                        double v = (0.5 - 0.5 * cos(2 * PI * q / 50.0)) * sig[(m * 25 + q) * 6 + c];
                        re += v * cos(2 * PI * (k * q % 50) / 50.0);
                        im -= v * sin(2 * PI * (k * q % 50) / 50.0);
                    }
                    ref[(row0 + m) * 156 + c * 26 + k] = sqrt(re * re + im * im);
                }
            int cnt[12] = {0};
            for (int q = 0; q < 50; q++) cnt[lab[m * 25 + q]]++;
            int best = 0;
            for (int k = 1; k < 12; k++) best = cnt[k] > cnt[best] ? k : best;
            rlab[row0 + m] = best;
        }
        row0 += F[f];
        free(sig);
        free(lab);
    }
    double worst = 0;
    for (int j = 0; j < 156; j++) {
        double mu = 0, var = 0;
        for (int64_t i = 0; i < n; i++) mu += ref[i * 156 + j];
        mu /= (double)n;
        for (int64_t i = 0; i < n; i++) var += (ref[i * 156 + j] - mu) * (ref[i * 156 + j] - mu);
        double sd = sqrt(var / (double)n);
        if (sd == 0) sd = 1e-10;
        for (int64_t i = 0; i < n; i++) {
            double e = fabs((ref[i * 156 + j] - mu) / sd - ds.frames.X[i * 156 + j]);
            if (e > worst) worst = e;
        }
    }
    ck_assert_msg(worst < 2e-3, "z-scored feature error %g", worst);
    int64_t bad = 0, off = 0;
    for (int64_t i = 0; i < n; i++) bad += ds.frames.label[i] != rlab[i];
    ck_assert_int_eq(bad, 0);
    /* subjects in sorted file order; windows per file by the docs/METHOD.md §1.1 rule */
    int64_t s_expect = 0;
    for (int f = 0; f < 3; f++) {
        for (int64_t m = 0; m < F[f]; m++) ck_assert_int_eq(ds.frames.subject[off + m], f);
        int64_t nwin = (F[f] + 1 - 119 + 23) / 24;
        for (int64_t j = 0; j < nwin; j++) {
            ck_assert_int_le(24 * j + 119, F[f]);
            ck_assert_int_eq(ds.seqs.start[s_expect + j], off + 24 * j);
        }
        s_expect += nwin;
        off += F[f];
    }
    ck_assert_int_eq(ds.seqs.n, s_expect);
    ck_assert_int_eq(ds.seqs.T, 119);
    ck_assert_int_eq(ds.stride, 24);
    ck_assert_int_eq(ds.n_train, s_expect - s_expect / 5);
    ck_assert(strstr(extra, "\"seed\":7"));
    for (int f = 0; f < 3; f++) { /* every source with its SHA-256 */
        char hex[65];
        snprintf(p, sizeof p, "%s/%s", dir, names[f]);
        ck_assert_int_eq(dc_sha256_file(p, hex, NULL), DC_OK);
        ck_assert_msg(strstr(extra, hex) && strstr(extra, names[f]), "%s missing from meta", names[f]);
    }
    ck_assert(strstr(extra, "\"rows_dropped_nan\":1"));
    free(ref);
    free(rlab);
    free(extra);
    dc_dataset_close(&ds);
    /* a broken file: the error names it and the line */
    snprintf(p, sizeof p, "%s/S009.csv", dir);
    t = fopen(p, "w");
    fputs("timestamp,back_x,back_y,back_z,thigh_x,thigh_y,thigh_z,label\n2019-01-12 00:00:00.000,1,2,x3,4,5,6,1\n", t);
    fclose(t);
    ck_assert_int_eq(dc_prepare_harth(&o, &ds, &extra), DC_ERR_FORMAT);
    ck_assert_msg(strstr(dc_last_error(), "S009.csv:2"), "%s", dc_last_error());
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- SleepEEG on PSG-shaped EDF + hypnogram files written here ---------------------------- */

static void put(uint8_t *b, size_t off, size_t w, const char *s) {
    memset(b + off, ' ', w);
    memcpy(b + off, s, strlen(s) < w ? strlen(s) : w);
}

static void put16(uint8_t *p, int v) {
    p[0] = (uint8_t)(v & 0xFF);
    p[1] = (uint8_t)((v >> 8) & 0xFF);
}

/* Physical range of the ordinary signals: 1 digital step = 0.5 uV unless a test changes it. */
static const char *g_phys_min = "-16384", *g_phys_max = "16383.5";

/* EDF with ns signals (label, samples per record) and nrec records; fill(r, s, i) gives
 * sample i of signal s in record r. */
static void write_edf(const char *path, const char *reserved, const char *dur, int ns, const char *const *labels,
                      const int *spr, int nrec, int (*fill)(int, int, int), const char *tal, size_t tal_len) {
    size_t hb = 256 * (size_t)(ns + 1), rb = 0;
    for (int s = 0; s < ns; s++) rb += 2 * (size_t)spr[s];
    size_t len = hb + rb * (size_t)nrec;
    uint8_t *b = calloc(1, len);
    char tmp[32];
    put(b, 0, 8, "0");
    put(b, 8, 80, "X X X test");
    put(b, 88, 80, "Startdate X X X X");
    put(b, 168, 8, "01.02.03");
    put(b, 176, 8, "04.05.06");
    snprintf(tmp, sizeof tmp, "%zu", hb);
    put(b, 184, 8, tmp);
    put(b, 192, 44, reserved);
    snprintf(tmp, sizeof tmp, "%d", nrec);
    put(b, 236, 8, tmp);
    put(b, 244, 8, dur);
    snprintf(tmp, sizeof tmp, "%d", ns);
    put(b, 252, 4, tmp);
    for (int i = 0; i < ns; i++) {
        int ann = !strcmp(labels[i], "EDF Annotations");
        put(b, 256 + 16 * i, 16, labels[i]);
        put(b, 256 + 16 * ns + 80 * i, 80, "");
        put(b, 256 + 96 * ns + 8 * i, 8, ann ? "" : "uV");
        put(b, 256 + 104 * ns + 8 * i, 8, ann ? "-1" : g_phys_min);
        put(b, 256 + 112 * ns + 8 * i, 8, ann ? "1" : g_phys_max);
        put(b, 256 + 120 * ns + 8 * i, 8, "-32768");
        put(b, 256 + 128 * ns + 8 * i, 8, "32767");
        put(b, 256 + 136 * ns + 80 * i, 80, "");
        snprintf(tmp, sizeof tmp, "%d", spr[i]);
        put(b, 256 + 216 * ns + 8 * i, 8, tmp);
        put(b, 256 + 224 * ns + 32 * i, 32, "");
    }
    uint8_t *p = b + hb;
    for (int r = 0; r < nrec; r++)
        for (int s = 0; s < ns; s++) {
            if (tal) memcpy(p, tal, tal_len);
            else
                for (int i = 0; i < spr[s]; i++) put16(p + 2 * i, fill(r, s, i));
            p += 2 * spr[s];
        }
    FILE *f = fopen(path, "wb");
    ck_assert(f);
    ck_assert_uint_eq(fwrite(b, 1, len, f), len);
    fclose(f);
    free(b);
}

static int g_pair;
/* EEG Fpz-Cz digital value: distinct per pair, record and sample */
static int psg_fill(int r, int s, int i) { return s == 1 ? (g_pair * 7000 + r * 3000 + i) % 30000 - 15000 : 3; }

static void write_pair(const char *dir, const char *psg, const char *hyp, int pair, int nrec, const char *tal,
                       size_t tal_len) {
    static const char *const labels[3] = {"Temp rectal", "EEG Fpz-Cz", "EEG Pz-Oz"};
    static const int spr[3] = {30, 3000, 3000};
    char p[4200];
    g_pair = pair;
    snprintf(p, sizeof p, "%s/%s", dir, psg);
    write_edf(p, "", "30", 3, labels, spr, nrec, psg_fill, NULL, 0);
    static const char *const al[1] = {"EDF Annotations"};
    static const int as[1] = {200};
    snprintf(p, sizeof p, "%s/%s", dir, hyp);
    write_edf(p, "EDF+C", "0", 1, al, as, 1, NULL, tal, tal_len);
}

#define TAL(s) s, sizeof(s) - 1

START_TEST(test_sleepeeg_pipeline) {
    char *dir = dc_test_tmpdir();
    /* pair 0: W, stage 1, ?, R over 4 epochs; pair 1: 2, 4, Movement time over 3 */
    write_pair(dir, "SC4001E0-PSG.edf", "SC4001EC-Hypnogram.edf", 0, 4,
               TAL("+0\x14\x14\0+0\x15" "30\x14Sleep stage W\x14\0+30\x15" "30\x14Sleep stage 1\x14\0"
                   "+60\x15" "30\x14Sleep stage ?\x14\0+90\x15" "30\x14Sleep stage R\x14\0"));
    write_pair(dir, "SC4002E0-PSG.edf", "SC4002EH-Hypnogram.edf", 1, 3,
               TAL("+0\x14\x14\0+0\x15" "30\x14Sleep stage 2\x14\0+30\x15" "30\x14Sleep stage 4\x14\0"
                   "+60\x15" "30\x14Movement time\x14\0"));
    dc_prepare_opts o = opts_for(dir);
    o.seq_len = 10;
    dc_dataset ds;
    char *extra = NULL;
    ck_assert_msg(dc_prepare_sleepeeg(&o, &ds, &extra) == DC_OK, "%s", dc_last_error());
    ck_assert_int_eq(ds.frames.n, 75);
    ck_assert_int_eq(ds.frames.D, 178);
    static const int32_t want_lab[5] = {0, 1, 4, 2, 3};       /* W N1 REM | N2 N3 */
    static const int ep[5][2] = {{0, 0}, {0, 1}, {0, 3}, {1, 0}, {1, 1}}; /* (pair, epoch) */
    int64_t bad = 0;
    for (int64_t r = 0; r < 75; r++) {
        int e = (int)(r / 15), w = (int)(r % 15);
        bad += ds.frames.label[r] != want_lab[e];
        bad += ds.frames.subject[r] != ep[e][0];
        for (int j = 0; j < 178; j++) {
            int t = ep[e][1] * 3000 + w * 200 + j; /* sample in the PSG; records are 3000 long */
            int dig = (ep[e][0] * 7000 + (t / 3000) * 3000 + t % 3000) % 30000 - 15000;
            bad += ds.frames.X[r * 178 + j] != (float)(dig / 2.0);
        }
    }
    ck_assert_int_eq(bad, 0);
    ck_assert_int_eq(ds.seqs.n, 7); /* 75 // 10; the last 5 instances dropped */
    ck_assert_int_eq(ds.n_train, 6);
    ck_assert_int_eq(ds.seqs.start[6], 60);
    ck_assert(strstr(extra, "SC4002EH-Hypnogram.edf") && strstr(extra, "\"pairs\""));
    free(extra);
    dc_dataset_close(&ds);
    /* --from-npy: float64 (N, 1, D) samples and int64 labels, as converted from TF-C's train.pt */
    char *nd = dc_test_tmpdir(), p[4200];
    double *xs = malloc(40 * 178 * sizeof(double));
    int64_t ls[40];
    for (int i = 0; i < 40 * 178; i++) xs[i] = 0.25 * (i % 1001) - 100;
    for (int i = 0; i < 40; i++) ls[i] = (i / 15) % 5;
    snprintf(p, sizeof p, "%s/samples.npy", nd);
    ck_assert_int_eq(dc_npy_write(p, DC_NPY_F64, 3, (int64_t[]){40, 1, 178}, xs), DC_OK);
    snprintf(p, sizeof p, "%s/labels.npy", nd);
    ck_assert_int_eq(dc_npy_write(p, DC_NPY_I64, 1, (int64_t[]){40}, ls), DC_OK);
    o = opts_for(nd);
    o.from_npy = 1;
    o.seq_len = 8;
    ck_assert_msg(dc_prepare_sleepeeg(&o, &ds, &extra) == DC_OK, "%s", dc_last_error());
    ck_assert_int_eq(ds.frames.n, 40);
    ck_assert_int_eq(ds.seqs.n, 5);
    ck_assert_int_eq(ds.n_train, 4);
    for (int i = 0; i < 40 * 178; i++) ck_assert(ds.frames.X[i] == (float)xs[i]);
    for (int i = 0; i < 40; i++) ck_assert(ds.frames.label[i] == ls[i] && ds.frames.subject[i] == 0);
    free(extra);
    dc_dataset_close(&ds);
    ls[3] = 5;
    ck_assert_int_eq(dc_npy_write(p, DC_NPY_I64, 1, (int64_t[]){40}, ls), DC_OK);
    ck_assert_int_eq(dc_prepare_sleepeeg(&o, &ds, &extra), DC_ERR_FORMAT);
    ck_assert_msg(strstr(dc_last_error(), "labels.npy: element 3 is 5"), "%s", dc_last_error());
    free(xs);
    dc_test_rmtree(nd);
    free(nd);
    /* a PSG without its hypnogram */
    snprintf(p, sizeof p, "%s/SC4002EH-Hypnogram.edf", dir);
    unlink(p);
    o = opts_for(dir);
    ck_assert_int_eq(dc_prepare_sleepeeg(&o, &ds, &extra), DC_ERR_IO);
    ck_assert_msg(strstr(dc_last_error(), "SC4002E0-PSG.edf: no hypnogram"), "%s", dc_last_error());
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

/* An EDF whose physical range (+-1e300) turns samples into values beyond float32: the
 * pipeline refuses the Inf that results, naming the instance and its subject, unless
 * allow_nonfinite. */
START_TEST(test_sleepeeg_overflow_refused) {
    char *dir = dc_test_tmpdir();
    g_phys_min = "-1e300", g_phys_max = "1e300";
    write_pair(dir, "SC4001E0-PSG.edf", "SC4001EC-Hypnogram.edf", 0, 2,
               TAL("+0\x14\x14\0+0\x15" "60\x14Sleep stage W\x14\0"));
    g_phys_min = "-16384", g_phys_max = "16383.5";
    dc_prepare_opts o = opts_for(dir);
    o.seq_len = 5;
    dc_dataset ds;
    char *extra = NULL;
    ck_assert_int_eq(dc_prepare_sleepeeg(&o, &ds, &extra), DC_ERR_NUMERIC);
    ck_assert_msg(strstr(dc_last_error(), "prepare sleepeeg: instance 0 (subject 0), feature 0 is ") &&
                      strstr(dc_last_error(), "--allow-nonfinite"),
                  "%s", dc_last_error());
    ck_assert_ptr_null(extra);
    o.allow_nonfinite = 1;
    ck_assert_msg(dc_prepare_sleepeeg(&o, &ds, &extra) == DC_OK, "%s", dc_last_error());
    ck_assert(!isfinite(ds.frames.X[0]));
    free(extra);
    dc_dataset_close(&ds);
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- balanced subset, dataset folders, atomic output -------------------------------------- */

START_TEST(test_balanced_subset) {
    int64_t c[DC_MAX_CLASSES];
    ck_assert_int_eq(dc_balanced_paper_counts("harth", c), 12);
    ck_assert(c[0] == 1000 && c[10] == 1000 && c[11] == 500);
    ck_assert_int_eq(dc_balanced_paper_counts("ecg", c), 4);
    ck_assert(c[0] == 1577 && c[1] == 972 && c[2] == 459 && c[3] == 1467);
    ck_assert_int_eq(dc_balanced_paper_counts("sleepeeg", c), 5);
    ck_assert(c[4] == 1000 && c[5] == 0);
    ck_assert_int_eq(dc_balanced_paper_counts("other", c), 0);
    dc_dataset ds;
    ck_assert_msg(dc_dataset_synthetic(NULL, &ds) == DC_OK, "%s", dc_last_error());
    ck_assert_int_eq(ds.seqs.T, 119);
    ck_assert_int_eq(ds.n_train, ds.seqs.n - ds.seqs.n / 5);
    const int64_t items = dc_dataset_test_items(&ds);
    ck_assert_int_eq(items, (ds.seqs.n - ds.n_train) * 119);
    ck_assert_int_eq(dc_dataset_test_item_frame(&ds, 0), ds.seqs.start[ds.n_train]);
    ck_assert_int_eq(dc_dataset_test_item_frame(&ds, 120), ds.seqs.start[ds.n_train + 1] + 1);
    ck_assert_int_eq(dc_dataset_test_item_frame(&ds, items), -1);
    int64_t total = 0;
    for (int k = 0; k < ds.frames.n_classes; k++) {
        ck_assert_int_gt(ds.balanced_count[k], 0);
        ck_assert_int_le(ds.balanced_count[k], 500);
        total += ds.balanced_count[k];
    }
    int64_t *a, *b, na, nb;
    ck_assert_int_eq(dc_balanced_subset(&ds, 42, &a, &na), DC_OK);
    ck_assert_int_eq(dc_balanced_subset(&ds, 42, &b, &nb), DC_OK);
    ck_assert_int_eq(na, total);
    ck_assert(nb == na && !memcmp(a, b, (size_t)na * sizeof *a)); /* deterministic per seed */
    free(b);
    ck_assert_int_eq(dc_balanced_subset(&ds, 43, &b, &nb), DC_OK);
    ck_assert(memcmp(a, b, (size_t)na * sizeof *a) != 0);
    free(b);
    char *seen = calloc((size_t)items, 1);
    int64_t pos = 0;
    for (int k = 0; k < ds.frames.n_classes; k++) /* class by class, distinct items of that class */
        for (int64_t j = 0; j < ds.balanced_count[k]; j++, pos++) {
            ck_assert(a[pos] >= 0 && a[pos] < items && !seen[a[pos]]);
            seen[a[pos]] = 1;
            ck_assert_int_eq(ds.frames.label[dc_dataset_test_item_frame(&ds, a[pos])], k);
        }
    free(seen);
    free(a);
    ds.balanced_count[1] = items + 1;
    ck_assert_int_eq(dc_balanced_subset(&ds, 1, &a, &na), DC_ERR_SHAPE);
    ck_assert_msg(strstr(dc_last_error(), ds.frames.class_names[1]), "%s", dc_last_error());
    dc_dataset_close(&ds);
    dc_dataset_close(&ds);
}
END_TEST

static int cancel_at_stft(void *user, const char *stage, int64_t done, int64_t total) {
    (void)user;
    (void)done;
    (void)total;
    return strcmp(stage, "STFT") == 0;
}

START_TEST(test_atomic_output_and_validation) {
    char *dir = dc_test_tmpdir(), out[4200], p[4300];
    snprintf(out, sizeof out, "%s/ds", dir);
    dc_dataset ds;
    ck_assert_int_eq(dc_dataset_synthetic(NULL, &ds), DC_OK);
    /* a clashing meta_extra key: nothing written */
    ck_assert_int_eq(dc_dataset_write(&ds, out, "{\"D\": 1}", 0), DC_ERR_ARG);
    ck_assert_int_eq(dc_dataset_write(&ds, out, "[1]", 0), DC_ERR_ARG);
    ck_assert_int_eq(count_entries(dir), 0);
    /* a write that fails half-way (file size limit): no folder, no temporary left */
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {100000, 100000};
        setrlimit(RLIMIT_FSIZE, &rl);
        dc_status st = dc_dataset_write(&ds, out, NULL, 0);
        _exit(st == DC_ERR_IO && strstr(dc_last_error(), "X.npy") ? 0 : 1);
    }
    int wst;
    waitpid(pid, &wst, 0);
    ck_assert(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
    ck_assert_int_eq(count_entries(dir), 0);
    /* written; not replaced without overwrite; replaced with it */
    ck_assert_int_eq(dc_dataset_write(&ds, out, "{\"note\": \"first\"}", 0), DC_OK);
    ck_assert_int_eq(dc_dataset_write(&ds, out, NULL, 0), DC_ERR_IO);
    ck_assert(strstr(dc_last_error(), "already exists"));
    ck_assert_int_eq(dc_dataset_write(&ds, out, "{\"note\": \"second\"}", 1), DC_OK);
    snprintf(p, sizeof p, "%s/meta.json", out);
    char *meta = slurp_text(p);
    ck_assert(strstr(meta, "second") && !strstr(meta, "first"));
    ck_assert_int_eq((int64_t)json_num(meta, "n_instances"), ds.frames.n);
    free(meta);
    ck_assert_int_eq(count_entries(dir), 1);
    /* a folder that is not a dataset is never replaced */
    char other[4000];
    snprintf(other, sizeof other, "%s/mine", dir);
    mkdir(other, 0777);
    snprintf(p, sizeof p, "%s/keep.txt", other);
    FILE *f = fopen(p, "w");
    fclose(f);
    ck_assert_int_eq(dc_dataset_write(&ds, other, NULL, 1), DC_ERR_IO);
    ck_assert(exists(p));
    /* opening validates meta.json against the arrays */
    dc_dataset mp;
    ck_assert_int_eq(dc_dataset_open(out, &mp), DC_OK);
    ck_assert_int_eq(mp.seqs.n, ds.seqs.n);
    ck_assert(!memcmp(mp.seqs.start, ds.seqs.start, (size_t)ds.seqs.n * sizeof(int64_t)));
    dc_dataset_close(&mp);
    snprintf(p, sizeof p, "%s/label.npy", out);
    int32_t *lab = malloc((size_t)ds.frames.n * sizeof *lab);
    memcpy(lab, ds.frames.label, (size_t)ds.frames.n * sizeof *lab);
    lab[5] = 99;
    ck_assert_int_eq(dc_npy_write(p, DC_NPY_I32, 1, &ds.frames.n, lab), DC_OK);
    ck_assert_int_eq(dc_dataset_open(out, &mp), DC_ERR_FORMAT);
    ck_assert_msg(strstr(dc_last_error(), "instance 5 has label 99"), "%s", dc_last_error());
    ck_assert_int_eq(dc_npy_write(p, DC_NPY_I32, 1, (int64_t[]){ds.frames.n - 1}, lab), DC_OK);
    ck_assert_int_eq(dc_dataset_open(out, &mp), DC_ERR_FORMAT);
    ck_assert_msg(strstr(dc_last_error(), "label.npy"), "%s", dc_last_error());
    free(lab);
    snprintf(p, sizeof p, "%s/meta.json", out);
    f = fopen(p, "w");
    fputs("{\"format\": \"dynacl-dataset\", \"format_version\": 1,", f);
    fclose(f);
    ck_assert_int_eq(dc_dataset_open(out, &mp), DC_ERR_FORMAT);
    ck_assert_msg(strstr(dc_last_error(), "meta.json"), "%s", dc_last_error());
    ck_assert_int_eq(dc_dataset_open(dir, &mp), DC_ERR_IO);
    dc_dataset_close(&ds);
    /* a cancelled prepare fails with "interrupted" and writes nothing */
    char raw[4300], csv[4400];
    snprintf(raw, sizeof raw, "%s/raw", dir);
    mkdir(raw, 0777);
    snprintf(csv, sizeof csv, "%s/S006.csv", raw);
    write_harth(csv, 0, 2000);
    dc_prepare_opts o = opts_for(raw);
    o.progress = cancel_at_stft;
    char *extra = NULL;
    ck_assert_int_eq(dc_prepare_harth(&o, &ds, &extra), DC_ERR_STATE);
    ck_assert_msg(strstr(dc_last_error(), "interrupted"), "%s", dc_last_error());
    ck_assert_ptr_null(extra);
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_cli_prepare) {
    static char buf[1 << 16];
    char *dir = dc_test_tmpdir(), args[8192];
    static const char *const recs[2] = {"100", "219"};
    char raw[4300];
    snprintf(raw, sizeof raw, "%s/raw", dir);
    mkdir(raw, 0777);
    link_records(raw, recs, 2);
    snprintf(args, sizeof args, "prepare ecg --input '%s' --out '%s/ecg' --seq-len 119 --seed 5", raw, dir);
    ck_assert_int_eq(dc_test_run_cli(args, buf, sizeof buf), 0);
    ck_assert_msg(strstr(buf, "prepared ecg") && strstr(buf, "AFIB") && strstr(buf, "219") &&
                      strstr(buf, "train (x seq)") && strstr(buf, "T=119"),
                  "%s", buf);
    ck_assert_int_eq(dc_test_run_cli(args, buf, sizeof buf), 1); /* exists: needs --force */
    ck_assert_msg(strstr(buf, "--force"), "%s", buf);
    strcat(args, " --force --quiet");
    ck_assert_int_eq(dc_test_run_cli(args, buf, sizeof buf), 0);
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(test_cli_prepare_usage) {
    static char buf[1 << 16];
    char *dir = dc_test_tmpdir(), args[8192], raw[4300];
    snprintf(raw, sizeof raw, "%s/raw", dir);
    mkdir(raw, 0777);
    /* a failure leaves no folder and no temporary */
    snprintf(args, sizeof args, "prepare harth --input '%s' --out '%s/harth'", raw, dir);
    ck_assert_int_eq(dc_test_run_cli(args, buf, sizeof buf), 1);
    ck_assert_msg(strstr(buf, "no HARTH .csv files"), "%s", buf);
    ck_assert_int_eq(count_entries(dir), 1);
    ck_assert_int_eq(dc_test_run_cli("prepare --input x --out y", buf, sizeof buf), 2);
    ck_assert_int_eq(dc_test_run_cli("prepare nope --input x --out y", buf, sizeof buf), 2);
    ck_assert_int_eq(dc_test_run_cli("prepare ecg --input x", buf, sizeof buf), 2);
    ck_assert_int_eq(dc_test_run_cli("prepare ecg --from-npy --input x --out y", buf, sizeof buf), 2);
    ck_assert_int_eq(dc_test_run_cli("prepare --help", buf, sizeof buf), 0);
    ck_assert(strstr(buf, "--seq-len") && strstr(buf, "--from-npy"));
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

/* `dynacl prepare` killed with SIGKILL while it writes leaves its hidden temporary folder (a
 * partial X.npy); the next prepare into the same output removes it. The kill comes as soon as
 * the temporary folder appears; if the writer wins the race (renamed already), try again. */
START_TEST(test_cli_prepare_killed) {
    static char buf[1 << 16];
    const char *bin = getenv("DC_DYNACL_BIN");
    ck_assert_msg(bin && *bin, "DC_DYNACL_BIN is not set (run through ctest)");
    char *dir = dc_test_tmpdir(), raw[4300], csv[4400], out[4300], args[9000];
    snprintf(raw, sizeof raw, "%s/raw", dir);
    mkdir(raw, 0777);
    snprintf(csv, sizeof csv, "%s/S006.csv", raw);
    write_harth(csv, 0, 200000);
    snprintf(out, sizeof out, "%s/ds", dir);
    int caught = 0;
    for (int attempt = 0; attempt < 5 && !caught; attempt++) {
        dc_test_rmtree(out);
        pid_t pid = fork();
        ck_assert(pid >= 0);
        if (pid == 0) {
            int null = open("/dev/null", O_WRONLY);
            dup2(null, 1), dup2(null, 2);
            execl(bin, bin, "prepare", "harth", "--input", raw, "--out", out, "--quiet", (char *)NULL);
            _exit(127);
        }
        int seen = 0, st = 0;
        while (!seen && waitpid(pid, &st, WNOHANG) == 0) seen = dc_test_count_prefixed(dir, ".ds.tmp-") > 0;
        if (seen) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
        }
        caught = WIFSIGNALED(st) && dc_test_count_prefixed(dir, ".ds.tmp-") == 1;
    }
    ck_assert_msg(caught, "prepare was never caught writing");
    char tmp[4300];
    DIR *d = opendir(dir);
    for (struct dirent *e; (e = readdir(d));)
        if (!strncmp(e->d_name, ".ds.tmp-", 8)) snprintf(tmp, sizeof tmp, "%s/%s", dir, e->d_name);
    closedir(d);
    ck_assert(exists(tmp)); /* the killed writer's partial output */
    snprintf(args, sizeof args, "prepare harth --input '%s' --out '%s' --quiet --force", raw, out);
    ck_assert_msg(dc_test_run_cli(args, buf, sizeof buf) == 0, "%s", buf);
    ck_assert_msg(!exists(tmp), "%s: left by the killed prepare, still there", tmp);
    ck_assert_int_eq(dc_test_count_prefixed(dir, ".ds."), 0);
    snprintf(csv, sizeof csv, "%s/meta.json", out);
    ck_assert(exists(csv));
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

int main(void) {
    Suite *s = suite_create("prepare");
    if (dc_test_have_data("mitdb", "the ECG pipeline on genuine MIT-BIH records")) {
        TCase *te = tcase_create("ecg");
        tcase_set_timeout(te, 120);
        tcase_add_test(te, test_ecg_mitdb_end_to_end);
        tcase_add_test(te, test_ecg_seq119_single_record);
        tcase_add_test(te, test_cli_prepare);
        suite_add_tcase(s, te);
    }
    TCase *tc = tcase_create("prepare");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_harth_pipeline);
    tcase_add_test(tc, test_sleepeeg_pipeline);
    tcase_add_test(tc, test_sleepeeg_overflow_refused);
    tcase_add_test(tc, test_balanced_subset);
    tcase_add_test(tc, test_atomic_output_and_validation);
    tcase_add_test(tc, test_cli_prepare_usage);
    tcase_add_test(tc, test_cli_prepare_killed);
    suite_add_tcase(s, tc);
    return dc_test_exit(dc_test_run_suite(s));
}
