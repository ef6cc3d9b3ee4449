/* npy.c: NumPy .npy reading (memory-mapped) and writing (dc_npy.h). The header is parsed
 * with a small strict parser of the Python dict literal numpy writes, never by evaluating
 * anything; every bound is checked, so arbitrary bytes give an error, not a crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dc/dc_atomic.h"
#include "dc/dc_npy.h"

#define NPY_MAX_HEADER (1u << 20)

size_t dc_npy_dtype_size(dc_npy_dtype dt) {
    switch (dt) {
    case DC_NPY_F32: case DC_NPY_I32: return 4;
    case DC_NPY_F64: case DC_NPY_I64: return 8;
    case DC_NPY_U8: case DC_NPY_I8: return 1;
    }
    return 0;
}

const char *dc_npy_dtype_descr(dc_npy_dtype dt) {
    switch (dt) {
    case DC_NPY_F32: return "<f4";
    case DC_NPY_F64: return "<f8";
    case DC_NPY_I32: return "<i4";
    case DC_NPY_I64: return "<i8";
    case DC_NPY_U8: return "|u1";
    case DC_NPY_I8: return "|i1";
    }
    return "?";
}

/* ---- header parser ------------------------------------------------------------------- */

typedef struct hp {
    const char *s, *end;  /* header text */
    size_t base;          /* file offset of s[0] */
    const char *name;
} hp;

static size_t off(const hp *h, const char *p) { return h->base + (size_t)(p - h->s); }

static dc_status perr(const hp *h, const char *p, const char *what) {
    return dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: %s", h->name, off(h, p), what);
}

static const char *skip_ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* A quoted string (no escapes) into out; *pp advanced past the closing quote. */
static dc_status parse_str(const hp *h, const char **pp, char *out, size_t cap) {
    const char *p = *pp;
    if (p >= h->end || (*p != '\'' && *p != '"')) return perr(h, p, "expected a quoted string");
    char q = *p++;
    size_t n = 0;
    while (p < h->end && *p != q) {
        if (*p == '\\' || *p == '\n' || (unsigned char)*p < 0x20) return perr(h, p, "unexpected character in a string");
        if (n + 1 >= cap) return perr(h, p, "string too long");
        out[n++] = *p++;
    }
    if (p >= h->end) return perr(h, p, "unterminated string");
    out[n] = '\0';
    *pp = p + 1;
    return DC_OK;
}

static dc_status parse_descr(const hp *h, const char *at, const char *d, dc_npy_dtype *dt) {
    char bo = d[0];
    const char *t = d;
    if (bo == '<' || bo == '>' || bo == '=' || bo == '|') t++;
    else bo = '=';
    static const struct { const char *code; dc_npy_dtype dt; } k[] = {
        {"f4", DC_NPY_F32}, {"f8", DC_NPY_F64}, {"i4", DC_NPY_I32},
        {"i8", DC_NPY_I64}, {"u1", DC_NPY_U8}, {"i1", DC_NPY_I8},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        if (strcmp(t, k[i].code) != 0) continue;
        int one = dc_npy_dtype_size(k[i].dt) == 1;
        if (bo == '>' && !one)
            return dc_fail(DC_ERR_UNSUPPORTED, "%s: byte offset %zu: big-endian dtype '%s' is not supported", h->name,
                           off(h, at), d);
        if (bo == '|' && !one)
            return dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: dtype '%s' needs a byte order", h->name, off(h, at), d);
        *dt = k[i].dt;
        return DC_OK;
    }
    return dc_fail(DC_ERR_UNSUPPORTED,
                   "%s: byte offset %zu: unsupported dtype '%s' (supported: <f4 <f8 <i4 <i8 |u1 |i1)", h->name,
                   off(h, at), d);
}

static dc_status parse_shape(const hp *h, const char **pp, dc_npy_header *o) {
    const char *p = *pp;
    if (p >= h->end || *p != '(') return perr(h, p, "expected '(' starting the shape tuple");
    p++;
    o->ndim = 0;
    for (;;) {
        p = skip_ws(p, h->end);
        if (p < h->end && *p == ')') break;
        if (p >= h->end || *p < '0' || *p > '9') return perr(h, p, "expected a non-negative integer in the shape");
        if (o->ndim == DC_NPY_MAX_DIMS) return perr(h, p, "more than 8 dimensions");
        int64_t v = 0;
        while (p < h->end && *p >= '0' && *p <= '9') {
            if (v > (INT64_MAX - 9) / 10) return perr(h, p, "shape value too large");
            v = v * 10 + (*p++ - '0');
        }
        if (p < h->end && (*p == 'L' || *p == 'l')) p++; /* Python 2 long suffix */
        o->shape[o->ndim++] = v;
        p = skip_ws(p, h->end);
        if (p < h->end && *p == ',') {
            p++;
            continue;
        }
        if (p < h->end && *p == ')') {
            if (o->ndim == 1) return perr(h, p, "a one-element shape tuple needs a trailing comma");
            break;
        }
        return perr(h, p, "expected ',' or ')' in the shape");
    }
    *pp = p + 1;
    return DC_OK;
}

dc_status dc_npy_parse_header(const uint8_t *buf, size_t len, size_t file_size, const char *name,
                              dc_npy_header *o) {
    if (!buf || !o) return dc_fail(DC_ERR_ARG, "npy: NULL argument");
    if (!name) name = "npy";
    memset(o, 0, sizeof *o);
    if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0)
        return dc_fail(DC_ERR_FORMAT, "%s: byte offset 0: not a .npy file (bad magic)", name);
    o->major = buf[6];
    o->minor = buf[7];
    if (o->major < 1 || o->major > 3 || o->minor != 0)
        return dc_fail(DC_ERR_UNSUPPORTED, "%s: byte offset 6: unsupported .npy format version %d.%d", name, o->major,
                       o->minor);
    size_t pre = o->major == 1 ? 10 : 12, hlen;
    if (len < pre) return dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: file ends inside the header length", name, len);
    if (o->major == 1)
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
    else
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
    if (hlen > NPY_MAX_HEADER)
        return dc_fail(DC_ERR_FORMAT, "%s: byte offset 8: header length %zu exceeds the %u-byte limit", name, hlen,
                       NPY_MAX_HEADER);
    if (hlen > len - pre)
        return dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: header of %zu bytes runs past the end of the file (%zu bytes)",
                       name, pre, hlen, len);
    hp h = {(const char *)buf + pre, (const char *)buf + pre + hlen, pre, name};
    for (const char *c = h.s; c < h.end; c++)
        if ((unsigned char)*c >= 0x80 || *c == '\0') return perr(&h, c, "non-ASCII byte in the header");
    const char *p = skip_ws(h.s, h.end);
    if (p >= h.end || *p != '{') return perr(&h, p, "expected '{' starting the header dict");
    p++;
    int seen[3] = {0, 0, 0};
    for (;;) {
        p = skip_ws(p, h.end);
        if (p < h.end && *p == '}') break;
        char key[32], val[32];
        const char *kat = p;
        dc_status st = parse_str(&h, &p, key, sizeof key);
        if (st) return st;
        p = skip_ws(p, h.end);
        if (p >= h.end || *p != ':') return perr(&h, p, "expected ':' after a key");
        p = skip_ws(p + 1, h.end);
        int k = !strcmp(key, "descr") ? 0 : !strcmp(key, "fortran_order") ? 1 : !strcmp(key, "shape") ? 2 : -1;
        if (k < 0) return dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: unexpected key '%s' in the header", name, off(&h, kat), key);
        if (seen[k]) return dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: key '%s' appears twice", name, off(&h, kat), key);
        seen[k] = 1;
        if (k == 0) {
            const char *vat = p;
            if (p < h.end && *p == '[') return perr(&h, p, "structured dtypes are not supported");
            if ((st = parse_str(&h, &p, val, sizeof val)) != DC_OK) return st;
            if ((st = parse_descr(&h, vat, val, &o->dtype)) != DC_OK) return st;
        } else if (k == 1) {
            if ((size_t)(h.end - p) >= 4 && !memcmp(p, "True", 4)) o->fortran_order = 1, p += 4;
            else if ((size_t)(h.end - p) >= 5 && !memcmp(p, "False", 5)) o->fortran_order = 0, p += 5;
            else return perr(&h, p, "fortran_order must be True or False");
        } else if ((st = parse_shape(&h, &p, o)) != DC_OK) {
            return st;
        }
        p = skip_ws(p, h.end);
        if (p < h.end && *p == ',') {
            p++;
            continue;
        }
        if (p < h.end && *p == '}') break;
        return perr(&h, p, "expected ',' or '}' after a value");
    }
    if (!seen[0] || !seen[1] || !seen[2])
        return dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: header lacks '%s'", name, pre,
                       !seen[0] ? "descr" : !seen[1] ? "fortran_order" : "shape");
    p = skip_ws(p + 1, h.end);
    if (p != h.end) return perr(&h, p, "unexpected text after the header dict");
    if (o->fortran_order) {
        int big = 0;
        for (int i = 0; i < o->ndim; i++) big += o->shape[i] > 1;
        if (big > 1)
            return dc_fail(DC_ERR_UNSUPPORTED, "%s: byte offset %zu: Fortran-order arrays are not supported", name, pre);
    }
    size_t es = dc_npy_dtype_size(o->dtype);
    int64_t numel = 1;
    for (int i = 0; i < o->ndim; i++) {
        int64_t d = o->shape[i];
        if (d != 0 && numel > (int64_t)((size_t)INT64_MAX / es) / d)
            return dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: shape overflows", name, pre);
        numel *= d;
    }
    o->numel = numel;
    o->data_bytes = (size_t)numel * es;
    o->data_offset = pre + hlen;
    if (file_size && (file_size < o->data_offset || file_size - o->data_offset != o->data_bytes))
        return dc_fail(DC_ERR_FORMAT,
                       "%s: byte offset %zu: the header promises %zu data bytes (%lld elements of %s) but the file has %zu",
                       name, o->data_offset, o->data_bytes, (long long)numel, dc_npy_dtype_descr(o->dtype),
                       file_size > o->data_offset ? file_size - o->data_offset : 0);
    return DC_OK;
}

dc_status dc_npy_format_header(dc_npy_dtype dt, int ndim, const int64_t *shape, uint8_t *buf, size_t cap,
                               size_t *len) {
    if (ndim < 0 || ndim > DC_NPY_MAX_DIMS || (ndim > 0 && !shape) || !buf || !len)
        return dc_fail(DC_ERR_ARG, "npy: bad header arguments (ndim %d)", ndim);
    if (dc_npy_dtype_size(dt) == 0) return dc_fail(DC_ERR_ARG, "npy: unknown dtype %d", (int)dt);
    char dict[512], sh[320];
    size_t n = 0;
    sh[n++] = '(';
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return dc_fail(DC_ERR_ARG, "npy: negative dimension %lld", (long long)shape[i]);
        n += (size_t)snprintf(sh + n, sizeof sh - n, i ? ", %lld" : "%lld", (long long)shape[i]);
    }
    if (ndim == 1) sh[n++] = ',';
    sh[n++] = ')';
    sh[n] = '\0';
    int dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                      dc_npy_dtype_descr(dt), sh);
    /* numpy: pad with spaces so that magic + version + length + dict + '\n' is a multiple of 64 */
    size_t pre = 10, hl = (size_t)dl + 1, pad = 64 - (pre + hl) % 64;
    size_t total = pre + hl + pad;
    if (total > cap) return dc_fail(DC_ERR_ARG, "npy: header buffer too small");
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    size_t h = total - pre;
    buf[8] = (uint8_t)(h & 0xFF);
    buf[9] = (uint8_t)(h >> 8);
    memcpy(buf + pre, dict, (size_t)dl);
    memset(buf + pre + dl, ' ', pad);
    buf[total - 1] = '\n';
    *len = total;
    return DC_OK;
}

/* ---- reading -------------------------------------------------------------------------- */

static void fill_from_header(dc_npy *a) {
    a->dtype = a->hdr.dtype;
    a->ndim = a->hdr.ndim;
    memcpy(a->shape, a->hdr.shape, sizeof a->shape);
    a->numel = a->hdr.numel;
}

dc_status dc_npy_parse(const uint8_t *buf, size_t len, const char *name, dc_npy *out) {
    if (!out) return dc_fail(DC_ERR_ARG, "npy: NULL output");
    memset(out, 0, sizeof *out);
    dc_status st = dc_npy_parse_header(buf, len, len, name, &out->hdr);
    if (st) return st;
    fill_from_header(out);
    out->data = (void *)(buf + out->hdr.data_offset);
    return DC_OK;
}

dc_status dc_npy_open(const char *path, dc_npy *out) {
    if (!path || !out) return dc_fail(DC_ERR_ARG, "npy_open: NULL argument");
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return dc_fail(DC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return dc_fail(DC_ERR_IO, "%s: not a regular file", path);
    }
    size_t size = (size_t)sb.st_size;
    if (size < 10) {
        close(fd);
        return dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: file too short for a .npy header", path, size);
    }
    void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (map == MAP_FAILED) return dc_fail(DC_ERR_IO, "%s: cannot map %zu bytes: %s", path, size, strerror(e));
    dc_status st = dc_npy_parse_header(map, size, size, path, &out->hdr);
    if (st) {
        munmap(map, size);
        return st;
    }
    fill_from_header(out);
    size_t es = dc_npy_dtype_size(out->dtype);
    if (out->hdr.data_offset % es != 0) { /* misaligned data: copy into aligned memory */
        void *copy = malloc(out->hdr.data_bytes ? out->hdr.data_bytes : 1);
        if (!copy) {
            munmap(map, size);
            return dc_fail(DC_ERR_OOM, "%s: out of memory for %zu bytes", path, out->hdr.data_bytes);
        }
        memcpy(copy, (uint8_t *)map + out->hdr.data_offset, out->hdr.data_bytes);
        munmap(map, size);
        out->map_ = copy;
        out->owned_ = 1;
        out->data = copy;
        return DC_OK;
    }
    madvise(map, size, MADV_WILLNEED);
    out->map_ = map;
    out->map_len_ = size;
    out->data = (uint8_t *)map + out->hdr.data_offset;
    return DC_OK;
}

void dc_npy_close(dc_npy *a) {
    if (!a) return;
    if (a->owned_) free(a->map_);
    else if (a->map_ && a->map_len_) munmap(a->map_, a->map_len_);
    memset(a, 0, sizeof *a);
}

/* ---- writing -------------------------------------------------------------------------- */

dc_status dc_npy_write(const char *path, dc_npy_dtype dt, int ndim, const int64_t *shape, const void *data) {
    uint8_t hdr[1024];
    size_t hl;
    dc_status st = dc_npy_format_header(dt, ndim, shape, hdr, sizeof hdr, &hl);
    if (st) return dc_fail_prefix("%s", path ? path : "npy");
    size_t n = dc_npy_dtype_size(dt);
    for (int i = 0; i < ndim; i++) n *= (size_t)shape[i];
    if (n && !data) return dc_fail(DC_ERR_ARG, "%s: no data to write", path);
    dc_atomic_file f;
    st = dc_atomic_file_begin(&f, path);
    if (st == DC_OK) st = dc_atomic_file_write(&f, hdr, hl);
    if (st == DC_OK && n) st = dc_atomic_file_write(&f, data, n);
    if (st == DC_OK) st = dc_atomic_file_commit(&f);
    if (st != DC_OK) dc_atomic_file_abort(&f);
    return st;
}
