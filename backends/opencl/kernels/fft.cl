/* fft.cl: the steps around a complex forward DFT of rows of length L that ocl_fft.c runs
 * with clFFT (or with fft_dft_rows below when clFFT is absent). RFFT packs real rows as
 * complex; IRFFT builds the Hermitian extension and conjugates it, since
 * ifft(X) = conj(fft(conj(X))). Lengths clFFT cannot plan use Bluestein's algorithm: the
 * rows are multiplied by the chirp w_j = exp(-i pi j^2 / n), padded to a power of two M,
 * convolved with the chirp through two forward FFTs of length M, and multiplied by the
 * chirp again. Complex numbers are interleaved (re, im) float pairs.
 */

inline float2 cmul(float2 a, float2 b) { return (float2)(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x); }
inline float2 cconj(float2 a) { return (float2)(a.x, -a.y); }

/* Work-item (j, r) writes element j of scratch row r (row length L >= n, zeros past n).
 * mode 0: real input x (R, n); mode 1: half spectrum (R, n/2+1, 2), written as the
 * conjugated Hermitian extension (Im of bin 0 and, for even n, of bin n/2 ignored).
 * With chirp, the value is multiplied by w_j. */
__kernel void fft_pre(__global const float *x, long xo, long n, long L, long R, int mode, int use_chirp,
                      __global const float *chirp, __global float *buf) {
    long j = get_global_id(0), r = get_global_id(1);
    if (j >= L || r >= R) return;
    float2 v = (float2)(0.0f, 0.0f);
    if (j < n) {
        if (mode == 0) {
            v.x = x[xo + r * n + j];
        } else {
            long nb = n / 2 + 1, k = j < nb ? j : n - j;
            __global const float *h = x + xo + (r * nb + k) * 2;
            int end = k == 0 || (n % 2 == 0 && k == n / 2);
            v = (float2)(h[0], end ? 0.0f : h[1]);
            if (j < nb) v = cconj(v); /* conj(X_j) = conj(H_j); conj(X_{n-k}) = H_k */
        }
        if (use_chirp) v = cmul(v, (float2)(chirp[2 * j], chirp[2 * j + 1]));
    }
    buf[(r * L + j) * 2] = v.x;
    buf[(r * L + j) * 2 + 1] = v.y;
}

/* Bluestein's middle step: y = conj(y * B), B = fft of the padded conjugate chirp. */
__kernel void fft_bluestein_mul(__global float *buf, long M, long R, __global const float *bf) {
    long k = get_global_id(0), r = get_global_id(1);
    if (k >= M || r >= R) return;
    long i = (r * M + k) * 2;
    float2 y = cmul((float2)(buf[i], buf[i + 1]), (float2)(bf[2 * k], bf[2 * k + 1]));
    buf[i] = y.x;
    buf[i + 1] = -y.y;
}

/* Work-item (k, r) writes output element k of row r from scratch row r (length L).
 * With chirp (Bluestein) the transform value is w_k conj(y_k) / L. mode 0: the half
 * spectrum (R, n/2+1, 2), whose bins 0 and (even n) n/2 are real: their imaginary parts are
 * written as exactly +0, not the transform's -0 or rounding residue (the RFFT contract);
 * mode 1: scale * Re, the unnormalised inverse (R, n). */
__kernel void fft_post(__global const float *buf, long n, long L, long R, int mode, int use_chirp,
                       __global const float *chirp, float scale, __global float *y, long yo) {
    long k = get_global_id(0), r = get_global_id(1);
    long nout = mode == 0 ? n / 2 + 1 : n;
    if (k >= nout || r >= R) return;
    float2 v = (float2)(buf[(r * L + k) * 2], buf[(r * L + k) * 2 + 1]);
    if (use_chirp) v = cmul((float2)(chirp[2 * k], chirp[2 * k + 1]), cconj(v)) / (float)L;
    if (mode == 0) {
        y[yo + (r * nout + k) * 2] = v.x;
        y[yo + (r * nout + k) * 2 + 1] = (k == 0 || 2 * k == n) ? 0.0f : v.y;
    } else {
        y[yo + r * n + k] = scale * v.x;
    }
}

/* Without clFFT: a direct forward DFT of each row of src (rows of length L) into dst, with
 * twiddles from a table of cos/sin(2 pi m / L), m = j k mod L (exact index arithmetic).
 * O(L^2) per row, used only when the backend is built without clFFT. */
__kernel void fft_dft_rows(__global const float *src, __global float *dst, long L, long R,
                           __global const float *twiddle) {
    long k = get_global_id(0), r = get_global_id(1);
    if (k >= L || r >= R) return;
    float re = 0.0f, im = 0.0f, cre = 0.0f, cim = 0.0f;
    for (long j = 0; j < L; j++) {
        long m = (j * k) % L;
        float2 w = (float2)(twiddle[2 * m], -twiddle[2 * m + 1]);
        float2 x = (float2)(src[(r * L + j) * 2], src[(r * L + j) * 2 + 1]);
        float2 p = cmul(x, w);
        kahan_add(&re, &cre, p.x);
        kahan_add(&im, &cim, p.y);
    }
    dst[(r * L + k) * 2] = re;
    dst[(r * L + k) * 2 + 1] = im;
}
