/* plot.h: the figures of `dynacl tsne`, `figure`, `plot` and `demo`, drawn with cairo: t-SNE
 * scatter plots, the Figure 3 grid (methods x datasets) and stacked line charts (training
 * curves). The output's extension picks the format: .png (pixels), .svg or .pdf (vectors, one
 * unit = 1 pt); text is anti-aliased DejaVu Sans. Each file is written to a temporary name and
 * renamed, so a failure leaves no half-written figure.
 *
 *     dc_plot_scatter_file("tsne.pdf", Y, y, n, ds.frames.n_classes, names, "DynaCL, ECG", NULL);
 *
 * Tool code (presentation); the library computes what is drawn (eval/dc_eval.h: dc_tsne; the
 * trainer's metrics.jsonl). Not a general plotting library.
 */
#ifndef DC_PLOT_H
#define DC_PLOT_H

#include <stdint.h>

#include "dc/dc_status.h"

typedef enum { DC_PLOT_PNG, DC_PLOT_SVG, DC_PLOT_PDF } dc_plot_format;
/* The format of path by its extension (.png, .svg, .pdf, any case). DC_ERR_ARG naming the
 * extension and the accepted ones otherwise. */
dc_status dc_plot_format_of(const char *path, dc_plot_format *fmt);

/* Colour of class c (matplotlib's tab10, then its lighter tab20 partners); c < 0: grey. */
void dc_plot_class_color(int c, uint8_t rgb[3]);

/* Where a panel's data went: the plot area in figure units (PNG pixels from the top left,
 * SVG/PDF points) and the data ranges mapped onto it (log10 of y when log_y). */
typedef struct dc_plot_area {
    double x, y, w, h;
    double lo[2], hi[2];
    int log_y;
} dc_plot_area;
/* The figure position (fx, fy) of the data point (u, v) in area a. */
void dc_plot_area_map(const dc_plot_area *a, double u, double v, double *fx, double *fy);

typedef struct dc_scatter {
    const float *Y;                  /* (n, 2) */
    const int32_t *label;            /* (n), -1 drawn grey */
    int64_t n;
    int n_classes;
    const char *const *class_names;  /* (n_classes), may be NULL: "0", "1", ... */
    const char *title;               /* may be NULL */
} dc_scatter;
/* A 900 x 700 figure with one scatter panel, its axes and its legend. area: NULL or where
 * the points went. */
dc_status dc_plot_scatter_file(const char *path, const float *Y, const int32_t *label, int64_t n, int n_classes,
                               const char *const *class_names, const char *title, dc_plot_area *area);
/* A rows x cols grid of panels (row-major; a panel with n == 0 is drawn as an empty frame),
 * row and column headings, one legend under each column (its first non-empty panel's
 * classes): the layout of the paper's Figure 3. areas: NULL or room for rows * cols. */
dc_status dc_plot_grid_file(const char *path, int rows, int cols, const dc_scatter *panels, const char *const *row_names,
                            const char *const *col_names, const char *title, dc_plot_area *areas);

/* ---- line charts ---- */
typedef struct dc_series {
    const double *x, *y;             /* (n); a non-finite y breaks the line */
    int64_t n;
    const char *name;                /* legend entry; NULL: none */
    int color;                       /* palette entry (dc_plot_class_color) */
    int markers;                     /* 1: a dot at every point */
    int faint;                       /* 1: thin and light, drawn first (e.g. per-step values) */
} dc_series;
#define DC_PLOT_MAX_SERIES 4
typedef struct dc_line_panel {
    const char *ylabel;
    dc_series series[DC_PLOT_MAX_SERIES];
    int n_series;
    int log_y;                       /* 1: log10 axis when every value is > 0 and they span > 10x */
    const char *empty;               /* shown when no series has a finite point (NULL: "no data") */
    const char *note;                /* NULL or one line in a free corner (e.g. the best value) */
} dc_line_panel;
/* Panels stacked top to bottom, 800 units wide, sharing one x range, xlabel under the last;
 * a legend names each panel's series, in the corner that hides the least data. areas: NULL
 * or room for n. */
dc_status dc_plot_lines_file(const char *path, const dc_line_panel *panels, int n, const char *xlabel, const char *title,
                             dc_plot_area *areas);

#endif
