/* edf_annotations.c: EDF+ time-stamped annotation lists (TALs) from "EDF Annotations"
 * signals: `+onset[\x15duration]\x14text\x14...\x14\x00`, padded with \x00 to the end of
 * the signal. The first TAL of each record (first annotation signal) must be the
 * timekeeping TAL `+onset\x14\x14`; its onset is the record's start time.
 */
#include "data/dc_edf.h"

#include <stdlib.h>
#include <string.h>

typedef struct tal_ctx {
    const dc_edf *e;
    dc_edf_annots *a;
    int64_t cap;
    size_t pool_n, pool_cap;
} tal_ctx;

/* Parse "[+-]digits[.digits]" (sign only when `signed_`) in p[0..n). */
static int parse_time(const uint8_t *p, size_t n, int signed_, double *v) {
    char buf[48];
    size_t i = 0, digits = 0, dots = 0;
    if (n == 0 || n >= sizeof buf) return 0;
    if (signed_) {
        if (p[0] != '+' && p[0] != '-') return 0;
        i = 1;
    }
    for (size_t k = i; k < n; k++) {
        if (p[k] >= '0' && p[k] <= '9') digits++;
        else if (p[k] == '.' && !dots) dots++;
        else return 0;
    }
    if (!digits) return 0;
    memcpy(buf, p, n);
    buf[n] = '\0';
    *v = strtod(buf, NULL); /* at most 47 chars of digits: always finite */
    return 1;
}

static dc_status add_annot(tal_ctx *c, double onset, double dur, const uint8_t *text, size_t len, int64_t r) {
    dc_edf_annots *a = c->a;
    if (a->n == c->cap) {
        int64_t ncap = c->cap ? c->cap * 2 : 64;
        dc_edf_annot *na = realloc(a->ann, (size_t)ncap * sizeof *na);
        if (!na) return dc_fail(DC_ERR_OOM, "%s: out of memory for %lld annotations", c->e->path, (long long)ncap);
        a->ann = na;
        c->cap = ncap;
    }
    char *t = a->pool + c->pool_n; /* fits: every text byte and its 0x14 come from the file */
    memcpy(t, text, len);
    t[len] = '\0';
    c->pool_n += len + 1;
    dc_edf_annot *an = &a->ann[a->n++];
    an->onset = onset;
    an->duration = dur;
    an->text = t;
    an->record = r;
    return DC_OK;
}

/* All TALs of one annotation signal in one record; p points at file offset `at`. */
static dc_status parse_block(tal_ctx *c, const uint8_t *p, size_t n, size_t at, int64_t r, int timekeeping) {
    const char *path = c->e->path;
    size_t i = 0;
    int seen_tal = 0;
    dc_status st;
    while (i < n) {
        if (p[i] == 0) { /* padding after the last TAL */
            i++;
            continue;
        }
        size_t tal = i, j = i + 1;
        while (j < n && p[j] != 0x14 && p[j] != 0x15 && p[j] != 0) j++;
        double onset, dur = -1;
        if (!parse_time(p + i, j - i, 1, &onset))
            return dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: record %lld: bad TAL onset (expected +seconds)",
                           path, at + i, (long long)r);
        if (j < n && p[j] == 0x15) {
            size_t k = ++j;
            while (j < n && p[j] != 0x14 && p[j] != 0) j++;
            if (!parse_time(p + k, j - k, 0, &dur))
                return dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: record %lld: bad TAL duration", path, at + k,
                               (long long)r);
        }
        if (j >= n || p[j] != 0x14)
            return dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: record %lld: TAL onset not followed by 0x14", path,
                           at + j, (long long)r);
        j++;
        int ntext = 0, first_empty = 0;
        for (;;) {
            if (j >= n)
                return dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: record %lld: TAL not closed by 0x00 before the "
                               "end of the annotation signal", path, at + tal, (long long)r);
            if (p[j] == 0) {
                j++;
                break;
            }
            size_t t0 = j;
            while (j < n && p[j] != 0x14 && p[j] != 0) j++;
            if (j >= n || p[j] != 0x14)
                return dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: record %lld: annotation text not closed by 0x14",
                               path, at + t0, (long long)r);
            if (ntext == 0 && j == t0) first_empty = 1;
            if (j > t0 && (st = add_annot(c, onset, dur, p + t0, j - t0, r))) return st;
            ntext++;
            j++;
        }
        if (timekeeping && !seen_tal) {
            if (!first_empty)
                return dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: record %lld does not start with a timekeeping "
                               "TAL (+onset\\x14\\x14)", path, at + tal, (long long)r);
            c->a->record_onset[r] = onset;
        }
        seen_tal = 1;
        i = j;
    }
    if (timekeeping && !seen_tal)
        return dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: record %lld has no timekeeping TAL", path, at,
                       (long long)r);
    return DC_OK;
}

dc_status dc_edf_read_annotations(const dc_edf *e, dc_edf_annots **out) {
    if (!out) return dc_fail(DC_ERR_ARG, "edf annotations: NULL output");
    *out = NULL;
    if (!e) return dc_fail(DC_ERR_ARG, "edf annotations: NULL file");
    size_t per_record = 0;
    int first = -1;
    for (int s = 0; s < e->n_signals; s++)
        if (e->sig[s].is_annotation) {
            per_record += 2 * (size_t)e->sig[s].samples_per_record;
            if (first < 0) first = s;
        }
    tal_ctx c = {e, calloc(1, sizeof(dc_edf_annots)), 0, 0, 0};
    dc_edf_annots *a = c.a;
    if (!a) return dc_fail(DC_ERR_OOM, "%s: out of memory", e->path);
    c.pool_cap = per_record * (size_t)e->n_records + 1; /* <= file size + 1 */
    a->n_records = e->n_records;
    a->pool = malloc(c.pool_cap);
    a->record_onset = malloc((size_t)(e->n_records ? e->n_records : 1) * sizeof(double));
    if (!a->pool || !a->record_onset) {
        dc_edf_annots_free(a);
        return dc_fail(DC_ERR_OOM, "%s: out of memory", e->path);
    }
    for (int64_t r = 0; r < e->n_records; r++) a->record_onset[r] = (double)r * e->record_duration;
    dc_status st = DC_OK;
    for (int64_t r = 0; r < e->n_records && st == DC_OK; r++) {
        for (int s = first; s >= 0 && s < e->n_signals && st == DC_OK; s++) {
            if (!e->sig[s].is_annotation) continue;
            size_t at = (size_t)(e->header_bytes + r * e->record_bytes + e->sig[s].offset_in_record);
            st = parse_block(&c, e->data + at, 2 * (size_t)e->sig[s].samples_per_record, at, r, s == first);
        }
    }
    if (st) {
        dc_edf_annots_free(a);
        return st;
    }
    *out = a;
    return DC_OK;
}

void dc_edf_annots_free(dc_edf_annots *a) {
    if (!a) return;
    free(a->ann);
    free(a->record_onset);
    free(a->pool);
    free(a);
}
