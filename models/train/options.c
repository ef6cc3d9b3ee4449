/* options.c: reading the option tables (see dc_options.h): defaults per dataset and protocol,
 * type and range checks with messages that name the accepted values, the words --help
 * shows, and each row's storage. Not here: the tables themselves (beside each method, the
 * trainer and the registry) or argv parsing (tools/).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/dc_options.h"

#define INT_CAP 9007199254740992.0 /* 2^53: every integer up to here is exact in a double and in JSON */

const dc_option *dc_option_find(const dc_option_table *t, const char *key) {
    for (int i = 0; t && key && i < t->n; i++)
        if (!strcmp(t->rows[i].key, key)) return &t->rows[i];
    return NULL;
}

const dc_option *dc_option_find_flag(const dc_option_table *t, const char *flag) {
    for (int i = 0; t && flag && i < t->n; i++)
        if (t->rows[i].flag && !strcmp(t->rows[i].flag, flag)) return &t->rows[i];
    return NULL;
}

static int matches(const char *want, const char *have) { return !want || (have && !strcmp(want, have)); }

double dc_option_default_value(const dc_option *o, const char *dataset, const char *protocol) {
    const char *ds = dataset ? dataset : "other", *pr = protocol ? protocol : "authors";
    for (int i = 0; i < DC_OPTION_MAX_DEFAULTS; i++)
        if (matches(o->def[i].dataset, ds) && matches(o->def[i].protocol, pr)) return o->def[i].value;
    return 0.0;
}

int dc_option_range_parse(const char *range, double *lo, double *hi, int *lo_open, int *hi_open) {
    if (!range) return 0;
    const char *p = range;
    while (*p == ' ') p++;
    if (*p != '[' && *p != '(') return 0;
    *lo_open = *p++ == '(';
    char *end;
    *lo = strtod(p, &end);
    if (end == p) return 0;
    p = end;
    while (*p == ' ') p++;
    if (*p++ != ',') return 0;
    *hi = strtod(p, &end);
    if (end == p) return 0;
    p = end;
    while (*p == ' ') p++;
    if (*p != ']' && *p != ')') return 0;
    *hi_open = *p++ == ')';
    while (*p == ' ') p++;
    return *p == '\0' && !isnan(*lo) && !isnan(*hi) && *lo <= *hi;
}

/* Integers as integers (2^53 in full), other numbers in %g's short form. */
static char *fmt_num(double v, char *buf, size_t cap) {
    if (v == floor(v) && fabs(v) <= INT_CAP) snprintf(buf, cap, "%.0f", v);
    else snprintf(buf, cap, "%.10g", v);
    return buf;
}

const char *dc_range_describe(const char *range, int is_int, char *buf, size_t cap) {
    const char *what = is_int ? "an integer" : "a number";
    double lo, hi;
    int lo_open, hi_open;
    char a[32], b[32];
    if (!range) {
        snprintf(buf, cap, "%s", is_int ? "an integer" : "a finite number");
    } else if (!dc_option_range_parse(range, &lo, &hi, &lo_open, &hi_open)) {
        snprintf(buf, cap, "%s in %s", what, range);
    } else if (isinf(hi) && isinf(lo)) {
        snprintf(buf, cap, "%s", is_int ? "an integer" : "a finite number");
    } else if (isinf(hi)) {
        snprintf(buf, cap, "%s %s %s", what, lo_open ? ">" : ">=", fmt_num(lo, a, sizeof a));
    } else if (isinf(lo)) {
        snprintf(buf, cap, "%s %s %s", what, hi_open ? "<" : "<=", fmt_num(hi, b, sizeof b));
    } else {
        snprintf(buf, cap, "%s in %c%s, %s%c", what, lo_open ? '(' : '[', fmt_num(lo, a, sizeof a), fmt_num(hi, b, sizeof b),
                 hi_open ? ')' : ']');
    }
    return buf;
}

dc_status dc_range_check(const char *what, const char *range, int is_int, double x) {
    double lo = -INFINITY, hi = INFINITY;
    int lo_open = 0, hi_open = 0, ok = isfinite(x);
    if (range && !dc_option_range_parse(range, &lo, &hi, &lo_open, &hi_open))
        return dc_fail(DC_ERR_ARG, "%s: malformed range '%s'", what, range);
    ok = ok && (lo_open ? x > lo : x >= lo) && (hi_open ? x < hi : x <= hi);
    if (ok && is_int) ok = x == floor(x) && fabs(x) <= INT_CAP;
    if (ok) return DC_OK;
    char acc[96], got[32];
    dc_range_describe(range, is_int, acc, sizeof acc);
    if (is_int && isfinite(x) && x == floor(x) && fabs(x) > INT_CAP)
        snprintf(acc + strlen(acc), sizeof acc - strlen(acc), " (at most 2^53)");
    return dc_fail(DC_ERR_ARG, "%s must be %s (got %s)", what, acc, fmt_num(x, got, sizeof got));
}

int dc_option_choice(const dc_option *o, const char *name) {
    if (!name) return -1;
    for (int v = 0; v < 2; v++)
        if ((o->choices[v] && !strcmp(o->choices[v], name)) || (o->aliases[v] && !strcmp(o->aliases[v], name))) return v;
    return -1;
}

const char *dc_option_accepts(const dc_option *o, char *buf, size_t cap) {
    switch (o->type) {
    case DC_OPTION_BOOL: snprintf(buf, cap, "true or false"); break;
    case DC_OPTION_CHOICE:
        if (o->aliases[0] || o->aliases[1])
            snprintf(buf, cap, "%s or %s (also: %s, %s)", o->choices[0], o->choices[1], o->aliases[0] ? o->aliases[0] : "-",
                     o->aliases[1] ? o->aliases[1] : "-");
        else
            snprintf(buf, cap, "%s or %s", o->choices[0], o->choices[1]);
        break;
    default: dc_range_describe(o->range, o->type == DC_OPTION_INT, buf, cap);
    }
    return buf;
}

dc_status dc_option_check(const dc_option *o, double v) {
    if (o->type == DC_OPTION_BOOL || o->type == DC_OPTION_CHOICE) {
        if (v == 0.0 || v == 1.0) return DC_OK;
        char acc[96], got[32];
        return dc_fail(DC_ERR_ARG, "%s must be %s (got %s)", o->key, dc_option_accepts(o, acc, sizeof acc),
                       fmt_num(v, got, sizeof got));
    }
    return dc_range_check(o->key, o->range, o->type == DC_OPTION_INT, v);
}

const char *dc_option_format(const dc_option *o, double v, char *buf, size_t cap) {
    if (o->type == DC_OPTION_BOOL) snprintf(buf, cap, "%s", v != 0.0 ? "true" : "false");
    else if (o->type == DC_OPTION_CHOICE) snprintf(buf, cap, "%s", o->choices[v != 0.0]);
    else fmt_num(v, buf, cap);
    return buf;
}

const char *dc_option_describe_default(const dc_option *o, char *buf, size_t cap) {
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < DC_OPTION_MAX_DEFAULTS && k < cap; i++) {
        const dc_option_default *d = &o->def[i];
        char v[64];
        dc_option_format(o, d->value, v, sizeof v);
        int general = !d->dataset && !d->protocol;
        if (general && i == 0) {
            snprintf(buf, cap, "%s", v);
            return buf;
        }
        k += (size_t)snprintf(buf + k, cap - k, "%s%s%s%s%s %s", i ? ", " : "", general ? "otherwise" : "",
                              d->dataset ? d->dataset : "", d->dataset && d->protocol ? " " : "", d->protocol ? d->protocol : "", v);
        if (general) break;
    }
    return buf;
}

double dc_option_get(const dc_option_table *t, int row, const void *base) {
    const dc_option *o = &t->rows[row];
    const char *p = (const char *)base + o->offset;
    switch (o->store) {
    case DC_OPTION_SLOT: return ((const double *)base)[row];
    case DC_OPTION_F64: return *(const double *)(const void *)p;
    case DC_OPTION_I64: return (double)*(const int64_t *)(const void *)p;
    case DC_OPTION_U64: return (double)*(const uint64_t *)(const void *)p;
    case DC_OPTION_INT32: return (double)*(const int *)(const void *)p;
    }
    return NAN;
}

void dc_option_put(const dc_option_table *t, int row, void *base, double v) {
    const dc_option *o = &t->rows[row];
    char *p = (char *)base + o->offset;
    int fits = isfinite(v) && fabs(v) <= INT_CAP; /* integer stores take only checked values; never convert out of range */
    switch (o->store) {
    case DC_OPTION_SLOT: ((double *)base)[row] = v; break;
    case DC_OPTION_F64: *(double *)(void *)p = v; break;
    case DC_OPTION_I64: *(int64_t *)(void *)p = fits ? (int64_t)v : -1; break;
    case DC_OPTION_U64: *(uint64_t *)(void *)p = fits && v >= 0 ? (uint64_t)v : 0; break;
    case DC_OPTION_INT32: *(int *)(void *)p = fits && fabs(v) < 2147483648.0 ? (int)v : -1; break;
    }
}
