/* cpu_norm.c: batch normalisation (PyTorch semantics, optional fused ReLU) and row-wise
 * L2 normalisation, forward and backward. Per-channel statistics accumulate in double.
 *
 * BatchNorm training:  mu = mean_r x, var = mean_r (x-mu)^2 (biased), istd = 1/sqrt(var+eps)
 *   running: rm = (1-m) rm + m mu,  rv = (1-m) rv + m var R/(R-1)
 * backward (g = gy, masked by y > 0 when ReLU is fused, xh = (x-mu) istd):
 *   dbeta = sum g,  dgamma = sum g xh,  dx = gamma istd (g - dbeta/R - xh dgamma/R)
 *   eval mode: dx = gamma istd g
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_kernels.h"

dc_status cpu_batchnorm(dc_backend *be, const dc_kernel_args *a) {
    const int training = (int)a->p.i[0], relu = (int)a->p.i[1];
    const dc_tensor *x = a->in[0];
    const int64_t C = x->shape[x->ndim - 1], R = dc_tensor_numel(x) / (C ? C : 1);
    const double mom = a->p.f[0], eps = a->p.f[1];
    double *s1 = calloc((size_t)(2 * C + 1), sizeof(double));
    if (!s1) return dc_fail(DC_ERR_OOM, "batchnorm: out of host memory");
    double *s2 = s1 + C;
    CPU_FLOAT_SWITCH(x->dtype, {
        const T *px = CPU_PTR(x), *g = CPU_PTR(a->in[1]), *bt = CPU_PTR(a->in[2]);
        T *rm = CPU_PTR(a->in[3]), *rv = CPU_PTR(a->in[4]);
        T *y = CPU_PTR(a->out[0]), *mean = CPU_PTR(a->out[1]), *istd = CPU_PTR(a->out[2]);
        if (training) {
            for (int64_t r = 0; r < R; r++)
                for (int64_t c = 0; c < C; c++) s1[c] += px[r * C + c];
            for (int64_t c = 0; c < C; c++) s1[c] /= (double)R;
            for (int64_t r = 0; r < R; r++)
                for (int64_t c = 0; c < C; c++) {
                    double d = px[r * C + c] - s1[c];
                    s2[c] += d * d;
                }
            for (int64_t c = 0; c < C; c++) {
                double var = s2[c] / (double)R;
                mean[c] = (T)s1[c];
                istd[c] = (T)(1.0 / sqrt(var + eps));
                rm[c] = (T)((1.0 - mom) * rm[c] + mom * s1[c]);
                rv[c] = (T)((1.0 - mom) * rv[c] + mom * var * (double)R / (double)(R - 1));
            }
        } else {
            for (int64_t c = 0; c < C; c++) {
                mean[c] = rm[c];
                istd[c] = (T)(1.0 / sqrt((double)rv[c] + eps));
            }
        }
        /* y = x * scale + shift per channel */
        T *scale = (T *)s1, *shift = scale + C; /* reuse the scratch (enough room for doubles) */
        for (int64_t c = 0; c < C; c++) {
            scale[c] = g[c] * istd[c];
            shift[c] = bt[c] - mean[c] * scale[c];
        }
        int par = R * C >= CPU_PAR_MIN;
        _Pragma("omp parallel for schedule(static) if(par)")
        for (int64_t r = 0; r < R; r++) {
            const T *xr = px + r * C;
            T *yr = y + r * C;
            for (int64_t c = 0; c < C; c++) {
                T v = xr[c] * scale[c] + shift[c];
                yr[c] = (relu && v < 0) ? 0 : v;
            }
        }
    });
    free(s1);
    return DC_OK;
}

dc_status cpu_batchnorm_back(dc_backend *be, const dc_kernel_args *a) {
    const int training = (int)a->p.i[0], relu = (int)a->p.i[1];
    const dc_tensor *x = a->in[1];
    const int64_t C = x->shape[x->ndim - 1], R = dc_tensor_numel(x) / (C ? C : 1);
    double *sg = calloc((size_t)(2 * C + 1), sizeof(double));
    if (!sg) return dc_fail(DC_ERR_OOM, "batchnorm backward: out of host memory");
    double *sgx = sg + C;
    CPU_FLOAT_SWITCH(x->dtype, {
        const T *gy = CPU_PTR(a->in[0]), *px = CPU_PTR(x), *y = CPU_PTR(a->in[2]);
        const T *g = CPU_PTR(a->in[3]), *mean = CPU_PTR(a->in[4]), *istd = CPU_PTR(a->in[5]);
        T *dx = CPU_PTR(a->out[0]), *dg = CPU_PTR(a->out[1]), *db = CPU_PTR(a->out[2]);
        for (int64_t r = 0; r < R; r++)
            for (int64_t c = 0; c < C; c++) {
                int64_t k = r * C + c;
                double gk = (relu && !(y[k] > 0)) ? 0.0 : (double)gy[k];
                sg[c] += gk;
                sgx[c] += gk * ((double)px[k] - mean[c]) * istd[c];
            }
        for (int64_t c = 0; c < C; c++) {
            db[c] = (T)sg[c];
            dg[c] = (T)sgx[c];
        }
        int par = R * C >= CPU_PAR_MIN;
        _Pragma("omp parallel for schedule(static) if(par)")
        for (int64_t r = 0; r < R; r++)
            for (int64_t c = 0; c < C; c++) {
                int64_t k = r * C + c;
                double gk = (relu && !(y[k] > 0)) ? 0.0 : (double)gy[k];
                double k1 = (double)g[c] * istd[c];
                if (training) {
                    double xh = ((double)px[k] - mean[c]) * istd[c];
                    dx[k] = (T)(k1 * (gk - sg[c] / (double)R - xh * sgx[c] / (double)R));
                } else {
                    dx[k] = (T)(k1 * gk);
                }
            }
    });
    free(sg);
    return DC_OK;
}

/* y = x / max(||x||, eps); norms keep the unclamped ||x||. */
dc_status cpu_l2norm(dc_backend *be, const dc_kernel_args *a) {
    const dc_tensor *x = a->in[0];
    const int64_t F = x->shape[x->ndim - 1], R = dc_tensor_numel(x) / (F ? F : 1);
    const double eps = a->p.f[0];
    CPU_FLOAT_SWITCH(x->dtype, {
        const T *px = CPU_PTR(x);
        T *y = CPU_PTR(a->out[0]), *nrm = CPU_PTR(a->out[1]);
        for (int64_t r = 0; r < R; r++) {
            double s = 0;
            for (int64_t f = 0; f < F; f++) s += (double)px[r * F + f] * px[r * F + f];
            double n = sqrt(s), d = n > eps ? n : eps;
            nrm[r] = (T)n;
            for (int64_t f = 0; f < F; f++) y[r * F + f] = (T)(px[r * F + f] / d);
        }
    });
    return DC_OK;
}

/* dx = (gy - y (y . gy)) / ||x|| when ||x|| > eps, else gy / eps (the clamp is constant). */
dc_status cpu_l2norm_back(dc_backend *be, const dc_kernel_args *a) {
    const dc_tensor *y = a->in[1];
    const int64_t F = y->shape[y->ndim - 1], R = dc_tensor_numel(y) / (F ? F : 1);
    const double eps = a->p.f[0];
    CPU_FLOAT_SWITCH(y->dtype, {
        const T *gy = CPU_PTR(a->in[0]), *py = CPU_PTR(y), *nrm = CPU_PTR(a->in[2]);
        T *dx = CPU_PTR(a->out[0]);
        for (int64_t r = 0; r < R; r++) {
            const T *g = gy + r * F, *yr = py + r * F;
            double n = nrm[r];
            if (n > eps) {
                double dot = 0;
                for (int64_t f = 0; f < F; f++) dot += (double)yr[f] * g[f];
                for (int64_t f = 0; f < F; f++) dx[r * F + f] = (T)((g[f] - yr[f] * dot) / n);
            } else {
                for (int64_t f = 0; f < F; f++) dx[r * F + f] = (T)(g[f] / eps);
            }
        }
    });
    return DC_OK;
}
