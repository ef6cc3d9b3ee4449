/* cmd_figure.c: `dynacl figure`: compose t-SNE coordinate CSVs (from `dynacl tsne`) into one
 * grid of methods (rows) x datasets (columns), as the paper's Figure 3: PNG, SVG or PDF by the
 * extension of --out. */
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "eval_tools.h"
#include "plot.h"
#include "tool_common.h"

typedef struct panel_csv {
    char method[64], dataset[64];
    char names[DC_MAX_CLASSES][24];
    const char *name_ptr[DC_MAX_CLASSES];
    int n_classes;
    float *Y;
    int32_t *y;
    int64_t n;
} panel_csv;

static int read_csv(const char *path, panel_csv *p) {
    memset(p, 0, sizeof *p);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "dynacl figure: %s: cannot open\n", path);
        return 0;
    }
    char line[4096];
    int64_t cap = 0;
    int ok = 1, header = 0;
    while (ok && fgets(line, sizeof line, f)) {
        if (line[0] == '#') {
            char *s;
            if ((s = strstr(line, "method="))) sscanf(s + 7, "%63s", p->method);
            if ((s = strstr(line, "dataset="))) sscanf(s + 8, "%63s", p->dataset);
            if ((s = strstr(line, "classes="))) {
                s += 8;
                s[strcspn(s, "\r\n")] = '\0';
                for (char *tok = strtok(s, ","); tok && p->n_classes < DC_MAX_CLASSES; tok = strtok(NULL, ","))
                    snprintf(p->names[p->n_classes++], 24, "%s", tok);
            }
            continue;
        }
        if (!header) {
            header = 1;
            if (strncmp(line, "x,y,label", 9)) ok = 0;
            continue;
        }
        double x, yv;
        int lab;
        if (sscanf(line, "%lf,%lf,%d", &x, &yv, &lab) != 3 || lab < -1 || lab >= DC_MAX_CLASSES) {
            ok = 0;
            break;
        }
        if (p->n == cap) {
            cap = cap ? 2 * cap : 1024;
            float *Y = realloc(p->Y, (size_t)cap * 2 * sizeof *Y);
            int32_t *y = realloc(p->y, (size_t)cap * sizeof *y);
            if (Y) p->Y = Y;
            if (y) p->y = y;
            if (!Y || !y) ok = 0;
            if (!ok) break;
        }
        p->Y[2 * p->n] = (float)x, p->Y[2 * p->n + 1] = (float)yv, p->y[p->n++] = lab;
        if (lab + 1 > p->n_classes) {
            for (int c = p->n_classes; c <= lab; c++) snprintf(p->names[c], 24, "%d", c);
            p->n_classes = lab + 1;
        }
    }
    fclose(f);
    if (!ok || !header) fprintf(stderr, "dynacl figure: %s: not a `dynacl tsne` CSV (x,y,label rows)\n", path);
    for (int c = 0; c < p->n_classes; c++) p->name_ptr[c] = p->names[c];
    if (!p->method[0]) snprintf(p->method, sizeof p->method, "?");
    if (!p->dataset[0]) snprintf(p->dataset, sizeof p->dataset, "?");
    return ok && header;
}

static int index_of(const char **v, int n, const char *s) {
    for (int i = 0; i < n; i++)
        if (!strcmp(v[i], s)) return i;
    return -1;
}

static int split_list(char *s, const char **out, int max) {
    int n = 0;
    for (char *t = strtok(s, ","); t && n < max; t = strtok(NULL, ",")) out[n++] = t;
    return n;
}

int cmd_figure(int argc, char **argv) {
    const char *out = NULL, *title = NULL, *meth_s = NULL, *ds_s = NULL;
    const dc_opt opts[] = {
        {"out", OPT_STR, &out, "output figure: .png, .svg or .pdf"},
        {"title", OPT_STR, &title, "figure title (default: none)"},
        {"methods", OPT_STR, &meth_s, "row order, comma-separated (default: the paper's order)"},
        {"datasets", OPT_STR, &ds_s, "column order, comma-separated (default: harth, sleepeeg, ecg, others)"},
        {0},
    };
    /* positional arguments are the CSVs */
    const char **files = malloc((size_t)(argc + 1) * sizeof *files);
    if (!files) return dc_tool_fail("figure", "out of memory");
    int nf = 0;
    int r = dc_opts_parse_pos("figure", "--out fig.png|.svg|.pdf TSNE.csv... [--methods a,b] [--datasets x,y]", opts, argc,
                              argv, files, &nf);
    dc_plot_format fmt;
    if (!r && (!out || !nf)) {
        fprintf(stderr, "dynacl figure: needs --out and at least one CSV written by `dynacl tsne`\n");
        r = -1;
    } else if (!r && dc_plot_format_of(out, &fmt) != DC_OK) {
        fprintf(stderr, "dynacl figure: --out %s\n", dc_last_error());
        r = -1;
    }
    if (r) {
        free(files);
        return r > 0 ? 0 : 2;
    }
    panel_csv *p = calloc((size_t)nf, sizeof *p);
    int rc = 0;
    for (int i = 0; p && i < nf && !rc; i++)
        if (!read_csv(files[i], &p[i])) rc = 1;
    if (!p) rc = dc_tool_fail("figure", "out of memory");
    const char *rows[64], *cols[16];
    int nr = 0, nc = 0;
    char mbuf[1024] = "", dbuf[1024] = "";
    if (!rc && meth_s) snprintf(mbuf, sizeof mbuf, "%s", meth_s), nr = split_list(mbuf, rows, 64);
    if (!rc && ds_s) snprintf(dbuf, sizeof dbuf, "%s", ds_s), nc = split_list(dbuf, cols, 16);
    const char *const *order_m = et_paper_order();
    static const char *const order_d[] = {"harth", "sleepeeg", "ecg"};
    if (!rc && !meth_s) {
        for (size_t k = 0; order_m[k]; k++)
            for (int i = 0; i < nf; i++)
                if (!strcmp(p[i].method, order_m[k]) && index_of(rows, nr, order_m[k]) < 0) rows[nr++] = order_m[k];
        for (int i = 0; i < nf && nr < 64; i++)
            if (index_of(rows, nr, p[i].method) < 0) rows[nr++] = p[i].method;
    }
    if (!rc && !ds_s) {
        for (size_t k = 0; k < sizeof order_d / sizeof *order_d; k++)
            for (int i = 0; i < nf; i++)
                if (!strcmp(p[i].dataset, order_d[k]) && index_of(cols, nc, order_d[k]) < 0) cols[nc++] = order_d[k];
        for (int i = 0; i < nf && nc < 16; i++)
            if (index_of(cols, nc, p[i].dataset) < 0) cols[nc++] = p[i].dataset;
    }
    dc_scatter *grid = !rc ? calloc((size_t)(nr * nc) + 1, sizeof *grid) : NULL;
    if (!rc && !grid) rc = dc_tool_fail("figure", "out of memory");
    for (int i = 0; !rc && i < nf; i++) {
        int a = index_of(rows, nr, p[i].method), b = index_of(cols, nc, p[i].dataset);
        if (a < 0 || b < 0) continue; /* not among the requested rows/columns */
        dc_scatter *s = &grid[a * nc + b];
        if (s->n) fprintf(stderr, "dynacl figure: note: %s replaces an earlier panel for %s / %s\n", files[i], p[i].method, p[i].dataset);
        *s = (dc_scatter){p[i].Y, p[i].y, p[i].n, p[i].n_classes, p[i].name_ptr, NULL};
    }
    if (!rc) {
        const char *row_names[64], *col_names[16];
        for (int i = 0; i < nr; i++) row_names[i] = et_pretty_method(rows[i]);
        for (int j = 0; j < nc; j++) col_names[j] = et_pretty_dataset(cols[j]);
        if (dc_plot_grid_file(out, nr, nc, grid, row_names, col_names, title, NULL) != DC_OK) rc = dc_tool_fail("figure", "writing");
        else printf("wrote %s: %d method%s x %d dataset%s\n", out, nr, nr > 1 ? "s" : "", nc, nc > 1 ? "s" : "");
    }
    for (int i = 0; p && i < nf; i++) free(p[i].Y), free(p[i].y);
    free(p);
    free(grid);
    free(files);
    return rc;
}
