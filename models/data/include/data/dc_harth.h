/* dc_harth.h: reader for HARTH accelerometer CSV files (docs/METHOD.md §1.1).
 *
 *     dc_harth *h;
 *     if (dc_harth_read("harth/S006.csv", &h)) fail(dc_last_error());
 *     // h->x[i * 6 + c]: channel c (back_x, back_y, back_z, thigh_x, thigh_y, thigh_z) of row i
 *     // h->y[i]: class 0..11 (raw codes 1..8, 13, 14, 130, 140 in that order)
 *     dc_harth_free(h);
 *
 * Columns are found by name when a header row is present (others, e.g. an index column
 * "" / "Unnamed: 0" / "index", are ignored); without a header, 8 columns mean timestamp,
 * 6 channels, label, and 9 columns add a leading index. CRLF, a UTF-8 BOM and blank lines
 * are accepted. Rows with an empty or NaN value in a used column are dropped (docs/METHOD.md §1.1);
 * a wrong column count, a non-numeric value or an unknown label is an error naming
 * "file:line". Numbers are parsed by hand (correctly rounded to float32; rare long inputs
 * fall back to strtof, which assumes the "C" numeric locale).
 */
#ifndef DC_HARTH_H
#define DC_HARTH_H

#include <stddef.h>
#include <stdint.h>

#include "dc/dc_status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DC_HARTH_CHANNELS 6
#define DC_HARTH_CLASSES 12

typedef struct dc_harth {
    int64_t n;         /* rows kept */
    float *x;          /* (n, 6) row-major: back_x, back_y, back_z, thigh_x, thigh_y, thigh_z */
    int32_t *y;        /* (n) class indices 0..11 */
    int64_t n_dropped; /* data rows dropped because of NaN / empty values */
} dc_harth;

/* Parse CSV text held in memory; `name` is used in messages. Free with dc_harth_free. */
dc_status dc_harth_parse(const char *buf, size_t len, const char *name, dc_harth **out);
/* Read and parse a CSV file. */
dc_status dc_harth_read(const char *path, dc_harth **out);
void dc_harth_free(dc_harth *h);

/* Class index of a raw HARTH label code (1..8 -> 0..7, 13 -> 8, 14 -> 9, 130 -> 10,
 * 140 -> 11), or -1 for an unknown code. */
int dc_harth_label_class(int64_t code);

/* Parse the n bytes at s as a decimal float ("-0.953613", "1e-3", "+.5"), rounded
 * correctly to float32. Returns 1 on success, 0 if the bytes are not exactly one number. */
int dc_harth_parse_f32(const char *s, size_t n, float *out);

#ifdef __cplusplus
}
#endif
#endif
