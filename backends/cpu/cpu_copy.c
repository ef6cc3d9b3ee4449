/* cpu_copy.c: the strided COPY kernel (views, broadcasts, permutes, slices) and FILL. */
#include <string.h>

#include "cpu_kernels.h"

/* Copy a 4-d strided view elementwise; ES = element size in bytes. */
#define COPY4(TY)                                                                                            \
    do {                                                                                                     \
        const TY *s = CPU_PTR(a->in[0]);                                                                     \
        TY *d = CPU_PTR(a->out[0]);                                                                          \
        for (int64_t i0 = 0; i0 < vi.n[0]; i0++)                                                             \
            for (int64_t i1 = 0; i1 < vi.n[1]; i1++)                                                         \
                for (int64_t i2 = 0; i2 < vi.n[2]; i2++) {                                                   \
                    const TY *sr = s + i0 * vi.s[0] + i1 * vi.s[1] + i2 * vi.s[2];                           \
                    TY *dr = d + i0 * vo.s[0] + i1 * vo.s[1] + i2 * vo.s[2];                                 \
                    for (int64_t i3 = 0; i3 < vi.n[3]; i3++) dr[i3 * vo.s[3]] = sr[i3 * vi.s[3]];            \
                }                                                                                            \
    } while (0)

dc_status cpu_copy(dc_backend *be, const dc_kernel_args *a) {
    cpu_view4 vi = cpu_view4_of(a->in[0]), vo = cpu_view4_of(a->out[0]);
    size_t es = dc_dtype_size(a->out[0]->dtype);
    if (dc_tensor_is_contiguous(a->in[0]) && dc_tensor_is_contiguous(a->out[0])) {
        memmove(CPU_PTR(a->out[0]), CPU_PTR(a->in[0]), (size_t)dc_tensor_numel(a->out[0]) * es);
        return DC_OK;
    }
    switch (es) {
    case 1: COPY4(uint8_t); break;
    case 4: COPY4(uint32_t); break;
    default: COPY4(uint64_t); break;
    }
    return DC_OK;
}

dc_status cpu_fill(dc_backend *be, const dc_kernel_args *a) {
    dc_tensor *t = a->out[0];
    int64_t n = dc_tensor_numel(t);
    double v = a->p.f[0];
    switch (t->dtype) {
    case DC_F32: { float *p = CPU_PTR(t); for (int64_t i = 0; i < n; i++) p[i] = (float)v; break; }
    case DC_F64: { double *p = CPU_PTR(t); for (int64_t i = 0; i < n; i++) p[i] = v; break; }
    case DC_I32: { int32_t *p = CPU_PTR(t); for (int64_t i = 0; i < n; i++) p[i] = (int32_t)v; break; }
    case DC_U8: memset(CPU_PTR(t), (int)(uint8_t)v, (size_t)n); break;
    default: return dc_fail(DC_ERR_DTYPE, "fill: unknown dtype");
    }
    return DC_OK;
}
