/* plot_canvas.h: what the figure files (plot_scatter.c, plot_lines.c) share: a cairo surface
 * chosen by the output's extension and committed atomically, text in DejaVu Sans, colours and
 * axis ticks. Private to tools/plot_*.c; the figures themselves are declared in plot.h.
 */
#ifndef DC_PLOT_CANVAS_H
#define DC_PLOT_CANVAS_H

#include <cairo.h>

#include "dc/dc_atomic.h"
#include "plot.h"

typedef struct pl_canvas {
    cairo_surface_t *surf;
    cairo_t *cr;
    dc_plot_format fmt;
    dc_atomic_file file;     /* the output, written through cairo's stream callback */
    int write_failed;        /* the callback could not write */
    double w, h;
} pl_canvas;

/* Open a w x h figure for path (format by extension, white background). On error nothing is
 * left behind. */
dc_status pl_begin(pl_canvas *c, const char *path, double w, double h);
/* Finish drawing and write the file (temporary name, then rename). Frees the canvas. */
dc_status pl_commit(pl_canvas *c);
/* Drop the figure and its temporary file; accepts a canvas that failed to begin. */
void pl_abort(pl_canvas *c);

extern const uint8_t pl_black[3], pl_grey[3], pl_frame[3], pl_light[3];

void pl_rgb(cairo_t *cr, const uint8_t rgb[3], double alpha);
/* Text of `size` units with its top at y; align -1: starts at x, 0: centred on x, 1: ends at
 * x. Bytes that are not printable UTF-8 are drawn as '?'. Returns the width. */
double pl_text(cairo_t *cr, double x, double y, const char *s, double size, int bold, int align, const uint8_t rgb[3]);
/* Text turned 90 degrees counter-clockwise, centred on (x, y). */
void pl_text_up(cairo_t *cr, double x, double y, const char *s, double size, const uint8_t rgb[3]);
double pl_text_width(cairo_t *cr, const char *s, double size, int bold);
/* A stroked rectangle whose 1-unit line lies inside (x, y, w, h). */
void pl_rect(cairo_t *cr, double x, double y, double w, double h, const uint8_t rgb[3]);

/* Tick values over [lo, hi]: multiples of a 1-2-5 step for about 5 ticks (linear), or the
 * powers of ten inside the range, with 2x and 5x added when fewer than 3 (log: lo, hi are
 * log10). Returns the count (at most max). */
int pl_ticks(double lo, double hi, int log_axis, double *out, int max);
/* "%g" of a tick value, with -0 and rounding dust shown as 0. */
void pl_tick_label(double v, double step, char *buf, size_t cap);

#endif
