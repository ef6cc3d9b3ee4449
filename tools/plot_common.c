/* plot_common.c: the parts of plot.h that need no cairo, built with or without it: the format
 * by extension, the class palette and the data-to-figure mapping of a plot area. The drawing
 * is plot_canvas.c, plot_scatter.c and plot_lines.c (or plot_off.c in a build without cairo).
 */
#include <math.h>
#include <string.h>
#include <strings.h>

#include "dc/dc.h"
#include "plot.h"

/* A qualitative palette: matplotlib's tab10, then its lighter tab20 partners; grey for -1. */
static const uint8_t k_palette[20][3] = {
    {31, 119, 180},  {255, 127, 14},  {44, 160, 44},   {214, 39, 40},   {148, 103, 189},
    {140, 86, 75},   {227, 119, 194}, {127, 127, 127}, {188, 189, 34},  {23, 190, 207},
    {174, 199, 232}, {255, 187, 120}, {152, 223, 138}, {255, 152, 150}, {197, 176, 213},
    {196, 156, 148}, {247, 182, 210}, {199, 199, 199}, {219, 219, 141}, {158, 218, 229}};
static const uint8_t k_unlabelled[3] = {120, 120, 120};

void dc_plot_class_color(int c, uint8_t rgb[3]) { memcpy(rgb, c >= 0 ? k_palette[c % 20] : k_unlabelled, 3); }

dc_status dc_plot_format_of(const char *path, dc_plot_format *fmt) {
    static const struct {
        const char *ext;
        dc_plot_format fmt;
    } k[] = {{".png", DC_PLOT_PNG}, {".svg", DC_PLOT_SVG}, {".pdf", DC_PLOT_PDF}};
    if (!path || !fmt) return dc_fail(DC_ERR_ARG, "figure: NULL path");
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    if (!dot || (slash && dot < slash) || dot == (slash ? slash + 1 : path))
        return dc_fail(DC_ERR_ARG, "%s: the figure needs an extension that names its format: .png, .svg or .pdf", path);
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        if (!strcasecmp(dot, k[i].ext)) {
            *fmt = k[i].fmt;
            return DC_OK;
        }
    return dc_fail(DC_ERR_ARG, "%s: unknown figure extension '%s' (use .png, .svg or .pdf)", path, dot);
}

void dc_plot_area_map(const dc_plot_area *a, double u, double v, double *fx, double *fy) {
    if (a->log_y) v = v > 0 ? log10(v) : -INFINITY;
    *fx = a->x + (u - a->lo[0]) / (a->hi[0] - a->lo[0]) * a->w;
    *fy = a->y + a->h - (v - a->lo[1]) / (a->hi[1] - a->lo[1]) * a->h;
}
