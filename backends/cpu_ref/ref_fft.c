/* ref_fft.c: RFFT and IRFFT as direct O(n^2) discrete Fourier transforms in float64, any
 * length. The angle 2 pi (j k mod n) / n is reduced exactly in integers first, so long
 * rows lose no accuracy to large arguments of cos and sin, and multiples of a quarter turn
 * get exact cos and sin: bins 0 and n/2 of a real row come out exactly real (Im = +0).
 *   rfft:  X_k = sum_j x_j exp(-2 pi i j k / n),  k = 0 .. n/2   (stored as (re, im))
 *   irfft: x_j = f0 * sum_{k=0}^{n-1} X_k exp(+2 pi i j k / n) with X_{n-k} = conj(X_k); the
 *          imaginary parts of bin 0 and (n even) bin n/2 are ignored
 */
#include <math.h>
#include <stdlib.h>

#include "ref_kernels.h"

/* cos and sin of 2 pi j k / n */
static void twiddle(int64_t j, int64_t k, int64_t n, double *c, double *s) {
    const int64_t m = (j * k) % n;
    if ((4 * m) % n == 0) { /* 0, 1/4, 1/2 or 3/4 of a turn */
        static const double cq[4] = {1, 0, -1, 0}, sq[4] = {0, 1, 0, -1};
        *c = cq[4 * m / n];
        *s = sq[4 * m / n];
        return;
    }
    const double a = 2.0 * M_PI * (double)m / (double)n;
    *c = cos(a);
    *s = sin(a);
}

dc_status ref_rfft(dc_backend *be, const dc_kernel_args *a) {
    const int64_t n = a->p.i[0], R = a->p.i[1], nb = n / 2 + 1;
    double *x = ref_load(a->in[0]), *X = ref_zeros(R * nb * 2);
    if (!x || !X) {
        free(x), free(X);
        return dc_last_status();
    }
    for (int64_t r = 0; r < R; r++)
        for (int64_t k = 0; k < nb; k++) {
            double re = 0, im = 0, c, sn;
            for (int64_t j = 0; j < n; j++) {
                twiddle(j, k, n, &c, &sn);
                re += x[r * n + j] * c;
                im -= x[r * n + j] * sn;
            }
            X[(r * nb + k) * 2] = re;
            X[(r * nb + k) * 2 + 1] = im;
        }
    ref_store(a->out[0], X);
    free(x), free(X);
    return DC_OK;
}

dc_status ref_irfft(dc_backend *be, const dc_kernel_args *a) {
    const int64_t n = a->p.i[0], R = a->p.i[1], nb = n / 2 + 1;
    double *X = ref_load(a->in[0]), *x = ref_zeros(R * n);
    if (!X || !x) {
        free(X), free(x);
        return dc_last_status();
    }
    for (int64_t r = 0; r < R; r++)
        for (int64_t j = 0; j < n; j++) {
            double s = X[r * nb * 2], c, sn; /* bin 0: its real part */
            for (int64_t k = 1; k < nb; k++) {
                double re = X[(r * nb + k) * 2], im = X[(r * nb + k) * 2 + 1];
                twiddle(j, k, n, &c, &sn);
                if (2 * k == n) s += re * c; /* Nyquist: once, real part only */
                else s += 2 * (re * c - im * sn); /* bins k and n - k */
            }
            x[r * n + j] = a->p.f[0] * s;
        }
    ref_store(a->out[0], x);
    free(X), free(x);
    return DC_OK;
}
