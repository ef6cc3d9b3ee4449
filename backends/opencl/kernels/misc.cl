/* misc.cl: the Philox4x32-10 RNG fill (the stream of core/src/rng.c, element j from block
 * counter + j/4, lane j%4) and the AdamW update. Uniform and normal draws are computed in
 * double where the device has cl_khr_fp64, exactly as the CPU backend does, so uniform
 * fills match it bit for bit; without fp64 they are float (within an ulp or two).
 * Bernoulli compares the 24-bit integer with a host-computed threshold: exact everywhere.
 */
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

inline uint4 philox4x32_10(ulong counter, uint k0, uint k1) {
    uint c0 = (uint)counter, c1 = (uint)(counter >> 32), c2 = 0, c3 = 0;
    for (int r = 0; r < 10; r++) {
        uint hi0 = mul_hi(PHILOX_M0, c0), lo0 = PHILOX_M0 * c0;
        uint hi1 = mul_hi(PHILOX_M1, c2), lo1 = PHILOX_M1 * c2;
        uint n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0;
        c1 = lo1;
        c2 = n2;
        c3 = lo0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    return (uint4)(c0, c1, c2, c3);
}

/* Four values of block b: dist 0 uniform (f0, f1) = (lo, hi), 1 normal (mean, std),
 * 2 bernoulli (1 when (u >> 8) < thr). */
inline void rng_block(uint4 w, int dist, ulong f0bits, ulong f1bits, float f0f, float f1f, long thr, float *v) {
    uint u[4] = {w.x, w.y, w.z, w.w};
    if (dist == 2) {
        for (int l = 0; l < 4; l++) v[l] = (long)(u[l] >> 8) < thr ? 1.0f : 0.0f;
        return;
    }
#ifdef cl_khr_fp64
    double f0 = as_double(f0bits), f1 = as_double(f1bits);
    if (dist == 0) {
        for (int l = 0; l < 4; l++) v[l] = (float)(f0 + (f1 - f0) * ((double)(u[l] >> 8) * (1.0 / 16777216.0)));
        return;
    }
    for (int l = 0; l < 4; l += 2) { /* Box-Muller on lanes (0,1) and (2,3) */
        double r = sqrt(-2.0 * log((double)((u[l] >> 8) + 1) * (1.0 / 16777216.0)));
        double th = 2.0 * M_PI * ((double)(u[l + 1] >> 8) * (1.0 / 16777216.0));
        v[l] = (float)(f0 + f1 * r * cos(th));
        v[l + 1] = (float)(f0 + f1 * r * sin(th));
    }
#else
    if (dist == 0) {
        for (int l = 0; l < 4; l++) v[l] = f0f + (f1f - f0f) * ((float)(u[l] >> 8) * (1.0f / 16777216.0f));
        return;
    }
    for (int l = 0; l < 4; l += 2) {
        float r = sqrt(-2.0f * log((float)((u[l] >> 8) + 1) * (1.0f / 16777216.0f)));
        float th = 2.0f * M_PI_F * ((float)(u[l + 1] >> 8) * (1.0f / 16777216.0f));
        v[l] = f0f + f1f * r * cos(th);
        v[l + 1] = f0f + f1f * r * sin(th);
    }
#endif
}

/* One work-item per block of 4 elements. */
__kernel void rng_f32(__global float *y, long yo, long n, uint k0, uint k1, ulong counter, int dist, ulong f0bits,
                      ulong f1bits, float f0f, float f1f, long thr) {
    long b = get_global_id(0);
    if (b * 4 >= n) return;
    float v[4];
    rng_block(philox4x32_10(counter + (ulong)b, k0, k1), dist, f0bits, f1bits, f0f, f1f, thr, v);
    for (int l = 0; l < 4 && b * 4 + l < n; l++) y[yo + b * 4 + l] = v[l];
}

__kernel void rng_u8(__global uchar *y, long yo, long n, uint k0, uint k1, ulong counter, int dist, ulong f0bits,
                     ulong f1bits, float f0f, float f1f, long thr) {
    long b = get_global_id(0);
    if (b * 4 >= n) return;
    float v[4];
    rng_block(philox4x32_10(counter + (ulong)b, k0, k1), dist, f0bits, f1bits, f0f, f1f, thr, v);
    for (int l = 0; l < 4 && b * 4 + l < n; l++) y[yo + b * 4 + l] = (uchar)v[l];
}

/* AdamW (decoupled weight decay) with the step count read from the device: t = steps + 1.
 * Bias corrections 1 - b^t = -expm1(t log b), with log b computed on the host in double.
 * decay = 1 - lr wd, omb1 = 1 - b1, omb2 = 1 - b2. */
__kernel void adamw_f32(__global float *p, long po, __global const float *g, long go, __global float *m, long mo,
                        __global float *v, long vo, __global const float *steps, long so, long n, float lr,
                        float b1, float b2, float omb1, float omb2, float lb1, float lb2, float eps,
                        float decay) {
    long i = get_global_id(0);
    if (i >= n) return;
    float t = steps[so] + 1.0f;
    float step = lr / -expm1(t * lb1), sqrt_bc2 = sqrt(-expm1(t * lb2));
    float gi = g[go + i];
    float pi = p[po + i] * decay;
    float mi = b1 * m[mo + i] + omb1 * gi;
    float vi = b2 * v[vo + i] + omb2 * gi * gi;
    m[mo + i] = mi;
    v[vo + i] = vi;
    p[po + i] = pi - step * mi / (sqrt(vi) / sqrt_bc2 + eps);
}
