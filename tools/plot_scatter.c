/* plot_scatter.c: scatter figures with cairo: one t-SNE panel with axes and a legend
 * (`dynacl tsne`, `demo`), and the grid of methods x datasets of the paper's Figure 3
 * (`dynacl figure`). The surface, text and ticks are plot_canvas.c's; line charts are
 * plot_lines.c's.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "plot_canvas.h"

#define TITLE_SIZE 18.0
#define HEAD_SIZE 15.0   /* the grid's row and column headings */

static void class_name(const dc_scatter *s, int c, char *buf, size_t cap) {
    if (c < 0) snprintf(buf, cap, "unlabelled");
    else if (s->class_names && c < s->n_classes && s->class_names[c]) snprintf(buf, cap, "%s", s->class_names[c]);
    else snprintf(buf, cap, "%d", c);
}

static double legend_width(cairo_t *cr, const dc_scatter *s, double size) {
    double w = 0;
    char nm[64];
    for (int c = 0; c < s->n_classes; c++) {
        class_name(s, c, nm, sizeof nm);
        w = fmax(w, pl_text_width(cr, nm, size, 0));
    }
    return w + 1.8 * size + 12;
}

static double legend_height(int n_classes, double size) { return n_classes * 1.5 * size + 10; }

/* The legend box with its top left at (x, y): a swatch and the name of each class. */
static void draw_legend(cairo_t *cr, double x, double y, const dc_scatter *s, double size) {
    char nm[64];
    double line = 1.5 * size, w = legend_width(cr, s, size), h = legend_height(s->n_classes, size);
    cairo_rectangle(cr, x, y, w, h);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_fill(cr);
    pl_rect(cr, x, y, w, h, pl_grey);
    for (int c = 0; c < s->n_classes; c++) {
        uint8_t col[3];
        dc_plot_class_color(c, col);
        double yy = y + 5 + c * line + (line - size) / 2;
        cairo_rectangle(cr, x + 6, yy + 0.1 * size, 0.8 * size, 0.8 * size);
        pl_rgb(cr, col, 1);
        cairo_fill(cr);
        class_name(s, c, nm, sizeof nm);
        pl_text(cr, x + 6 + 1.2 * size, yy - 0.05 * size, nm, size, 0, -1, pl_black);
    }
}

/* The data ranges of the finite points, padded by 5% (or -1..1 when there is none). */
static void data_range(const dc_scatter *s, double lo[2], double hi[2]) {
    lo[0] = lo[1] = INFINITY, hi[0] = hi[1] = -INFINITY;
    for (int64_t i = 0; i < s->n; i++) {
        double x = s->Y[2 * i], y = s->Y[2 * i + 1];
        if (!isfinite(x) || !isfinite(y)) continue;
        lo[0] = fmin(lo[0], x), hi[0] = fmax(hi[0], x);
        lo[1] = fmin(lo[1], y), hi[1] = fmax(hi[1], y);
    }
    for (int a = 0; a < 2; a++) {
        if (!(hi[a] >= lo[a])) lo[a] = -1, hi[a] = 1;
        double pad = (hi[a] - lo[a]) * 0.05 + 1e-9;
        lo[a] -= pad, hi[a] += pad;
    }
}

/* One panel in the box (x0, y0, w, h): title, frame, optional ticks and legend, points. */
static void draw_panel(cairo_t *cr, double x0, double y0, double w, double h, const dc_scatter *s, int legend, int ticks,
                       dc_plot_area *area) {
    const double fs = w >= 500 ? 13 : 11;
    double top = 4, left = 4, bottom = 4, right = 4, lo[2], hi[2], tk[2][32];
    int nt[2] = {0, 0};
    char lab[32];
    data_range(s, lo, hi);
    if (s->title && *s->title) {
        pl_text(cr, x0 + w / 2, y0 + 6, s->title, TITLE_SIZE, 1, 0, pl_black);
        top += TITLE_SIZE * 1.2 + 12;
    }
    if (ticks) {
        double lw = 0;
        for (int a = 0; a < 2; a++) nt[a] = pl_ticks(lo[a], hi[a], 0, tk[a], 32);
        for (int i = 0; i < nt[1]; i++) {
            pl_tick_label(tk[1][i], tk[1][nt[1] > 1 ? 1 : 0] - tk[1][0], lab, sizeof lab);
            lw = fmax(lw, pl_text_width(cr, lab, fs, 0));
        }
        left += lw + 12, bottom += fs * 1.2 + 10;
    }
    if (legend) right += legend_width(cr, s, fs) + 12;
    left = ceil(left), top = ceil(top), right = ceil(right), bottom = ceil(bottom); /* frames on whole units: crisp */
    dc_plot_area a = {x0 + left, y0 + top, w - left - right, h - top - bottom, {lo[0], lo[1]}, {hi[0], hi[1]}, 0};
    if (area) *area = a;
    if (a.w < 10 || a.h < 10) return;
    pl_rect(cr, a.x - 1, a.y - 1, a.w + 2, a.h + 2, pl_frame);
    for (int ax = 0; ticks && ax < 2; ax++)
        for (int i = 0; i < nt[ax]; i++) {
            double fx, fy, v = tk[ax][i];
            pl_tick_label(v, nt[ax] > 1 ? tk[ax][1] - tk[ax][0] : 1, lab, sizeof lab);
            dc_plot_area_map(&a, ax == 0 ? v : lo[0], ax == 1 ? v : lo[1], &fx, &fy);
            pl_rgb(cr, pl_frame, 1);
            cairo_set_line_width(cr, 1);
            if (ax == 0) {
                cairo_move_to(cr, round(fx) + 0.5, a.y + a.h + 1);
                cairo_line_to(cr, round(fx) + 0.5, a.y + a.h + 6);
                cairo_stroke(cr);
                pl_text(cr, fx, a.y + a.h + 8, lab, fs, 0, 0, pl_frame);
            } else {
                cairo_move_to(cr, a.x - 6, round(fy) + 0.5);
                cairo_line_to(cr, a.x - 1, round(fy) + 0.5);
                cairo_stroke(cr);
                pl_text(cr, a.x - 8, fy - 0.6 * fs, lab, fs, 0, 1, pl_frame);
            }
        }
    double r = a.w * a.h > 250000 ? 2.6 : 1.8;
    int64_t step = s->n % 7919 ? 7919 : 1; /* interleave classes so none is always drawn on top */
    for (int64_t k = 0; k < s->n; k++) {
        int64_t i = (int64_t)(((unsigned long long)k * (unsigned long long)step) % (unsigned long long)s->n);
        double x = s->Y[2 * i], y = s->Y[2 * i + 1], fx, fy;
        if (!isfinite(x) || !isfinite(y)) continue;
        uint8_t col[3];
        dc_plot_class_color(s->label ? s->label[i] : 0, col);
        dc_plot_area_map(&a, x, y, &fx, &fy);
        cairo_new_sub_path(cr);
        cairo_arc(cr, fx, fy, r, 0, 2 * M_PI);
        pl_rgb(cr, col, 0.75);
        cairo_fill(cr);
    }
    if (legend) draw_legend(cr, a.x + a.w + 9, a.y, s, fs);
}

static dc_status check_scatter(const dc_scatter *s) {
    if (!s || (s->n > 0 && !s->Y) || s->n < 0) return dc_fail(DC_ERR_ARG, "plot: NULL points");
    if (s->n_classes < 0 || s->n_classes > 256) return dc_fail(DC_ERR_ARG, "plot: %d classes", s->n_classes);
    for (int64_t i = 0; s->label && i < s->n; i++)
        if (s->label[i] >= s->n_classes || s->label[i] < -1)
            return dc_fail(DC_ERR_ARG, "plot: label %d of point %lld is outside -1..%d", s->label[i], (long long)i,
                           s->n_classes - 1);
    return DC_OK;
}

dc_status dc_plot_scatter_file(const char *path, const float *Y, const int32_t *label, int64_t n, int n_classes,
                               const char *const *class_names, const char *title, dc_plot_area *area) {
    dc_scatter s = {Y, label, n, n_classes, class_names, title};
    dc_status st = check_scatter(&s);
    pl_canvas c;
    if (st != DC_OK || (st = pl_begin(&c, path, 900, 700)) != DC_OK) return st;
    draw_panel(c.cr, 10, 10, 880, 680, &s, 1, 1, area);
    return pl_commit(&c);
}

dc_status dc_plot_grid_file(const char *path, int rows, int cols, const dc_scatter *panels, const char *const *row_names,
                            const char *const *col_names, const char *title, dc_plot_area *areas) {
    if (!path || !panels || rows < 1 || cols < 1 || rows * cols > 400 || cols > 64)
        return dc_fail(DC_ERR_ARG, "figure: a grid needs 1..400 panels in at most 64 columns and an output path");
    for (int i = 0; i < rows * cols; i++)
        if (check_scatter(&panels[i]) != DC_OK) return dc_fail_prefix("figure: panel %d", i);
    const double cw = 320, ch = 300, head = title ? 40 : 10, leg_size = 11;
    const dc_scatter *leg[64] = {0};
    double legend_h = 0;
    for (int c = 0; c < cols; c++) {
        for (int r = 0; r < rows && !leg[c]; r++)
            if (panels[r * cols + c].n > 0) leg[c] = &panels[r * cols + c];
        if (leg[c]) legend_h = fmax(legend_h, legend_height(leg[c]->n_classes, leg_size) + 8);
    }
    /* measure the headings on a scratch surface before the figure's size is known */
    cairo_surface_t *scratch = cairo_image_surface_create(CAIRO_FORMAT_A8, 1, 1);
    cairo_t *m = cairo_create(scratch);
    double lw = 40, width, height;
    for (int r = 0; r < rows; r++)
        if (row_names && row_names[r]) lw = fmax(lw, ceil(pl_text_width(m, row_names[r], HEAD_SIZE, 1) + 20));
    width = lw + cols * cw + 10;
    if (title) width = fmax(width, pl_text_width(m, title, TITLE_SIZE, 1) + 20);
    cairo_destroy(m);
    cairo_surface_destroy(scratch);
    height = head + 24 + rows * ch + legend_h + 10;
    pl_canvas cv;
    dc_status st = pl_begin(&cv, path, ceil(width), ceil(height));
    if (st != DC_OK) return st;
    cairo_t *cr = cv.cr;
    if (title) pl_text(cr, width / 2, 10, title, TITLE_SIZE, 1, 0, pl_black);
    for (int c = 0; c < cols; c++) {
        const char *nm = col_names && col_names[c] ? col_names[c] : "";
        pl_text(cr, lw + c * cw + cw / 2, head + 2, nm, HEAD_SIZE, 1, 0, pl_black);
        if (leg[c]) draw_legend(cr, lw + c * cw + 10, head + 24 + rows * ch + 4, leg[c], leg_size);
    }
    for (int r = 0; r < rows; r++) {
        const char *nm = row_names && row_names[r] ? row_names[r] : "";
        pl_text(cr, 8, head + 24 + r * ch + ch / 2 - HEAD_SIZE * 0.6, nm, HEAD_SIZE, 1, -1, pl_black);
        for (int c = 0; c < cols; c++) {
            const dc_scatter *s = &panels[r * cols + c];
            double x = lw + c * cw, y = head + 24 + r * ch;
            if (areas) memset(&areas[r * cols + c], 0, sizeof *areas);
            if (s->n > 0) draw_panel(cr, x + 4, y + 4, cw - 8, ch - 8, s, 0, 0, areas ? &areas[r * cols + c] : NULL);
            else pl_rect(cr, x + 8, y + 8, cw - 16, ch - 16, pl_light);
        }
    }
    return pl_commit(&cv);
}
