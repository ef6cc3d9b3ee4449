/* tool_common.c: option parsing, progress reporting and error printing for the CLI. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dc/dc.h"
#include "tool_common.h"
#include "train/dc_options.h"

double dc_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int dc_tool_fail(const char *cmd, const char *what) {
    fprintf(stderr, "dynacl %s: %s%s%s\n", cmd, what, dc_last_error()[0] ? ": " : "", dc_last_error());
    return 1;
}

void dc_opts_help(FILE *f, const char *cmd, const char *synopsis, const dc_opt *opts) {
    fprintf(f, "usage: dynacl %s %s\n\noptions:\n", cmd, synopsis);
    for (const dc_opt *o = opts; o->name; o++) {
        if (o->kind == OPT_SECTION) {
            fprintf(f, "\n%s:\n", o->help);
            continue;
        }
        char left[64];
        const char *arg = o->kind == OPT_FLAG ? "" : o->kind == OPT_STR ? " STR" : o->kind == OPT_INT ? " N" : " X";
        snprintf(left, sizeof left, "--%s%s", o->name, arg);
        fprintf(f, "  %-26s %s\n", left, o->help);
    }
    fprintf(f, "  %-26s %s\n", "--help", "show this help");
}

int dc_opts_parse(const char *cmd, const char *synopsis, const dc_opt *opts, int argc, char **argv) {
    return dc_opts_parse_pos(cmd, synopsis, opts, argc, argv, NULL, NULL);
}

int dc_opt_choice_ok(const char *cmd, const dc_opt *o, const char *val) {
    if (!o->choices) return 1;
    size_t n = strlen(val);
    for (const char *p = o->choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && !strncmp(p, val, n)) return 1;
        p += len + (bar != NULL);
    }
    char list[256] = "";
    size_t k = 0;
    for (const char *c = o->choices; *c && k + 3 < sizeof list; c++) {
        if (*c == '|') list[k++] = ',', list[k++] = ' ';
        else list[k++] = *c;
    }
    list[k] = '\0';
    fprintf(stderr, "dynacl %s: --%s must be one of %s, got '%s'\n", cmd, o->name, list, val);
    return 0;
}

int dc_opts_parse_pos(const char *cmd, const char *synopsis, const dc_opt *opts, int argc, char **argv,
                      const char **pos, int *n_pos) {
    if (n_pos) *n_pos = 0;
    for (const dc_opt *o = opts; o->name; o++) { /* a bug in dynacl, not in the command line: */
        int twice = 0; /* every number states what it accepts, and no two options share a name */
        for (const dc_opt *k = o + 1; k->name && o->kind != OPT_SECTION; k++) twice |= k->kind != OPT_SECTION && !strcmp(k->name, o->name);
        if (((o->kind == OPT_INT || o->kind == OPT_DBL) && !o->range) || twice) {
            fprintf(stderr, "dynacl %s: option --%s %s (a bug in dynacl)\n", cmd, o->name,
                    twice ? "is declared twice" : "declares no range of values");
            return -1;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            dc_opts_help(stdout, cmd, synopsis, opts);
            return 1;
        }
        if (strncmp(a, "--", 2) != 0) {
            if (pos && n_pos) {
                pos[(*n_pos)++] = a;
                continue;
            }
            fprintf(stderr, "dynacl %s: unexpected argument '%s' (see --help)\n", cmd, a);
            return -1;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const dc_opt *o = NULL;
        for (const dc_opt *k = opts; k->name; k++)
            if (k->kind != OPT_SECTION && strlen(k->name) == len && !strncmp(k->name, name, len)) o = k;
        if (!o) {
            fprintf(stderr, "dynacl %s: unknown option '--%.*s' (see --help)\n", cmd, (int)len, name);
            return -1;
        }
        if (o->seen) *o->seen = 1;
        if (o->kind == OPT_FLAG) {
            if (eq) {
                fprintf(stderr, "dynacl %s: option --%s takes no value\n", cmd, o->name);
                return -1;
            }
            *(int *)o->dst = 1;
            continue;
        }
        const char *val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!val) {
            fprintf(stderr, "dynacl %s: option --%s needs a value\n", cmd, o->name);
            return -1;
        }
        char *end = NULL;
        errno = 0;
        char what[80];
        snprintf(what, sizeof what, "--%s", o->name);
        if (o->kind == OPT_STR) {
            if (!dc_opt_choice_ok(cmd, o, val)) return -1;
            *(const char **)o->dst = val;
        } else if (o->kind == OPT_INT) {
            long long v = strtoll(val, &end, 10);
            if (errno || end == val || *end) {
                char acc[96];
                fprintf(stderr, "dynacl %s: --%s must be %s, got '%s'\n", cmd, o->name, dc_range_describe(o->range, 1, acc, sizeof acc),
                        val);
                return -1;
            }
            if (dc_range_check(what, o->range, 1, (double)v) != DC_OK) {
                fprintf(stderr, "dynacl %s: %s\n", cmd, dc_last_error());
                dc_clear_error();
                return -1;
            }
            *(int64_t *)o->dst = v;
        } else {
            double v = strtod(val, &end);
            if (errno || end == val || *end || !isfinite(v)) {
                char acc[96];
                fprintf(stderr, "dynacl %s: --%s must be %s, got '%s'\n", cmd, o->name, dc_range_describe(o->range, 0, acc, sizeof acc),
                        val);
                return -1;
            }
            if (dc_range_check(what, o->range, 0, v) != DC_OK) {
                fprintf(stderr, "dynacl %s: %s\n", cmd, dc_last_error());
                dc_clear_error();
                return -1;
            }
            *(double *)o->dst = v;
        }
    }
    return 0;
}

static void fmt_time(double s, char *buf, size_t cap) {
    if (!isfinite(s) || s < 0) snprintf(buf, cap, "--:--");
    else if (s < 3600) snprintf(buf, cap, "%02d:%02d", (int)s / 60, (int)s % 60);
    else snprintf(buf, cap, "%dh%02d", (int)s / 3600, ((int)s % 3600) / 60);
}

void dc_progress_start(dc_progress *p, const char *label, int64_t total) {
    memset(p, 0, sizeof *p);
    p->label = label;
    p->total = total;
    p->t0 = dc_now();
    p->tty = isatty(fileno(stderr));
    p->last_print = -1;
}

static void print_line(dc_progress *p, const char *msg, int final) {
    double el = dc_now() - p->t0, rate = el > 0.5 ? (double)p->done / el : 0; /* no rate from a blink */
    double eta = rate > 0 ? (double)(p->total - p->done) / rate : NAN;
    char e1[16], e2[16];
    fmt_time(el, e1, sizeof e1);
    fmt_time(eta, e2, sizeof e2);
    if (p->tty) {
        int width = 24, fill = p->total > 0 ? (int)(width * p->done / p->total) : 0;
        char bar[32];
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        fprintf(stderr, "\r%s [%s] %lld/%lld %s | %.1f/s | %s<%s ", p->label, bar, (long long)p->done,
                (long long)p->total, msg ? msg : "", rate, e1, e2);
        fputs("\033[K", stderr); /* clear what a longer previous line left */
        if (final) fputc('\n', stderr);
    } else {
        fprintf(stderr, "%s %lld/%lld %s | %.1f/s | elapsed %s eta %s\n", p->label, (long long)p->done,
                (long long)p->total, msg ? msg : "", rate, e1, e2);
    }
    fflush(stderr);
}

void dc_progress_update(dc_progress *p, int64_t done, const char *msg) {
    int64_t prev = p->done;
    p->done = done;
    double now = dc_now();
    if (p->tty) {
        if (now - p->last_print < 0.1) return;
    } else {
        int64_t step = p->total >= 10 ? p->total / 10 : 1;
        if (done / step == prev / step && p->last_print >= 0) return;
    }
    p->last_print = now;
    print_line(p, msg, 0);
}

void dc_progress_finish(dc_progress *p, const char *msg) {
    p->done = p->total;
    print_line(p, msg, 1);
}
