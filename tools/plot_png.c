/* plot_png.c: raster scatter plots written with libpng: a small RGB canvas, a built-in 5x7
 * bitmap font for titles, ticks and legends, one colour per class, and a grid composer for
 * `dynacl figure` (methods x datasets, as the paper's Figure 3). Not a general plotting library.
 */
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot_png.h"

/* ASCII 32..126, 7 rows of 5 bits each (bit 4 = leftmost column), 14 hex digits per glyph. */
static const char k_font[] =
    "00000000000000040404040400040a0a0a000000000a0a1f0a1f0a0a040f140e051e0418190204081303"
    "0c12140815120d0404080000000002040808080402080402020204080004150e1504000004041f040400"
    "000000000c04080000001f00000000000000000c0c000102040810000e11131519110e040c040404040e"
    "0e11010204081f1f02040201110e02060a121f02021f101e0101110e0608101e11110e1f010204080808"
    "0e11110e11110e0e11110f01020c000c0c000c0c00000c0c000c04080204081008040200001f001f0000"
    "080402010204080e1101020400040e11010d15150e0e11111f1111111e11111e11111e0e11101010110e"
    "1c12111111121c1f10101e10101f1f10101e1010100e11101711110f1111111f1111110e04040404040e"
    "0702020202120c111214181412111010101010101f111b1515111111111119151311110e11111111110e"
    "1e11111e1010100e11111115120d1e11111e1412110f10100e01011e1f0404040404041111111111110e"
    "11111111110a041111111515150a11110a040a111111110a040404041f01020408101f0e08080808080e"
    "001008040201000e02020202020e040a11000000000000000000001f0804020000000000000e010f110f"
    "1010161911111e00000e1010110e01010d1311110f00000e111f100e0609081c080808000f11110f010e"
    "1010161911111104000c0404040e0200060202120c101012141814120c04040404040e00001a15151111"
    "0000161911111100000e1111110e00001e111e101000000d130f01010000161910101000000e100e011e"
    "08081c080809060000111111130d00001111110a040000111115150a0000110a040a11000011110f010e"
    "00001f0204081f02040408040402040404040404040804040204040800000815020000"
    ;

static const uint8_t k_black[3] = {0, 0, 0}, k_grey[3] = {120, 120, 120}, k_frame[3] = {60, 60, 60};

/* A qualitative palette: matplotlib's tab10, then its lighter tab20 partners. */
static const uint8_t k_palette[20][3] = {
    {31, 119, 180}, {255, 127, 14}, {44, 160, 44},   {214, 39, 40},   {148, 103, 189},
    {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34},  {23, 190, 207},
    {174, 199, 232}, {255, 187, 120}, {152, 223, 138}, {255, 152, 150}, {197, 176, 213},
    {196, 156, 148}, {247, 182, 210}, {199, 199, 199}, {219, 219, 141}, {158, 218, 229}};

void dc_plot_class_color(int c, uint8_t rgb[3]) {
    const uint8_t *p = c >= 0 ? k_palette[c % 20] : k_grey;
    memcpy(rgb, p, 3);
}

dc_status dc_image_new(dc_image *im, int w, int h) {
    if (!im || w < 1 || h < 1 || w > 20000 || h > 20000) return dc_fail(DC_ERR_ARG, "image: bad size %d x %d", w, h);
    im->rgb = malloc((size_t)w * (size_t)h * 3);
    if (!im->rgb) return dc_fail(DC_ERR_OOM, "image: out of memory for %d x %d", w, h);
    memset(im->rgb, 255, (size_t)w * (size_t)h * 3);
    im->w = w, im->h = h;
    return DC_OK;
}

void dc_image_free(dc_image *im) {
    if (!im) return;
    free(im->rgb);
    im->rgb = NULL;
    im->w = im->h = 0;
}

/* alpha in [0, 1]: 1 = opaque */
static void blend(dc_image *im, int x, int y, const uint8_t c[3], double alpha) {
    if (x < 0 || y < 0 || x >= im->w || y >= im->h) return;
    uint8_t *p = im->rgb + ((size_t)y * (size_t)im->w + (size_t)x) * 3;
    for (int k = 0; k < 3; k++) p[k] = (uint8_t)lround(alpha * c[k] + (1 - alpha) * p[k]);
}

static void fill_rect(dc_image *im, int x, int y, int w, int h, const uint8_t c[3]) {
    for (int j = y; j < y + h; j++)
        for (int i = x; i < x + w; i++) blend(im, i, j, c, 1);
}

static void rect(dc_image *im, int x, int y, int w, int h, const uint8_t c[3]) {
    fill_rect(im, x, y, w, 1, c);
    fill_rect(im, x, y + h - 1, w, 1, c);
    fill_rect(im, x, y, 1, h, c);
    fill_rect(im, x + w - 1, y, 1, h, c);
}

static void disc(dc_image *im, double cx, double cy, double r, const uint8_t c[3], double alpha) {
    for (int j = (int)floor(cy - r); j <= (int)ceil(cy + r); j++)
        for (int i = (int)floor(cx - r); i <= (int)ceil(cx + r); i++) {
            double dx = i + 0.5 - cx, dy = j + 0.5 - cy;
            if (dx * dx + dy * dy <= r * r) blend(im, i, j, c, alpha);
        }
}

int dc_image_text(dc_image *im, int x, int y, const char *s, int scale, const uint8_t rgb[3]) {
    if (!im || !s) return 0;
    if (scale < 1) scale = 1;
    int x0 = x;
    for (; *s; s++) {
        unsigned ch = (unsigned char)*s;
        if (ch < 32 || ch > 126) ch = '?';
        const char *g = k_font + (ch - 32) * 14;
        for (int r = 0; r < 7; r++) {
            unsigned bits = 0;
            sscanf(g + 2 * r, "%2x", &bits);
            for (int c = 0; c < 5; c++)
                if (bits & (0x10u >> c)) fill_rect(im, x + c * scale, y + r * scale, scale, scale, rgb);
        }
        x += 6 * scale;
    }
    return x - x0;
}

static int text_width(const char *s, int scale) { return s ? (int)strlen(s) * 6 * scale : 0; }

dc_status dc_image_write_png(const dc_image *im, const char *path) {
    if (!im || !im->rgb || !path) return dc_fail(DC_ERR_ARG, "png: NULL argument");
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return dc_fail(DC_ERR_IO, "%s: cannot open for writing", tmp);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    png_bytep *rows = malloc((size_t)im->h * sizeof *rows);
    if (!png || !info || !rows) {
        png_destroy_write_struct(&png, &info);
        free(rows);
        fclose(f);
        remove(tmp);
        return dc_fail(DC_ERR_OOM, "png: out of memory");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(rows);
        fclose(f);
        remove(tmp);
        return dc_fail(DC_ERR_IO, "%s: libpng failed while writing", path);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)im->w, (png_uint_32)im->h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < im->h; y++) rows[y] = im->rgb + (size_t)y * (size_t)im->w * 3;
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    int bad = fflush(f) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        return dc_fail(DC_ERR_IO, "%s: cannot write", path);
    }
    return DC_OK;
}

/* A "nice" tick step (1, 2 or 5 times a power of ten) for about 5 ticks over span. */
static double nice_step(double span) {
    double raw = span / 5, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void class_name(const dc_scatter *s, int c, char *buf, size_t cap) {
    if (c < 0) snprintf(buf, cap, "unlabelled");
    else if (s->class_names && c < s->n_classes && s->class_names[c]) snprintf(buf, cap, "%s", s->class_names[c]);
    else snprintf(buf, cap, "%d", c);
}

static int legend_width(const dc_scatter *s, int scale) {
    int w = 0;
    char nm[64];
    for (int c = 0; c < s->n_classes; c++) {
        class_name(s, c, nm, sizeof nm);
        if (text_width(nm, scale) > w) w = text_width(nm, scale);
    }
    return w + 10 * scale + 16;
}

/* The legend box at (x, y): a swatch and the name of each class. Returns its height. */
static int draw_legend(dc_image *im, int x, int y, const dc_scatter *s, int scale) {
    char nm[64];
    int line = 10 * scale, w = legend_width(s, scale) - 6, h = s->n_classes * line + 8;
    fill_rect(im, x, y, w, h, (const uint8_t[3]){255, 255, 255});
    rect(im, x, y, w, h, k_grey);
    for (int c = 0; c < s->n_classes; c++) {
        uint8_t col[3];
        dc_plot_class_color(c, col);
        int yy = y + 5 + c * line;
        fill_rect(im, x + 5, yy, 7 * scale, 7 * scale, col);
        class_name(s, c, nm, sizeof nm);
        dc_image_text(im, x + 5 + 9 * scale, yy, nm, scale, k_black);
    }
    return h;
}

static void draw_panel(dc_image *im, int x0, int y0, int w, int h, const dc_scatter *s, int legend, int ticks) {
    int scale = 1 + (w >= 500), top = 4, left = 4, bottom = 4, right = 4;
    if (s->title && *s->title) {
        dc_image_text(im, x0 + (w - text_width(s->title, scale + 1)) / 2, y0 + 4, s->title, scale + 1, k_black);
        top += 7 * (scale + 1) + 8;
    }
    if (ticks) left += 7 * 6 * scale + 6, bottom += 7 * scale + 10;
    if (legend) right += legend_width(s, scale) + 4;
    int px = x0 + left, py = y0 + top, pw = w - left - right, ph = h - top - bottom;
    if (pw < 10 || ph < 10) return;
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (int64_t i = 0; i < s->n; i++)
        for (int a = 0; a < 2; a++) {
            double v = s->Y[2 * i + a];
            if (!isfinite(v)) continue;
            if (v < lo[a]) lo[a] = v;
            if (v > hi[a]) hi[a] = v;
        }
    for (int a = 0; a < 2; a++) {
        if (!(hi[a] >= lo[a])) lo[a] = -1, hi[a] = 1;
        double pad = (hi[a] - lo[a]) * 0.05 + 1e-9;
        lo[a] -= pad, hi[a] += pad;
    }
    rect(im, px - 1, py - 1, pw + 2, ph + 2, k_frame);
    if (ticks) {
        char lab[32];
        for (int a = 0; a < 2; a++) {
            double st = nice_step(hi[a] - lo[a]);
            for (double v = ceil(lo[a] / st) * st; v <= hi[a]; v += st) {
                snprintf(lab, sizeof lab, "%g", fabs(v) < st * 1e-6 ? 0.0 : v);
                if (a == 0) {
                    int x = px + (int)lround((v - lo[0]) / (hi[0] - lo[0]) * (pw - 1));
                    fill_rect(im, x, py + ph, 1, 5, k_frame);
                    dc_image_text(im, x - text_width(lab, scale) / 2, py + ph + 7, lab, scale, k_frame);
                } else {
                    int y = py + ph - 1 - (int)lround((v - lo[1]) / (hi[1] - lo[1]) * (ph - 1));
                    fill_rect(im, px - 6, y, 5, 1, k_frame);
                    dc_image_text(im, px - 8 - text_width(lab, scale), y - 3 * scale, lab, scale, k_frame);
                }
            }
        }
    }
    double r = pw * ph > 250000 ? 2.6 : 1.8;
    int64_t step = s->n % 7919 ? 7919 : 1; /* interleave classes so none is always drawn on top */
    for (int64_t k = 0; k < s->n; k++) {
        int64_t i = (int64_t)(((unsigned long long)k * (unsigned long long)step) % (unsigned long long)s->n);
        double x = s->Y[2 * i], y = s->Y[2 * i + 1];
        if (!isfinite(x) || !isfinite(y)) continue;
        uint8_t col[3];
        dc_plot_class_color(s->label ? s->label[i] : 0, col);
        disc(im, px + (x - lo[0]) / (hi[0] - lo[0]) * (pw - 1), py + ph - 1 - (y - lo[1]) / (hi[1] - lo[1]) * (ph - 1), r,
             col, 0.75);
    }
    if (legend) draw_legend(im, px + pw + 8, py, s, scale);
}

static dc_status check_scatter(const dc_scatter *s) {
    if (!s || (s->n > 0 && !s->Y) || s->n < 0) return dc_fail(DC_ERR_ARG, "plot: NULL points");
    if (s->n_classes < 0 || s->n_classes > 256) return dc_fail(DC_ERR_ARG, "plot: %d classes", s->n_classes);
    for (int64_t i = 0; s->label && i < s->n; i++)
        if (s->label[i] >= s->n_classes)
            return dc_fail(DC_ERR_ARG, "plot: label %d of point %lld is not below %d classes", s->label[i], (long long)i,
                           s->n_classes);
    return DC_OK;
}

dc_status dc_plot_scatter(dc_image *im, int x0, int y0, int w, int h, const dc_scatter *s, int legend) {
    if (!im || !im->rgb) return dc_fail(DC_ERR_ARG, "plot: NULL image");
    dc_status st = check_scatter(s);
    if (st == DC_OK) draw_panel(im, x0, y0, w, h, s, legend, w >= 300 && h >= 200);
    return st;
}

dc_status dc_plot_scatter_png(const char *path, const float *Y, const int32_t *label, int64_t n, int n_classes,
                              const char *const *class_names, const char *title) {
    dc_scatter s = {Y, label, n, n_classes, class_names, title};
    dc_status st = check_scatter(&s);
    if (st != DC_OK) return st;
    dc_image im;
    if ((st = dc_image_new(&im, 900, 700)) != DC_OK) return st;
    draw_panel(&im, 10, 10, 880, 680, &s, 1, 1);
    st = dc_image_write_png(&im, path);
    dc_image_free(&im);
    return st;
}

dc_status dc_plot_grid_png(const char *path, int rows, int cols, const dc_scatter *panels,
                           const char *const *row_names, const char *const *col_names, const char *title) {
    if (!path || !panels || rows < 1 || cols < 1 || rows * cols > 400)
        return dc_fail(DC_ERR_ARG, "figure: a grid needs 1..400 panels and an output path");
    for (int i = 0; i < rows * cols; i++) {
        dc_status st = check_scatter(&panels[i]);
        if (st != DC_OK) return dc_fail_prefix("figure: panel %d", i);
    }
    const int cw = 320, ch = 300, head = title ? 40 : 10;
    int lw = 40;
    for (int r = 0; r < rows; r++)
        if (row_names && row_names[r] && text_width(row_names[r], 2) + 20 > lw) lw = text_width(row_names[r], 2) + 20;
    int legend_h = 0;
    const dc_scatter *leg[64] = {0};
    for (int c = 0; c < cols && c < 64; c++) {
        for (int r = 0; r < rows && !leg[c]; r++)
            if (panels[r * cols + c].n > 0) leg[c] = &panels[r * cols + c];
        if (leg[c] && leg[c]->n_classes * 10 + 20 > legend_h) legend_h = leg[c]->n_classes * 10 + 20;
    }
    if (cols > 64) return dc_fail(DC_ERR_ARG, "figure: at most 64 columns");
    dc_image im;
    int width = lw + cols * cw + 10;
    if (title && text_width(title, 2) + 20 > width) width = text_width(title, 2) + 20;
    dc_status st = dc_image_new(&im, width, head + 24 + rows * ch + legend_h + 10);
    if (st != DC_OK) return st;
    if (title) dc_image_text(&im, (im.w - text_width(title, 2)) / 2, 12, title, 2, k_black);
    for (int c = 0; c < cols; c++) {
        const char *nm = col_names && col_names[c] ? col_names[c] : "";
        dc_image_text(&im, lw + c * cw + (cw - text_width(nm, 2)) / 2, head + 4, nm, 2, k_black);
        if (leg[c]) draw_legend(&im, lw + c * cw + 10, head + 24 + rows * ch + 4, leg[c], 1);
    }
    for (int r = 0; r < rows; r++) {
        const char *nm = row_names && row_names[r] ? row_names[r] : "";
        dc_image_text(&im, 8, head + 24 + r * ch + ch / 2 - 7, nm, 2, k_black);
        for (int c = 0; c < cols; c++) {
            const dc_scatter *s = &panels[r * cols + c];
            int x = lw + c * cw, y = head + 24 + r * ch;
            if (s->n > 0) draw_panel(&im, x + 4, y + 4, cw - 8, ch - 8, s, 0, 0);
            else rect(&im, x + 8, y + 8, cw - 16, ch - 16, (const uint8_t[3]){220, 220, 220});
        }
    }
    st = dc_image_write_png(&im, path);
    dc_image_free(&im);
    return st;
}
