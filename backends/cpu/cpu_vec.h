/* cpu_vec.h: 16-lane float vectors in GCC's vector extensions (also clang's), for the CPU
 * kernels' elementwise tile loops: written once, compiled inside functions built for AVX-512,
 * AVX2 and plain x86-64 (cpu_simd.h), which lower the same code to 1, 2 or 4 registers. All
 * helpers are always inlined, so no vector is ever passed between functions.
 */
#ifndef DC_CPU_VEC_H
#define DC_CPU_VEC_H

#include <math.h>
#include <stdint.h>

#if defined(__GNUC__) && !defined(__clang__)
/* the helpers are always inlined: no vector crosses a call, so GCC's note that passing one
 * without AVX-512 would change the ABI does not apply */
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

typedef float vf __attribute__((vector_size(64)));   /* 16 lanes */
typedef int32_t vi __attribute__((vector_size(64)));
typedef double vd __attribute__((vector_size(64))); /* 8 lanes */
#define VL 16
#define VIN static inline __attribute__((always_inline))

VIN vf vsel(vi m, vf a, vf b) { return (vf)(((vi)a & m) | ((vi)b & ~m)); }
VIN vf vset(float v) { return (vf){v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v}; }

/* exp with cpu_expf's polynomial (cpu_simd.h), n rounded to nearest-even, and inf above 88.376,
 * so an overflowing argument gives inf as expf does */
VIN vf vexp(vf x) {
    const vi big = x > vset(88.3762626647949f);
    x = vsel(x < vset(-87.0f), vset(-87.0f), vsel(big, vset(0.0f), x));
    /* n = round(x log2 e) by the 1.5 * 2^23 trick: the low bits of the sum are n itself */
    const vf t = x * vset(1.44269504088896341f) + vset(12582912.0f);
    const vi n = (vi)t - (vi)vset(12582912.0f);
    const vf nf = t - vset(12582912.0f);
    vf r = x - nf * vset(0.693359375f) + nf * vset(2.12194440e-4f);
    vf p = vset(1.9875691500e-4f);
    p = p * r + vset(1.3981999507e-3f);
    p = p * r + vset(8.3334519073e-3f);
    p = p * r + vset(4.1665795894e-2f);
    p = p * r + vset(1.6666665459e-1f);
    p = p * r + vset(5.0000001201e-1f);
    p = p * (r * r) + r + vset(1.0f);
    vf e = p * (vf)((n + 127) << 23);
    return vsel(big, vset(INFINITY), e);
}

/* a mask of the lanes c0 + i < cn (all bits set in them) */
VIN vf lane_ok(int c0, int cn) {
    vi idx = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    return (vf)(idx < (vi){0} + (cn - c0));
}

/* sum of the lanes, in double */
VIN double vsum(vf v) {
    double t = 0;
    for (int i = 0; i < VL; i++) t += v[i];
    return t;
}

#endif
