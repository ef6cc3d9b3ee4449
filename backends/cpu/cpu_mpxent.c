/* cpu_mpxent.c: the MP-Xent loss (docs/METHOD.md §3) with its gradient, in one kernel.
 *
 * Notation: zh = rows normalised by max(||z||, eps); E_rc = exp(zh_r.zh_c / tau) for r != c
 * and E_cc = 0; C_c = sum_r E_rc (column sums); l_j = E_{j+1,j}. Anchors are the rows whose
 * position t inside their block of L = seq_len rows satisfies 1 <= t <= L-2 (multi-positive)
 * or t <= L-2 (single positive); L = N reproduces the authors' flattened batch.
 *   multi:  num_a = l_{a-1} + l_a,  den_a = (C_{a-1} - l_{a-1}) + (C_a - l_{a-1} - l_a)
 *   single: num_a = l_a,            den_a = C_a - l_a
 *   L = mean_a (log den_a - log num_a)
 *
 * The reference backend follows these sums literally (backends/cpu_ref/ref_mpxent.c); this
 * kernel uses the structure of dL/dE (docs/METHOD.md §3.5): every entry of column c
 * gets w_c = sum of 1/den over anchors whose denominator holds column c, plus corrections
 * sub_j on the sub-diagonal (j+1, j). With S symmetric,
 *   dL/dzh = W zh,  W_rc = (w_r + w_c) E_rc / tau  (+ sub_j E_{j+1,j} / tau at (j+1,j), (j,j+1)),
 * all scaled by 1/#anchors; then the normalisation's backward. Two GEMMs and N^2 exps.
 *
 * Every kernel (and the CUDA and OpenCL ones) computes E as exp((S - 1) / tau): rows of zh
 * have norm <= 1, so S <= 1 and nothing overflows for any tau > 0, while the common factor
 * exp(-1/tau) cancels in every ratio of the loss and of the gradient (exp(S / tau) itself
 * overflows float below tau = 1/88).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_kernels.h"

static int is_anchor(int64_t a, int64_t L, int single) {
    int64_t t = a % L;
    return single ? (t <= L - 2) : (t >= 1 && t <= L - 2);
}

/* exp for float, vectorisable (Cephes expf: range reduction by ln 2, degree-6 polynomial;
 * ~1 ulp on the range used here, |x| < 88). Below -87 the result is subnormal, as expf's:
 * 2^n is applied in two halves so that neither leaves the normal range (x >= -104 gives
 * n >= -150); below -104 it is 0. */
static inline float exp_f32(float x) {
    x = x > 88.0f ? 88.0f : (x < -104.0f ? -104.0f : x);
    float fx = x * 1.44269504088896341f;
    int n = (int)(fx + (fx >= 0 ? 0.5f : -0.5f));
    float nf = (float)n;
    float r = x - nf * 0.693359375f + nf * 2.12194440e-4f;
    float r2 = r * r;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r2 + r + 1.0f;
    const int n1 = n / 2, n2 = n - n1;
    union { uint32_t u; float f; } s1, s2;
    s1.u = (uint32_t)(n1 + 127) << 23;
    s2.u = (uint32_t)(n2 + 127) << 23;
    return x <= -104.0f ? 0.0f : p * s1.f * s2.f;
}

/* GCC 11 cannot dispatch clones of functions with OpenMP regions ("no dispatcher found",
 * e.g. Ubuntu 22.04's CUDA images); GCC 12 can. Older compilers build the default only. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && __GNUC__ >= 12
#define MPX_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define MPX_CLONES
#endif

/* E = exp((S - 1) / tau) in place with zero diagonal; rowsum[r] = sum_c E_rc (double). */
MPX_CLONES static void exp_rows_f32(float *S, int64_t N, float inv_tau, double *rowsum) {
    _Pragma("omp parallel for schedule(static)")
    for (int64_t r = 0; r < N; r++) {
        float *row = S + r * N;
        for (int64_t c = 0; c < N; c++) row[c] = exp_f32((row[c] - 1.0f) * inv_tau);
        row[r] = 0;
        /* summed in double, as every backend: the anchors subtract positives from these sums
         * (den = C - l), and with a small tau l can dwarf the rest below float precision */
        double s = 0;
        for (int64_t c = 0; c < N; c++) s += row[c];
        rowsum[r] = s;
    }
}

static void exp_rows_f64(double *S, int64_t N, double inv_tau, double *rowsum) {
    _Pragma("omp parallel for schedule(static)")
    for (int64_t r = 0; r < N; r++) {
        double *row = S + r * N, s = 0;
        for (int64_t c = 0; c < N; c++) {
            row[c] = c == r ? 0.0 : exp((row[c] - 1.0) * inv_tau);
            s += row[c];
        }
        rowsum[r] = s;
    }
}

dc_status cpu_mpxent(dc_backend *be, const dc_kernel_args *a) {
    const dc_tensor *z = a->in[0];
    const int64_t N = z->shape[0], F = z->shape[1], L = a->p.i[0];
    const int single = (int)a->p.i[1], want = (int)a->p.i[2] && a->n_out > 1;
    const double tau = a->p.f[0], eps = a->p.f[1];
    const size_t es = dc_dtype_size(z->dtype);
    void *zh = malloc((size_t)(N * F) * es), *M = malloc((size_t)(N * N) * es);
    double *nrm = malloc((size_t)N * sizeof(double)), *Cc = malloc((size_t)N * sizeof(double));
    double *w = calloc((size_t)N, sizeof(double)), *sub = calloc((size_t)N, sizeof(double));
    double *lsub = malloc((size_t)N * sizeof(double));
    dc_status st = DC_OK;
    if (!zh || !M || !nrm || !Cc || !w || !sub || !lsub) {
        st = dc_fail(DC_ERR_OOM, "mpxent: out of host memory for N = %lld (needs %zu bytes)", (long long)N,
                     (size_t)(N * N) * es);
        goto done;
    }
    CPU_FLOAT_SWITCH(z->dtype, {
        const T *pz = CPU_PTR(z);
        T *h = zh, *S = M;
        for (int64_t i = 0; i < N; i++) {
            double s = 0;
            for (int64_t f = 0; f < F; f++) s += (double)pz[i * F + f] * pz[i * F + f];
            nrm[i] = sqrt(s);
            double d = nrm[i] > eps ? nrm[i] : eps;
            for (int64_t f = 0; f < F; f++) h[i * F + f] = (T)(pz[i * F + f] / d);
        }
        /* S = zh zh^T, then E in place; S is exactly symmetric so row sums are column sums */
        if (sizeof(T) == 4) {
            cpu_sgemm(0, 1, N, N, F, 1.0f, (const float *)h, F, (const float *)h, F, 0.0f, (float *)S, N);
            exp_rows_f32((float *)S, N, (float)(1.0 / tau), Cc);
        } else {
            cpu_dgemm(0, 1, N, N, F, 1.0, (const double *)h, F, (const double *)h, F, 0.0, (double *)S, N);
            exp_rows_f64((double *)S, N, 1.0 / tau, Cc);
        }
        /* anchors: loss, column weights w and sub-diagonal corrections */
        int64_t A = 0;
        double total = 0;
        for (int64_t k = 0; k < N; k++) A += is_anchor(k, L, single);
        for (int64_t k = 0; k < N; k++) {
            if (!is_anchor(k, L, single)) continue;
            double lp = S[(k + 1) * N + k], num, den;
            if (single) {
                num = lp;
                den = Cc[k] - lp;
            } else {
                double lm = S[k * N + k - 1];
                num = lm + lp;
                den = (Cc[k - 1] - lm) + (Cc[k] - lm - lp);
            }
            total += log(den) - log(num);
            double wd = 1.0 / ((double)A * den), wn = 1.0 / ((double)A * num);
            w[k] += wd;
            sub[k] -= wd + wn;
            if (!single) {
                w[k - 1] += wd;
                sub[k - 1] -= 2 * wd + wn;
            }
        }
        *(T *)CPU_PTR(a->out[0]) = (T)(total / (double)A);
        if (want) {
            for (int64_t j = 0; j + 1 < N; j++) lsub[j] = S[(j + 1) * N + j]; /* l_j before W overwrites E */
            /* W in place of E */
            const double it = 1.0 / tau;
            _Pragma("omp parallel for schedule(static)")
            for (int64_t r = 0; r < N; r++) {
                T *row = S + r * N;
                const T wr = (T)w[r];
                for (int64_t c = 0; c < N; c++) row[c] = (T)((wr + (T)w[c]) * row[c] * (T)it);
            }
            /* sub-diagonal corrections, added symmetrically */
            for (int64_t j = 0; j + 1 < N; j++) {
                T add = (T)(sub[j] * lsub[j] * it);
                S[(j + 1) * N + j] += add;
                S[j * N + j + 1] += add;
            }
            T *dz = CPU_PTR(a->out[1]);
            /* dzh = W zh into dz, then the normalisation backward in place */
            if (sizeof(T) == 4)
                cpu_sgemm(0, 0, N, F, N, 1.0f, (const float *)S, N, (const float *)h, F, 0.0f, (float *)dz, F);
            else
                cpu_dgemm(0, 0, N, F, N, 1.0, (const double *)S, N, (const double *)h, F, 0.0, (double *)dz, F);
            for (int64_t i = 0; i < N; i++) {
                T *g = dz + i * F;
                const T *hi = h + i * F;
                if (nrm[i] > eps) {
                    double dot = 0;
                    for (int64_t f = 0; f < F; f++) dot += (double)hi[f] * g[f];
                    for (int64_t f = 0; f < F; f++) g[f] = (T)((g[f] - hi[f] * dot) / nrm[i]);
                } else {
                    for (int64_t f = 0; f < F; f++) g[f] = (T)(g[f] / eps);
                }
            }
        }
    });
done:
    free(zh), free(M), free(nrm), free(Cc), free(w), free(sub), free(lsub);
    return st;
}
