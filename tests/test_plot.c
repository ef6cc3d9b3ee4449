/* test_plot.c: the figures (tools/plot*.c) and `dynacl plot`: the format by extension and its
 * errors (nothing written), PNGs read back with cairo with each point's pixel at the place its
 * data maps to, anti-aliased text, SVG and PDF checked for their structure and the point's
 * path, the Figure 3 grid's layout, line charts (log axis, empty panels), run_curves on a
 * hand-written metrics.jsonl, and the training-curve figure of a small real run. */
#define _GNU_SOURCE /* memmem */
#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>

#include "data/dc_dataset.h"
#include "dc/dc.h"
#include "dc_test.h"
#include "eval/dc_eval.h"
#include "plot.h"
#include "run_curves.h"
#include "train/dc_train.h"

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f, "%s: cannot open", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    ck_assert(b && fread(b, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    b[n] = '\0';
    if (len) *len = (size_t)n;
    return b;
}

static int n_entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d) closedir(d);
    return n;
}

/* A PNG read back with cairo (the writer's own library, but its PNG reader, libpng). */
typedef struct png {
    cairo_surface_t *s;
    int w, h, stride;
    const unsigned char *px;
} png;

static png png_read(const char *path) {
    png p = {cairo_image_surface_create_from_png(path), 0, 0, 0, NULL};
    ck_assert_msg(cairo_surface_status(p.s) == CAIRO_STATUS_SUCCESS, "%s: %s", path, cairo_status_to_string(cairo_surface_status(p.s)));
    p.w = cairo_image_surface_get_width(p.s), p.h = cairo_image_surface_get_height(p.s);
    p.stride = cairo_image_surface_get_stride(p.s);
    p.px = cairo_image_surface_get_data(p.s);
    return p;
}

static void png_rgb(const png *p, int x, int y, int rgb[3]) {
    ck_assert(x >= 0 && y >= 0 && x < p->w && y < p->h);
    uint32_t v;
    memcpy(&v, p->px + (size_t)y * (size_t)p->stride + (size_t)x * 4, 4); /* cairo: native-endian 0xAARRGGBB */
    rgb[0] = (int)(v >> 16 & 255), rgb[1] = (int)(v >> 8 & 255), rgb[2] = (int)(v & 255);
}

/* The pixel holding figure position (fx, fy) has colour want (each channel within tol). */
static void expect_pixel(const png *p, double fx, double fy, const double want[3], double tol, const char *what) {
    int got[3];
    png_rgb(p, (int)floor(fx), (int)floor(fy), got);
    for (int k = 0; k < 3; k++)
        ck_assert_msg(fabs(got[k] - want[k]) <= tol, "%s at (%.1f, %.1f): got (%d, %d, %d), want (%.0f, %.0f, %.0f)", what, fx, fy,
                      got[0], got[1], got[2], want[0], want[1], want[2]);
}

/* A class colour at opacity alpha over white. */
static void over_white(int c, double alpha, double out[3]) {
    uint8_t rgb[3];
    dc_plot_class_color(c, rgb);
    for (int k = 0; k < 3; k++) out[k] = alpha * rgb[k] + (1 - alpha) * 255;
}

static const float k_Y[10] = {0, 0, 1, 0, 0, 1, 1, 1, 0.5f, 0.5f};
static const int32_t k_lab[5] = {0, 1, 2, 3, -1};
static const char *const k_names[4] = {"walking", "running", "sitting", "stairs"};

START_TEST(test_format_errors) {
    dc_plot_format f;
    ck_assert(dc_plot_format_of("a/b.png", &f) == DC_OK && f == DC_PLOT_PNG);
    ck_assert(dc_plot_format_of("b.SVG", &f) == DC_OK && f == DC_PLOT_SVG);
    ck_assert(dc_plot_format_of("x.y/b.Pdf", &f) == DC_OK && f == DC_PLOT_PDF);
    ck_assert_int_eq(dc_plot_format_of("fig.jpg", &f), DC_ERR_ARG);
    ck_assert_msg(strstr(dc_last_error(), "unknown figure extension '.jpg'") && strstr(dc_last_error(), ".png, .svg or .pdf"),
                  "%s", dc_last_error());
    ck_assert_int_eq(dc_plot_format_of("x.png/fig", &f), DC_ERR_ARG);
    ck_assert_msg(strstr(dc_last_error(), "needs an extension"), "%s", dc_last_error());
    ck_assert_int_eq(dc_plot_format_of("dir/.png", &f), DC_ERR_ARG);
    /* nothing is written for an unknown extension or a missing folder, not even a temporary file */
    char *dir = dc_test_tmpdir(), p[4200];
    snprintf(p, sizeof p, "%s/fig.tiff", dir);
    ck_assert_int_eq(dc_plot_scatter_file(p, k_Y, k_lab, 5, 4, k_names, NULL, NULL), DC_ERR_ARG);
    dc_scatter one = {k_Y, k_lab, 5, 4, k_names, NULL};
    ck_assert_int_eq(dc_plot_grid_file(p, 1, 1, &one, NULL, NULL, NULL, NULL), DC_ERR_ARG);
    dc_line_panel lp = {.ylabel = "y"};
    ck_assert_int_eq(dc_plot_lines_file(p, &lp, 1, "x", NULL, NULL), DC_ERR_ARG);
    snprintf(p, sizeof p, "%s/missing/fig.png", dir);
    ck_assert_int_eq(dc_plot_scatter_file(p, k_Y, k_lab, 5, 4, k_names, NULL, NULL), DC_ERR_IO);
    ck_assert_int_eq(n_entries(dir), 0);
    /* bad labels are refused before anything is opened */
    const int32_t bad[5] = {0, 1, 4, 0, 0};
    snprintf(p, sizeof p, "%s/fig.png", dir);
    ck_assert_int_eq(dc_plot_scatter_file(p, k_Y, bad, 5, 4, k_names, NULL, NULL), DC_ERR_ARG);
    ck_assert_msg(strstr(dc_last_error(), "label 4 of point 2"), "%s", dc_last_error());
    ck_assert_int_eq(n_entries(dir), 0);
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

/* Five points at the corners and the centre of their range: each one's pixel holds its class
 * colour at opacity 0.75 over white (the unlabelled centre grey), the plot area between them
 * is white, and the title's glyph edges carry intermediate greys (anti-aliasing). */
START_TEST(test_scatter_png_pixels) {
    char *dir = dc_test_tmpdir(), p[4200];
    snprintf(p, sizeof p, "%s/s.png", dir);
    dc_plot_area a;
    ck_assert_msg(dc_plot_scatter_file(p, k_Y, k_lab, 5, 4, k_names, "DynaCL, HARTH", &a) == DC_OK, "%s", dc_last_error());
    ck_assert(a.x > 10 && a.y > 10 && a.x + a.w < 900 && a.y + a.h < 700);
    /* the range is the data's, padded by 5% on each side */
    ck_assert_double_eq_tol(a.lo[0], -0.05, 1e-6);
    ck_assert_double_eq_tol(a.hi[1], 1.05, 1e-6);
    png im = png_read(p);
    ck_assert_int_eq(im.w, 900);
    ck_assert_int_eq(im.h, 700);
    for (int i = 0; i < 5; i++) {
        double fx, fy, want[3];
        dc_plot_area_map(&a, k_Y[2 * i], k_Y[2 * i + 1], &fx, &fy);
        over_white(k_lab[i], 0.75, want);
        expect_pixel(&im, fx, fy, want, 2, "point");
    }
    double fx, fy;
    dc_plot_area_map(&a, 0.25, 0.75, &fx, &fy);
    expect_pixel(&im, fx, fy, (const double[3]){255, 255, 255}, 0, "empty plot area");
    int dark = 0, mid = 0, rgb[3];
    for (int y = 10; y < (int)a.y - 6; y++)
        for (int x = 0; x < 900; x++) {
            png_rgb(&im, x, y, rgb);
            ck_assert(rgb[0] == rgb[1] && rgb[1] == rgb[2]); /* the title is black on white */
            dark += rgb[0] < 40, mid += rgb[0] >= 40 && rgb[0] <= 215;
        }
    ck_assert_msg(dark > 50 && mid > 50, "title: %d dark and %d intermediate pixels", dark, mid);
    cairo_surface_destroy(im.s);
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

/* The same figure as SVG and PDF: the documents' structure and size, and in the SVG the
 * circle of point 0 (its path starts at the centre plus the radius 2.6). */
START_TEST(test_scatter_svg_pdf) {
    char *dir = dc_test_tmpdir(), p[4200];
    dc_plot_area a;
    snprintf(p, sizeof p, "%s/s.svg", dir);
    ck_assert_msg(dc_plot_scatter_file(p, k_Y, k_lab, 5, 4, k_names, "t-SNE", &a) == DC_OK, "%s", dc_last_error());
    size_t n;
    char *s = slurp(p, &n);
    ck_assert(!strncmp(s, "<?xml", 5));
    ck_assert_msg(strstr(s, "<svg ") && strstr(s, "width=\"900pt\" height=\"700pt\" viewBox=\"0 0 900 700\""), "%.300s", s);
    ck_assert(n > 7 && !strcmp(s + n - 7, "</svg>\n"));
    char *c0 = strstr(s, "fill:rgb(12.156863%,46.666667%,70.588235%);fill-opacity:0.75;\" d=\"M ");
    ck_assert_msg(c0, "no path in class 0's colour");
    double px, py, fx, fy;
    ck_assert(sscanf(strstr(c0, "d=\"M ") + 5, "%lf %lf", &px, &py) == 2);
    dc_plot_area_map(&a, 0, 0, &fx, &fy);
    ck_assert_msg(fabs(px - (fx + 2.6)) < 0.01 && fabs(py - fy) < 0.01, "point 0 at (%g, %g), want (%g, %g)", px, py, fx + 2.6, fy);
    free(s);
    snprintf(p, sizeof p, "%s/s.pdf", dir);
    ck_assert_msg(dc_plot_scatter_file(p, k_Y, k_lab, 5, 4, k_names, "t-SNE", NULL) == DC_OK, "%s", dc_last_error());
    s = slurp(p, &n);
    ck_assert(!strncmp(s, "%PDF-1.", 7));
    ck_assert(n > 6 && !strcmp(s + n - 6, "%%EOF\n"));
    ck_assert(memmem(s, n, "/MediaBox [ 0 0 900 700 ]", 25)); /* the PDF holds binary streams: memmem, not strstr */
    /* startxref points at the cross-reference table */
    char *sx = NULL;
    for (char *q = s; (q = memmem(q, n - (size_t)(q - s), "startxref\n", 10)); q++) sx = q;
    ck_assert(sx);
    long off = atol(sx + 10);
    ck_assert_msg(off > 0 && (size_t)off < n && !strncmp(s + off, "xref", 4), "startxref %ld", off);
    free(s);
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

/* Figure 3's layout: 2 x 2 with one empty panel, a title, headings and one legend per
 * column. The height is title band + heading band + 2 rows of 300 + the legend (4 classes
 * of 1.5 x 11 units + 10 + 8) + 10; points land where their panel maps them; the empty
 * panel is a light grey frame 300 units below the panel above it. */
START_TEST(test_grid_layout) {
    char *dir = dc_test_tmpdir(), p[4200];
    snprintf(p, sizeof p, "%s/g.png", dir);
    dc_scatter panels[4] = {{k_Y, k_lab, 5, 4, k_names, NULL}, {k_Y, k_lab, 5, 4, k_names, NULL},
                            {k_Y, k_lab, 4, 4, k_names, NULL}, {0}};
    const char *rows[2] = {"DynaCL", "MP-Xent + margin"}, *cols[2] = {"HARTH", "ECG"};
    dc_plot_area ar[4];
    ck_assert_msg(dc_plot_grid_file(p, 2, 2, panels, rows, cols, "Figure 3", ar) == DC_OK, "%s", dc_last_error());
    png im = png_read(p);
    ck_assert_int_eq(im.h, 40 + 24 + 2 * 300 + 84 + 10);
    ck_assert_double_eq_tol(ar[1].x - ar[0].x, 320, 1e-9);
    ck_assert_double_eq_tol(ar[2].y - ar[0].y, 300, 1e-9);
    ck_assert_int_eq(im.w, (int)ceil(ar[1].x - 8 + 320 + 10));
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < panels[k].n; i++) {
            double fx, fy, want[3];
            dc_plot_area_map(&ar[k], k_Y[2 * i], k_Y[2 * i + 1], &fx, &fy);
            over_white(k_lab[i], 0.75, want);
            expect_pixel(&im, fx, fy, want, 2, "grid point");
        }
    ck_assert(ar[3].w == 0);
    expect_pixel(&im, ar[1].x + 0.5, ar[1].y + 300 + 0.5, (const double[3]){220, 220, 220}, 0, "empty panel frame");
    cairo_surface_destroy(im.s);
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

/* Line charts: a loss panel (markers), a learning rate over 3 decades (log axis: the points
 * 1e-3 and 1e-5 land on the decades' positions), an empty panel with its message. */
START_TEST(test_lines) {
    char *dir = dc_test_tmpdir(), p[4200];
    snprintf(p, sizeof p, "%s/l.png", dir);
    const double ep[4] = {1, 2, 3, 4}, loss[4] = {4, 3, 2.5, 2.25}, lr[4] = {1e-3, 1e-3, 1e-4, 1e-5}, val[2] = {2, 4},
                 vloss[2] = {3.5, 2.75};
    dc_line_panel lp[3] = {{.ylabel = "loss", .n_series = 2}, {.ylabel = "learning rate", .n_series = 1, .log_y = 1},
                           {.ylabel = "J", .empty = "nothing here"}};
    lp[0].series[0] = (dc_series){ep, loss, 4, "training", 0, 1, 0};
    lp[0].series[1] = (dc_series){val, vloss, 2, "validation", 1, 1, 0};
    lp[1].series[0] = (dc_series){ep, lr, 4, NULL, 2, 1, 0};
    dc_plot_area a[3];
    ck_assert_msg(dc_plot_lines_file(p, lp, 3, "epoch", "curves", a) == DC_OK, "%s", dc_last_error());
    png im = png_read(p);
    ck_assert_int_eq(im.w, 800);
    ck_assert(!a[0].log_y && a[1].log_y && !a[2].log_y);
    ck_assert(a[1].lo[1] < -5 && a[1].hi[1] > -3); /* log10 of 1e-5 .. 1e-3, padded */
    ck_assert(a[0].x == a[1].x && a[1].x == a[2].x);
    double fx, fy, want[3];
    for (int i = 0; i < 4; i++) {
        over_white(0, 1, want);
        dc_plot_area_map(&a[0], ep[i], loss[i], &fx, &fy);
        expect_pixel(&im, fx, fy, want, 1, "loss marker");
        over_white(2, 1, want);
        dc_plot_area_map(&a[1], ep[i], lr[i], &fx, &fy);
        expect_pixel(&im, fx, fy, want, 1, "learning-rate marker");
    }
    over_white(1, 1, want);
    dc_plot_area_map(&a[0], val[1], vloss[1], &fx, &fy);
    expect_pixel(&im, fx, fy, want, 1, "validation marker");
    double y3, y5;
    dc_plot_area_map(&a[1], 1, 1e-3, &fx, &y3);
    dc_plot_area_map(&a[1], 1, 1e-5, &fx, &y5);
    dc_plot_area_map(&a[1], 1, 1e-4, &fx, &fy);
    ck_assert_double_eq_tol(fy, (y3 + y5) / 2, 1e-9); /* a decade is a decade */
    cairo_surface_destroy(im.s);
    /* too many series, or a series without points, is an error */
    lp[2].n_series = DC_PLOT_MAX_SERIES + 1;
    ck_assert_int_eq(dc_plot_lines_file(p, lp, 3, "epoch", NULL, NULL), DC_ERR_ARG);
    lp[2].n_series = 1;
    lp[2].series[0] = (dc_series){NULL, NULL, 3, NULL, 0, 0, 0};
    ck_assert_int_eq(dc_plot_lines_file(p, lp, 3, "epoch", NULL, NULL), DC_ERR_ARG);
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

static void write_text(const char *dir, const char *name, const char *text) {
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    ck_assert(f && fputs(text, f) >= 0 && fclose(f) == 0);
}

/* A hand-written metrics.jsonl: 4 logged steps in 2 epochs of 4 steps, epoch 2 written twice
 * (a resume; the later wins), a checkpoint, two validations of which one has J, an
 * unterminated last line. */
START_TEST(test_run_curves) {
    char *dir = dc_test_tmpdir();
    write_text(dir, "metrics.jsonl",
               "{\"step\": 2, \"epoch\": 1, \"loss\": 3.0, \"terms\": {}, \"lr\": 0.001, \"wall_s\": 1}\n"
               "{\"step\": 4, \"epoch\": 1, \"loss\": 2.5, \"terms\": {}, \"lr\": 0.001, \"wall_s\": 2}\n"
               "{\"event\": \"epoch\", \"step\": 4, \"epoch\": 1, \"mean_loss\": 2.75, \"lr\": 0.001, \"wall_s\": 2}\n"
               "{\"event\": \"validation\", \"step\": 4, \"epoch\": 1, \"val_loss\": 10, \"val_loss_mean\": 2.6, \"lr\": 0.001, \"j\": 1.5}\n"
               "{\"event\": \"checkpoint\", \"step\": 4, \"epoch\": 1, \"file\": \"checkpoints/step_00000004.safetensors\"}\n"
               "\n"
               "{\"step\": 6, \"epoch\": 2, \"loss\": 2.0, \"terms\": {}, \"lr\": 0.001, \"wall_s\": 3}\n"
               "{\"step\": 8, \"epoch\": 2, \"loss\": 1.0, \"terms\": {}, \"lr\": 0.001, \"wall_s\": 4}\n"
               "{\"event\": \"epoch\", \"step\": 8, \"epoch\": 2, \"mean_loss\": 1.5, \"lr\": 0.0001, \"wall_s\": 4}\n"
               "{\"event\": \"epoch\", \"step\": 8, \"epoch\": 2, \"mean_loss\": 1.25, \"lr\": 0.0001, \"wall_s\": 5}\n"
               "{\"event\": \"validation\", \"step\": 8, \"epoch\": 2, \"val_loss\": 5, \"val_loss_mean\": 1.4, \"lr\": 0.0001}\n"
               "{\"step\": 10, \"epo");
    write_text(dir, "config.json", "{\"model\": \"dynacl-m\", \"dataset\": \"harth\", \"protocol\": \"corrected\", \"seed\": 42}");
    run_curves c;
    ck_assert_msg(run_curves_read(dir, &c) == DC_OK, "%s", dc_last_error());
    ck_assert(c.partial_tail);
    ck_assert_double_eq(c.steps_per_epoch, 4);
    ck_assert_int_eq(c.n_step, 4);
    const double sx[4] = {0.5, 1, 1.5, 2}, sl[4] = {3, 2.5, 2, 1};
    for (int i = 0; i < 4; i++) ck_assert(c.step_x[i] == sx[i] && c.step_loss[i] == sl[i]);
    ck_assert_int_eq(c.n_ep, 2);
    ck_assert(c.ep[0] == 1 && c.ep[1] == 2 && c.ep_loss[0] == 2.75 && c.ep_loss[1] == 1.25);
    ck_assert(c.ep_lr[0] == 1e-3 && c.ep_lr[1] == 1e-4);
    ck_assert_int_eq(c.n_val, 2);
    ck_assert(c.val_loss[0] == 2.6 && c.val_loss[1] == 1.4);
    ck_assert_int_eq(c.n_j, 1);
    ck_assert(c.j_ep[0] == 1 && c.j[0] == 1.5);
    ck_assert_str_eq(c.model, "dynacl-m");
    ck_assert_str_eq(c.protocol, "corrected");
    ck_assert_int_eq(c.seed, 42);
    run_curves_free(&c);
    /* a bad line inside the file names its number */
    write_text(dir, "metrics.jsonl", "{\"step\": 2, \"epoch\": 1, \"loss\": 3.0}\n{\"step\": 4,\n{\"step\": 6}\n");
    ck_assert_int_eq(run_curves_read(dir, &c), DC_ERR_FORMAT);
    ck_assert_msg(strstr(dc_last_error(), "metrics.jsonl:2: not a JSON object"), "%s", dc_last_error());
    write_text(dir, "metrics.jsonl", "{\"event\": \"checkpoint\", \"step\": 4, \"epoch\": 1, \"file\": \"x\"}\n");
    ck_assert_int_eq(run_curves_read(dir, &c), DC_ERR_FORMAT);
    ck_assert_msg(strstr(dc_last_error(), "no training loss recorded yet"), "%s", dc_last_error());
    char p[4200];
    snprintf(p, sizeof p, "%s/none", dir);
    ck_assert_int_eq(run_curves_read(p, &c), DC_ERR_IO);
    ck_assert_msg(strstr(dc_last_error(), "none/metrics.jsonl: cannot open"), "%s", dc_last_error());
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

/* Count the pixels of exactly one colour. */
static int64_t count_colour(const png *p, const uint8_t want[3]) {
    int64_t n = 0;
    int rgb[3];
    for (int y = 0; y < p->h; y++)
        for (int x = 0; x < p->w; x++) {
            png_rgb(p, x, y, rgb);
            n += rgb[0] == want[0] && rgb[1] == want[1] && rgb[2] == want[2];
        }
    return n;
}

/* A small real run (3 epochs, a validation with clustering J after each), then `dynacl plot`:
 * the default output in the run folder, a PDF, the errors. */
START_TEST(test_plot_small_run) {
    dc_synth_opts so = dc_synth_opts_default();
    so.subjects = 3;
    so.minutes = 2;
    dc_dataset ds;
    ck_assert(dc_dataset_synthetic(&so, &ds) == DC_OK);
    dc_model_config cfg = dc_model_config_defaults("dynacl", "synthetic", "authors");
    dc_backend *be = dc_backend_new("cpu");
    dc_model *m = dc_model_new(&cfg, be, ds.frames.D);
    ck_assert_msg(m, "%s", dc_last_error());
    dc_train_opts o = dc_train_opts_default();
    o.epochs = 3, o.batch = 3, o.valid_interval = 1, o.log_every = 2;
    dc_cluster_hook ch;
    ck_assert(dc_cluster_hook_init(&ch, &ds, cfg.seed, DC_PROTOCOL_AUTHORS) == DC_OK);
    dc_train_hooks h = {.ud = &ch, .on_validate = dc_cluster_on_validate};
    char *dir = dc_test_tmpdir(), run[4200], args[8600], p[4300];
    static char out[1 << 14];
    snprintf(run, sizeof run, "%s/run", dir);
    ck_assert_msg(dc_train_run(m, &ds, be, &o, run, DC_RUN_NEW,
                               "{\"model\": \"dynacl\", \"dataset\": \"synthetic\", \"protocol\": \"authors\", \"seed\": 7}", &h) == DC_OK,
                  "%s", dc_last_error());
    dc_cluster_hook_free(&ch);
    dc_model_free(m);
    dc_backend_free(be);
    dc_dataset_close(&ds);
    run_curves c;
    ck_assert_msg(run_curves_read(run, &c) == DC_OK, "%s", dc_last_error());
    ck_assert_int_eq(c.n_ep, 3);
    ck_assert_int_eq(c.n_j, 3);
    ck_assert_double_eq(c.steps_per_epoch, 5); /* 15 training sequences in batches of 3 */
    ck_assert_int_eq(c.n_step, 7);             /* every second of 15 steps */
    for (int i = 0; i < 3; i++) ck_assert(c.ep[i] == i + 1 && c.ep_lr[i] == o.lr && isfinite(c.ep_loss[i]) && isfinite(c.j[i]));
    run_curves_free(&c);

    snprintf(args, sizeof args, "plot '%s'", run);
    ck_assert_msg(dc_test_run_cli(args, out, sizeof out) == 0, "%s", out);
    ck_assert_msg(strstr(out, "training.png: 3 epochs, 7 logged steps, 3 validations, best J"), "%s", out);
    snprintf(p, sizeof p, "%s/training.png", run);
    png im = png_read(p);
    ck_assert_int_eq(im.w, 800);
    ck_assert_int_eq(im.h, 796); /* title 42 + 3 panels of 220 + 2 gaps of 18 + the x axis 58 */
    /* each panel's series colour is drawn: loss (blue), validation (orange), lr (green), J (red) */
    for (int k = 0; k < 4; k++) {
        uint8_t col[3];
        dc_plot_class_color(k, col);
        ck_assert_msg(count_colour(&im, col) > 20, "colour %d missing", k);
    }
    cairo_surface_destroy(im.s);
    snprintf(args, sizeof args, "plot '%s' --out '%s/c.pdf' --title 'A run'", run, dir);
    ck_assert_msg(dc_test_run_cli(args, out, sizeof out) == 0, "%s", out);
    snprintf(p, sizeof p, "%s/c.pdf", dir);
    size_t n;
    char *s = slurp(p, &n);
    ck_assert(!strncmp(s, "%PDF-1.", 7) && memmem(s, n, "/MediaBox [ 0 0 800 796 ]", 25) && !strcmp(s + n - 6, "%%EOF\n"));
    free(s);
    snprintf(args, sizeof args, "plot '%s' --out '%s/c.gif'", run, dir);
    ck_assert_int_eq(dc_test_run_cli(args, out, sizeof out), 2);
    ck_assert_msg(strstr(out, "unknown figure extension '.gif'"), "%s", out);
    snprintf(args, sizeof args, "plot '%s/nothing'", dir);
    ck_assert_int_eq(dc_test_run_cli(args, out, sizeof out), 1);
    ck_assert_msg(strstr(out, "nothing/metrics.jsonl: cannot open"), "%s", out);
    ck_assert_int_eq(dc_test_run_cli("plot", out, sizeof out), 2);
    ck_assert_msg(strstr(out, "exactly one run folder"), "%s", out);
    dc_test_rmtree(dir);
    free(dir);
}
END_TEST

int main(void) {
    Suite *s = suite_create("plot");
    TCase *tc = tcase_create("figures");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_format_errors);
    tcase_add_test(tc, test_scatter_png_pixels);
    tcase_add_test(tc, test_scatter_svg_pdf);
    tcase_add_test(tc, test_grid_layout);
    tcase_add_test(tc, test_lines);
    tcase_add_test(tc, test_run_curves);
    suite_add_tcase(s, tc);
    TCase *tr = tcase_create("run");
    tcase_set_timeout(tr, 300);
    tcase_add_test(tr, test_plot_small_run);
    suite_add_tcase(s, tr);
    return dc_test_run_suite(s) ? 1 : 0;
}
