/* edf.c: EDF / EDF+ header parsing, size checks and signal reading (16-bit EDF only).
 * TAL annotations are in edf_annotations.c, hypnograms and SleepEEG instances in
 * edf_sleep.c. The file is held in memory; every field is validated before use, and every
 * error names the file and the byte offset of the field or record at fault.
 */
#include "data/dc_edf.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_file.h"

#define EDF_MAX_SIGNALS 4096
#define EDF_MAX_SAMPLES_PER_RECORD (1 << 28)

/* Copy a w-byte field, stop at NUL, drop leading/trailing spaces. out has w + 1 bytes. */
static void field_str(const uint8_t *p, size_t w, char *out) {
    size_t b = 0, e = 0;
    while (e < w && p[e]) e++;
    while (b < e && p[b] == ' ') b++;
    while (e > b && p[e - 1] == ' ') e--;
    memcpy(out, p + b, e - b);
    out[e - b] = '\0';
}

/* Printable copy of a field for messages. */
static const char *show(const uint8_t *p, size_t w, char *buf) {
    size_t i;
    for (i = 0; i < w; i++) buf[i] = (p[i] >= 32 && p[i] < 127) ? (char)p[i] : '?';
    buf[i] = '\0';
    return buf;
}

static dc_status num_field(const dc_edf *e, size_t off, size_t w, const char *what, double *v) {
    char s[96], shown[96];
    field_str(e->data + off, w, s);
    char *end;
    errno = 0;
    double x = s[0] ? strtod(s, &end) : 0;
    if (!s[0] || *end || errno == ERANGE || !isfinite(x) || strpbrk(s, "xXnNiI"))
        return dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: non-numeric %s '%s'", e->path, off, what,
                       show(e->data + off, w, shown));
    *v = x;
    return DC_OK;
}

static dc_status int_field(const dc_edf *e, size_t off, size_t w, const char *what, int64_t *v) {
    char s[96], shown[96];
    field_str(e->data + off, w, s);
    char *end;
    errno = 0;
    long long x = s[0] ? strtoll(s, &end, 10) : 0;
    if (!s[0] || *end || errno)
        return dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: non-integer %s '%s'", e->path, off, what,
                       show(e->data + off, w, shown));
    *v = (int64_t)x;
    return DC_OK;
}

static dc_status parse_signals(dc_edf *e) {
    const int ns = e->n_signals;
    const size_t base = 256;
    dc_status st;
    int64_t rec = 0;
    for (int i = 0; i < ns; i++) {
        dc_edf_signal *s = &e->sig[i];
        size_t o_label = base + (size_t)i * 16, o_trans = base + (size_t)ns * 16 + (size_t)i * 80,
               o_dim = base + (size_t)ns * 96 + (size_t)i * 8, o_pmin = base + (size_t)ns * 104 + (size_t)i * 8,
               o_pmax = base + (size_t)ns * 112 + (size_t)i * 8, o_dmin = base + (size_t)ns * 120 + (size_t)i * 8,
               o_dmax = base + (size_t)ns * 128 + (size_t)i * 8, o_pre = base + (size_t)ns * 136 + (size_t)i * 80,
               o_ns = base + (size_t)ns * 216 + (size_t)i * 8, o_res = base + (size_t)ns * 224 + (size_t)i * 32;
        int64_t dmin, dmax;
        field_str(e->data + o_label, 16, s->label);
        field_str(e->data + o_trans, 80, s->transducer);
        field_str(e->data + o_dim, 8, s->phys_dim);
        field_str(e->data + o_pre, 80, s->prefilter);
        field_str(e->data + o_res, 32, s->reserved);
        s->is_annotation = strcmp(s->label, "EDF Annotations") == 0;
        if ((st = num_field(e, o_pmin, 8, "physical minimum", &s->phys_min)) ||
            (st = num_field(e, o_pmax, 8, "physical maximum", &s->phys_max)) ||
            (st = int_field(e, o_dmin, 8, "digital minimum", &dmin)) ||
            (st = int_field(e, o_dmax, 8, "digital maximum", &dmax)) ||
            (st = int_field(e, o_ns, 8, "samples per record", &s->samples_per_record)))
            return st;
        if (dmin < -32768 || dmin > 32767)
            return dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: signal %d digital minimum %lld outside 16 bits",
                           e->path, o_dmin, i, (long long)dmin);
        if (dmax < -32768 || dmax > 32767)
            return dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: signal %d digital maximum %lld outside 16 bits",
                           e->path, o_dmax, i, (long long)dmax);
        if (dmin >= dmax)
            return dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: signal %d digital minimum %lld >= maximum %lld",
                           e->path, o_dmin, i, (long long)dmin, (long long)dmax);
        if (s->phys_min == s->phys_max)
            return dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: signal %d physical minimum equals maximum (%g)",
                           e->path, o_pmin, i, s->phys_min);
        if (s->samples_per_record < 1 || s->samples_per_record > EDF_MAX_SAMPLES_PER_RECORD)
            return dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: signal %d has %lld samples per record", e->path,
                           o_ns, i, (long long)s->samples_per_record);
        s->dig_min = (int32_t)dmin;
        s->dig_max = (int32_t)dmax;
        s->offset_in_record = rec;
        rec += 2 * s->samples_per_record; /* <= 4096 * 2^29: no overflow */
    }
    e->record_bytes = rec;
    return DC_OK;
}

/* Parse the header of e->data (e->size bytes, owned by e). */
static dc_status parse_header(dc_edf *e) {
    dc_status st;
    char shown[96];
    if (e->size < 256)
        return dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: file too short for the 256-byte EDF header", e->path,
                       e->size);
    if (e->data[0] == 0xFF)
        return dc_fail(DC_ERR_UNSUPPORTED, "%s: byte offset 0: BDF (24-bit) files are not supported", e->path);
    field_str(e->data, 8, e->version);
    if (strcmp(e->version, "0"))
        return dc_fail(DC_ERR_FORMAT, "%s: byte offset 0: version '%s' is not \"0\"", e->path, show(e->data, 8, shown));
    field_str(e->data + 8, 80, e->patient);
    field_str(e->data + 88, 80, e->recording);
    field_str(e->data + 168, 8, e->start_date);
    field_str(e->data + 176, 8, e->start_time);
    field_str(e->data + 192, 44, e->reserved);
    e->is_edfplus = !strncmp(e->reserved, "EDF+C", 5) || !strncmp(e->reserved, "EDF+D", 5);
    e->is_discontinuous = !strncmp(e->reserved, "EDF+D", 5);
    int64_t ns = 0;
    if ((st = int_field(e, 184, 8, "header size", &e->header_bytes)) ||
        (st = int_field(e, 236, 8, "number of data records", &e->n_records)) ||
        (st = num_field(e, 244, 8, "record duration", &e->record_duration)) ||
        (st = int_field(e, 252, 4, "number of signals", &ns)))
        return st;
    if (ns < 1 || ns > EDF_MAX_SIGNALS)
        return dc_fail(DC_ERR_FORMAT, "%s: byte offset 252: number of signals %lld outside 1..%d", e->path,
                       (long long)ns, EDF_MAX_SIGNALS);
    e->n_signals = (int)ns;
    if (e->header_bytes != 256 * (ns + 1))
        return dc_fail(DC_ERR_FORMAT, "%s: byte offset 184: header size %lld, but %lld signals need %lld bytes",
                       e->path, (long long)e->header_bytes, (long long)ns, (long long)(256 * (ns + 1)));
    if (e->record_duration < 0)
        return dc_fail(DC_ERR_FORMAT, "%s: byte offset 244: negative record duration %g", e->path,
                       e->record_duration);
    if (e->n_records < -1)
        return dc_fail(DC_ERR_FORMAT, "%s: byte offset 236: number of data records %lld", e->path,
                       (long long)e->n_records);
    if (e->size < (size_t)e->header_bytes)
        return dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: file ends inside the signal headers (%lld bytes)",
                       e->path, e->size, (long long)e->header_bytes);
    if (!(e->sig = calloc((size_t)ns, sizeof *e->sig)))
        return dc_fail(DC_ERR_OOM, "%s: out of memory for %lld signal headers", e->path, (long long)ns);
    if ((st = parse_signals(e))) return st;
    /* file size must be header + n_records * record size, exactly */
    size_t avail = e->size - (size_t)e->header_bytes;
    uint64_t rb = (uint64_t)e->record_bytes;
    if (e->n_records == -1) {
        if (avail % rb)
            return dc_fail(DC_ERR_FORMAT,
                           "%s: byte offset %zu: file ends inside a data record (records of %lld bytes, "
                           "number of records -1)",
                           e->path, e->size, (long long)rb);
        e->n_records = (int64_t)(avail / rb);
    }
    uint64_t nr = (uint64_t)e->n_records;
    if (nr > avail / rb)
        return dc_fail(DC_ERR_FORMAT,
                       "%s: byte offset %zu: file ends inside data record %llu: header says %lld records of "
                       "%lld bytes",
                       e->path, e->size, (unsigned long long)(avail / rb), (long long)e->n_records,
                       (long long)rb);
    if (nr * rb != avail)
        return dc_fail(DC_ERR_FORMAT,
                       "%s: byte offset %llu: %llu bytes after the last data record (header says %lld records of "
                       "%lld bytes)",
                       e->path, (unsigned long long)(nr * rb + (uint64_t)e->header_bytes),
                       (unsigned long long)(avail - nr * rb), (long long)e->n_records, (long long)rb);
    return DC_OK;
}

static dc_status edf_take(uint8_t *buf, size_t len, const char *name, dc_edf **out) {
    dc_edf *e = calloc(1, sizeof *e);
    if (!e) {
        free(buf);
        return dc_fail(DC_ERR_OOM, "%s: out of memory", name);
    }
    snprintf(e->path, sizeof e->path, "%s", name ? name : "<edf>");
    e->data = buf;
    e->size = len;
    dc_status st = parse_header(e);
    if (st) {
        dc_edf_free(e);
        return st;
    }
    *out = e;
    return DC_OK;
}

dc_status dc_edf_parse(const uint8_t *buf, size_t len, const char *name, dc_edf **out) {
    if (!out) return dc_fail(DC_ERR_ARG, "edf: NULL output");
    *out = NULL;
    if (!buf && len) return dc_fail(DC_ERR_ARG, "edf: NULL buffer");
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) return dc_fail(DC_ERR_OOM, "%s: cannot allocate %zu bytes", name ? name : "<edf>", len);
    if (len) memcpy(copy, buf, len);
    return edf_take(copy, len, name, out);
}

dc_status dc_edf_open(const char *path, dc_edf **out) {
    if (!out) return dc_fail(DC_ERR_ARG, "edf: NULL output");
    *out = NULL;
    uint8_t *buf;
    size_t len;
    dc_status st = dc_data_read_file(path, &buf, &len);
    if (st) return st;
    return edf_take(buf, len, path, out);
}

void dc_edf_free(dc_edf *e) {
    if (!e) return;
    free(e->sig);
    free(e->data);
    free(e);
}

int dc_edf_find_signal(const dc_edf *e, const char *label) {
    if (!e || !label) return -1;
    while (*label == ' ') label++;
    size_t n = strlen(label);
    while (n && label[n - 1] == ' ') n--;
    for (int i = 0; i < e->n_signals; i++)
        if (strlen(e->sig[i].label) == n && !memcmp(e->sig[i].label, label, n)) return i;
    return -1;
}

int64_t dc_edf_signal_length(const dc_edf *e, int i) {
    if (!e || i < 0 || i >= e->n_signals) return 0;
    return e->sig[i].samples_per_record * e->n_records; /* bounded by the file size */
}

double dc_edf_signal_rate(const dc_edf *e, int i) {
    if (!e || i < 0 || i >= e->n_signals || !(e->record_duration > 0)) return 0;
    return (double)e->sig[i].samples_per_record / e->record_duration;
}

dc_status dc_edf_read_digital(const dc_edf *e, int i, int32_t *out) {
    if (!e || i < 0 || i >= e->n_signals) return dc_fail(DC_ERR_ARG, "edf: bad signal index %d", i);
    const int64_t spr = e->sig[i].samples_per_record;
    if (!out && e->n_records > 0) return dc_fail(DC_ERR_ARG, "edf: NULL output");
    for (int64_t r = 0; r < e->n_records; r++) {
        const uint8_t *p = e->data + e->header_bytes + r * e->record_bytes + e->sig[i].offset_in_record;
        int32_t *o = out + r * spr;
        for (int64_t j = 0; j < spr; j++) o[j] = (int16_t)(uint16_t)(p[2 * j] | (p[2 * j + 1] << 8));
    }
    return DC_OK;
}

dc_status dc_edf_read_physical(const dc_edf *e, int i, double *out) {
    if (!e || i < 0 || i >= e->n_signals) return dc_fail(DC_ERR_ARG, "edf: bad signal index %d", i);
    const dc_edf_signal *s = &e->sig[i];
    const int64_t spr = s->samples_per_record;
    if (!out && e->n_records > 0) return dc_fail(DC_ERR_ARG, "edf: NULL output");
    const double scale = (s->phys_max - s->phys_min) / ((double)s->dig_max - (double)s->dig_min);
    const double dmin = s->dig_min, pmin = s->phys_min;
    for (int64_t r = 0; r < e->n_records; r++) {
        const uint8_t *p = e->data + e->header_bytes + r * e->record_bytes + s->offset_in_record;
        double *o = out + r * spr;
        for (int64_t j = 0; j < spr; j++) {
            int d = (int16_t)(uint16_t)(p[2 * j] | (p[2 * j + 1] << 8));
            o[j] = (d - dmin) * scale + pmin;
        }
    }
    return DC_OK;
}
