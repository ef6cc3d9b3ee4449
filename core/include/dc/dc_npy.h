/* dc_npy.h: NumPy .npy files (format versions 1.0, 2.0 and 3.0): memory-mapped reading and
 * atomic writing of little-endian numeric arrays in C order.
 *
 *     dc_npy a;
 *     if (dc_npy_open("prepared/harth/X.npy", &a)) fail(dc_last_error());
 *     if (a.dtype != DC_NPY_F32 || a.ndim != 2) ...;
 *     const float *x = a.data;                       // a.shape[0] x a.shape[1], read-only pages
 *     dc_npy_close(&a);
 *
 *     int64_t shape[2] = {n, D};
 *     dc_npy_write("X.npy", DC_NPY_F32, 2, shape, x);   // numpy.load("X.npy") reads it
 *
 * Supported dtypes: '<f4', '<f8', '<i4', '<i8', '|u1', '|i1' ('=' and '|' byte orders are
 * accepted where they mean little-endian). Fortran order is accepted only when it is the
 * same as C order (ndim <= 1 or at most one dimension > 1). The header is parsed as the
 * Python literal numpy writes, strictly: the three keys exactly once, in any order, with
 * either quote style. The file size must equal header + data. Every error names the file
 * and the byte offset.
 */
#ifndef DC_NPY_H
#define DC_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "dc_status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DC_NPY_MAX_DIMS 8

typedef enum dc_npy_dtype { DC_NPY_F32, DC_NPY_F64, DC_NPY_I32, DC_NPY_I64, DC_NPY_U8, DC_NPY_I8 } dc_npy_dtype;

typedef struct dc_npy_header {
    int major, minor;               /* format version */
    dc_npy_dtype dtype;
    int fortran_order;
    int ndim;
    int64_t shape[DC_NPY_MAX_DIMS];
    int64_t numel;
    size_t data_offset;             /* bytes before the array data */
    size_t data_bytes;              /* numel * element size */
} dc_npy_header;

typedef struct dc_npy {
    dc_npy_dtype dtype;
    int ndim;
    int64_t shape[DC_NPY_MAX_DIMS];
    int64_t numel;
    void *data;                     /* numel elements; copy-on-write pages: writes stay private */
    dc_npy_header hdr;
    void *map_;                     /* private: the mapping or a malloc'd copy */
    size_t map_len_;
    int owned_;
} dc_npy;

/* Element size in bytes, and the descr string ("<f4"). */
size_t dc_npy_dtype_size(dc_npy_dtype dt);
const char *dc_npy_dtype_descr(dc_npy_dtype dt);

/* Parse the magic, version and header dict at the start of buf (len bytes available; at
 * least the whole header must be there). file_size (or 0 to skip the check) must equal
 * data_offset + data_bytes. name is used in messages. */
dc_status dc_npy_parse_header(const uint8_t *buf, size_t len, size_t file_size, const char *name,
                              dc_npy_header *out);
/* Format the header (magic through the '\n' padding, a multiple of 64 bytes) into buf;
 * *len gets its size. Version 1.0 unless the dict needs more than 65535 bytes. */
dc_status dc_npy_format_header(dc_npy_dtype dt, int ndim, const int64_t *shape, uint8_t *buf, size_t cap,
                               size_t *len);

/* Map a file (read + private copy-on-write). Files whose data offset is not a multiple of
 * the element size are read into aligned memory instead. Close with dc_npy_close. */
dc_status dc_npy_open(const char *path, dc_npy *out);
/* Parse an in-memory .npy image; out->data points into buf (no copy). Close is a no-op. */
dc_status dc_npy_parse(const uint8_t *buf, size_t len, const char *name, dc_npy *out);
void dc_npy_close(dc_npy *a);   /* accepts NULL and a zeroed struct */

/* Write an array atomically (temporary file + fsync + rename). */
dc_status dc_npy_write(const char *path, dc_npy_dtype dt, int ndim, const int64_t *shape, const void *data);

#ifdef __cplusplus
}
#endif
#endif
