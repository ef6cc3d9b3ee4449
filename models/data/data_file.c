/* data_file.c: whole-file reading for the dataset readers (private to models/data/).
 * Plain stdio, so it works for regular files and pipes alike; no mmap.
 */
#include "data_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

dc_status dc_data_read_file(const char *path, uint8_t **buf, size_t *len) {
    *buf = NULL;
    *len = 0;
    if (!path) return dc_fail(DC_ERR_ARG, "read file: NULL path");
    FILE *f = fopen(path, "rb");
    if (!f) return dc_fail(DC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16;
    if (fseek(f, 0, SEEK_END) == 0) {
        long sz = ftell(f);
        if (sz > 0 && (unsigned long)sz < (size_t)-2) cap = (size_t)sz + 1;
        rewind(f);
    }
    uint8_t *b = malloc(cap + 1);
    if (!b) {
        fclose(f);
        return dc_fail(DC_ERR_OOM, "%s: cannot allocate %zu bytes", path, cap + 1);
    }
    size_t n = 0;
    for (;;) {
        if (n == cap) {
            if (cap > ((size_t)-1) / 2 - 1) {
                free(b);
                fclose(f);
                return dc_fail(DC_ERR_OOM, "%s: file too large", path);
            }
            uint8_t *nb = realloc(b, cap * 2 + 1);
            if (!nb) {
                free(b);
                fclose(f);
                return dc_fail(DC_ERR_OOM, "%s: cannot allocate %zu bytes", path, cap * 2 + 1);
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(b);
        return dc_fail(DC_ERR_IO, "%s: read error", path);
    }
    b[n] = 0;
    *buf = b;
    *len = n;
    return DC_OK;
}

dc_status dc_data_path_cat(char *out, size_t cap, const char *a, const char *b) {
    if (!a || !b) return dc_fail(DC_ERR_ARG, "path: NULL argument");
    int n = snprintf(out, cap, "%s%s", a, b);
    if (n < 0 || (size_t)n >= cap) return dc_fail(DC_ERR_ARG, "path too long: %s%s", a, b);
    return DC_OK;
}

void dc_data_dirname(const char *path, char *out, size_t cap) {
    if (!cap) return;
    out[0] = '\0';
    if (!path) return;
    const char *slash = strrchr(path, '/');
#ifdef _WIN32
    const char *bs = strrchr(path, '\\');
    if (bs && (!slash || bs > slash)) slash = bs;
#endif
    if (!slash) return;
    size_t n = (size_t)(slash - path) + 1;
    if (n >= cap) n = cap - 1;
    memcpy(out, path, n);
    out[n] = '\0';
}
