/* plot_png.h: raster scatter plots as PNG files (plot_png.c, libpng) for `dynacl tsne`,
 * `figure` and `demo`:
 *
 *     dc_plot_scatter_png("tsne.png", Y, y, n, ds.frames.n_classes, names, "DynaCL, ECG");
 *
 * Tool code (presentation); the library computes the embeddings (eval/dc_eval.h: dc_tsne).
 */
#ifndef DC_PLOT_PNG_H
#define DC_PLOT_PNG_H

#include <stdint.h>

#include "dc/dc_status.h"

typedef struct dc_image {
    int w, h;
    uint8_t *rgb;  /* (h, w, 3) */
} dc_image;
dc_status dc_image_new(dc_image *im, int w, int h);   /* white */
void dc_image_free(dc_image *im);                     /* accepts NULL */
dc_status dc_image_write_png(const dc_image *im, const char *path);
/* Text in the built-in 5x7 font, scaled by `scale`; returns the width in pixels. */
int dc_image_text(dc_image *im, int x, int y, const char *s, int scale, const uint8_t rgb[3]);
/* Colour of class c (a fixed qualitative palette of 20 colours). */
void dc_plot_class_color(int c, uint8_t rgb[3]);

typedef struct dc_scatter {
    const float *Y;                  /* (n, 2) */
    const int32_t *label;            /* (n), -1 drawn grey */
    int64_t n;
    int n_classes;
    const char *const *class_names;  /* (n_classes), may be NULL: "0", "1", ... */
    const char *title;               /* may be NULL */
} dc_scatter;
/* One panel into the box (x0, y0, w, h) of im: frame, title, points, optional legend. */
dc_status dc_plot_scatter(dc_image *im, int x0, int y0, int w, int h, const dc_scatter *s, int legend);
/* A 900x700 PNG with one scatter panel and its legend. */
dc_status dc_plot_scatter_png(const char *path, const float *Y, const int32_t *label, int64_t n, int n_classes,
                              const char *const *class_names, const char *title);
/* A rows x cols grid of panels (row-major; a panel with n == 0 is left empty), row and
 * column headings, one shared legend per column (its first non-empty panel's classes). */
dc_status dc_plot_grid_png(const char *path, int rows, int cols, const dc_scatter *panels,
                           const char *const *row_names, const char *const *col_names, const char *title);

#endif
