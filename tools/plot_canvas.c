/* plot_canvas.c: the cairo side of the figures: an image (PNG), SVG or PDF surface by the
 * output's extension, written through cairo's stream callback into an atomic file; text in
 * DejaVu Sans with grey-scale anti-aliasing and unhinted metrics (the same layout in every
 * format); axis ticks. No figure layout here (plot_scatter.c, plot_lines.c), and nothing that
 * a build without cairo also needs (plot_common.c).
 */
#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "plot_canvas.h"

#define PL_FONT "DejaVu Sans"

const uint8_t pl_black[3] = {0, 0, 0}, pl_grey[3] = {120, 120, 120}, pl_frame[3] = {60, 60, 60},
              pl_light[3] = {220, 220, 220};

/* ---------------------------------------------------------------- the surface */

static cairo_status_t write_cb(void *closure, const unsigned char *data, unsigned int len) {
    pl_canvas *c = closure;
    if (c->write_failed || dc_atomic_file_write(&c->file, data, len) != DC_OK) {
        c->write_failed = 1;
        return CAIRO_STATUS_WRITE_ERROR;
    }
    return CAIRO_STATUS_SUCCESS;
}

dc_status pl_begin(pl_canvas *c, const char *path, double w, double h) {
    memset(c, 0, sizeof *c);
    c->file.fd = -1;
    dc_status st = dc_plot_format_of(path, &c->fmt);
    if (st != DC_OK) return st;
    if (!(w >= 1 && h >= 1 && w <= 30000 && h <= 30000))
        return dc_fail(DC_ERR_ARG, "%s: a figure of %g x %g units is out of range (1..30000)", path, w, h);
    if ((st = dc_atomic_file_begin(&c->file, path)) != DC_OK) return st;
    c->w = w, c->h = h;
    if (c->fmt == DC_PLOT_PNG) {
        c->surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)ceil(w), (int)ceil(h));
    } else if (c->fmt == DC_PLOT_SVG) {
        c->surf = cairo_svg_surface_create_for_stream(write_cb, c, w, h);
        cairo_svg_surface_set_document_unit(c->surf, CAIRO_SVG_UNIT_PT);
    } else {
        c->surf = cairo_pdf_surface_create_for_stream(write_cb, c, w, h);
        cairo_pdf_surface_set_metadata(c->surf, CAIRO_PDF_METADATA_CREATOR, "dynacl");
    }
    c->cr = cairo_create(c->surf);
    cairo_status_t cs = cairo_status(c->cr);
    if (cs != CAIRO_STATUS_SUCCESS) {
        st = dc_fail(cs == CAIRO_STATUS_NO_MEMORY ? DC_ERR_OOM : DC_ERR_IO, "%s: cairo: %s", path, cairo_status_to_string(cs));
        pl_abort(c);
        return st;
    }
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    cairo_set_font_options(c->cr, fo);
    cairo_font_options_destroy(fo);
    cairo_set_source_rgb(c->cr, 1, 1, 1);
    cairo_paint(c->cr);
    return DC_OK;
}

dc_status pl_commit(pl_canvas *c) {
    cairo_status_t cs = cairo_status(c->cr);
    cairo_destroy(c->cr);
    c->cr = NULL;
    if (cs == CAIRO_STATUS_SUCCESS) {
        if (c->fmt == DC_PLOT_PNG) {
            cairo_surface_flush(c->surf);
            cs = cairo_surface_write_to_png_stream(c->surf, write_cb, c);
        } else {
            cairo_surface_finish(c->surf); /* vector surfaces write their document now */
            cs = cairo_surface_status(c->surf);
        }
    }
    cairo_surface_destroy(c->surf);
    c->surf = NULL;
    if (cs != CAIRO_STATUS_SUCCESS || c->write_failed) {
        dc_status st = c->write_failed ? dc_last_status()
                                       : dc_fail(DC_ERR_IO, "%s: cairo: %s", c->file.path, cairo_status_to_string(cs));
        dc_atomic_file_abort(&c->file);
        return st;
    }
    return dc_atomic_file_commit(&c->file);
}

void pl_abort(pl_canvas *c) {
    if (!c) return;
    if (c->cr) cairo_destroy(c->cr);
    if (c->surf) { /* finishing may still write into the temporary file, which goes next */
        cairo_surface_finish(c->surf);
        cairo_surface_destroy(c->surf);
    }
    c->cr = NULL, c->surf = NULL;
    dc_atomic_file_abort(&c->file);
}

/* ---------------------------------------------------------------- drawing helpers */

void pl_rgb(cairo_t *cr, const uint8_t rgb[3], double alpha) {
    cairo_set_source_rgba(cr, rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0, alpha);
}

void pl_rect(cairo_t *cr, double x, double y, double w, double h, const uint8_t rgb[3]) {
    pl_rgb(cr, rgb, 1);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, x + 0.5, y + 0.5, w - 1, h - 1);
    cairo_stroke(cr);
}

/* Length of the valid UTF-8 sequence at s (no overlong forms, surrogates or code points
 * above U+10FFFF), 0 if invalid. */
static int utf8_len(const unsigned char *s) {
    int n = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (n <= 1) return n;
    unsigned cp = s[0] & (0x7F >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    static const unsigned min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    return cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) ? 0 : n;
}

/* s as printable UTF-8 in buf (control characters and invalid bytes -> '?'), truncated at a
 * character boundary. */
static const char *clean_text(const char *s, char *buf, size_t cap) {
    size_t k = 0;
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        int n = utf8_len(p);
        if (n == 1 && (*p < 32 || *p == 127)) n = 0;
        size_t take = n ? (size_t)n : 1;
        if (k + take >= cap) break;
        if (n) memcpy(buf + k, p, (size_t)n);
        else buf[k] = '?';
        k += take;
        p += take;
    }
    buf[k] = '\0';
    return buf;
}

static void set_font(cairo_t *cr, double size, int bold) {
    cairo_select_font_face(cr, PL_FONT, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

double pl_text_width(cairo_t *cr, const char *s, double size, int bold) {
    char buf[512];
    cairo_text_extents_t te;
    set_font(cr, size, bold);
    cairo_text_extents(cr, clean_text(s, buf, sizeof buf), &te);
    return te.x_advance;
}

double pl_text(cairo_t *cr, double x, double y, const char *s, double size, int bold, int align, const uint8_t rgb[3]) {
    char buf[512];
    clean_text(s, buf, sizeof buf);
    set_font(cr, size, bold);
    cairo_font_extents_t fe;
    cairo_text_extents_t te;
    cairo_font_extents(cr, &fe);
    cairo_text_extents(cr, buf, &te);
    double w = te.x_advance;
    cairo_move_to(cr, align < 0 ? x : align == 0 ? x - w / 2 : x - w, y + fe.ascent);
    pl_rgb(cr, rgb, 1);
    cairo_show_text(cr, buf);
    cairo_new_path(cr);
    return w;
}

void pl_text_up(cairo_t *cr, double x, double y, const char *s, double size, const uint8_t rgb[3]) {
    set_font(cr, size, 0);
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_rotate(cr, -M_PI / 2);
    pl_text(cr, 0, -(fe.ascent + fe.descent) / 2, s, size, 0, 0, rgb);
    cairo_restore(cr);
}

/* ---------------------------------------------------------------- ticks */

/* A 1-2-5 step giving about 5 ticks over span. */
static double nice_step(double span) {
    double raw = span / 5, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

int pl_ticks(double lo, double hi, int log_axis, double *out, int max) {
    int n = 0;
    if (!(hi > lo) || !isfinite(lo) || !isfinite(hi)) return 0;
    if (!log_axis) {
        double st = nice_step(hi - lo);
        for (double k = ceil(lo / st - 1e-9); k * st <= hi + st * 1e-9 && n < max; k++) out[n++] = k * st;
        return n;
    }
    for (double d = ceil(lo - 1e-9); d <= hi + 1e-9 && n < max; d++) out[n++] = d;
    if (n >= 3) return n;
    n = 0;
    static const double mult[3] = {1, 2, 5};
    for (double d = floor(lo); d <= ceil(hi) && n < max; d++)
        for (int m = 0; m < 3 && n < max; m++) {
            double v = d + log10(mult[m]);
            if (v >= lo - 1e-9 && v <= hi + 1e-9) out[n++] = v;
        }
    return n;
}

void pl_tick_label(double v, double step, char *buf, size_t cap) {
    snprintf(buf, cap, "%g", fabs(v) < fabs(step) * 1e-6 ? 0.0 : v);
}
