/* frames.c: in-memory frame datasets and sequence windows over them. */
#include <stdlib.h>
#include <string.h>

#include "data/dc_frames.h"

void dc_frames_free(dc_frames *f) {
    if (!f) return;
    free(f->X);
    free(f->label);
    free(f->subject);
    memset(f, 0, sizeof *f);
}

void dc_sequences_free(dc_sequences *s) {
    if (!s) return;
    free(s->start);
    memset(s, 0, sizeof *s);
}

dc_status dc_sequences_window(const dc_frames *f, int64_t T, int64_t stride, dc_sequences *out) {
    if (!f || !out) return dc_fail(DC_ERR_ARG, "sequences: NULL argument");
    memset(out, 0, sizeof *out);
    if (T < 1 || stride < 1)
        return dc_fail(DC_ERR_ARG, "sequences: length %lld and stride %lld must be >= 1", (long long)T, (long long)stride);
    int64_t cap = f->n / stride + 16, n = 0;
    int64_t *start = malloc((size_t)cap * sizeof *start);
    if (!start) return dc_fail(DC_ERR_OOM, "sequences: out of host memory");
    for (int64_t s0 = 0; s0 < f->n;) {
        int64_t s1 = s0;
        while (s1 < f->n && f->subject[s1] == f->subject[s0]) s1++;
        int64_t F = s1 - s0;
        if (F >= T) {
            int64_t nwin = (F + 1 - T + stride - 1) / stride;
            if (nwin < 1) nwin = 1;
            for (int64_t j = 0; j < nwin; j++) {
                if (s0 + j * stride + T > s1) break;
                if (n == cap) {
                    cap *= 2;
                    int64_t *p = realloc(start, (size_t)cap * sizeof *p);
                    if (!p) {
                        free(start);
                        return dc_fail(DC_ERR_OOM, "sequences: out of host memory");
                    }
                    start = p;
                }
                start[n++] = s0 + j * stride;
            }
        }
        s0 = s1;
    }
    if (n == 0) {
        free(start);
        return dc_fail(DC_ERR_SHAPE, "sequences: no subject has %lld frames (dataset has %lld frames)", (long long)T,
                       (long long)f->n);
    }
    out->n = n;
    out->T = T;
    out->start = start;
    return DC_OK;
}

dc_status dc_sequences_gather(const dc_frames *f, const dc_sequences *s, const int64_t *idx, int64_t count,
                              float *dst) {
    if (!f || !s || !idx || !dst) return dc_fail(DC_ERR_ARG, "sequences_gather: NULL argument");
    size_t row = (size_t)(s->T * f->D);
    for (int64_t i = 0; i < count; i++) {
        if (idx[i] < 0 || idx[i] >= s->n)
            return dc_fail(DC_ERR_ARG, "sequences_gather: index %lld outside 0..%lld", (long long)idx[i],
                           (long long)(s->n - 1));
        memcpy(dst + (size_t)i * row, f->X + (size_t)(s->start[idx[i]] * f->D), row * sizeof(float));
    }
    return DC_OK;
}
