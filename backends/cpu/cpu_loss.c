/* cpu_loss.c: log-softmax (forward/backward), cross-entropy with its fused gradient,
 * and MSE. Row reductions use the max-shift for stability and accumulate in double. */
#include <math.h>

#include "cpu_kernels.h"

dc_status cpu_log_softmax(dc_backend *be, const dc_kernel_args *a) {
    const dc_tensor *x = a->in[0];
    const int64_t C = x->shape[x->ndim - 1], R = dc_tensor_numel(x) / C;
    CPU_FLOAT_SWITCH(x->dtype, {
        const T *px = CPU_PTR(x);
        T *y = CPU_PTR(a->out[0]);
        for (int64_t r = 0; r < R; r++) {
            const T *xr = px + r * C;
            double m = xr[0], s = 0;
            for (int64_t c = 1; c < C; c++) m = xr[c] > m ? xr[c] : m;
            for (int64_t c = 0; c < C; c++) s += exp((double)xr[c] - m);
            double lse = m + log(s);
            for (int64_t c = 0; c < C; c++) y[r * C + c] = (T)((double)xr[c] - lse);
        }
    });
    return DC_OK;
}

dc_status cpu_log_softmax_back(dc_backend *be, const dc_kernel_args *a) {
    const dc_tensor *y = a->in[1];
    const int64_t C = y->shape[y->ndim - 1], R = dc_tensor_numel(y) / C;
    CPU_FLOAT_SWITCH(y->dtype, {
        const T *gy = CPU_PTR(a->in[0]), *py = CPU_PTR(y);
        T *dx = CPU_PTR(a->out[0]);
        for (int64_t r = 0; r < R; r++) {
            double s = 0;
            for (int64_t c = 0; c < C; c++) s += gy[r * C + c];
            for (int64_t c = 0; c < C; c++) dx[r * C + c] = (T)(gy[r * C + c] - exp((double)py[r * C + c]) * s);
        }
    });
    return DC_OK;
}

/* loss = (1/R) sum_r [lse(x_r) - x_r[t_r]];  dlogits = (softmax(x_r) - onehot(t_r)) / R. */
dc_status cpu_cross_entropy(dc_backend *be, const dc_kernel_args *a) {
    const dc_tensor *x = a->in[0];
    const int32_t *t = CPU_PTR(a->in[1]);
    const int64_t R = x->shape[0], C = x->shape[1];
    double total = 0;
    CPU_FLOAT_SWITCH(x->dtype, {
        const T *px = CPU_PTR(x);
        T *loss = CPU_PTR(a->out[0]), *dl = a->n_out > 1 ? (T *)CPU_PTR(a->out[1]) : NULL;
        for (int64_t r = 0; r < R; r++) {
            const T *xr = px + r * C;
            int valid = t[r] >= 0 && t[r] < C;
            double m = xr[0], s = 0;
            for (int64_t c = 1; c < C; c++) m = xr[c] > m ? xr[c] : m;
            for (int64_t c = 0; c < C; c++) s += exp((double)xr[c] - m);
            double lse = m + log(s);
            if (valid) total += lse - (double)xr[t[r]];
            if (dl)
                for (int64_t c = 0; c < C; c++)
                    dl[r * C + c] = valid ? (T)((exp((double)xr[c] - lse) - (c == t[r])) / (double)R) : 0;
        }
        *loss = (T)(total / (double)R);
    });
    return DC_OK;
}

dc_status cpu_mse(dc_backend *be, const dc_kernel_args *a) {
    const int64_t n = dc_tensor_numel(a->in[0]);
    CPU_FLOAT_SWITCH(a->in[0]->dtype, {
        const T *pa = CPU_PTR(a->in[0]), *pb = CPU_PTR(a->in[1]);
        double s = 0;
        for (int64_t i = 0; i < n; i++) {
            double d = (double)pa[i] - pb[i];
            s += d * d;
        }
        *(T *)CPU_PTR(a->out[0]) = (T)(s / (double)n);
    });
    return DC_OK;
}

/* mean of max(x,0) - x t + log(1 + exp(-|x|)); dx = (sigmoid(x) - t) / n */
dc_status cpu_bce_logits(dc_backend *be, const dc_kernel_args *a) {
    const int64_t n = dc_tensor_numel(a->in[0]);
    CPU_FLOAT_SWITCH(a->in[0]->dtype, {
        const T *x = CPU_PTR(a->in[0]), *t = CPU_PTR(a->in[1]);
        T *dx = a->n_out > 1 ? (T *)CPU_PTR(a->out[1]) : NULL;
        double s = 0;
        for (int64_t i = 0; i < n; i++) {
            double v = x[i], e = exp(-fabs(v));
            s += (v > 0 ? v : 0) - v * (double)t[i] + log1p(e);
            if (dx) {
                double sig = v >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
                dx[i] = (T)((sig - (double)t[i]) / (double)n);
            }
        }
        *(T *)CPU_PTR(a->out[0]) = (T)(s / (double)n);
    });
    return DC_OK;
}
