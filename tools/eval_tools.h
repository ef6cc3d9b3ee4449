/* eval_tools.h: helpers shared by the evaluation commands (linear-eval, cluster, tsne, figure,
 * report, demo): opening data and encoders, reading a checkpoint's run, seed lists, JSON text. */
#ifndef DC_EVAL_TOOLS_H
#define DC_EVAL_TOOLS_H

#include <stddef.h>
#include <stdint.h>

#include "data/dc_dataset.h"
#include "dc/dc_npy.h"
#include "eval/dc_eval.h"

/* NULL or "synthetic": the embedded synthetic dataset; else a prepared folder. 0 + message on error. */
int et_open_data(const char *cmd, const char *data, dc_dataset *ds);
/* "random": a fresh encoder initialised from seed (the paper's Random Init.); else the
 * checkpoint's encoder, whose D must match the data's. 0 + message on error. */
int et_open_encoder(const char *cmd, const char *ckpt, dc_backend *be, int64_t D, uint64_t seed, dc_encoder **out);
/* The method and pretraining seed of a checkpoint (dc_run_checkpoint_method): its "model"
 * metadata, or its run's config.json. method "random" for "random". */
void et_checkpoint_info(const char *ckpt, char *method, size_t cap, int64_t *seed);
/* Given features: a float32 .npy (N, F) at zpath, kept open in *z (dc_npy_close it), and its
 * int32/int64 (N) labels at ypath as int32 in *y (malloc'd, N entries). 0 + message on error. */
int et_open_features(const char *cmd, const char *zpath, const char *ypath, dc_npy *z, int32_t **y);
/* "42,53,64" -> seeds; returns the count (0 + message on a bad list). */
int et_parse_seeds(const char *cmd, const char *list, int64_t *out, int max);
/* A class index from a name or a number; -1 + message when unknown. */
int et_class_index(const char *cmd, const dc_dataset *ds, const char *s);
/* Write text to path atomically; 0 + message on error. */
int et_write_text(const char *cmd, const char *path, const char *text);
/* The display name of a method, from the method registry ("dynacl-m" -> "DynaCL-M"), and
 * "Random Init." for "random"; unknown names unchanged. Reports and figures use this. */
const char *et_pretty_method(const char *m);
/* The methods in the order of the paper's tables and Figure 3 (NULL-terminated), and a
 * method's place in it (methods the paper does not show come after, all with the same rank). */
const char *const *et_paper_order(void);
int et_method_rank(const char *m);
/* The paper's name of a dataset ("sleepeeg" -> "SleepEEG"); unknown names unchanged. */
const char *et_pretty_dataset(const char *d);

#endif
