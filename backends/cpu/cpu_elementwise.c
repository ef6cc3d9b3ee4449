/* cpu_elementwise.c: broadcasting binary ops, scale, masked fill, unary activations and
 * their backward (from the forward output). Inputs of binary ops are strided views of the
 * output's shape (stride 0 on broadcast axes); the output is contiguous.
 */
#include <math.h>
#include <stdint.h>

#include "cpu_kernels.h"

static inline double apply_bin(dc_op op, double x, double y) {
    switch (op) {
    case DC_OP_ADD: return x + y;
    case DC_OP_SUB: return x - y;
    case DC_OP_MUL: return x * y;
    case DC_OP_ATAN2: return atan2(x, y);
    default: return x / y;
    }
}

dc_status cpu_binary(dc_backend *be, const dc_kernel_args *a) {
    const dc_op op = a->op;
    cpu_view4 va = cpu_view4_of(a->in[0]), vb = cpu_view4_of(a->in[1]), vy = cpu_view4_of(a->out[0]);
    int64_t rows = vy.n[0] * vy.n[1] * vy.n[2], cols = vy.n[3];
    CPU_FLOAT_SWITCH(a->out[0]->dtype, {
        const T *pa = CPU_PTR(a->in[0]), *pb = CPU_PTR(a->in[1]);
        T *py = CPU_PTR(a->out[0]);
        int par = rows * cols >= CPU_PAR_MIN;
        _Pragma("omp parallel for schedule(static) if(par)")
        for (int64_t r = 0; r < rows; r++) {
            int64_t i0 = r / (vy.n[1] * vy.n[2]), i1 = (r / vy.n[2]) % vy.n[1], i2 = r % vy.n[2];
            const T *ra = pa + i0 * va.s[0] + i1 * va.s[1] + i2 * va.s[2];
            const T *rb = pb + i0 * vb.s[0] + i1 * vb.s[1] + i2 * vb.s[2];
            T *ry = py + r * cols;
            int64_t sa = va.s[3], sb = vb.s[3];
            if (sa == 1 && sb == 1 && op != DC_OP_ATAN2) {
                switch (op) {
                case DC_OP_ADD: for (int64_t j = 0; j < cols; j++) ry[j] = ra[j] + rb[j]; break;
                case DC_OP_SUB: for (int64_t j = 0; j < cols; j++) ry[j] = ra[j] - rb[j]; break;
                case DC_OP_MUL: for (int64_t j = 0; j < cols; j++) ry[j] = ra[j] * rb[j]; break;
                default: for (int64_t j = 0; j < cols; j++) ry[j] = ra[j] / rb[j]; break;
                }
            } else if (sa == 1 && sb == 0 && op != DC_OP_ATAN2) { /* a row against one value (gy of a loss) */
                const T b = rb[0];
                switch (op) {
                case DC_OP_ADD: for (int64_t j = 0; j < cols; j++) ry[j] = ra[j] + b; break;
                case DC_OP_SUB: for (int64_t j = 0; j < cols; j++) ry[j] = ra[j] - b; break;
                case DC_OP_MUL: for (int64_t j = 0; j < cols; j++) ry[j] = ra[j] * b; break;
                default: for (int64_t j = 0; j < cols; j++) ry[j] = ra[j] / b; break;
                }
            } else if (sa == 0 && sb == 1 && op != DC_OP_ATAN2) {
                const T x0 = ra[0];
                switch (op) {
                case DC_OP_ADD: for (int64_t j = 0; j < cols; j++) ry[j] = x0 + rb[j]; break;
                case DC_OP_SUB: for (int64_t j = 0; j < cols; j++) ry[j] = x0 - rb[j]; break;
                case DC_OP_MUL: for (int64_t j = 0; j < cols; j++) ry[j] = x0 * rb[j]; break;
                default: for (int64_t j = 0; j < cols; j++) ry[j] = x0 / rb[j]; break;
                }
            } else {
                for (int64_t j = 0; j < cols; j++) ry[j] = (T)apply_bin(op, ra[j * sa], rb[j * sb]);
            }
        }
    });
    return DC_OK;
}

dc_status cpu_scale(dc_backend *be, const dc_kernel_args *a) {
    int64_t n = dc_tensor_numel(a->out[0]);
    CPU_FLOAT_SWITCH(a->out[0]->dtype, {
        const T *x = CPU_PTR(a->in[0]);
        T *y = CPU_PTR(a->out[0]);
        const T al = (T)a->p.f[0], bt = (T)a->p.f[1];
        for (int64_t i = 0; i < n; i++) y[i] = al * x[i] + bt;
    });
    return DC_OK;
}

/* y = m ? v : x as a bit select, so that it vectorises: a branch per element on a random
 * mask (feature masking) mispredicts about every third element, 14x slower. */
#define MASK_SELECT(UT, NAME)                                                                         \
    static void NAME(const void *x, const uint8_t *m, void *y, int64_t n, const void *v) {           \
        const UT *xb = x, vb = *(const UT *)v;                                                       \
        UT *yb = y;                                                                                  \
        for (int64_t j = 0; j < n; j++) {                                                            \
            const UT k = (UT)0 - (UT)(m[j] != 0);                                                    \
            yb[j] = (xb[j] & ~k) | (vb & k);                                                         \
        }                                                                                            \
    }
MASK_SELECT(uint32_t, mask_select32)
MASK_SELECT(uint64_t, mask_select64)

dc_status cpu_masked_fill(dc_backend *be, const dc_kernel_args *a) {
    cpu_view4 vm = cpu_view4_of(a->in[1]), vy = cpu_view4_of(a->out[0]);
    const int64_t rows = vy.n[0] * vy.n[1] * vy.n[2], cols = vy.n[3];
    const uint8_t *m = CPU_PTR(a->in[1]);
    CPU_FLOAT_SWITCH(a->out[0]->dtype, {
        const T *x = CPU_PTR(a->in[0]);
        T *y = CPU_PTR(a->out[0]);
        const T v = (T)a->p.f[0];
        int par = rows * cols >= CPU_PAR_MIN;
        _Pragma("omp parallel for schedule(static) if(par)")
        for (int64_t r = 0; r < rows; r++) { /* one output row per iteration, as cpu_binary */
            int64_t i0 = r / (vy.n[1] * vy.n[2]), i1 = (r / vy.n[2]) % vy.n[1], i2 = r % vy.n[2];
            const uint8_t *rm = m + i0 * vm.s[0] + i1 * vm.s[1] + i2 * vm.s[2];
            const T *rx = x + r * cols;
            T *ry = y + r * cols;
            const int64_t sm = vm.s[3];
            if (sm == 1) (sizeof(T) == 4 ? mask_select32 : mask_select64)(rx, rm, ry, cols, &v);
            else for (int64_t j = 0; j < cols; j++) ry[j] = rm[j * sm] ? v : rx[j];
        }
    });
    return DC_OK;
}

dc_status cpu_unary(dc_backend *be, const dc_kernel_args *a) {
    const dc_op op = a->op;
    int64_t n = dc_tensor_numel(a->out[0]);
    CPU_FLOAT_SWITCH(a->out[0]->dtype, {
        const T *x = CPU_PTR(a->in[0]);
        T *y = CPU_PTR(a->out[0]);
        switch (op) {
        case DC_OP_RELU: for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0; break;
        case DC_OP_SIGMOID: /* split by sign so exp never overflows */
            for (int64_t i = 0; i < n; i++) {
                double v = x[i];
                y[i] = (T)(v >= 0 ? 1.0 / (1.0 + exp(-v)) : exp(v) / (1.0 + exp(v)));
            }
            break;
        case DC_OP_TANH: for (int64_t i = 0; i < n; i++) y[i] = (T)tanh((double)x[i]); break;
        case DC_OP_EXP: for (int64_t i = 0; i < n; i++) y[i] = (T)exp((double)x[i]); break;
        case DC_OP_SQRT: for (int64_t i = 0; i < n; i++) y[i] = (T)sqrt((double)x[i]); break;
        default: for (int64_t i = 0; i < n; i++) y[i] = (T)log((double)x[i]); break;
        }
    });
    return DC_OK;
}

dc_status cpu_act_back(dc_backend *be, const dc_kernel_args *a) {
    const dc_op which = (dc_op)a->p.i[0];
    int64_t n = dc_tensor_numel(a->out[0]);
    CPU_FLOAT_SWITCH(a->out[0]->dtype, {
        const T *gy = CPU_PTR(a->in[0]), *y = CPU_PTR(a->in[1]);
        T *gx = CPU_PTR(a->out[0]);
        switch (which) {
        case DC_OP_RELU: for (int64_t i = 0; i < n; i++) gx[i] = y[i] > 0 ? gy[i] : 0; break;
        case DC_OP_SIGMOID: for (int64_t i = 0; i < n; i++) gx[i] = gy[i] * y[i] * (1 - y[i]); break;
        case DC_OP_TANH: for (int64_t i = 0; i < n; i++) gx[i] = gy[i] * (1 - y[i] * y[i]); break;
        case DC_OP_SQRT: for (int64_t i = 0; i < n; i++) gx[i] = gy[i] / (2 * y[i]); break;
        default: for (int64_t i = 0; i < n; i++) gx[i] = gy[i] * y[i]; break; /* exp */
        }
    });
    return DC_OK;
}
