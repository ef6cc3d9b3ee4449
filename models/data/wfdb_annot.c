/* wfdb_annot.c: MIT-format annotation files (.atr) and per-sample rhythm labels.
 * Words are 16-bit little-endian `type << 10 | delta`; types 59..63 are the pseudo-codes
 * SKIP, NUM, SUB, CHN and AUX; the word 0 ends the file. Signal files are in wfdb.c.
 */
#include "data/dc_wfdb.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data_file.h"

enum { ANN_SKIP = 59, ANN_NUM = 60, ANN_SUB = 61, ANN_CHN = 62, ANN_AUX = 63 };

static unsigned rd16(const uint8_t *p) { return (unsigned)p[0] | ((unsigned)p[1] << 8); }

dc_status dc_wfdb_annots_parse(const uint8_t *buf, size_t len, const char *name,
                               dc_wfdb_annots **out) {
    if (!out) return dc_fail(DC_ERR_ARG, "wfdb annotations: NULL output");
    *out = NULL;
    if (!buf && len) return dc_fail(DC_ERR_ARG, "wfdb annotations: NULL buffer");
    if (!name) name = "<annotations>";
    if (len > SIZE_MAX / 2 - 1) return dc_fail(DC_ERR_OOM, "%s: file too large", name);
    dc_wfdb_annots *a = calloc(1, sizeof *a);
    /* every AUX word takes 2 + aux bytes of the file and one NUL here, so this never grows */
    size_t pool_cap = len + len / 2 + 1, pool_n = 0;
    if (!a || !(a->aux_pool = malloc(pool_cap))) {
        free(a);
        return dc_fail(DC_ERR_OOM, "%s: out of memory", name);
    }
    int64_t cap = 0, t = 0;
    int chan = 0, num = 0, ended = 0;
    dc_status st = DC_OK;
    size_t i = 0;
    while (i < len) {
        size_t at = i;
        if (len - i < 2) {
            st = dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: odd trailing byte", name, at);
            break;
        }
        unsigned w = rd16(buf + i), code = w >> 10, d = w & 1023u;
        i += 2;
        if (w == 0) {
            ended = 1;
            break;
        }
        dc_wfdb_ann *cur = a->n ? &a->ann[a->n - 1] : NULL;
        if (code == ANN_SKIP) {
            if (len - i < 4) {
                st = dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: SKIP interval runs past the end of the file",
                             name, at);
                break;
            }
            /* PDP-11 order: high 16-bit word first, then the low word, each little-endian */
            int32_t v = (int32_t)(((uint32_t)rd16(buf + i) << 16) | rd16(buf + i + 2));
            i += 4;
            t += v;
            if (t < 0 || t > ((int64_t)1 << 62)) {
                st = dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: SKIP moves the time to %lld", name, at,
                             (long long)t);
                break;
            }
        } else if (code == ANN_NUM || code == ANN_CHN) {
            /* sticky: applies to the current annotation and to the following ones */
            int *sticky = code == ANN_NUM ? &num : &chan;
            *sticky = (int)d;
            if (cur) {
                if (code == ANN_NUM) cur->num = (int)d;
                else cur->chan = (int)d;
            }
        } else if (code == ANN_SUB) {
            if (cur) cur->subtype = (int)d;
        } else if (code == ANN_AUX) {
            size_t padded = ((size_t)d + 1) & ~(size_t)1;
            if (len - i < padded) {
                st = dc_fail(DC_ERR_FORMAT,
                             "%s: byte offset %zu: AUX length %u (%zu bytes padded) runs past the end of the "
                             "file (%zu bytes left)",
                             name, at, d, padded, len - i);
                break;
            }
            if (cur) {
                memcpy(a->aux_pool + pool_n, buf + i, d);
                a->aux_pool[pool_n + d] = '\0';
                cur->aux = a->aux_pool + pool_n; /* the pool is never reallocated */
                cur->aux_len = (int)d;
                pool_n += d + 1;
            }
            i += padded;
        } else {
            /* an annotation: codes 0..58 (0 with a nonzero delta is a null annotation) */
            if (a->n == cap) {
                int64_t ncap = cap ? cap * 2 : 256;
                dc_wfdb_ann *na = realloc(a->ann, (size_t)ncap * sizeof *na);
                if (!na) {
                    st = dc_fail(DC_ERR_OOM, "%s: out of memory for %lld annotations", name, (long long)ncap);
                    break;
                }
                a->ann = na;
                cap = ncap;
            }
            t += d;
            dc_wfdb_ann *n = &a->ann[a->n++];
            memset(n, 0, sizeof *n);
            n->sample = t;
            n->type = (int)code;
            n->chan = chan;
            n->num = num;
        }
    }
    if (st == DC_OK && !ended)
        st = dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: file ends without the 0x0000 end word", name, len);
    if (st) {
        dc_wfdb_annots_free(a);
        return st;
    }
    *out = a;
    return DC_OK;
}

dc_status dc_wfdb_annots_read(const char *path, dc_wfdb_annots **out) {
    uint8_t *buf;
    size_t len;
    if (!out) return dc_fail(DC_ERR_ARG, "wfdb annotations: NULL output");
    *out = NULL;
    dc_status st = dc_data_read_file(path, &buf, &len);
    if (st) return st;
    st = dc_wfdb_annots_parse(buf, len, path, out);
    free(buf);
    return st;
}

void dc_wfdb_annots_free(dc_wfdb_annots *a) {
    if (!a) return;
    free(a->ann);
    free(a->aux_pool);
    free(a);
}

int dc_wfdb_rhythm_class(const char *aux, int aux_len) {
    char s[8];
    int n = 0, i = 0;
    if (!aux || aux_len <= 0) return DC_RHYTHM_N;
    while (i < aux_len && (aux[i] == '(' || aux[i] == '\0')) i++; /* leading "(" (and NULs) */
    for (; i < aux_len; i++) {
        if (aux[i] == '\0') continue; /* NUL bytes are removed */
        if (n == (int)sizeof s - 1) return DC_RHYTHM_N; /* longer than any known name */
        s[n++] = aux[i];
    }
    s[n] = '\0';
    if (!strcmp(s, "AFIB")) return DC_RHYTHM_AFIB;
    if (!strcmp(s, "AFL")) return DC_RHYTHM_AFL;
    if (!strcmp(s, "J") || !strcmp(s, "NOD")) return DC_RHYTHM_J;
    return DC_RHYTHM_N;
}

dc_status dc_wfdb_rhythm_labels(const dc_wfdb_annots *a, int64_t n_samples, int32_t *labels,
                                int64_t *first_labelled) {
    if (!a || n_samples < 0 || (n_samples && !labels)) return dc_fail(DC_ERR_ARG, "rhythm labels: bad arguments");
    int64_t pos = 0, first = -1;
    int32_t cls = DC_RHYTHM_NONE;
    for (int64_t k = 0; k < a->n; k++) {
        const dc_wfdb_ann *an = &a->ann[k];
        if (an->type != DC_WFDB_ANN_RHYTHM || !an->aux) continue;
        if (an->sample < pos)
            return dc_fail(DC_ERR_FORMAT, "rhythm labels: annotation %lld at sample %lld goes back before %lld",
                           (long long)k, (long long)an->sample, (long long)pos);
        int64_t stop = an->sample < n_samples ? an->sample : n_samples;
        for (; pos < stop; pos++) labels[pos] = cls;
        if (an->sample >= n_samples) break;
        cls = dc_wfdb_rhythm_class(an->aux, an->aux_len);
        if (first < 0) first = an->sample;
    }
    for (; pos < n_samples; pos++) labels[pos] = cls;
    if (first_labelled) *first_labelled = first < 0 ? n_samples : first;
    return DC_OK;
}
