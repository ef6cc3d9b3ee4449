/* plot_off.c: the figures of plot.h in a build without cairo (DC_FIGURES=OFF, or cairo not
 * found): each one fails with a message saying how to get them. Every other command works.
 * The real ones are plot_scatter.c and plot_lines.c.
 */
#include "dc/dc.h"
#include "plot.h"

static dc_status no_figures(const char *path) {
    return dc_fail(DC_ERR_UNSUPPORTED, "%s: this dynacl was built without cairo and draws no figures "
                   "(apt-get install libcairo2-dev fonts-dejavu-core, then reconfigure)", path ? path : "figure");
}

dc_status dc_plot_scatter_file(const char *path, const float *Y, const int32_t *label, int64_t n, int n_classes,
                               const char *const *class_names, const char *title, dc_plot_area *area) {
    (void)Y, (void)label, (void)n, (void)n_classes, (void)class_names, (void)title, (void)area;
    return no_figures(path);
}

dc_status dc_plot_grid_file(const char *path, int rows, int cols, const dc_scatter *panels, const char *const *row_names,
                            const char *const *col_names, const char *title, dc_plot_area *areas) {
    (void)rows, (void)cols, (void)panels, (void)row_names, (void)col_names, (void)title, (void)areas;
    return no_figures(path);
}

dc_status dc_plot_lines_file(const char *path, const dc_line_panel *panels, int n, const char *xlabel, const char *title,
                             dc_plot_area *areas) {
    (void)panels, (void)n, (void)xlabel, (void)title, (void)areas;
    return no_figures(path);
}
