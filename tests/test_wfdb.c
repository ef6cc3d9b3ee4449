/* test_wfdb.c: WFDB reader on the 7 genuine mitdb records, on small records written here
 * (other formats, 250 Hz), and on broken copies. Expected values come from the .hea text
 * (initial values, checksums), from counts made once on the genuine files by an independent
 * decoder (a throw-away script, not this reader: ADC range, rhythm changes and seconds per
 * rhythm string, rounded to 1 s) and from hand-built byte strings, never from the reader's
 * own output.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dc_wfdb.h"
#include "dc_test.h"

/* Facts per record: the .hea text (name of lead 2, initial values, checksums) and the counts
 * of the independent decoder (rhythm-change count, seconds of AFIB/AFL/nodal rhythm). */
typedef struct rec_fact {
    const char *name, *lead2;
    int init[2], cksum[2];
    int n_rhythm;                   /* type-28 annotations (rhythm changes) */
    int first_rhythm_sample;        /* sample of the first type-28 annotation */
    double afib_s, afl_s, nod_s;    /* counted seconds of (AFIB, (AFL, (NOD */
    double n_s;                     /* counted seconds of every other rhythm string, summed */
} rec_fact;

static const rec_fact RECS[] = {
    {"100", "V5", {995, 1011}, {-22131, 20052}, 1, -1, 0, 0, 0, 1806},
    {"201", "V1", {972, 982}, {-519, 30947}, 35, 60, 606, 0, 24, 777 + 397 + 2},
    {"202", "V1", {1024, 1049}, {-29350, -32096}, 8, -1, 586, 48, 0, 1171},
    {"203", "V1", {972, 1037}, {5391, 28451}, 45, -1, 1455, 314, 0, 33 + 4},
    {"210", "V1", {1011, 1051}, {19348, -30580}, 17, -1, 1770, 0, 0, 23 + 7 + 6},
    {"219", "V1", {885, 833}, {19659, 28558}, 21, -1, 1427, 0, 0, 361 + 10 + 8},
    {"221", "V1", {967, 1034}, {-5769, -20025}, 23, -1, 1757, 0, 0, 42 + 3 + 4},
};
#define N_RECS ((int)(sizeof RECS / sizeof RECS[0]))

/* Seconds per aux string, counted by the independent decoder from the .atr files. */
typedef struct aux_secs { const char *rec, *aux; double secs; } aux_secs;
static const aux_secs AUX_SECS[] = {
    {"100", "(N", 1806},
    {"201", "(AFIB", 606}, {"201", "(N", 777}, {"201", "(T", 397}, {"201", "(NOD", 24}, {"201", "(SVTA", 2},
    {"202", "(N", 1171}, {"202", "(AFIB", 586}, {"202", "(AFL", 48},
    {"203", "(AFIB", 1455}, {"203", "(AFL", 314}, {"203", "(VT", 33}, {"203", "(T", 4},
    {"210", "(AFIB", 1770}, {"210", "(B", 23}, {"210", "(T", 7}, {"210", "(VT", 6},
    {"219", "(AFIB", 1427}, {"219", "(N", 361}, {"219", "(T", 10}, {"219", "(B", 8},
    {"221", "(AFIB", 1757}, {"221", "(T", 42}, {"221", "(B", 3}, {"221", "(VT", 4},
};

static void rec_path(char *buf, size_t cap, const char *name, const char *ext) {
    char rel[64];
    snprintf(rel, sizeof rel, "mitdb/%s%s", name, ext);
    dc_test_data_path(buf, cap, rel);
}

static void write_file(const char *dir, const char *name, const void *data, size_t len) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

static uint8_t *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    uint8_t *b = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* ---- genuine records -------------------------------------------------------------------- */

START_TEST(test_header_facts) {
    const rec_fact *rf = &RECS[_i];
    char rec[4096];
    rec_path(rec, sizeof rec, rf->name, "");
    dc_wfdb_header *h = NULL;
    ck_assert_msg(dc_wfdb_header_read(rec, &h) == DC_OK, "%s: %s", rf->name, dc_last_error());
    ck_assert_str_eq(h->name, rf->name);
    ck_assert_int_eq(h->n_sig, 2);
    ck_assert_double_eq(h->fs, 360.0);
    ck_assert_int_eq(h->n_samples, 650000);
    for (int s = 0; s < 2; s++) {
        const dc_wfdb_signal *sg = &h->sig[s];
        char dat[32];
        snprintf(dat, sizeof dat, "%s.dat", rf->name);
        ck_assert_str_eq(sg->file, dat);
        ck_assert_int_eq(sg->format, 212);
        ck_assert_double_eq(sg->gain, 200.0);
        ck_assert_int_eq(sg->adc_res, 11);
        ck_assert_int_eq(sg->adc_zero, 1024);
        ck_assert_int_eq(sg->baseline, 1024); /* no "(baseline)": defaults to ADC zero */
        ck_assert_str_eq(sg->units, "mV");
        ck_assert_int_eq(sg->init_value, rf->init[s]);
        ck_assert_int_eq(sg->has_checksum, 1);
        ck_assert_int_eq(sg->checksum, rf->cksum[s]);
        ck_assert_int_eq(sg->block_size, 0);
        ck_assert_int_eq((int)sg->byte_offset, 0);
    }
    ck_assert_str_eq(h->sig[0].description, "MLII");
    ck_assert_str_eq(h->sig[1].description, rf->lead2);
    dc_wfdb_header_free(h);
}
END_TEST

START_TEST(test_signal_checksums) {
    const rec_fact *rf = &RECS[_i];
    char rec[4096];
    rec_path(rec, sizeof rec, rf->name, "");
    dc_wfdb_record *r = NULL;
    ck_assert_msg(dc_wfdb_record_read(rec, &r) == DC_OK, "%s: %s", rf->name, dc_last_error());
    ck_assert_int_eq(r->n_sig, 2);
    ck_assert_int_eq(r->n_samples, 650000);
    for (int s = 0; s < 2; s++) {
        /* first sample = header initial value; 16-bit sum of all samples = header checksum */
        ck_assert_int_eq(r->samples[s], rf->init[s]);
        uint16_t sum = 0;
        for (int64_t t = 0; t < r->n_samples; t++) {
            int v = r->samples[t * 2 + s];
            sum = (uint16_t)(sum + (uint16_t)v);
        }
        ck_assert_msg((int16_t)sum == rf->cksum[s], "%s signal %d: sum %d, header %d", rf->name, s,
                      (int16_t)sum, rf->cksum[s]);
    }
    ck_assert_int_eq(dc_wfdb_record_verify(r), DC_OK);
    /* physical = (d - 1024) / 200 mV */
    float *phys = malloc((size_t)r->n_samples * 2 * sizeof *phys);
    ck_assert_int_eq(dc_wfdb_record_physical(r, phys), DC_OK);
    ck_assert_float_eq_tol(phys[0], (rf->init[0] - 1024) / 200.0f, 1e-6f);
    ck_assert_float_eq_tol(phys[1], (rf->init[1] - 1024) / 200.0f, 1e-6f);
    free(phys);
    dc_wfdb_record_free(r);
}
END_TEST

/* The independent decoder of the format-212 files found raw ADC values from 163 to 1752
 * over the 7 records. */
START_TEST(test_adc_range) {
    int g_min = 1 << 30, g_max = -(1 << 30);
    for (int k = 0; k < N_RECS; k++) {
        char rec[4096];
        rec_path(rec, sizeof rec, RECS[k].name, "");
        dc_wfdb_record *r = NULL;
        ck_assert_int_eq(dc_wfdb_record_read(rec, &r), DC_OK);
        for (int64_t i = 0; i < r->n_samples * 2; i++) {
            if (r->samples[i] < g_min) g_min = r->samples[i];
            if (r->samples[i] > g_max) g_max = r->samples[i];
        } /* (no ck_assert inside loops: each passing one costs a pipe write) */
        dc_wfdb_record_free(r);
    }
    ck_assert_int_eq(g_min, 163);
    ck_assert_int_eq(g_max, 1752);
}
END_TEST

/* aux equals s once trailing NULs are dropped (most aux strings in these files count a
 * trailing NUL, e.g. "(AFIB\0" length 6, but a few even-length ones such as "(AFL" have none) */
static int aux_eq(const dc_wfdb_ann *a, const char *s) {
    size_t n = strlen(s), m = a->aux ? (size_t)a->aux_len : 0;
    while (m && a->aux[m - 1] == '\0') m--;
    return a->aux && m == n && memcmp(a->aux, s, n) == 0;
}

START_TEST(test_annotations) {
    const rec_fact *rf = &RECS[_i];
    char path[4096];
    rec_path(path, sizeof path, rf->name, ".atr");
    dc_wfdb_annots *a = NULL;
    ck_assert_msg(dc_wfdb_annots_read(path, &a) == DC_OK, "%s", dc_last_error());
    int n28 = 0, ok = 1;
    int64_t prev = -1;
    for (int64_t k = 0; k < a->n; k++) { /* plain ifs: a ck_assert per item is slow */
        ok &= a->ann[k].sample >= prev && a->ann[k].sample < 650000; /* times never go back */
        prev = a->ann[k].sample;
        if (a->ann[k].type == 28) {
            n28++;
            ok &= a->ann[k].aux != NULL && a->ann[k].aux[0] == '(';
        }
    }
    ck_assert_msg(ok, "%s: annotation times or rhythm aux strings malformed", rf->name);
    ck_assert_int_eq(n28, rf->n_rhythm); /* rhythm changes, as counted independently */
    if (!strcmp(rf->name, "201")) {
        /* first word 0x703c: type 28, delta 60, then AUX length 6 "(AFIB\0" */
        ck_assert_int_eq(a->ann[0].type, 28);
        ck_assert_int_eq(a->ann[0].sample, 60);
        ck_assert_int_eq(a->ann[0].aux_len, 6);
        ck_assert_int_eq(memcmp(a->ann[0].aux, "(AFIB\0", 6), 0);
    }
    /* seconds per aux string: each holds to the next type-28 annotation, the last to the end */
    for (size_t q = 0; q < sizeof AUX_SECS / sizeof AUX_SECS[0]; q++) {
        if (strcmp(AUX_SECS[q].rec, rf->name)) continue;
        int64_t total = 0, start = -1;
        int cur = 0;
        for (int64_t k = 0; k <= a->n; k++) {
            int last = k == a->n;
            if (!last && a->ann[k].type != 28) continue;
            int64_t s = last ? 650000 : a->ann[k].sample;
            if (start >= 0 && cur) total += s - start;
            if (last) break;
            start = s;
            cur = aux_eq(&a->ann[k], AUX_SECS[q].aux);
        }
        ck_assert_msg(total / 360.0 > AUX_SECS[q].secs - 1 && total / 360.0 < AUX_SECS[q].secs + 1,
                      "%s %s: %.2f s, counted %.0f s", rf->name, AUX_SECS[q].aux, total / 360.0,
                      AUX_SECS[q].secs);
    }
    dc_wfdb_annots_free(a);
}
END_TEST

START_TEST(test_rhythm_labels) {
    const rec_fact *rf = &RECS[_i];
    char path[4096];
    rec_path(path, sizeof path, rf->name, ".atr");
    dc_wfdb_annots *a = NULL;
    ck_assert_int_eq(dc_wfdb_annots_read(path, &a), DC_OK);
    int32_t *lab = malloc(650000 * sizeof *lab);
    int64_t first = -2;
    ck_assert_int_eq(dc_wfdb_rhythm_labels(a, 650000, lab, &first), DC_OK);
    int64_t cnt[5] = {0}, bad = 0;
    for (int64_t t = 0; t < 650000; t++) {
        if (lab[t] < -1 || lab[t] > 3) bad++;
        else cnt[lab[t] + 1]++;
    }
    ck_assert_int_eq(bad, 0);
    ck_assert_int_eq(cnt[0], first); /* unlabelled = samples before the first rhythm annotation */
    if (rf->first_rhythm_sample >= 0) {
        ck_assert_int_eq(first, rf->first_rhythm_sample);
        ck_assert_int_eq(lab[first - 1], DC_RHYTHM_NONE);
        ck_assert_int_eq(lab[first], DC_RHYTHM_AFIB); /* 201 starts with "(AFIB" */
    }
    double afib = cnt[1] / 360.0, afl = cnt[2] / 360.0, j = cnt[3] / 360.0;
    ck_assert_msg(afib > rf->afib_s - 1 && afib < rf->afib_s + 1, "%s AFIB %.2f s", rf->name, afib);
    ck_assert_msg(afl > rf->afl_s - 1 && afl < rf->afl_s + 1, "%s AFL %.2f s", rf->name, afl);
    ck_assert_msg(j > rf->nod_s - 1 && j < rf->nod_s + 1, "%s J %.2f s", rf->name, j);
    /* N collects every other rhythm string; each count is rounded to 1 s, so allow 2 s */
    double n = cnt[4] / 360.0;
    ck_assert_msg(n > rf->n_s - 2 && n < rf->n_s + 2, "%s N %.2f s", rf->name, n);
    free(lab);
    dc_wfdb_annots_free(a);
}
END_TEST

START_TEST(test_rhythm_class) {
    ck_assert_int_eq(dc_wfdb_rhythm_class("(AFIB", 6), DC_RHYTHM_AFIB);
    ck_assert_int_eq(dc_wfdb_rhythm_class("(AFL\0", 5), DC_RHYTHM_AFL);
    ck_assert_int_eq(dc_wfdb_rhythm_class("(J", 2), DC_RHYTHM_J);
    ck_assert_int_eq(dc_wfdb_rhythm_class("(NOD\0", 5), DC_RHYTHM_J);
    ck_assert_int_eq(dc_wfdb_rhythm_class("(N", 3), DC_RHYTHM_N);
    ck_assert_int_eq(dc_wfdb_rhythm_class("(SVTA", 6), DC_RHYTHM_N);
    ck_assert_int_eq(dc_wfdb_rhythm_class("AFIB", 4), DC_RHYTHM_AFIB);
    ck_assert_int_eq(dc_wfdb_rhythm_class("(AF\0IB", 6), DC_RHYTHM_AFIB); /* NULs removed */
    ck_assert_int_eq(dc_wfdb_rhythm_class("(AFIBX", 6), DC_RHYTHM_N);
}
END_TEST

/* ---- records written here ------------------------------------------------------------- */

/* 250 Hz (afdb rate), three files with formats 16, 80 and 212 (one signal), header with
 * the optional fields, "x1"/"+offset" suffixes and "(baseline)/units" gain forms. */
START_TEST(test_synthetic_formats) {
    char *dir = dc_test_tmpdir();
    const char *hea =
        "# leading comment\r\n"
        "syn 4 250/1000(0) 3 12:00:00 01/01/2000\r\n"
        "syn_a.dat 16+4 100(-5)/uV 16 0 -300 0 0 lead one\r\n"
        "syn_a.dat 16+4 0 16 7 400 0 0 lead two\r\n"
        "syn_b.dat 80x1 10/mmHg 8 0 -128\r\n"
        "syn_c.dat 212:0 50\r\n"
        "# trailing comment\r\n";
    write_file(dir, "syn.hea", hea, strlen(hea));
    /* format 16: 4 junk offset bytes, then frames (-300, 400), (1, -2), (32767, -32768) */
    const uint8_t a[] = {9, 9, 9, 9, 0xD4, 0xFE, 0x90, 0x01, 0x01, 0x00, 0xFE, 0xFF, 0xFF, 0x7F, 0x00, 0x80};
    write_file(dir, "syn_a.dat", a, sizeof a);
    const uint8_t b[] = {0x00, 0x80, 0xFF}; /* format 80: -128, 0, 127 */
    write_file(dir, "syn_b.dat", b, sizeof b);
    /* format 212, 3 values 1, -1, 2047 (odd count: last value in 2 bytes, padded to 3) */
    const uint8_t c[] = {0x01, 0xF0, 0xFF, 0xFF, 0x07, 0x00};
    write_file(dir, "syn_c.dat", c, sizeof c);
    char rec[4096];
    snprintf(rec, sizeof rec, "%s/syn", dir);
    dc_wfdb_record *r = NULL;
    ck_assert_msg(dc_wfdb_record_read(rec, &r) == DC_OK, "%s", dc_last_error());
    const dc_wfdb_header *h = r->hdr;
    ck_assert_double_eq(h->fs, 250.0);
    ck_assert_int_eq(r->n_samples, 3);
    ck_assert_int_eq(r->n_sig, 4);
    ck_assert_double_eq(h->sig[0].gain, 100.0);
    ck_assert_int_eq(h->sig[0].baseline, -5);
    ck_assert_str_eq(h->sig[0].units, "uV");
    ck_assert_str_eq(h->sig[0].description, "lead one");
    ck_assert_int_eq((int)h->sig[0].byte_offset, 4);
    ck_assert_double_eq(h->sig[1].gain, 200.0); /* 0 means the default 200 */
    ck_assert_int_eq(h->sig[1].baseline, 7);    /* defaults to ADC zero */
    ck_assert_str_eq(h->sig[2].units, "mmHg");
    ck_assert_int_eq(h->sig[2].has_checksum, 0);
    ck_assert_str_eq(h->sig[3].description, "");
    ck_assert_int_eq(h->sig[3].adc_res, 12); /* format 212 default */
    const int32_t want[3][4] = {{-300, 400, -128, 1}, {1, -2, 0, -1}, {32767, -32768, 127, 2047}};
    for (int t = 0; t < 3; t++)
        for (int s = 0; s < 4; s++) ck_assert_int_eq(r->samples[t * 4 + s], want[t][s]);
    float phys[12];
    ck_assert_int_eq(dc_wfdb_record_physical(r, phys), DC_OK);
    ck_assert_float_eq_tol(phys[0], (-300 + 5) / 100.0f, 1e-6f);
    ck_assert_float_eq_tol(phys[1], (400 - 7) / 200.0f, 1e-6f);
    ck_assert_float_eq_tol(phys[2], -12.8f, 1e-6f);
    ck_assert_float_eq_tol(phys[3], 1 / 50.0f, 1e-6f);
    dc_wfdb_record_free(r);
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

/* Annotation stream built by hand: SKIP (middle-endian), SUB, CHN, NUM (sticky), AUX with
 * odd/even lengths, a type-28 "(J" and "(AFL". */
START_TEST(test_synthetic_annots) {
    const uint8_t atr[] = {
        0x00, 0xEC, 0x01, 0x00, 0x02, 0x00,   /* SKIP 0x00010002 = 65538 */
        0x05, 0x04,                           /* type 1, delta 5 -> 65543 */
        0x03, 0xF4,                           /* SUB 3 */
        0x02, 0xF8,                           /* CHN 2 (sticky) */
        0x07, 0xF0,                           /* NUM 7 (sticky) */
        0x0A, 0x70,                           /* type 28, delta 10 -> 65553 */
        0x03, 0xFC, '(', 'J', 0x00, 0x00,     /* AUX 3 "(J\0" + pad */
        0x00, 0x70,                           /* type 28, delta 0 -> 65553 */
        0x04, 0xFC, '(', 'A', 'F', 'L',       /* AUX 4 "(AFL" (no NUL) */
        0x00, 0x00,                           /* end */
    };
    dc_wfdb_annots *a = NULL;
    ck_assert_msg(dc_wfdb_annots_parse(atr, sizeof atr, "mem", &a) == DC_OK, "%s", dc_last_error());
    ck_assert_int_eq(a->n, 3);
    ck_assert_int_eq(a->ann[0].sample, 65543);
    ck_assert_int_eq(a->ann[0].type, 1);
    ck_assert_int_eq(a->ann[0].subtype, 3);
    ck_assert_int_eq(a->ann[0].chan, 2);
    ck_assert_int_eq(a->ann[0].num, 7);
    ck_assert_ptr_null(a->ann[0].aux);
    ck_assert_int_eq(a->ann[1].sample, 65553);
    ck_assert_int_eq(a->ann[1].subtype, 0);
    ck_assert_int_eq(a->ann[1].chan, 2);
    ck_assert_int_eq(a->ann[1].num, 7);
    ck_assert_int_eq(a->ann[1].aux_len, 3);
    ck_assert_str_eq(a->ann[1].aux, "(J");
    ck_assert_int_eq(a->ann[2].aux_len, 4);
    ck_assert_str_eq(a->ann[2].aux, "(AFL");
    int32_t lab[65560];
    int64_t first;
    ck_assert_int_eq(dc_wfdb_rhythm_labels(a, 65560, lab, &first), DC_OK);
    ck_assert_int_eq(first, 65553);
    ck_assert_int_eq(lab[65552], DC_RHYTHM_NONE);
    ck_assert_int_eq(lab[65553], DC_RHYTHM_AFL); /* the later of two at the same sample wins */
    ck_assert_int_eq(lab[65559], DC_RHYTHM_AFL);
    /* labels for fewer samples than the annotations reach: all unlabelled */
    ck_assert_int_eq(dc_wfdb_rhythm_labels(a, 100, lab, &first), DC_OK);
    ck_assert_int_eq(first, 100);
    ck_assert_int_eq(lab[99], DC_RHYTHM_NONE);
    dc_wfdb_annots_free(a);
    dc_wfdb_annots_free(NULL);
    dc_wfdb_record_free(NULL);
    dc_wfdb_header_free(NULL);
}
END_TEST

/* ---- broken inputs ------------------------------------------------------------------------ */

static void expect_header_error(const char *text, dc_status want, const char *needle) {
    dc_wfdb_header *h = (dc_wfdb_header *)1;
    dc_status st = dc_wfdb_header_parse(text, strlen(text), "bad.hea", &h);
    ck_assert_msg(st == want, "status %d for %s (%s)", st, text, dc_last_error());
    ck_assert_ptr_null(h);
    ck_assert_msg(strstr(dc_last_error(), needle) != NULL, "message '%s' lacks '%s'", dc_last_error(), needle);
}

START_TEST(test_bad_headers) {
    expect_header_error("r 2 360 100\nr.dat 212 200 11 1024 0 0 0 a\n", DC_ERR_FORMAT,
                        "bad.hea:2: record line announces 2 signals but only 1");
    expect_header_error("r 1 360 100\nr.dat 212 2O0 11 1024 0 0 0 a\n", DC_ERR_FORMAT, "bad.hea:2: non-numeric gain");
    expect_header_error("r 1 360 1OO\nr.dat 212\n", DC_ERR_FORMAT, "bad.hea:1: bad sample count");
    expect_header_error("r x 360\n", DC_ERR_FORMAT, "bad.hea:1: bad signal count");
    expect_header_error("# c\nr 1 abc\nr.dat 16\n", DC_ERR_FORMAT, "bad.hea:2: bad sampling frequency");
    expect_header_error("r 1 360 100\nr.dat 212 200 11 zero\n", DC_ERR_FORMAT, "bad.hea:2: non-numeric ADC zero");
    expect_header_error("r 1 360 100\nr.dat 310 200\n", DC_ERR_UNSUPPORTED, "bad.hea:2: signal format 310 not supported");
    expect_header_error("r 1 360 100\nr.dat 212x2 200\n", DC_ERR_UNSUPPORTED, "bad.hea:2: 2 samples per frame");
    expect_header_error("r 1 360 100\nr.dat 212:3 200\n", DC_ERR_UNSUPPORTED, "bad.hea:2: skew 3");
    expect_header_error("r 1 360 100\nr.dat 21q\n", DC_ERR_FORMAT, "bad.hea:2: malformed signal format");
    expect_header_error("r/2 1 360 100\n", DC_ERR_UNSUPPORTED, "multi-segment");
    expect_header_error("# only comments\n", DC_ERR_FORMAT, "no record line");
}
END_TEST

/* Copy a genuine record into a temp dir with a possibly modified .dat / .hea. */
static char *copy_record(const char *name, size_t dat_keep, const char *hea_override) {
    char *dir = dc_test_tmpdir();
    char src[4096], dst[64];
    size_t len;
    rec_path(src, sizeof src, name, ".dat");
    uint8_t *dat = slurp(src, &len);
    snprintf(dst, sizeof dst, "%s.dat", name);
    write_file(dir, dst, dat, dat_keep < len ? dat_keep : len);
    free(dat);
    rec_path(src, sizeof src, name, ".hea");
    uint8_t *hea = slurp(src, &len);
    snprintf(dst, sizeof dst, "%s.hea", name);
    if (hea_override) write_file(dir, dst, hea_override, strlen(hea_override));
    else write_file(dir, dst, hea, len);
    free(hea);
    return dir;
}

START_TEST(test_bad_records) {
    char rec[4096];
    dc_wfdb_record *r = (dc_wfdb_record *)1;
    /* truncated .dat: drop the last 3 bytes (one frame of two 212 samples) */
    char *dir = copy_record("201", 1950000 - 3, NULL);
    snprintf(rec, sizeof rec, "%s/201", dir);
    ck_assert_int_eq(dc_wfdb_record_read(rec, &r), DC_ERR_FORMAT);
    ck_assert_ptr_null(r);
    ck_assert_msg(strstr(dc_last_error(), "201.dat: byte offset 1949997: sample count mismatch") != NULL, "%s",
                  dc_last_error());
    ck_assert_msg(strstr(dc_last_error(), "649999") != NULL, "%s", dc_last_error());
    dc_test_rmtree(dir);
    free(dir);
    /* header claiming fewer samples than the file holds is a mismatch too */
    dir = copy_record("201", (size_t)-1,
                      "201 2 360 649999\n201.dat 212 200 11 1024 972 -519 0 MLII\n"
                      "201.dat 212 200 11 1024 982 30947 0 V1\n");
    snprintf(rec, sizeof rec, "%s/201", dir);
    ck_assert_int_eq(dc_wfdb_record_read(rec, &r), DC_ERR_FORMAT);
    ck_assert_msg(strstr(dc_last_error(), "sample count mismatch") != NULL, "%s", dc_last_error());
    dc_test_rmtree(dir);
    free(dir);
    /* corrupt header (non-numeric field) read from disk: message names path and line */
    dir = copy_record("201", (size_t)-1,
                      "201 2 360 650000\n201.dat 212 200 11 1024 972 -519 0 MLII\n"
                      "201.dat 212 200 eleven 1024 982 30947 0 V1\n");
    snprintf(rec, sizeof rec, "%s/201", dir);
    ck_assert_int_eq(dc_wfdb_record_read(rec, &r), DC_ERR_FORMAT);
    ck_assert_msg(strstr(dc_last_error(), "201.hea:3: bad ADC resolution 'eleven'") != NULL, "%s", dc_last_error());
    dc_test_rmtree(dir);
    free(dir);
    /* unsupported format in a header on disk */
    dir = copy_record("201", (size_t)-1, "201 1 360 650000\n201.dat 8 200 11 1024 972 -519 0 MLII\n");
    snprintf(rec, sizeof rec, "%s/201", dir);
    ck_assert_int_eq(dc_wfdb_record_read(rec, &r), DC_ERR_UNSUPPORTED);
    ck_assert_msg(strstr(dc_last_error(), "201.hea:2: signal format 8 not supported") != NULL, "%s", dc_last_error());
    dc_test_rmtree(dir);
    free(dir);
    /* checksum mismatch is caught by verify */
    dir = copy_record("201", (size_t)-1,
                      "201 2 360 650000\n201.dat 212 200 11 1024 972 -519 0 MLII\n"
                      "201.dat 212 200 11 1024 982 30948 0 V1\n");
    snprintf(rec, sizeof rec, "%s/201", dir);
    ck_assert_int_eq(dc_wfdb_record_read(rec, &r), DC_OK);
    ck_assert_int_eq(dc_wfdb_record_verify(r), DC_ERR_FORMAT);
    ck_assert_msg(strstr(dc_last_error(), "checksum 30947 != header 30948") != NULL, "%s", dc_last_error());
    dc_wfdb_record_free(r);
    dc_test_rmtree(dir);
    free(dir);
    /* missing .dat */
    ck_assert_int_eq(dc_wfdb_record_read("/nonexistent/dir/201", &r), DC_ERR_IO);
}
END_TEST

START_TEST(test_bad_annots) {
    char path[4096];
    size_t len;
    rec_path(path, sizeof path, "201", ".atr");
    uint8_t *b = slurp(path, &len);
    dc_wfdb_annots *a = (dc_wfdb_annots *)1;
    /* cut inside the first AUX string: "(AFIB\0" needs 6 bytes after offset 4 */
    ck_assert_int_eq(dc_wfdb_annots_parse(b, 7, "201.atr", &a), DC_ERR_FORMAT);
    ck_assert_ptr_null(a);
    ck_assert_msg(strstr(dc_last_error(), "201.atr: byte offset 2: AUX length 6") != NULL, "%s", dc_last_error());
    /* AUX word claiming 1000 bytes in a file written to disk */
    char *dir = dc_test_tmpdir();
    uint8_t bad[] = {0x3c, 0x70, 0xE8, 0xFF, '(', 'A', 0, 0};
    write_file(dir, "x.atr", bad, sizeof bad);
    snprintf(path, sizeof path, "%s/x.atr", dir);
    ck_assert_int_eq(dc_wfdb_annots_read(path, &a), DC_ERR_FORMAT);
    ck_assert_msg(strstr(dc_last_error(), "x.atr: byte offset 2: AUX length 1000") != NULL, "%s", dc_last_error());
    dc_test_rmtree(dir);
    free(dir);
    /* no end word */
    ck_assert_int_eq(dc_wfdb_annots_parse(b, len - 2, "201.atr", &a), DC_ERR_FORMAT);
    ck_assert_msg(strstr(dc_last_error(), "without the 0x0000 end word") != NULL, "%s", dc_last_error());
    /* SKIP cut short and odd trailing byte */
    const uint8_t skip[] = {0x00, 0xEC, 0x01, 0x00};
    ck_assert_int_eq(dc_wfdb_annots_parse(skip, sizeof skip, "s.atr", &a), DC_ERR_FORMAT);
    ck_assert_msg(strstr(dc_last_error(), "s.atr: byte offset 0: SKIP") != NULL, "%s", dc_last_error());
    ck_assert_int_eq(dc_wfdb_annots_parse(b, 3, "201.atr", &a), DC_ERR_FORMAT);
    /* negative time through SKIP */
    const uint8_t neg[] = {0x00, 0xEC, 0xFF, 0xFF, 0xFF, 0xFF, 0x05, 0x04, 0, 0};
    ck_assert_int_eq(dc_wfdb_annots_parse(neg, sizeof neg, "n.atr", &a), DC_ERR_FORMAT);
    free(b);
}
END_TEST

static Suite *wfdb_suite(void) {
    Suite *s = suite_create("wfdb");
    if (dc_test_have_data("mitdb", "the genuine MIT-BIH record cases and their broken copies")) {
        TCase *tc = tcase_create("mitdb");
        tcase_set_timeout(tc, 60);
        tcase_add_loop_test(tc, test_header_facts, 0, N_RECS);
        tcase_add_loop_test(tc, test_signal_checksums, 0, N_RECS);
        tcase_add_test(tc, test_adc_range);
        tcase_add_loop_test(tc, test_annotations, 0, N_RECS);
        tcase_add_loop_test(tc, test_rhythm_labels, 0, N_RECS);
        tcase_add_test(tc, test_bad_records);
        tcase_add_test(tc, test_bad_annots);
        suite_add_tcase(s, tc);
    }
    TCase *tc2 = tcase_create("synthetic");
    tcase_set_timeout(tc2, 60);
    tcase_add_test(tc2, test_rhythm_class);
    tcase_add_test(tc2, test_synthetic_formats);
    tcase_add_test(tc2, test_synthetic_annots);
    tcase_add_test(tc2, test_bad_headers);
    suite_add_tcase(s, tc2);
    return s;
}

int main(void) { return dc_test_exit(dc_test_run_suite(wfdb_suite())); }
