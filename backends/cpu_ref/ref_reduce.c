/* ref_reduce.c: SUM over one axis (the input seen as outer x n x inner) and MATMUL, both as
 * plain loops summing in float64.
 */
#include <stdlib.h>

#include "ref_kernels.h"

/* y[o][j] = f0 * sum_k x[o][k][j] */
dc_status ref_sum(dc_backend *be, const dc_kernel_args *a) {
    const int64_t outer = a->p.i[1], n = a->p.i[2], inner = a->p.i[3];
    double *x = ref_load(a->in[0]), *y = ref_zeros(outer * inner);
    if (!x || !y) {
        free(x), free(y);
        return dc_last_status();
    }
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++) {
            double s = 0;
            for (int64_t k = 0; k < n; k++) s += x[(o * n + k) * inner + j];
            y[o * inner + j] = a->p.f[0] * s;
        }
    ref_store(a->out[0], y);
    free(x), free(y);
    return DC_OK;
}

/* C[b] = f0 * op(A[b]) op(B[b]) + f1 * C[b]; A stored (M, K), or (K, M) when transposed;
 * B stored (K, N), or (N, K) when transposed. */
dc_status ref_matmul(dc_backend *be, const dc_kernel_args *a) {
    const int ta = (int)a->p.i[0], tb = (int)a->p.i[1];
    const int64_t batch = a->p.i[2], M = a->p.i[3], N = a->p.i[4], K = a->p.i[5];
    const double alpha = a->p.f[0], beta = a->p.f[1];
    double *A = ref_load(a->in[0]), *B = ref_load(a->in[1]);
    double *C = beta != 0 ? ref_load(a->out[0]) : ref_zeros(batch * M * N);
    double *row = ref_zeros(N);
    if (!A || !B || !C || !row) {
        free(A), free(B), free(C), free(row);
        return dc_last_status();
    }
    for (int64_t b = 0; b < batch; b++) {
        const double *Ab = A + b * M * K, *Bb = B + b * K * N;
        double *Cb = C + b * M * N;
        for (int64_t i = 0; i < M; i++) {
            for (int64_t j = 0; j < N; j++) row[j] = 0;
            for (int64_t k = 0; k < K; k++) {
                double aik = ta ? Ab[k * M + i] : Ab[i * K + k];
                for (int64_t j = 0; j < N; j++) row[j] += aik * (tb ? Bb[j * K + k] : Bb[k * N + j]);
            }
            for (int64_t j = 0; j < N; j++) Cb[i * N + j] = alpha * row[j] + (beta != 0 ? beta * Cb[i * N + j] : 0);
        }
    }
    ref_store(a->out[0], C);
    free(A), free(B), free(C), free(row);
    return DC_OK;
}
