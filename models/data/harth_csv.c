/* harth_csv.c: HARTH CSV reader (timestamp, back_xyz, thigh_xyz, label at 50 Hz).
 * One pass over a fully-read, NUL-terminated buffer with a hand-written float parser;
 * no per-field sscanf/strtod except the rare long-number fallback. Timestamps are only
 * checked for presence (NaN/empty drops the row), never parsed.
 */
#include "data/dc_harth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_file.h"

#define MAX_COLS 64
#define MAX_FIELD_SHOW 40

static const char *const COLS[DC_HARTH_CHANNELS] = {"back_x", "back_y", "back_z", "thigh_x", "thigh_y", "thigh_z"};

int dc_harth_label_class(int64_t code) {
    if (code >= 1 && code <= 8) return (int)code - 1;
    switch (code) {
    case 13: return 8;
    case 14: return 9;
    case 130: return 10;
    case 140: return 11;
    }
    return -1;
}

/* Powers of ten that are exact in float (10^10 = 2^10 * 9765625, 9765625 < 2^24). */
static const double P10[11] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10};

/* Parse the longest number at p (not beyond e) into *out; returns the end of the number,
 * or NULL if p does not start with one. */
static const char *scan_f32(const char *p, const char *e, float *out) {
    const char *s = p;
    int neg = 0, nd = 0, any = 0, truncated = 0;
    uint64_t m = 0;
    int64_t exp10 = 0;
    if (p < e && (*p == '+' || *p == '-')) neg = *p++ == '-';
    for (; p < e && *p >= '0' && *p <= '9'; p++) {
        any = 1;
        if (nd < 19) {
            m = m * 10 + (uint64_t)(*p - '0');
            nd += m != 0;
        } else {
            exp10++;
            truncated |= *p != '0';
        }
    }
    if (p < e && *p == '.') {
        for (p++; p < e && *p >= '0' && *p <= '9'; p++) {
            any = 1;
            if (nd < 19) {
                m = m * 10 + (uint64_t)(*p - '0');
                nd += m != 0;
                exp10--;
            } else {
                truncated |= *p != '0';
            }
        }
    }
    if (!any) return NULL;
    if (p < e && (*p == 'e' || *p == 'E')) {
        const char *q = p + 1;
        int eneg = 0;
        int64_t x = 0;
        if (q < e && (*q == '+' || *q == '-')) eneg = *q++ == '-';
        if (q >= e || *q < '0' || *q > '9') return NULL; /* "1e" / "1e+" */
        for (; q < e && *q >= '0' && *q <= '9'; q++)
            if (x < 100000) x = x * 10 + (*q - '0');
        exp10 += eneg ? -x : x;
        p = q;
    }
    if (m == 0) {
        *out = neg ? -0.0f : 0.0f;
        return p;
    }
    if (!truncated && m <= (1u << 24) && exp10 >= -10 && exp10 <= 10) {
        /* Both operands are exact floats and double has >= 2*24+2 bits, so rounding the
         * double quotient/product to float gives the correctly rounded float32. */
        double v = exp10 < 0 ? (double)m / P10[-exp10] : (double)m * P10[exp10];
        *out = (float)(neg ? -v : v);
        return p;
    }
    /* rare: many digits or large exponents; strtof rounds correctly */
    char buf[128];
    size_t n = (size_t)(p - s);
    if (n >= sizeof buf) return NULL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    *out = strtof(buf, NULL);
    return p;
}

int dc_harth_parse_f32(const char *s, size_t n, float *out) {
    if (!s || !out) return 0;
    const char *e = scan_f32(s, s + n, out);
    return e == s + n;
}

/* pandas' default NA strings (read_csv na_values), plus the empty field. */
static int is_na(const char *s, size_t n) {
    static const char *const NA[] = {"#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
                                     "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
                                     "NAN", "-NAN"};
    if (n == 0) return 1;
    if (n > 8) return 0; /* longest NA string; timestamps and numbers exit here */
    for (size_t i = 0; i < sizeof NA / sizeof NA[0]; i++)
        if (strlen(NA[i]) == n && !memcmp(NA[i], s, n)) return 1;
    return 0;
}

/* Trim spaces and one pair of surrounding double quotes. */
static void trim(const char **s, const char **e) {
    while (*s < *e && (**s == ' ' || **s == '\t')) (*s)++;
    while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t')) (*e)--;
    if (*e - *s >= 2 && **s == '"' && (*e)[-1] == '"') {
        (*s)++;
        (*e)--;
    }
}

static const char *show(const char *s, const char *e, char *buf) {
    size_t n = (size_t)(e - s) < MAX_FIELD_SHOW ? (size_t)(e - s) : MAX_FIELD_SHOW;
    for (size_t i = 0; i < n; i++) buf[i] = (s[i] >= 32 && s[i] < 127) ? s[i] : '?';
    buf[n] = '\0';
    return buf;
}

/* Split the line at p (ends at '\n' or the NUL sentinel) into fields. Returns the field
 * count (MAX_COLS + 1 if there are more) and sets *next to the start of the next line.
 * A NUL byte before `end` is reported through *nul. */
static int split_line(const char *p, const char *end, const char **fs, const char **fe, const char **next,
                      int *nul) {
    int n = 0;
    *nul = 0;
    for (;;) {
        const char *s = p;
        while (*p != ',' && *p != '\n' && *p != '\0') p++;
        const char *e = p;
        if (*p != ',' && e > s && e[-1] == '\r') e--; /* CRLF */
        if (n < MAX_COLS) {
            fs[n] = s;
            fe[n] = e;
        }
        n += n <= MAX_COLS;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '\0' && p < end) *nul = 1;
        *next = *p == '\n' ? p + 1 : p;
        return n;
    }
}

typedef struct layout {
    int ncols, ts, label, ch[DC_HARTH_CHANNELS];
    signed char role[MAX_COLS]; /* per column: channel 0..5, ROLE_LABEL, ROLE_TS, ROLE_SKIP */
} layout;

enum { ROLE_LABEL = 6, ROLE_TS = 7, ROLE_SKIP = 8 };

static void set_roles(layout *L) {
    for (int i = 0; i < L->ncols && i < MAX_COLS; i++) L->role[i] = ROLE_SKIP;
    for (int c = 0; c < DC_HARTH_CHANNELS; c++) L->role[L->ch[c]] = (signed char)c;
    L->role[L->label] = ROLE_LABEL;
    if (L->ts >= 0) L->role[L->ts] = ROLE_TS;
}

/* Fast path for a well-formed line: numbers parsed in place, no splitting. Returns the
 * start of the next line, or NULL when anything is unusual (NaN, spaces, quotes, wrong
 * column count, bad values); the caller then re-does the line on the careful path, which
 * also produces the error messages. */
static const char *fast_row(const layout *L, const char *p, const char *end, float *xr, int32_t *y) {
    for (int i = 0; i < L->ncols; i++) {
        const char *q;
        int r = L->role[i];
        if (r < DC_HARTH_CHANNELS) {
            if (!(q = scan_f32(p, end, &xr[r])) || !isfinite(xr[r])) return NULL;
        } else if (r == ROLE_LABEL) {
            int64_t code = 0;
            for (q = p; q < p + 9 && *q >= '0' && *q <= '9'; q++) code = code * 10 + (*q - '0');
            int cls = dc_harth_label_class(code);
            if (q == p || cls < 0) return NULL;
            *y = cls;
        } else {
            q = p;
            while (*q != ',' && *q != '\n' && *q != '\r' && *q != '\0') q++;
            if (q - p <= 8) return NULL; /* empty or possibly an NA string: careful path */
        }
        if (i + 1 < L->ncols) {
            if (*q != ',') return NULL;
            p = q + 1;
        } else {
            if (*q == '\r') q++;
            if (*q == '\n') return q + 1;
            return *q == '\0' && q == end ? q : NULL;
        }
    }
    return NULL;
}

static dc_status find_layout(const char *name, int64_t ln, const char **fs, const char **fe, int nf, layout *L,
                             int *is_header) {
    L->ncols = nf;
    L->ts = L->label = -1;
    for (int c = 0; c < DC_HARTH_CHANNELS; c++) L->ch[c] = -1;
    *is_header = 0;
    for (int i = 0; i < nf && i < MAX_COLS; i++) {
        const char *s = fs[i], *e = fe[i];
        trim(&s, &e);
        size_t n = (size_t)(e - s);
        int *slot = NULL;
        if (n == 9 && !memcmp(s, "timestamp", 9)) slot = &L->ts;
        else if (n == 5 && !memcmp(s, "label", 5)) slot = &L->label;
        for (int c = 0; c < DC_HARTH_CHANNELS; c++)
            if (n == strlen(COLS[c]) && !memcmp(s, COLS[c], n)) slot = &L->ch[c];
        if (!slot) continue;
        *is_header = 1;
        if (*slot >= 0)
            return dc_fail(DC_ERR_FORMAT, "%s:%lld: column '%.*s' appears twice", name, (long long)ln, (int)n, s);
        *slot = i;
    }
    if (nf > MAX_COLS) return dc_fail(DC_ERR_FORMAT, "%s:%lld: more than %d columns", name, (long long)ln, MAX_COLS);
    if (*is_header) {
        for (int c = 0; c < DC_HARTH_CHANNELS; c++)
            if (L->ch[c] < 0)
                return dc_fail(DC_ERR_FORMAT, "%s:%lld: header lacks column '%s'", name, (long long)ln, COLS[c]);
        if (L->label < 0) return dc_fail(DC_ERR_FORMAT, "%s:%lld: header lacks column 'label'", name, (long long)ln);
        return DC_OK;
    }
    int first; /* no header: [index,] [timestamp,] 6 channels, label */
    if (nf == 7) first = 0, L->ts = -1;
    else if (nf == 8) first = 1, L->ts = 0;
    else if (nf == 9) first = 2, L->ts = 1;
    else
        return dc_fail(DC_ERR_FORMAT, "%s:%lld: without a header row, expected 7, 8 or 9 columns, found %d", name,
                       (long long)ln, nf);
    for (int c = 0; c < DC_HARTH_CHANNELS; c++) L->ch[c] = first + c;
    L->label = first + DC_HARTH_CHANNELS;
    return DC_OK;
}

/* Integer label, optionally written as a float with a zero fraction ("6.0"). */
static int parse_label(const char *s, const char *e, int64_t *v) {
    int64_t x = 0;
    int digits = 0;
    const char *p = s;
    if (p < e && *p == '+') p++;
    for (; p < e && *p >= '0' && *p <= '9'; p++, digits++)
        if ((x = x * 10 + (*p - '0')) > 1000000000) return 0;
    if (!digits) return 0;
    if (p < e && *p == '.')
        for (p++; p < e && *p == '0'; p++) {
        }
    if (p != e) return 0;
    *v = x;
    return 1;
}

/* buf is NUL-terminated at buf[len]. */
static dc_status parse_buffer(const char *buf, size_t len, const char *name, dc_harth *h) {
    const char *p = buf, *end = buf + len;
    const char *fs[MAX_COLS], *fe[MAX_COLS], *next;
    char sh[MAX_FIELD_SHOW + 1];
    int nul;
    if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3;
    /* rows <= lines: one allocation up front */
    int64_t lines = 1;
    for (const char *q = p; (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++) lines++;
    if ((uint64_t)lines > SIZE_MAX / (DC_HARTH_CHANNELS * sizeof(float)))
        return dc_fail(DC_ERR_OOM, "%s: too many lines", name);
    h->x = malloc((size_t)lines * DC_HARTH_CHANNELS * sizeof(float));
    h->y = malloc((size_t)lines * sizeof(int32_t));
    if (!h->x || !h->y) return dc_fail(DC_ERR_OOM, "%s: out of memory for %lld rows", name, (long long)lines);
    layout L;
    int have_layout = 0;
    int64_t ln = 0, n = 0;
    while (p < end) {
        ln++;
        if (have_layout) {
            const char *q = fast_row(&L, p, end, h->x + n * DC_HARTH_CHANNELS, h->y + n);
            if (q) {
                p = q;
                n++;
                continue;
            }
        }
        int nf = split_line(p, end, fs, fe, &next, &nul);
        if (nul) return dc_fail(DC_ERR_FORMAT, "%s:%lld: NUL byte in text", name, (long long)ln);
        p = next;
        if (nf == 1 && fe[0] == fs[0]) continue; /* blank line */
        if (!have_layout) {
            int is_header;
            dc_status st = find_layout(name, ln, fs, fe, nf, &L, &is_header);
            if (st) return st;
            have_layout = 1;
            set_roles(&L);
            if (is_header) continue;
        }
        if (nf != L.ncols)
            return dc_fail(DC_ERR_FORMAT, "%s:%lld: expected %d columns, found %d%s", name, (long long)ln, L.ncols,
                           nf > MAX_COLS ? MAX_COLS : nf, nf > MAX_COLS ? "+" : "");
        float *xr = h->x + n * DC_HARTH_CHANNELS;
        int drop = 0;
        for (int c = 0; c < DC_HARTH_CHANNELS; c++) {
            const char *s = fs[L.ch[c]], *e = fe[L.ch[c]];
            if (dc_harth_parse_f32(s, (size_t)(e - s), &xr[c]) && isfinite(xr[c])) continue;
            trim(&s, &e);
            if (is_na(s, (size_t)(e - s))) {
                drop = 1;
                continue;
            }
            if (!dc_harth_parse_f32(s, (size_t)(e - s), &xr[c]) || !isfinite(xr[c]))
                return dc_fail(DC_ERR_FORMAT, "%s:%lld: column %s: non-numeric value '%s'", name, (long long)ln,
                               COLS[c], show(s, e, sh));
        }
        const char *s = fs[L.label], *e = fe[L.label];
        int64_t code;
        trim(&s, &e);
        if (is_na(s, (size_t)(e - s))) {
            drop = 1;
        } else if (!parse_label(s, e, &code)) {
            return dc_fail(DC_ERR_FORMAT, "%s:%lld: column label: non-integer value '%s'", name, (long long)ln,
                           show(s, e, sh));
        } else if (!drop) {
            int cls = dc_harth_label_class(code);
            if (cls < 0)
                return dc_fail(DC_ERR_FORMAT, "%s:%lld: unknown label %lld", name, (long long)ln, (long long)code);
            h->y[n] = cls;
        }
        if (L.ts >= 0) {
            s = fs[L.ts];
            e = fe[L.ts];
            trim(&s, &e);
            drop |= is_na(s, (size_t)(e - s));
        }
        if (drop) h->n_dropped++;
        else n++;
    }
    if (!have_layout) return dc_fail(DC_ERR_FORMAT, "%s: no data (empty file)", name);
    h->n = n;
    return DC_OK;
}

dc_status dc_harth_parse(const char *buf, size_t len, const char *name, dc_harth **out) {
    if (!out) return dc_fail(DC_ERR_ARG, "harth: NULL output");
    *out = NULL;
    if (!buf && len) return dc_fail(DC_ERR_ARG, "harth: NULL buffer");
    if (!name) name = "<harth>";
    char *copy = malloc(len + 1); /* the parser needs a NUL sentinel */
    dc_harth *h = calloc(1, sizeof *h);
    if (!copy || !h) {
        free(copy);
        free(h);
        return dc_fail(DC_ERR_OOM, "%s: out of memory", name);
    }
    if (len) memcpy(copy, buf, len);
    copy[len] = '\0';
    dc_status st = parse_buffer(copy, len, name, h);
    free(copy);
    if (st) {
        dc_harth_free(h);
        return st;
    }
    *out = h;
    return DC_OK;
}

dc_status dc_harth_read(const char *path, dc_harth **out) {
    if (!out) return dc_fail(DC_ERR_ARG, "harth: NULL output");
    *out = NULL;
    uint8_t *buf;
    size_t len;
    dc_status st = dc_data_read_file(path, &buf, &len); /* NUL-terminated */
    if (st) return st;
    dc_harth *h = calloc(1, sizeof *h);
    if (!h) {
        free(buf);
        return dc_fail(DC_ERR_OOM, "%s: out of memory", path);
    }
    st = parse_buffer((const char *)buf, len, path, h);
    free(buf);
    if (st) {
        dc_harth_free(h);
        return st;
    }
    *out = h;
    return DC_OK;
}

void dc_harth_free(dc_harth *h) {
    if (!h) return;
    free(h->x);
    free(h->y);
    free(h);
}
