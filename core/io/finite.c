/* finite.c: dc_check_finite (dc_finite.h), the NaN/Inf check of arrays that come in from
 * files. Reads only; converts nothing.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dc/dc_finite.h"

/* Index of the first non-finite element, or -1. */
static int64_t first_nonfinite(const void *data, int elem_bytes, int64_t n, double *value) {
    const unsigned char *p = data;
    for (int64_t i = 0; i < n; i++) {
        double v;
        if (elem_bytes == 4) {
            float f;
            memcpy(&f, p + 4 * i, 4);
            v = f;
        } else {
            memcpy(&v, p + 8 * i, 8);
        }
        if (!isfinite(v)) {
            *value = v;
            return i;
        }
    }
    return -1;
}

dc_status dc_check_finite(const void *data, int elem_bytes, int ndim, const int64_t *shape, const char *what) {
    if (!what) what = "array";
    if ((elem_bytes != 4 && elem_bytes != 8) || ndim < 0 || ndim > 8 || (ndim > 0 && !shape))
        return dc_fail(DC_ERR_ARG, "%s: check_finite: bad element size %d or %d dims", what, elem_bytes, ndim);
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0) return dc_fail(DC_ERR_ARG, "%s: check_finite: negative extent", what);
        n *= shape[d];
    }
    if (n > 0 && !data) return dc_fail(DC_ERR_ARG, "%s: check_finite: NULL data", what);
    double v = 0;
    int64_t at = n > 0 ? first_nonfinite(data, elem_bytes, n, &v) : -1;
    if (at < 0) return DC_OK;
    char pos[256] = "";
    int64_t rest = at;
    for (int d = ndim - 1; d >= 0; d--) { /* row-major: the last index varies fastest */
        char one[32], tmp[256];
        snprintf(one, sizeof one, "%lld", (long long)(shape[d] ? rest % shape[d] : 0));
        rest = shape[d] ? rest / shape[d] : 0;
        snprintf(tmp, sizeof tmp, "%s%s%s", one, d == ndim - 1 ? "" : ", ", pos);
        memcpy(pos, tmp, sizeof pos);
    }
    return dc_fail(DC_ERR_NUMERIC, "%s: element [%s] is %g", what, pos, v);
}
