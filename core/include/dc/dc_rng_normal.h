/* dc_rng_normal.h: the normal draws of the RNG (Box-Muller on two Philox words) in portable
 * arithmetic: only +, -, *, / and sqrt, each rounded once as IEEE 754 requires, in a fixed
 * order, with explicit roundings on CUDA devices (no FMA contraction). No libm log, sin or
 * cos, whose last bits differ between the host's C library and the CUDA or OpenCL math
 * libraries. So core's host draws, the CPU kernel and the CUDA kernel give bit-identical
 * normals. Header-only, for host C and CUDA C++; not a general-purpose math library.
 *
 *     double z0, z1;
 *     dc_rng_box_muller(w[0], w[1], mean, std, &z0, &z1);  // two normals from two words
 */
#ifndef DC_RNG_NORMAL_H
#define DC_RNG_NORMAL_H

#include <math.h>
#include <stdint.h>

#if defined(__CUDACC__)
#define DC_RNG_FN static __host__ __device__ __forceinline__
#else
#define DC_RNG_FN static inline
#endif
#if defined(__CUDA_ARCH__) || defined(DC_CUDA_EMULATION) /* device code: nvcc contracts a * b + c */
#define DC_RNG_MUL(a, b) __dmul_rn(a, b)
#define DC_RNG_ADD(a, b) __dadd_rn(a, b)
#define DC_RNG_SUB(a, b) __dsub_rn(a, b)
#else /* ISO C/C++ modes do not contract a * b + c into an FMA (-ffp-contract=off) */
#define DC_RNG_MUL(a, b) ((a) * (b))
#define DC_RNG_ADD(a, b) ((a) + (b))
#define DC_RNG_SUB(a, b) ((a) - (b))
#endif
#if defined(__clang__) && !defined(__CUDACC__)
#pragma STDC FP_CONTRACT OFF
#endif

/* log(m * 2^-24) for an integer m in [1, 2^24]: m = f 2^e with f in [1/sqrt 2, sqrt 2)
 * (frexp and doubling are exact), log f = 2 atanh(s), s = (f - 1)/(f + 1), |s| < 0.172,
 * by its series to s^23 (error < 1e-17), and e ln 2 from a split ln 2. */
DC_RNG_FN double dc_rng_log_u24(uint32_t m) {
    int e;
    double f = frexp((double)m, &e); /* [0.5, 1) */
    if (f < 0.70710678118654752) {
        f = DC_RNG_MUL(f, 2.0);
        e -= 1;
    }
    e -= 24;
    const double s = DC_RNG_SUB(f, 1.0) / DC_RNG_ADD(f, 1.0), z = DC_RNG_MUL(s, s);
    double p = 1.0 / 23.0;
    for (int k = 21; k >= 1; k -= 2) p = DC_RNG_ADD(1.0 / (double)k, DC_RNG_MUL(z, p));
    const double lf = DC_RNG_MUL(DC_RNG_MUL(2.0, s), p);
    const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10; /* fdlibm's split */
    return DC_RNG_ADD(DC_RNG_MUL((double)e, ln2_hi), DC_RNG_ADD(DC_RNG_MUL((double)e, ln2_lo), lf));
}

/* sin and cos of 2 pi k 2^-24 for an integer k in [0, 2^24): the quadrant and the octant
 * come from k's bits (exact); on [0, pi/4] the Taylor series to x^17 (sin) and x^18 (cos),
 * error < 1e-17, in Horner form with 1/n! constants (exact factorials, one rounding each). */
DC_RNG_FN void dc_rng_sincos_u24(uint32_t k, double *sn, double *cs) {
    const uint32_t q = k >> 22, r = k & 0x3FFFFFu;
    const int flip = r > (1u << 21);
    const uint32_t rr = flip ? (1u << 22) - r : r; /* angle pi/2 - a instead of a */
    const double a = DC_RNG_MUL((double)rr, 1.5707963267948966 / 4194304.0), a2 = DC_RNG_MUL(a, a);
    const double inv_odd[9] = {1.0, 1.0 / 6.0, 1.0 / 120.0, 1.0 / 5040.0, 1.0 / 362880.0, 1.0 / 39916800.0,
                               1.0 / 6227020800.0, 1.0 / 1307674368000.0, 1.0 / 355687428096000.0};
    const double inv_even[10] = {1.0, 1.0 / 2.0, 1.0 / 24.0, 1.0 / 720.0, 1.0 / 40320.0, 1.0 / 3628800.0,
                                 1.0 / 479001600.0, 1.0 / 87178291200.0, 1.0 / 20922789888000.0,
                                 1.0 / 6402373705728000.0};
    double ps = inv_odd[8], pc = inv_even[9];
    for (int j = 7; j >= 0; j--) ps = DC_RNG_SUB(inv_odd[j], DC_RNG_MUL(a2, ps));
    for (int j = 8; j >= 0; j--) pc = DC_RNG_SUB(inv_even[j], DC_RNG_MUL(a2, pc));
    double s = DC_RNG_MUL(a, ps), c = pc;
    if (flip) {
        const double t = s;
        s = c;
        c = t;
    }
    switch (q) {
    case 0: *sn = s, *cs = c; break;
    case 1: *sn = c, *cs = -s; break;
    case 2: *sn = -s, *cs = -c; break;
    default: *sn = -c, *cs = s; break;
    }
}

/* Two normals (mean + std * z) from two Philox words, as every RNG kernel draws them:
 * r = sqrt(-2 log u1), u1 = ((w0 >> 8) + 1) 2^-24 in (0, 1]; theta = 2 pi u2,
 * u2 = (w1 >> 8) 2^-24; z0 = r cos theta, z1 = r sin theta. */
DC_RNG_FN void dc_rng_box_muller(uint32_t w0, uint32_t w1, double mean, double std, double *z0, double *z1) {
    const double r = sqrt(DC_RNG_MUL(-2.0, dc_rng_log_u24((w0 >> 8) + 1u)));
    double sn, cs;
    dc_rng_sincos_u24(w1 >> 8, &sn, &cs);
    const double fr = DC_RNG_MUL(std, r);
    *z0 = DC_RNG_ADD(mean, DC_RNG_MUL(fr, cs));
    *z1 = DC_RNG_ADD(mean, DC_RNG_MUL(fr, sn));
}

#endif
