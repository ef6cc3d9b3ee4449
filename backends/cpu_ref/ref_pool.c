/* ref_pool.c: max-pooling over time on (B, T, C) and gathering time steps, with their
 * backward kernels, which scatter-add into a zeroed gradient. In float64.
 *   maxpool: y[b][o][c] = max_{t in [o s, o s + k)} x[b][t][c], argmax = the first maximal
 *            t (a NaN wins and propagates)
 *   gather:  y[b][j] = x[b][idx[b or 0][j]], zero where the index is outside [0, T)
 */
#include <math.h>
#include <stdlib.h>

#include "ref_kernels.h"

dc_status ref_maxpool1d(dc_backend *be, const dc_kernel_args *a) {
    const int64_t B = a->in[0]->shape[0], T = a->in[0]->shape[1], C = a->in[0]->shape[2];
    const int64_t k = a->p.i[0], s = a->p.i[1], To = (T - k) / s + 1;
    double *x = ref_load(a->in[0]), *y = ref_zeros(B * To * C), *arg = ref_zeros(B * To * C);
    if (!x || !y || !arg) {
        free(x), free(y), free(arg);
        return dc_last_status();
    }
    for (int64_t b = 0; b < B; b++)
        for (int64_t o = 0; o < To; o++)
            for (int64_t c = 0; c < C; c++) {
                int64_t best = o * s;
                for (int64_t t = o * s + 1; t < o * s + k; t++) {
                    double v = x[(b * T + t) * C + c], m = x[(b * T + best) * C + c];
                    if (v > m || (isnan(v) && !isnan(m))) best = t;
                }
                y[(b * To + o) * C + c] = x[(b * T + best) * C + c];
                arg[(b * To + o) * C + c] = (double)best;
            }
    ref_store(a->out[0], y);
    ref_store(a->out[1], arg);
    free(x), free(y), free(arg);
    return DC_OK;
}

dc_status ref_maxpool1d_back(dc_backend *be, const dc_kernel_args *a) {
    const int64_t B = a->in[0]->shape[0], To = a->in[0]->shape[1], C = a->in[0]->shape[2], T = a->p.i[2];
    double *gy = ref_load(a->in[0]), *arg = ref_load(a->in[1]), *dx = ref_zeros(B * T * C);
    if (!gy || !arg || !dx) {
        free(gy), free(arg), free(dx);
        return dc_last_status();
    }
    for (int64_t b = 0; b < B; b++)
        for (int64_t o = 0; o < To; o++)
            for (int64_t c = 0; c < C; c++) {
                int64_t t = (int64_t)arg[(b * To + o) * C + c];
                dx[(b * T + t) * C + c] += gy[(b * To + o) * C + c];
            }
    ref_store(a->out[0], dx);
    free(gy), free(arg), free(dx);
    return DC_OK;
}

dc_status ref_gather(dc_backend *be, const dc_kernel_args *a) {
    const int64_t B = a->in[0]->shape[0], T = a->in[0]->shape[1], C = a->in[0]->shape[2];
    const int64_t To = a->in[1]->shape[1], shared = a->in[1]->shape[0] == 1;
    double *x = ref_load(a->in[0]), *idx = ref_load(a->in[1]), *y = ref_zeros(B * To * C);
    if (!x || !idx || !y) {
        free(x), free(idx), free(y);
        return dc_last_status();
    }
    for (int64_t b = 0; b < B; b++)
        for (int64_t j = 0; j < To; j++) {
            int64_t t = (int64_t)idx[(shared ? 0 : b) * To + j];
            if (t < 0 || t >= T) continue; /* the row stays zero */
            for (int64_t c = 0; c < C; c++) y[(b * To + j) * C + c] = x[(b * T + t) * C + c];
        }
    ref_store(a->out[0], y);
    free(x), free(idx), free(y);
    return DC_OK;
}

dc_status ref_gather_back(dc_backend *be, const dc_kernel_args *a) {
    const int64_t B = a->out[0]->shape[0], T = a->out[0]->shape[1], C = a->out[0]->shape[2];
    const int64_t To = a->in[1]->shape[1], shared = a->in[1]->shape[0] == 1;
    double *gy = ref_load(a->in[0]), *idx = ref_load(a->in[1]), *dx = ref_zeros(B * T * C);
    if (!gy || !idx || !dx) {
        free(gy), free(idx), free(dx);
        return dc_last_status();
    }
    for (int64_t b = 0; b < B; b++)
        for (int64_t j = 0; j < To; j++) {
            int64_t t = (int64_t)idx[(shared ? 0 : b) * To + j];
            if (t < 0 || t >= T) continue;
            for (int64_t c = 0; c < C; c++) dx[(b * T + t) * C + c] += gy[(b * To + j) * C + c];
        }
    ref_store(a->out[0], dx);
    free(gy), free(idx), free(dx);
    return DC_OK;
}
