/* safetensors.c: reading and writing the safetensors format (see dc_safetensors.h).
 * Reading validates everything a hostile file could get wrong: header length, UTF-8/JSON,
 * dtypes, shapes, overflow, and offsets that must tile the data region exactly.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dc/dc_atomic.h"
#include "dc/dc_safetensors.h"

#define MAX_HEADER (100u * 1000u * 1000u) /* the reference implementation's limit */

static const char *const k_names[DC_ST_DTYPE_COUNT] = {"BOOL", "U8",  "I8",  "I16", "U16", "F16", "BF16",
                                                       "I32",  "U32", "F32", "F64", "I64", "U64"};
static const size_t k_sizes[DC_ST_DTYPE_COUNT] = {1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 8, 8, 8};

const char *dc_st_dtype_name(dc_st_dtype dt) { return (unsigned)dt < DC_ST_DTYPE_COUNT ? k_names[dt] : "?"; }
size_t dc_st_dtype_size(dc_st_dtype dt) { return (unsigned)dt < DC_ST_DTYPE_COUNT ? k_sizes[dt] : 0; }

/* ---------------------------------------------------------------- reading */

struct dc_st_file {
    unsigned char *image;
    size_t len;
    int n;
    dc_st_tensor *t;
    int n_meta;
    char (*meta_key)[128];
    char **meta_val;
};

void dc_st_close(dc_st_file *f) {
    if (!f) return;
    for (int i = 0; i < f->n_meta; i++) free(f->meta_val[i]);
    free(f->meta_key);
    free(f->meta_val);
    free(f->t);
    free(f->image);
    free(f);
}

static int cmp_offset(const void *a, const void *b) {
    const dc_st_tensor *x = a, *y = b;
    const unsigned char *px = x->data, *py = y->data;
    return (px > py) - (px < py);
}

static int u64_of(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9007199254740992.0 ||
        v->valuedouble != (double)(uint64_t)v->valuedouble)
        return 0;
    *out = (uint64_t)v->valuedouble;
    return 1;
}

dc_status dc_st_parse(const void *buf, size_t len, const char *name, dc_st_file **out) {
    *out = NULL;
    if (!buf || len < 8) return dc_fail(DC_ERR_FORMAT, "%s: %zu bytes is too short for a safetensors file", name, len);
    const unsigned char *b = buf;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | b[i];
    if (n > MAX_HEADER) return dc_fail(DC_ERR_FORMAT, "%s: byte offset 0: header length %llu exceeds 100 MB", name, (unsigned long long)n);
    if (n + 8 > len)
        return dc_fail(DC_ERR_FORMAT, "%s: byte offset 0: header length %llu runs past the end of the %zu-byte file", name,
                       (unsigned long long)n, len);
    if (n < 2 || b[8] != '{') return dc_fail(DC_ERR_FORMAT, "%s: byte offset 8: header is not a JSON object", name);
    dc_st_file *f = calloc(1, sizeof *f);
    if (!f || !(f->image = malloc(len))) {
        free(f);
        return dc_fail(DC_ERR_OOM, "%s: out of memory for a %zu-byte file", name, len);
    }
    memcpy(f->image, buf, len);
    f->len = len;
    const unsigned char *data = f->image + 8 + n;
    size_t data_len = len - 8 - (size_t)n;
    cJSON *root = cJSON_ParseWithLength((const char *)f->image + 8, (size_t)n);
    dc_status st = DC_OK;
    if (!root || !cJSON_IsObject(root)) {
        st = dc_fail(DC_ERR_FORMAT, "%s: header (bytes 8..%llu) is not valid JSON", name, (unsigned long long)(8 + n));
        goto done;
    }
    int count = cJSON_GetArraySize(root);
    f->t = calloc((size_t)(count > 0 ? count : 1), sizeof *f->t);
    f->meta_key = calloc((size_t)(count > 0 ? count : 1), sizeof *f->meta_key);
    f->meta_val = calloc((size_t)(count > 0 ? count : 1), sizeof *f->meta_val);
    if (!f->t || !f->meta_key || !f->meta_val) {
        st = dc_fail(DC_ERR_OOM, "%s: out of memory", name);
        goto done;
    }
    for (const cJSON *it = root->child; it; it = it->next) {
        if (!strcmp(it->string, "__metadata__")) {
            if (!cJSON_IsObject(it)) {
                st = dc_fail(DC_ERR_FORMAT, "%s: __metadata__ must be an object of strings", name);
                goto done;
            }
            for (const cJSON *m = it->child; m; m = m->next) {
                if (!cJSON_IsString(m) || strlen(m->string) >= sizeof f->meta_key[0]) {
                    st = dc_fail(DC_ERR_FORMAT, "%s: __metadata__ entry '%.60s' must be a string", name, m->string);
                    goto done;
                }
                if (f->n_meta >= count) break;
                snprintf(f->meta_key[f->n_meta], sizeof f->meta_key[0], "%s", m->string);
                if (!(f->meta_val[f->n_meta] = strdup(m->valuestring))) {
                    st = dc_fail(DC_ERR_OOM, "%s: out of memory", name);
                    goto done;
                }
                f->n_meta++;
            }
            continue;
        }
        dc_st_tensor *t = &f->t[f->n];
        if (strlen(it->string) >= sizeof t->name) {
            st = dc_fail(DC_ERR_FORMAT, "%s: tensor name '%.60s...' is too long", name, it->string);
            goto done;
        }
        snprintf(t->name, sizeof t->name, "%s", it->string);
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(it, "dtype");
        const cJSON *sh = cJSON_GetObjectItemCaseSensitive(it, "shape");
        const cJSON *of = cJSON_GetObjectItemCaseSensitive(it, "data_offsets");
        if (!cJSON_IsObject(it) || !cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(of) ||
            cJSON_GetArraySize(of) != 2) {
            st = dc_fail(DC_ERR_FORMAT, "%s: tensor '%s' needs dtype, shape and data_offsets [begin, end]", name, t->name);
            goto done;
        }
        t->dtype = DC_ST_DTYPE_COUNT;
        for (int k = 0; k < DC_ST_DTYPE_COUNT; k++)
            if (!strcmp(dt->valuestring, k_names[k])) t->dtype = (dc_st_dtype)k;
        if (t->dtype == DC_ST_DTYPE_COUNT) {
            st = dc_fail(DC_ERR_FORMAT, "%s: tensor '%s' has unknown dtype '%.20s'", name, t->name, dt->valuestring);
            goto done;
        }
        t->ndim = cJSON_GetArraySize(sh);
        if (t->ndim > DC_ST_MAX_DIMS) {
            st = dc_fail(DC_ERR_FORMAT, "%s: tensor '%s' has %d dimensions (at most %d)", name, t->name, t->ndim, DC_ST_MAX_DIMS);
            goto done;
        }
        uint64_t numel = 1;
        for (int d = 0; d < t->ndim; d++) {
            uint64_t v;
            if (!u64_of(cJSON_GetArrayItem(sh, d), &v)) {
                st = dc_fail(DC_ERR_FORMAT, "%s: tensor '%s': shape entry %d is not a non-negative integer", name, t->name, d);
                goto done;
            }
            t->shape[d] = (int64_t)v;
            if (v && numel > UINT64_MAX / v / 8) {
                st = dc_fail(DC_ERR_FORMAT, "%s: tensor '%s': shape overflows", name, t->name);
                goto done;
            }
            numel *= v;
        }
        uint64_t b0, b1;
        if (!u64_of(cJSON_GetArrayItem(of, 0), &b0) || !u64_of(cJSON_GetArrayItem(of, 1), &b1) || b1 < b0) {
            st = dc_fail(DC_ERR_FORMAT, "%s: tensor '%s': data_offsets must be integers with begin <= end", name, t->name);
            goto done;
        }
        if (b1 > data_len) {
            st = dc_fail(DC_ERR_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] point outside the %zu data bytes", name,
                         t->name, (unsigned long long)b0, (unsigned long long)b1, data_len);
            goto done;
        }
        if (b1 - b0 != numel * k_sizes[t->dtype]) {
            st = dc_fail(DC_ERR_FORMAT, "%s: tensor '%s': %llu bytes for %llu elements of %s", name, t->name,
                         (unsigned long long)(b1 - b0), (unsigned long long)numel, k_names[t->dtype]);
            goto done;
        }
        t->data = data + b0;
        t->nbytes = (size_t)(b1 - b0);
        f->n++;
    }
    /* offsets must tile the data region: sorted, no gaps, no overlap, ending at the end */
    qsort(f->t, (size_t)f->n, sizeof *f->t, cmp_offset);
    const unsigned char *at = data;
    for (int i = 0; i < f->n; i++) {
        if ((const unsigned char *)f->t[i].data != at) {
            st = dc_fail(DC_ERR_FORMAT, "%s: tensor '%s' starts at data byte %td, expected %td (gap or overlap)", name,
                         f->t[i].name, (const unsigned char *)f->t[i].data - data, at - data);
            goto done;
        }
        at += f->t[i].nbytes;
    }
    if ((size_t)(at - data) != data_len)
        st = dc_fail(DC_ERR_FORMAT, "%s: tensors cover %td of the %zu data bytes", name, at - data, data_len);
done:
    cJSON_Delete(root);
    if (st != DC_OK) {
        dc_st_close(f);
        return st;
    }
    *out = f;
    return DC_OK;
}

dc_status dc_st_open(const char *path, dc_st_file **out) {
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return dc_fail(DC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(fp), &sb) != 0 || sb.st_size < 0) {
        fclose(fp);
        return dc_fail(DC_ERR_IO, "%s: cannot stat", path);
    }
    size_t len = (size_t)sb.st_size;
    unsigned char *buf = malloc(len ? len : 1);
    if (!buf) {
        fclose(fp);
        return dc_fail(DC_ERR_OOM, "%s: out of memory for %zu bytes", path, len);
    }
    size_t got = fread(buf, 1, len, fp);
    fclose(fp);
    dc_status st = got == len ? dc_st_parse(buf, len, path, out) : dc_fail(DC_ERR_IO, "%s: short read", path);
    free(buf);
    return st;
}

int dc_st_count(const dc_st_file *f) { return f ? f->n : 0; }
const dc_st_tensor *dc_st_get(const dc_st_file *f, int i) { return (f && i >= 0 && i < f->n) ? &f->t[i] : NULL; }

const dc_st_tensor *dc_st_find(const dc_st_file *f, const char *name) {
    for (int i = 0; f && i < f->n; i++)
        if (!strcmp(f->t[i].name, name)) return &f->t[i];
    return NULL;
}

const char *dc_st_meta(const dc_st_file *f, const char *key) {
    for (int i = 0; f && i < f->n_meta; i++)
        if (!strcmp(f->meta_key[i], key)) return f->meta_val[i];
    return NULL;
}

/* ---------------------------------------------------------------- writing */

typedef struct wt {
    char name[128];
    dc_st_dtype dtype;
    int ndim;
    int64_t shape[DC_ST_MAX_DIMS];
    void *data;
    size_t nbytes;
} wt;

struct dc_st_writer {
    int n, cap;
    wt *t;
    int n_meta;
    char meta_key[32][64];
    char *meta_val[32];
};

dc_st_writer *dc_st_writer_new(void) {
    dc_st_writer *w = calloc(1, sizeof *w);
    if (!w) dc_fail(DC_ERR_OOM, "safetensors writer: out of memory");
    return w;
}

void dc_st_writer_free(dc_st_writer *w) {
    if (!w) return;
    for (int i = 0; i < w->n; i++) free(w->t[i].data);
    for (int i = 0; i < w->n_meta; i++) free(w->meta_val[i]);
    free(w->t);
    free(w);
}

dc_status dc_st_writer_add(dc_st_writer *w, const char *name, dc_st_dtype dt, int ndim, const int64_t *shape,
                           const void *data) {
    if (!w || !name || (unsigned)dt >= DC_ST_DTYPE_COUNT || ndim < 0 || ndim > DC_ST_MAX_DIMS || (ndim && !shape) || !data)
        return dc_fail(DC_ERR_ARG, "safetensors writer: bad tensor '%s'", name ? name : "(null)");
    if (strlen(name) >= sizeof w->t[0].name || !strcmp(name, "__metadata__"))
        return dc_fail(DC_ERR_ARG, "safetensors writer: invalid tensor name '%.60s'", name);
    for (int i = 0; i < w->n; i++)
        if (!strcmp(w->t[i].name, name)) return dc_fail(DC_ERR_ARG, "safetensors writer: duplicate tensor '%s'", name);
    if (w->n == w->cap) {
        int nc = w->cap ? 2 * w->cap : 16;
        wt *p = realloc(w->t, (size_t)nc * sizeof *p);
        if (!p) return dc_fail(DC_ERR_OOM, "safetensors writer: out of memory");
        w->t = p;
        w->cap = nc;
    }
    wt *t = &w->t[w->n];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->dtype = dt;
    t->ndim = ndim;
    size_t numel = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0) return dc_fail(DC_ERR_ARG, "safetensors writer: '%s' has a negative dimension", name);
        t->shape[d] = shape[d];
        numel *= (size_t)shape[d];
    }
    t->nbytes = numel * k_sizes[dt];
    t->data = malloc(t->nbytes ? t->nbytes : 1);
    if (!t->data) return dc_fail(DC_ERR_OOM, "safetensors writer: out of memory for '%s'", name);
    memcpy(t->data, data, t->nbytes);
    w->n++;
    return DC_OK;
}

dc_status dc_st_writer_set_meta(dc_st_writer *w, const char *key, const char *value) {
    if (!w || !key || !value || strlen(key) >= sizeof w->meta_key[0])
        return dc_fail(DC_ERR_ARG, "safetensors writer: bad metadata entry");
    for (int i = 0; i < w->n_meta; i++)
        if (!strcmp(w->meta_key[i], key)) {
            char *v = strdup(value);
            if (!v) return dc_fail(DC_ERR_OOM, "safetensors writer: out of memory");
            free(w->meta_val[i]);
            w->meta_val[i] = v;
            return DC_OK;
        }
    if (w->n_meta >= 32) return dc_fail(DC_ERR_ARG, "safetensors writer: at most 32 metadata entries");
    if (!(w->meta_val[w->n_meta] = strdup(value))) return dc_fail(DC_ERR_OOM, "safetensors writer: out of memory");
    snprintf(w->meta_key[w->n_meta++], sizeof w->meta_key[0], "%s", key);
    return DC_OK;
}

/* A growable byte string. */
typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *s, const char *d, size_t n) {
    if (s->oom) return;
    if (s->n + n + 1 > s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 1024;
        while (nc < s->n + n + 1) nc *= 2;
        char *p = realloc(s->p, nc);
        if (!p) {
            s->oom = 1;
            return;
        }
        s->p = p;
        s->cap = nc;
    }
    memcpy(s->p + s->n, d, n);
    s->n += n;
    s->p[s->n] = '\0';
}

static void sb_str(sbuf *s, const char *str) { sb_put(s, str, strlen(str)); }

/* JSON string with serde_json's escaping */
static void sb_json_string(sbuf *s, const char *str) {
    sb_put(s, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)str; *c; c++) {
        char e[8];
        switch (*c) {
        case '"': sb_str(s, "\\\""); break;
        case '\\': sb_str(s, "\\\\"); break;
        case '\n': sb_str(s, "\\n"); break;
        case '\r': sb_str(s, "\\r"); break;
        case '\t': sb_str(s, "\\t"); break;
        case '\b': sb_str(s, "\\b"); break;
        case '\f': sb_str(s, "\\f"); break;
        default:
            if (*c < 0x20) {
                snprintf(e, sizeof e, "\\u%04x", *c);
                sb_str(s, e);
            } else {
                sb_put(s, (const char *)c, 1);
            }
        }
    }
    sb_put(s, "\"", 1);
}

static const dc_st_writer *g_sort_w; /* qsort context (serialize is not re-entrant per writer) */
static int cmp_writer(const void *a, const void *b) {
    const wt *x = &g_sort_w->t[*(const int *)a], *y = &g_sort_w->t[*(const int *)b];
    if (x->dtype != y->dtype) return y->dtype > x->dtype ? 1 : -1; /* larger dtype first */
    return strcmp(x->name, y->name);
}
static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

dc_status dc_st_writer_serialize(const dc_st_writer *w, void **buf, size_t *len) {
    if (!w || !buf || !len) return dc_fail(DC_ERR_ARG, "safetensors serialize: NULL argument");
    int *order = malloc((size_t)(w->n ? w->n : 1) * sizeof *order);
    if (!order) return dc_fail(DC_ERR_OOM, "safetensors serialize: out of memory");
    for (int i = 0; i < w->n; i++) order[i] = i;
    g_sort_w = w;
    qsort(order, (size_t)w->n, sizeof *order, cmp_writer);
    sbuf h = {0};
    sb_str(&h, "{");
    if (w->n_meta) {
        const char *keys[32];
        for (int i = 0; i < w->n_meta; i++) keys[i] = w->meta_key[i];
        qsort(keys, (size_t)w->n_meta, sizeof keys[0], cmp_str);
        sb_str(&h, "\"__metadata__\":{");
        for (int i = 0; i < w->n_meta; i++) {
            int k = 0;
            while (strcmp(w->meta_key[k], keys[i])) k++;
            if (i) sb_str(&h, ",");
            sb_json_string(&h, keys[i]);
            sb_str(&h, ":");
            sb_json_string(&h, w->meta_val[k]);
        }
        sb_str(&h, "}");
    }
    size_t off = 0;
    for (int i = 0; i < w->n; i++) {
        const wt *t = &w->t[order[i]];
        char num[64];
        if (i || w->n_meta) sb_str(&h, ",");
        sb_json_string(&h, t->name);
        sb_str(&h, ":{\"dtype\":");
        sb_json_string(&h, k_names[t->dtype]);
        sb_str(&h, ",\"shape\":[");
        for (int d = 0; d < t->ndim; d++) {
            snprintf(num, sizeof num, "%s%lld", d ? "," : "", (long long)t->shape[d]);
            sb_str(&h, num);
        }
        snprintf(num, sizeof num, "],\"data_offsets\":[%zu,%zu]}", off, off + t->nbytes);
        sb_str(&h, num);
        off += t->nbytes;
    }
    sb_str(&h, "}");
    while (h.n % 8) sb_str(&h, " ");
    size_t total = 8 + h.n + off;
    unsigned char *out = h.oom ? NULL : malloc(total);
    if (!out) {
        free(h.p);
        free(order);
        return dc_fail(DC_ERR_OOM, "safetensors serialize: out of memory");
    }
    uint64_t n = h.n;
    for (int i = 0; i < 8; i++) out[i] = (unsigned char)(n >> (8 * i));
    memcpy(out + 8, h.p, h.n);
    size_t at = 8 + h.n;
    for (int i = 0; i < w->n; i++) {
        const wt *t = &w->t[order[i]];
        memcpy(out + at, t->data, t->nbytes);
        at += t->nbytes;
    }
    free(h.p);
    free(order);
    *buf = out;
    *len = total;
    return DC_OK;
}

dc_status dc_st_writer_save(const dc_st_writer *w, const char *path) {
    void *buf;
    size_t len;
    dc_status st = dc_st_writer_serialize(w, &buf, &len);
    if (st != DC_OK) return st;
    st = dc_atomic_write(path, buf, len);
    free(buf);
    return st;
}
