/* dc_safetensors.h: the safetensors file format (huggingface/safetensors), read and write.
 *
 *     dc_st_writer *w = dc_st_writer_new();
 *     dc_st_writer_add(w, "conv1.weight", DC_ST_F32, 3, (int64_t[]){128, 156, 1}, data);
 *     dc_st_writer_set_meta(w, "format", "pt");
 *     dc_st_writer_save(w, "model.safetensors");      // atomic: temp file, fsync, rename
 *     dc_st_writer_free(w);
 *
 *     dc_st_file *f;
 *     dc_st_open("model.safetensors", &f);            // validates header, offsets, sizes
 *     const dc_st_tensor *t = dc_st_find(f, "conv1.weight");
 *
 * Layout: u64 little-endian header length N, N bytes of compact JSON (metadata first, then
 * tensors sorted by dtype, largest alignment first, then by name; padded with spaces to a
 * multiple of 8), then the tensor bytes back to back in header order. This is the order
 * the reference implementation writes, so files are byte-identical to it for the same
 * tensors and metadata.
 */
#ifndef DC_SAFETENSORS_H
#define DC_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "dc_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dc_st_dtype { /* in the reference implementation's order (used for sorting) */
    DC_ST_BOOL, DC_ST_U8, DC_ST_I8, DC_ST_I16, DC_ST_U16, DC_ST_F16, DC_ST_BF16, DC_ST_I32, DC_ST_U32,
    DC_ST_F32, DC_ST_F64, DC_ST_I64, DC_ST_U64, DC_ST_DTYPE_COUNT
} dc_st_dtype;

#define DC_ST_MAX_DIMS 8

typedef struct dc_st_tensor {
    char name[128];
    dc_st_dtype dtype;
    int ndim;
    int64_t shape[DC_ST_MAX_DIMS];
    const void *data;   /* little-endian bytes inside the file image */
    size_t nbytes;
} dc_st_tensor;

typedef struct dc_st_file dc_st_file;

const char *dc_st_dtype_name(dc_st_dtype dt);   /* "F32" */
size_t dc_st_dtype_size(dc_st_dtype dt);

/* Parse a file image held in memory (copied). `name` appears in messages. */
dc_status dc_st_parse(const void *buf, size_t len, const char *name, dc_st_file **out);
dc_status dc_st_open(const char *path, dc_st_file **out);
void dc_st_close(dc_st_file *f);
int dc_st_count(const dc_st_file *f);
const dc_st_tensor *dc_st_get(const dc_st_file *f, int i);   /* in file (offset) order */
const dc_st_tensor *dc_st_find(const dc_st_file *f, const char *name);
const char *dc_st_meta(const dc_st_file *f, const char *key); /* NULL if absent */

typedef struct dc_st_writer dc_st_writer;
dc_st_writer *dc_st_writer_new(void);
void dc_st_writer_free(dc_st_writer *w);
/* Copies data (numel * dtype size bytes). */
dc_status dc_st_writer_add(dc_st_writer *w, const char *name, dc_st_dtype dt, int ndim, const int64_t *shape,
                           const void *data);
dc_status dc_st_writer_set_meta(dc_st_writer *w, const char *key, const char *value);
/* The whole file image (caller frees). */
dc_status dc_st_writer_serialize(const dc_st_writer *w, void **buf, size_t *len);
/* Write path atomically: path.tmp, fsync, rename, fsync of the directory. */
dc_status dc_st_writer_save(const dc_st_writer *w, const char *path);

#ifdef __cplusplus
}
#endif
#endif
