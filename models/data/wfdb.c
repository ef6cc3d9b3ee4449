/* wfdb.c: WFDB header (.hea) parser. Single-segment records only. Signal files (.dat)
 * are decoded in wfdb_dat.c, annotation files (.atr) and rhythm labels in wfdb_annot.c.
 * Nothing here aborts on bad input: every problem becomes a dc_fail message naming the
 * file and the header line.
 */
#include "data/dc_wfdb.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_file.h"

#define WFDB_MAX_SIG 65536 /* sanity bound on nsig from a header */
#define WFDB_MAX_TOK 10    /* tokens looked at on a line (the rest is the description) */

/* ---- small strict number parsers over NUL-terminated tokens ----------------------- */

static int parse_i64(const char *s, int64_t *v) {
    if (!*s || isspace((unsigned char)*s)) return 0;
    errno = 0;
    char *end;
    long long x = strtoll(s, &end, 10);
    if (*end || errno) return 0;
    *v = (int64_t)x;
    return 1;
}

static int parse_int(const char *s, int *v) {
    int64_t x;
    if (!parse_i64(s, &x) || x < INT_MIN || x > INT_MAX) return 0;
    *v = (int)x;
    return 1;
}

static int parse_dbl(const char *s, double *v) {
    if (!*s || isspace((unsigned char)*s)) return 0;
    errno = 0;
    char *end;
    double x = strtod(s, &end);
    if (*end || errno == ERANGE || !isfinite(x)) return 0;
    *v = x;
    return 1;
}

/* Copy a bounded substring [s, s+n) into a token buffer; 0 if it does not fit. */
static int copy_tok(char *dst, size_t cap, const char *s, size_t n) {
    if (n >= cap) return 0;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 1;
}

/* Split a line in place into at most max whitespace-separated, NUL-terminated tokens. */
static int split(char *line, char **tok, int max) {
    int n = 0;
    char *p = line;
    while (n < max) {
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) break;
        tok[n++] = p;
        while (*p && *p != ' ' && *p != '\t') p++;
        if (!*p) break;
        *p++ = '\0';
    }
    return n;
}

/* ---- header ---------------------------------------------------------------------------- */

static int default_adc_res(int fmt) {
    switch (fmt) {
    case 212: return 12;
    case 80: return 8;
    default: return 16;
    }
}

static int format_supported(int fmt) { return fmt == 212 || fmt == 16 || fmt == 61 || fmt == 80; }

/* "fmt[xN][:skew][+offset]" */
static dc_status parse_format(const char *name, int ln, const char *s, dc_wfdb_signal *sg) {
    char buf[64];
    const char *p = s;
    int fmt = 0, spf = 1, skew = 0;
    int64_t off = 0;
    size_t n = strspn(p, "0123456789");
    if (!n || !copy_tok(buf, sizeof buf, p, n) || !parse_int(buf, &fmt))
        return dc_fail(DC_ERR_FORMAT, "%s:%d: non-numeric signal format '%s'", name, ln, s);
    p += n;
    if (*p == 'x') {
        n = strspn(++p, "0123456789");
        if (!n || !copy_tok(buf, sizeof buf, p, n) || !parse_int(buf, &spf))
            return dc_fail(DC_ERR_FORMAT, "%s:%d: bad samples-per-frame in '%s'", name, ln, s);
        p += n;
    }
    if (*p == ':') {
        n = strspn(++p, "0123456789");
        if (!n || !copy_tok(buf, sizeof buf, p, n) || !parse_int(buf, &skew))
            return dc_fail(DC_ERR_FORMAT, "%s:%d: bad skew in '%s'", name, ln, s);
        p += n;
    }
    if (*p == '+') {
        n = strspn(++p, "0123456789");
        if (!n || !copy_tok(buf, sizeof buf, p, n) || !parse_i64(buf, &off))
            return dc_fail(DC_ERR_FORMAT, "%s:%d: bad byte offset in '%s'", name, ln, s);
        p += n;
    }
    if (*p) return dc_fail(DC_ERR_FORMAT, "%s:%d: malformed signal format '%s'", name, ln, s);
    if (!format_supported(fmt))
        return dc_fail(DC_ERR_UNSUPPORTED,
                       "%s:%d: signal format %d not supported (212, 16, 61, 80 are)", name, ln, fmt);
    if (spf != 1)
        return dc_fail(DC_ERR_UNSUPPORTED,
                       "%s:%d: %d samples per frame ('x%d') not supported", name, ln, spf, spf);
    if (skew != 0)
        return dc_fail(DC_ERR_UNSUPPORTED, "%s:%d: skew %d not supported", name, ln, skew);
    sg->format = fmt;
    sg->byte_offset = off;
    return DC_OK;
}

/* "gain[(baseline)][/units]" */
static dc_status parse_gain(const char *name, int ln, const char *s, dc_wfdb_signal *sg) {
    char buf[64];
    size_t n = strcspn(s, "(/");
    if (!copy_tok(buf, sizeof buf, s, n) || !parse_dbl(buf, &sg->gain))
        return dc_fail(DC_ERR_FORMAT, "%s:%d: non-numeric gain '%s'", name, ln, s);
    const char *p = s + n;
    if (*p == '(') {
        const char *close = strchr(p, ')');
        if (!close || !copy_tok(buf, sizeof buf, p + 1, (size_t)(close - p - 1)) ||
            !parse_int(buf, &sg->baseline))
            return dc_fail(DC_ERR_FORMAT, "%s:%d: bad baseline in '%s'", name, ln, s);
        p = close + 1;
    }
    if (*p == '/') {
        if (!copy_tok(sg->units, sizeof sg->units, p + 1, strlen(p + 1)))
            return dc_fail(DC_ERR_FORMAT, "%s:%d: units too long in '%s'", name, ln, s);
        p += strlen(p);
    }
    if (*p) return dc_fail(DC_ERR_FORMAT, "%s:%d: malformed gain '%s'", name, ln, s);
    if (sg->gain == 0) sg->gain = 200; /* WFDB default gain */
    return DC_OK;
}

static dc_status parse_record_line(const char *name, int ln, char *line, dc_wfdb_header *h) {
    char *t[WFDB_MAX_TOK];
    int nt = split(line, t, 6);
    if (nt < 2) return dc_fail(DC_ERR_FORMAT, "%s:%d: record line needs a name and a signal count", name, ln);
    if (strchr(t[0], '/'))
        return dc_fail(DC_ERR_UNSUPPORTED, "%s:%d: multi-segment record '%s' not supported", name, ln, t[0]);
    if (!copy_tok(h->name, sizeof h->name, t[0], strlen(t[0])))
        return dc_fail(DC_ERR_FORMAT, "%s:%d: record name too long", name, ln);
    if (!parse_int(t[1], &h->n_sig) || h->n_sig < 0 || h->n_sig > WFDB_MAX_SIG)
        return dc_fail(DC_ERR_FORMAT, "%s:%d: bad signal count '%s'", name, ln, t[1]);
    h->fs = 250; /* WFDB default sampling frequency */
    if (nt >= 3) {
        /* "freq[/counterfreq[(basecounter)]]": only freq is used; the rest must be numbers */
        char buf[64], *slash = strchr(t[2], '/');
        size_t n = slash ? (size_t)(slash - t[2]) : strlen(t[2]);
        if (!copy_tok(buf, sizeof buf, t[2], n) || !parse_dbl(buf, &h->fs) || !(h->fs > 0))
            return dc_fail(DC_ERR_FORMAT, "%s:%d: bad sampling frequency '%s'", name, ln, t[2]);
        if (slash) {
            char *par = strchr(slash + 1, '(');
            double cf, bc;
            n = par ? (size_t)(par - slash - 1) : strlen(slash + 1);
            if (!copy_tok(buf, sizeof buf, slash + 1, n) || !parse_dbl(buf, &cf))
                return dc_fail(DC_ERR_FORMAT, "%s:%d: bad counter frequency in '%s'", name, ln, t[2]);
            if (par) {
                char *close = strchr(par, ')');
                if (!close || close[1] || !copy_tok(buf, sizeof buf, par + 1, (size_t)(close - par - 1)) ||
                    !parse_dbl(buf, &bc))
                    return dc_fail(DC_ERR_FORMAT, "%s:%d: bad base counter in '%s'", name, ln, t[2]);
            }
        }
    }
    if (nt >= 4 && (!parse_i64(t[3], &h->n_samples) || h->n_samples < 0))
        return dc_fail(DC_ERR_FORMAT, "%s:%d: bad sample count '%s'", name, ln, t[3]);
    /* t[4], t[5]: base time and date, not needed */
    return DC_OK;
}

static dc_status parse_signal_line(const char *name, int ln, char *line, dc_wfdb_signal *sg) {
    char *t[WFDB_MAX_TOK];
    int nt = split(line, t, 8);
    dc_status st;
    if (nt < 2) return dc_fail(DC_ERR_FORMAT, "%s:%d: signal line needs a file name and a format", name, ln);
    if (!copy_tok(sg->file, sizeof sg->file, t[0], strlen(t[0])))
        return dc_fail(DC_ERR_FORMAT, "%s:%d: signal file name too long", name, ln);
    if ((st = parse_format(name, ln, t[1], sg))) return st;
    sg->gain = 200;
    strcpy(sg->units, "mV");
    int have_baseline = 0;
    if (nt >= 3) {
        sg->baseline = INT_MIN;
        if ((st = parse_gain(name, ln, t[2], sg))) return st;
        have_baseline = sg->baseline != INT_MIN;
    }
    sg->adc_res = 0;
    if (nt >= 4 && (!parse_int(t[3], &sg->adc_res) || sg->adc_res < 0 || sg->adc_res > 32))
        return dc_fail(DC_ERR_FORMAT, "%s:%d: bad ADC resolution '%s'", name, ln, t[3]);
    if (sg->adc_res == 0) sg->adc_res = default_adc_res(sg->format);
    if (nt >= 5 && !parse_int(t[4], &sg->adc_zero))
        return dc_fail(DC_ERR_FORMAT, "%s:%d: non-numeric ADC zero '%s'", name, ln, t[4]);
    sg->init_value = sg->adc_zero;
    if (nt >= 6 && !parse_int(t[5], &sg->init_value))
        return dc_fail(DC_ERR_FORMAT, "%s:%d: non-numeric initial value '%s'", name, ln, t[5]);
    if (nt >= 7) {
        if (!parse_int(t[6], &sg->checksum))
            return dc_fail(DC_ERR_FORMAT, "%s:%d: non-numeric checksum '%s'", name, ln, t[6]);
        sg->has_checksum = 1;
    }
    /* block size; the description after it was taken by find_description() */
    if (nt >= 8 && (!parse_int(t[7], &sg->block_size) || sg->block_size < 0))
        return dc_fail(DC_ERR_FORMAT, "%s:%d: bad block size '%s'", name, ln, t[7]);
    if (!have_baseline) sg->baseline = sg->adc_zero;
    return DC_OK;
}

/* The description is whatever follows the 8th token; split() needs the original line, so
 * find it before tokenising. Returns a pointer into `line` ("" if none). */
static const char *find_description(const char *line) {
    const char *p = line;
    for (int i = 0; i < 8; i++) {
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) return p;
        while (*p && *p != ' ' && *p != '\t') p++;
    }
    while (*p == ' ' || *p == '\t') p++;
    return p;
}

dc_status dc_wfdb_header_parse(const char *text, size_t len, const char *name,
                               dc_wfdb_header **out) {
    if (!out) return dc_fail(DC_ERR_ARG, "wfdb header: NULL output");
    *out = NULL;
    if (!text && len) return dc_fail(DC_ERR_ARG, "wfdb header: NULL text");
    if (!name) name = "<header>";
    dc_wfdb_header *h = calloc(1, sizeof *h);
    char *buf = malloc(len + 1);
    if (!h || !buf) {
        free(h);
        free(buf);
        return dc_fail(DC_ERR_OOM, "%s: out of memory", name);
    }
    if (len) memcpy(buf, text, len);
    buf[len] = '\0';
    dc_status st = DC_OK;
    int ln = 0, have_record = 0, nsig_seen = 0;
    char *p = buf, *end = buf + len;
    while (p < end && st == DC_OK) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end;
        ln++;
        if (memchr(p, '\0', (size_t)(le - p))) {
            st = dc_fail(DC_ERR_FORMAT, "%s:%d: NUL byte in header", name, ln);
            break;
        }
        *le = '\0';
        if (le > p && le[-1] == '\r') le[-1] = '\0';
        char *line = p;
        p = nl ? nl + 1 : end;
        while (*line == ' ' || *line == '\t') line++;
        if (*line == '#' || *line == '\0') continue;
        if (!have_record) {
            if ((st = parse_record_line(name, ln, line, h))) break;
            have_record = 1;
            if (h->n_sig > 0 && !(h->sig = calloc((size_t)h->n_sig, sizeof *h->sig))) {
                st = dc_fail(DC_ERR_OOM, "%s: out of memory for %d signals", name, h->n_sig);
                break;
            }
        } else if (nsig_seen < h->n_sig) {
            dc_wfdb_signal *sg = &h->sig[nsig_seen];
            const char *desc = find_description(line);
            size_t dl = strlen(desc);
            while (dl && (desc[dl - 1] == ' ' || desc[dl - 1] == '\t')) dl--;
            if (!copy_tok(sg->description, sizeof sg->description, desc, dl)) {
                st = dc_fail(DC_ERR_FORMAT, "%s:%d: signal description too long", name, ln);
                break;
            }
            if ((st = parse_signal_line(name, ln, line, sg))) break;
            nsig_seen++;
        }
        /* further non-comment lines (info strings of some writers) are ignored */
    }
    if (st == DC_OK && !have_record) st = dc_fail(DC_ERR_FORMAT, "%s:%d: no record line", name, ln);
    if (st == DC_OK && nsig_seen < h->n_sig)
        st = dc_fail(DC_ERR_FORMAT, "%s:%d: record line announces %d signals but only %d signal lines follow",
                     name, ln, h->n_sig, nsig_seen);
    free(buf);
    if (st) {
        dc_wfdb_header_free(h);
        return st;
    }
    *out = h;
    return DC_OK;
}

void dc_wfdb_header_free(dc_wfdb_header *h) {
    if (!h) return;
    free(h->sig);
    free(h);
}

dc_status dc_wfdb_header_read(const char *record, dc_wfdb_header **out) {
    char path[4096];
    uint8_t *buf;
    size_t len;
    dc_status st;
    if (!out) return dc_fail(DC_ERR_ARG, "wfdb header: NULL output");
    *out = NULL;
    if ((st = dc_data_path_cat(path, sizeof path, record, ".hea"))) return st;
    if ((st = dc_data_read_file(path, &buf, &len))) return st;
    st = dc_wfdb_header_parse((const char *)buf, len, path, out);
    free(buf);
    return st;
}
