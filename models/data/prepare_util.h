/* prepare_util.h: private helpers shared by the prepare pipelines in models/data/prepare_*.c
 * (progress and cancellation, hashed file reads, z-scoring, sequence cutting, meta.json
 * pieces). Not a public header.
 */
#ifndef DC_PREPARE_UTIL_H
#define DC_PREPARE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "data/dc_prepare.h"

/* Report progress; DC_ERR_STATE ("<stage>: interrupted") if the callback asks to stop. */
dc_status pp_progress(const dc_prepare_opts *o, const char *stage, int64_t done, int64_t total);

/* The backend to run FFTs on: o->backend, or a CPU backend stored in *own (free it). */
dc_backend *pp_backend(const dc_prepare_opts *o, dc_backend **own);

/* Read a whole file (plus a NUL after it) and its SHA-256. */
dc_status pp_read_hashed(const char *path, uint8_t **buf, size_t *len, char hex[65]);

/* dir + "/" + name into out (cap bytes); DC_ERR_ARG if it does not fit. */
dc_status pp_join(char *out, size_t cap, const char *dir, const char *name);

/* Z-score each of the D columns of X (n, D) in place: population std, std == 0 replaced by
 * zero_std. mean / std (D each, may be NULL) receive the statistics. */
dc_status pp_zscore(float *X, int64_t n, int64_t D, double zero_std, double *mean, double *std);

/* Sequences of T instances every stride instances over the whole stream (may cross
 * subjects): starts 0, stride, ... while start + T <= n. DC_ERR_SHAPE if none fits. */
dc_status pp_stream_sequences(int64_t n, int64_t T, int64_t stride, const char *what, dc_sequences *out);

/* {"file": name, "bytes": b, "sha256": hex} */
cJSON *pp_source(const char *name, int64_t bytes, const char *hex);
cJSON *pp_double_array(const double *v, int64_t n);
/* Serialise an object for dc_dataset_write's meta_extra and delete it. */
dc_status pp_finish_meta(cJSON *m, char **text);
/* The common head of every meta_extra: created_by, input, seed. */
cJSON *pp_meta_new(const dc_prepare_opts *o, const char *dataset);

/* Every feature of fr finite, unless o->allow_nonfinite; else DC_ERR_NUMERIC naming the
 * first instance, its subject and the feature (the catch-all for raw inputs whose values
 * overflow float32 on the way; the readers refuse NaN and Inf where they see them). */
dc_status pp_check_finite(const dc_prepare_opts *o, const dc_frames *fr, const char *dataset);

/* Allocation that records DC_ERR_OOM with what on failure. */
void *pp_alloc(size_t bytes, const char *what);

#endif
