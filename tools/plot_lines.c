/* plot_lines.c: line charts with cairo: panels stacked over one shared x axis, each with
 * its y axis (linear or log10), grid lines, a legend and an optional note; `dynacl plot`
 * draws a run's training curves with it. Scatter figures are plot_scatter.c's.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "plot_canvas.h"

#define WIDTH 800.0
#define PANEL_H 220.0
#define GAP 18.0
#define FS 13.0   /* ticks, labels, legends */
#define TITLE_SIZE 18.0
#define MAX_TICKS 32

static int usable(const dc_series *s, int64_t i, int log_y) {
    return isfinite(s->x[i]) && isfinite(s->y[i]) && (!log_y || s->y[i] > 0);
}

/* The range of the panel's usable y values; 0 when it has none. */
static int y_range(const dc_line_panel *p, int log_y, double *lo, double *hi) {
    *lo = INFINITY, *hi = -INFINITY;
    for (int k = 0; k < p->n_series; k++)
        for (int64_t i = 0; i < p->series[k].n; i++)
            if (usable(&p->series[k], i, log_y)) {
                double v = log_y ? log10(p->series[k].y[i]) : p->series[k].y[i];
                *lo = fmin(*lo, v), *hi = fmax(*hi, v);
            }
    return *hi >= *lo;
}

/* Log axis when asked for, every finite value is > 0 and they span more than a decade. */
static int use_log(const dc_line_panel *p) {
    if (!p->log_y) return 0;
    for (int k = 0; k < p->n_series; k++)
        for (int64_t i = 0; i < p->series[k].n; i++)
            if (isfinite(p->series[k].x[i]) && isfinite(p->series[k].y[i]) && p->series[k].y[i] <= 0) return 0;
    double lo, hi;
    return y_range(p, 1, &lo, &hi) && hi - lo > 1;
}

static void pad_range(double *lo, double *hi, double frac) {
    if (*hi > *lo) {
        double pad = (*hi - *lo) * frac;
        *lo -= pad, *hi += pad;
    } else { /* one value: +-10% of it (or +-1 at 0) */
        double pad = *lo != 0 ? fabs(*lo) * 0.1 : 1;
        *lo -= pad, *hi += pad;
    }
}

static void stroke_series(cairo_t *cr, const dc_plot_area *a, const dc_series *s) {
    uint8_t col[3];
    dc_plot_class_color(s->color, col);
    pl_rgb(cr, col, s->faint ? 0.35 : 1);
    cairo_set_line_width(cr, s->faint ? 1.0 : 1.8);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    int pen = 0;
    for (int64_t i = 0; i < s->n; i++) {
        if (!usable(s, i, a->log_y)) {
            pen = 0;
            continue;
        }
        double fx, fy;
        dc_plot_area_map(a, s->x[i], s->y[i], &fx, &fy);
        if (pen) cairo_line_to(cr, fx, fy);
        else cairo_move_to(cr, fx, fy);
        pen = 1;
    }
    cairo_stroke(cr);
    if (!s->markers) return;
    for (int64_t i = 0; i < s->n; i++) {
        if (!usable(s, i, a->log_y)) continue;
        double fx, fy;
        dc_plot_area_map(a, s->x[i], s->y[i], &fx, &fy);
        cairo_new_sub_path(cr);
        cairo_arc(cr, fx, fy, 3.0, 0, 2 * M_PI);
    }
    cairo_fill(cr);
}

/* How much of the panel's data lies in the box (x, y, w, h): its points and 8 samples along
 * each segment between two of them. */
static int64_t data_in_box(const dc_plot_area *a, const dc_line_panel *p, double x, double y, double w, double h) {
    int64_t n = 0;
    for (int k = 0; k < p->n_series; k++) {
        const dc_series *s = &p->series[k];
        double px = NAN, py = NAN;
        for (int64_t i = 0; i < s->n; i++) {
            if (!usable(s, i, a->log_y)) {
                px = NAN;
                continue;
            }
            double fx, fy;
            dc_plot_area_map(a, s->x[i], s->y[i], &fx, &fy);
            for (int t = isnan(px) ? 8 : 1; t <= 8; t++) {
                double qx = isnan(px) ? fx : px + (fx - px) * t / 8.0, qy = isnan(px) ? fy : py + (fy - py) * t / 8.0;
                n += qx >= x && qx <= x + w && qy >= y && qy <= y + h;
            }
            px = fx, py = fy;
        }
    }
    return n;
}

/* The corner for a w x h box that covers the least data, top right first, leaving out the
 * corner `taken` (-1: none); returns the corner and its top left in (x, y). */
static int best_corner(const dc_plot_area *a, const dc_line_panel *p, double w, double h, int taken, double *x, double *y) {
    const double cx[4] = {a->x + a->w - w - 8, a->x + a->w - w - 8, a->x + 8, a->x + 8};
    const double cy[4] = {a->y + 8, a->y + a->h - h - 8, a->y + a->h - h - 8, a->y + 8};
    int64_t least = -1;
    int best = 0;
    for (int c = 0; c < 4; c++) {
        if (c == taken) continue;
        int64_t cover = data_in_box(a, p, cx[c], cy[c], w, h);
        if (least < 0 || cover < least) least = cover, best = c;
    }
    *x = cx[best], *y = cy[best];
    return best;
}

static void white_box(cairo_t *cr, double x, double y, double w, double h) {
    cairo_rectangle(cr, x, y, w, h);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
    cairo_fill(cr);
}

/* The legend of the named series in the corner that hides the least data; returns that
 * corner (-1: no legend). */
static int draw_legend(cairo_t *cr, const dc_plot_area *a, const dc_line_panel *p) {
    double w = 0, line = FS * 1.45;
    int n = 0;
    for (int k = 0; k < p->n_series; k++)
        if (p->series[k].name && p->series[k].n > 0) w = fmax(w, pl_text_width(cr, p->series[k].name, FS, 0)), n++;
    if (!n) return -1;
    w += 40;
    double h = n * line + 8, x, y;
    int corner = best_corner(a, p, w, h, -1, &x, &y);
    white_box(cr, x, y, w, h);
    pl_rect(cr, x, y, w, h, pl_light);
    for (int k = 0, row = 0; k < p->n_series; k++) {
        const dc_series *s = &p->series[k];
        if (!s->name || s->n < 1) continue;
        double yy = y + 4 + row++ * line, mid = yy + line / 2;
        uint8_t col[3];
        dc_plot_class_color(s->color, col);
        pl_rgb(cr, col, s->faint ? 0.35 : 1);
        cairo_set_line_width(cr, s->faint ? 1.0 : 1.8);
        cairo_move_to(cr, x + 6, mid);
        cairo_line_to(cr, x + 28, mid);
        cairo_stroke(cr);
        if (s->markers) {
            cairo_arc(cr, x + 17, mid, 3.0, 0, 2 * M_PI);
            cairo_fill(cr);
        }
        pl_text(cr, x + 34, mid - 0.6 * FS, s->name, FS, 0, -1, pl_black);
    }
    return corner;
}

/* Frame, grid lines, ticks (x labels only when labels_x), the series, legend, note. */
static void draw_panel(cairo_t *cr, const dc_plot_area *a, const dc_line_panel *p, const double *xt, int nxt, int labels_x,
                       double ylabel_x) {
    double yt[MAX_TICKS], fx, fy, lo, hi;
    char lab[32];
    int has_data = y_range(p, a->log_y, &lo, &hi);
    int nyt = has_data ? pl_ticks(a->lo[1], a->hi[1], a->log_y, yt, MAX_TICKS) : 0; /* no y ticks on an empty panel */
    cairo_set_line_width(cr, 1);
    pl_rgb(cr, (const uint8_t[3]){235, 235, 235}, 1);
    for (int i = 0; i < nxt; i++) {
        dc_plot_area_map(a, xt[i], 0, &fx, &fy);
        cairo_move_to(cr, round(fx) + 0.5, a->y);
        cairo_line_to(cr, round(fx) + 0.5, a->y + a->h);
    }
    for (int i = 0; i < nyt; i++) {
        fy = a->y + a->h - (yt[i] - a->lo[1]) / (a->hi[1] - a->lo[1]) * a->h;
        cairo_move_to(cr, a->x, round(fy) + 0.5);
        cairo_line_to(cr, a->x + a->w, round(fy) + 0.5);
    }
    cairo_stroke(cr);
    pl_rect(cr, a->x - 1, a->y - 1, a->w + 2, a->h + 2, pl_frame);
    pl_rgb(cr, pl_frame, 1);
    for (int i = 0; i < nxt; i++) {
        dc_plot_area_map(a, xt[i], 0, &fx, &fy);
        cairo_move_to(cr, round(fx) + 0.5, a->y + a->h + 1);
        cairo_line_to(cr, round(fx) + 0.5, a->y + a->h + 6);
        cairo_stroke(cr);
        pl_tick_label(xt[i], nxt > 1 ? xt[1] - xt[0] : 1, lab, sizeof lab);
        if (labels_x) pl_text(cr, fx, a->y + a->h + 8, lab, FS, 0, 0, pl_frame);
    }
    for (int i = 0; i < nyt; i++) {
        fy = a->y + a->h - (yt[i] - a->lo[1]) / (a->hi[1] - a->lo[1]) * a->h;
        pl_rgb(cr, pl_frame, 1);
        cairo_move_to(cr, a->x - 6, round(fy) + 0.5);
        cairo_line_to(cr, a->x - 1, round(fy) + 0.5);
        cairo_stroke(cr);
        pl_tick_label(a->log_y ? pow(10, yt[i]) : yt[i], a->log_y ? 1 : nyt > 1 ? yt[1] - yt[0] : 1, lab, sizeof lab);
        pl_text(cr, a->x - 8, fy - 0.6 * FS, lab, FS, 0, 1, pl_frame);
    }
    if (p->ylabel) pl_text_up(cr, ylabel_x, a->y + a->h / 2, p->ylabel, FS, pl_black);
    if (!has_data) {
        pl_text(cr, a->x + a->w / 2, a->y + a->h / 2 - 0.6 * FS, p->empty ? p->empty : "no data", FS, 0, 0, pl_grey);
        return;
    }
    cairo_save(cr);
    cairo_rectangle(cr, a->x, a->y, a->w, a->h);
    cairo_clip(cr);
    for (int pass = 0; pass < 2; pass++) /* faint series first */
        for (int k = 0; k < p->n_series; k++)
            if (!!p->series[k].faint == !pass) stroke_series(cr, a, &p->series[k]);
    cairo_restore(cr);
    int taken = draw_legend(cr, a, p);
    if (p->note) { /* in another corner that hides little, on a light white box */
        double w = pl_text_width(cr, p->note, FS, 0) + 8, h = FS * 1.4, x, y;
        best_corner(a, p, w, h, taken, &x, &y);
        white_box(cr, x, y, w, h);
        pl_text(cr, x + 4, y + 0.15 * FS, p->note, FS, 0, -1, pl_frame);
    }
}

static dc_status check_panels(const dc_line_panel *panels, int n) {
    if (!panels || n < 1 || n > 16) return dc_fail(DC_ERR_ARG, "plot: 1..16 line panels needed (got %d)", n);
    for (int j = 0; j < n; j++) {
        if (panels[j].n_series < 0 || panels[j].n_series > DC_PLOT_MAX_SERIES)
            return dc_fail(DC_ERR_ARG, "plot: panel %d has %d series (at most %d)", j, panels[j].n_series, DC_PLOT_MAX_SERIES);
        for (int k = 0; k < panels[j].n_series; k++) {
            const dc_series *s = &panels[j].series[k];
            if (s->n < 0 || (s->n > 0 && (!s->x || !s->y)))
                return dc_fail(DC_ERR_ARG, "plot: series %d of panel %d has no points", k, j);
        }
    }
    return DC_OK;
}

dc_status dc_plot_lines_file(const char *path, const dc_line_panel *panels, int n, const char *xlabel, const char *title,
                             dc_plot_area *areas) {
    dc_status st = check_panels(panels, n);
    if (st != DC_OK) return st;
    double x_lo = INFINITY, x_hi = -INFINITY;
    for (int j = 0; j < n; j++)
        for (int k = 0; k < panels[j].n_series; k++)
            for (int64_t i = 0; i < panels[j].series[k].n; i++)
                if (usable(&panels[j].series[k], i, 0))
                    x_lo = fmin(x_lo, panels[j].series[k].x[i]), x_hi = fmax(x_hi, panels[j].series[k].x[i]);
    if (!(x_hi >= x_lo)) x_lo = 0, x_hi = 1;
    pad_range(&x_lo, &x_hi, 0.02);
    double top = title ? ceil(20 + TITLE_SIZE * 1.2) : 14, bottom = ceil(2 * FS * 1.2 + 26);
    double height = ceil(top + n * PANEL_H + (n - 1) * GAP + bottom);
    pl_canvas c;
    if ((st = pl_begin(&c, path, WIDTH, height)) != DC_OK) return st;
    cairo_t *cr = c.cr;
    if (title) pl_text(cr, WIDTH / 2, 10, title, TITLE_SIZE, 1, 0, pl_black);
    /* the left margin fits the widest y tick label of any panel */
    dc_plot_area a[16];
    double label_w = 0, yt[MAX_TICKS], xt[MAX_TICKS];
    char lab[32];
    for (int j = 0; j < n; j++) {
        a[j] = (dc_plot_area){0, top + j * (PANEL_H + GAP), 0, PANEL_H, {x_lo, 0}, {x_hi, 1}, use_log(&panels[j])};
        int has_data = y_range(&panels[j], a[j].log_y, &a[j].lo[1], &a[j].hi[1]);
        if (has_data) pad_range(&a[j].lo[1], &a[j].hi[1], 0.06);
        else a[j].lo[1] = 0, a[j].hi[1] = 1;
        int nyt = has_data ? pl_ticks(a[j].lo[1], a[j].hi[1], a[j].log_y, yt, MAX_TICKS) : 0;
        for (int i = 0; i < nyt; i++) {
            pl_tick_label(a[j].log_y ? pow(10, yt[i]) : yt[i], a[j].log_y ? 1 : nyt > 1 ? yt[1] - yt[0] : 1, lab, sizeof lab);
            label_w = fmax(label_w, pl_text_width(cr, lab, FS, 0));
        }
    }
    double left = ceil(10 + FS * 1.4 + label_w + 12);
    int nxt = pl_ticks(x_lo, x_hi, 0, xt, MAX_TICKS);
    for (int j = 0; j < n; j++) {
        a[j].x = left, a[j].w = WIDTH - left - 20;
        draw_panel(cr, &a[j], &panels[j], xt, nxt, j == n - 1, 10 + FS * 0.7);
        if (areas) areas[j] = a[j];
    }
    if (xlabel) pl_text(cr, left + (WIDTH - left - 20) / 2, a[n - 1].y + PANEL_H + FS * 1.2 + 14, xlabel, FS, 0, 0, pl_black);
    return pl_commit(&c);
}
