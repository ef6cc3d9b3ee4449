/* fuzz_wfdb.c: libFuzzer harness for the WFDB reader (built with -DDC_FUZZ=ON, run by
 * tools/fuzz.sh; seeds in corpus/wfdb). The first byte picks the target: header parser (+ decoding the same
 * bytes), annotation parser (+ rhythm labels), the sample decoder, or a whole record read
 * from files written to a scratch directory (header text, a NUL byte, then .dat bytes).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/dc_wfdb.h"

static char g_dir[64];

/* the scratch folder goes when the fuzzer exits (it lives in memory where /dev/shm exists) */
static void remove_scratch(void) {
    char path[512];
    DIR *d = opendir(g_dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", g_dir, e->d_name);
        unlink(path);
    }
    if (d) closedir(d);
    rmdir(g_dir);
}

static void write_file(const char *name, const uint8_t *p, size_t n) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(p, 1, n, f);
    fclose(f);
}

static void record_from_files(const uint8_t *d, size_t n) {
    const uint8_t *z = memchr(d, 0, n);
    if (!z) return;
    size_t hl = (size_t)(z - d);
    dc_wfdb_header *h = NULL;
    if (dc_wfdb_header_parse((const char *)d, hl, "fuzz.hea", &h)) return;
    /* only plain names inside the scratch dir; every named file gets the .dat bytes */
    for (int s = 0; s < h->n_sig; s++)
        if (strchr(h->sig[s].file, '/') || !strcmp(h->sig[s].file, "..") || !strcmp(h->sig[s].file, ".") ||
            !h->sig[s].file[0] || s >= 8) {
            dc_wfdb_header_free(h);
            return;
        }
    for (int s = 0; s < h->n_sig; s++) /* each file once (signals of a group share it) */
        if (s == 0 || strcmp(h->sig[s].file, h->sig[s - 1].file)) write_file(h->sig[s].file, z + 1, n - hl - 1);
    dc_wfdb_header_free(h);
    write_file("r.hea", d, hl);
    char rec[128];
    snprintf(rec, sizeof rec, "%s/r", g_dir);
    dc_wfdb_record *r = NULL;
    if (dc_wfdb_record_read(rec, &r) == DC_OK) {
        dc_wfdb_record_verify(r);
        if ((uint64_t)r->n_samples * (uint64_t)r->n_sig < (1u << 24)) {
            float *ph = malloc(((size_t)r->n_samples * (size_t)r->n_sig + 1) * sizeof *ph);
            if (ph) dc_wfdb_record_physical(r, ph);
            free(ph);
        }
    }
    dc_wfdb_record_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!g_dir[0]) { /* in memory (tmpfs) where there is one: disk writes were most of the time */
        snprintf(g_dir, sizeof g_dir, "/dev/shm/fuzz_wfdb.XXXXXX");
        if (!mkdtemp(g_dir)) {
            snprintf(g_dir, sizeof g_dir, "/tmp/fuzz_wfdb.XXXXXX");
            if (!mkdtemp(g_dir)) return 0;
        }
        atexit(remove_scratch);
    }
    if (size < 1) return 0;
    const uint8_t *d = data + 1;
    size_t n = size - 1;
    switch (data[0] & 3) {
    case 0: {
        dc_wfdb_header *h = NULL;
        if (dc_wfdb_header_parse((const char *)d, n, "fuzz.hea", &h) == DC_OK && h->n_sig > 0) {
            int64_t nv = dc_wfdb_values_in_bytes(h->sig[0].format, n);
            int32_t *out = malloc(((size_t)(nv > 0 ? nv : 0) + 1) * sizeof *out);
            if (out) dc_wfdb_decode(h->sig[0].format, d, n, nv, out);
            free(out);
        }
        dc_wfdb_header_free(h);
        break;
    }
    case 1: {
        dc_wfdb_annots *a = NULL;
        if (dc_wfdb_annots_parse(d, n, "fuzz.atr", &a) == DC_OK) {
            /* a short signal is enough: annotations past its end take the reader's early exit,
             * and a long one (up to the last annotation's sample, which mutations push to
             * millions) spent most of the time filling labels instead of parsing */
            int64_t ns = a->n ? a->ann[a->n - 1].sample + 3 : 5;
            if (ns > 4096) ns = 4096;
            int32_t *lab = malloc((size_t)ns * sizeof *lab);
            int64_t first;
            if (lab) dc_wfdb_rhythm_labels(a, ns, lab, &first);
            free(lab);
            for (int64_t k = 0; k < a->n; k++)
                if (a->ann[k].aux) dc_wfdb_rhythm_class(a->ann[k].aux, a->ann[k].aux_len);
        }
        dc_wfdb_annots_free(a);
        break;
    }
    case 2: {
        static const int fmts[] = {212, 16, 61, 80, 8, 0, 310, -1};
        if (n < 4) return 0;
        int fmt = fmts[d[0] & 7];
        int64_t nv = (int64_t)((d[1] | (d[2] << 8)) % 4096) - 2;
        int32_t *out = malloc(4096 * sizeof *out);
        if (out) dc_wfdb_decode(fmt, d + 3, n - 3, nv, out);
        free(out);
        break;
    }
    case 3:
        record_from_files(d, n);
        break;
    }
    return 0;
}
