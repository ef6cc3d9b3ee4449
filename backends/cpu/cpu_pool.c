/* cpu_pool.c: max-pool over time on (B, T, C) and gather along time; their backward
 * kernels scatter-add into a zeroed gradient. */
#include <string.h>

#include "cpu_kernels.h"

dc_status cpu_maxpool1d(dc_backend *be, const dc_kernel_args *a) {
    const dc_tensor *x = a->in[0];
    const int64_t B = x->shape[0], T_ = x->shape[1], C = x->shape[2];
    const int64_t k = a->p.i[0], s = a->p.i[1], To = (T_ - k) / s + 1;
    int32_t *idx = CPU_PTR(a->out[1]);
    CPU_FLOAT_SWITCH(x->dtype, {
        const T *px = CPU_PTR(x);
        T *y = CPU_PTR(a->out[0]);
        for (int64_t b = 0; b < B; b++)
            for (int64_t o = 0; o < To; o++)
                for (int64_t c = 0; c < C; c++) {
                    int64_t best = o * s;
                    T m = px[(b * T_ + best) * C + c];
                    for (int64_t t = o * s + 1; t < o * s + k; t++) {
                        T v = px[(b * T_ + t) * C + c];
                        if (v > m || (v != v && m == m)) { /* NaN propagates, first max wins */
                            m = v;
                            best = t;
                        }
                    }
                    y[(b * To + o) * C + c] = m;
                    idx[(b * To + o) * C + c] = (int32_t)best;
                }
    });
    return DC_OK;
}

dc_status cpu_maxpool1d_back(dc_backend *be, const dc_kernel_args *a) {
    const dc_tensor *gy = a->in[0], *dx = a->out[0];
    const int64_t B = gy->shape[0], To = gy->shape[1], C = gy->shape[2], T_ = dx->shape[1];
    const int32_t *idx = CPU_PTR(a->in[1]);
    CPU_FLOAT_SWITCH(gy->dtype, {
        const T *g = CPU_PTR(gy);
        T *d = CPU_PTR(dx);
        memset(d, 0, (size_t)(B * T_ * C) * sizeof(T));
        for (int64_t b = 0; b < B; b++)
            for (int64_t o = 0; o < To; o++)
                for (int64_t c = 0; c < C; c++) {
                    int64_t k = (b * To + o) * C + c;
                    d[(b * T_ + idx[k]) * C + c] += g[k];
                }
    });
    return DC_OK;
}

dc_status cpu_gather(dc_backend *be, const dc_kernel_args *a) {
    const dc_tensor *x = a->in[0], *idx = a->in[1];
    const int64_t B = x->shape[0], T_ = x->shape[1], C = x->shape[2], To = idx->shape[1];
    const int64_t ib = idx->shape[0] == 1 ? 0 : To;
    const int32_t *ix = CPU_PTR(idx);
    CPU_FLOAT_SWITCH(x->dtype, {
        const T *px = CPU_PTR(x);
        T *y = CPU_PTR(a->out[0]);
        for (int64_t b = 0; b < B; b++)
            for (int64_t j = 0; j < To; j++) {
                int32_t t = ix[b * ib + j];
                T *yr = y + (b * To + j) * C;
                if (t < 0 || t >= T_) memset(yr, 0, (size_t)C * sizeof(T));
                else memcpy(yr, px + (b * T_ + t) * C, (size_t)C * sizeof(T));
            }
    });
    return DC_OK;
}

dc_status cpu_gather_back(dc_backend *be, const dc_kernel_args *a) {
    const dc_tensor *gy = a->in[0], *idx = a->in[1], *dx = a->out[0];
    const int64_t B = dx->shape[0], T_ = dx->shape[1], C = dx->shape[2], To = idx->shape[1];
    const int64_t ib = idx->shape[0] == 1 ? 0 : To;
    const int32_t *ix = CPU_PTR(idx);
    CPU_FLOAT_SWITCH(gy->dtype, {
        const T *g = CPU_PTR(gy);
        T *d = CPU_PTR(dx);
        memset(d, 0, (size_t)(B * T_ * C) * sizeof(T));
        for (int64_t b = 0; b < B; b++)
            for (int64_t j = 0; j < To; j++) {
                int32_t t = ix[b * ib + j];
                if (t < 0 || t >= T_) continue;
                for (int64_t c = 0; c < C; c++) d[(b * T_ + t) * C + c] += g[(b * To + j) * C + c];
            }
    });
    return DC_OK;
}
