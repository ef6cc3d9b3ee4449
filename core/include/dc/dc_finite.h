/* dc_finite.h: the check that an array read from outside (an .npy input, a checkpoint's
 * tensor, converted samples) holds no NaN or Inf, naming the position of the first one.
 * For the boundaries where data and weights come in; not a numerical tolerance check.
 *
 *     if (dc_check_finite(npy.data, 4, npy.ndim, npy.shape, "X.npy")) fail(dc_last_error());
 *     // "X.npy: element [12, 0, 3] is nan"
 */
#ifndef DC_FINITE_H
#define DC_FINITE_H

#include <stdint.h>

#include "dc_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* data: ndim-dimensional row-major float32 (elem_bytes 4) or float64 (8) values, read with
 * memcpy (any alignment). DC_OK if every one is finite; else DC_ERR_NUMERIC with
 * "<what>: element [i, j, ...] is <value>" for the first non-finite one. ndim 0 is a scalar. */
dc_status dc_check_finite(const void *data, int elem_bytes, int ndim, const int64_t *shape, const char *what);

#ifdef __cplusplus
}
#endif
#endif
