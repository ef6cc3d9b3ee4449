/* test_cpu_gemm.c: the `cpu` backend's float32 GEMM (backends/cpu/cpu_gemm.c) against a
 * float64 triple loop, over shapes that hit every edge of its tiling: rows not a multiple of
 * the micro-tile, columns not a multiple of the vector width, K beyond one K block, all four
 * transpose combinations, beta = 0 and 1, row strides wider than the matrix, and the shapes of
 * a training step. ctest runs it once per instruction set (DC_CPU_ISA = default, avx2, generic;
 * one the CPU lacks falls back to the widest it has). Not here: MATMUL's op-level checks
 * (parity and finite differences, tests/support/op_cases.c).
 */
#include <math.h>
#include <stdlib.h>

#include "cpu_kernels.h"
#include "dc_test.h"

typedef struct gemm_case {
    int ta, tb;
    int64_t M, N, K;
    float beta;
    int64_t pad; /* extra elements per stored row */
} gemm_case;

static const gemm_case k_cases[] = {
    {0, 0, 1, 1, 1, 0, 0},      {0, 0, 13, 33, 7, 0, 0},     {0, 1, 12, 32, 16, 0, 0},
    {1, 0, 25, 17, 9, 1, 0},    {1, 1, 7, 5, 3, 0, 0},       {0, 1, 952, 128, 156, 0, 0},
    {0, 1, 952, 64, 128, 0, 0}, {0, 1, 952, 32, 64, 0, 0},   {0, 0, 952, 156, 128, 0, 0},
    {1, 0, 128, 156, 952, 1, 0}, {1, 0, 32, 64, 952, 1, 0},  {0, 1, 300, 300, 32, 0, 0},
    {0, 0, 300, 32, 300, 0, 0}, {0, 0, 37, 49, 1100, 1, 0},  {1, 1, 29, 31, 600, 1, 3},
    {0, 1, 19, 45, 0, 1, 0},    {0, 0, 11, 70, 13, 1, 5},    {1, 0, 12, 16, 513, 0, 2},
};
#define N_CASES ((int)(sizeof k_cases / sizeof k_cases[0]))

static float urand(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((double)(*s >> 40) / (double)(1ULL << 24)) * 2.0f - 1.0f;
}

START_TEST(test_gemm_case) {
    const gemm_case *c = &k_cases[_i];
    const int64_t ar = c->ta ? c->K : c->M, ac = c->ta ? c->M : c->K; /* stored shapes */
    const int64_t br = c->tb ? c->N : c->K, bc = c->tb ? c->K : c->N;
    const int64_t lda = ac + c->pad, ldb = bc + c->pad, ldc = c->N + c->pad;
    float *A = malloc((size_t)(ar * lda + 1) * sizeof *A), *B = malloc((size_t)(br * ldb + 1) * sizeof *B);
    float *C = malloc((size_t)(c->M * ldc + 1) * sizeof *C);
    double *R = malloc((size_t)(c->M * c->N + 1) * sizeof *R);
    ck_assert(A && B && C && R);
    uint64_t seed = 1234 + (uint64_t)_i;
    for (int64_t i = 0; i < ar * lda; i++) A[i] = urand(&seed);
    for (int64_t i = 0; i < br * ldb; i++) B[i] = urand(&seed);
    for (int64_t i = 0; i < c->M * ldc; i++) C[i] = urand(&seed);
    const float alpha = 0.75f;
    for (int64_t i = 0; i < c->M; i++)
        for (int64_t j = 0; j < c->N; j++) {
            double s = 0;
            for (int64_t k = 0; k < c->K; k++)
                s += (double)(c->ta ? A[k * lda + i] : A[i * lda + k]) * (double)(c->tb ? B[j * ldb + k] : B[k * ldb + j]);
            R[i * c->N + j] = alpha * s + (c->beta != 0 ? c->beta * (double)C[i * ldc + j] : 0.0);
        }
    /* padding columns of C must stay as they were */
    float *guard = malloc((size_t)(c->M * ldc + 1) * sizeof *guard);
    ck_assert(guard);
    for (int64_t i = 0; i < c->M * ldc; i++) guard[i] = C[i];
    cpu_sgemm(c->ta, c->tb, c->M, c->N, c->K, alpha, A, lda, B, ldb, c->beta, C, ldc);
    double worst = 0;
    for (int64_t i = 0; i < c->M; i++) {
        for (int64_t j = 0; j < c->N; j++) {
            /* float32 sums of K products of magnitude <= 1: error bounded by ~K * 2^-24 */
            double err = fabs((double)C[i * ldc + j] - R[i * c->N + j]);
            double tol = 1e-6 * (double)(c->K + 2);
            if (err > worst) worst = err;
            ck_assert_msg(err <= tol, "isa %s, case %d (ta %d tb %d M %lld N %lld K %lld): C[%lld][%lld] = %g, want %g",
                          cpu_gemm_isa(), _i, c->ta, c->tb, (long long)c->M, (long long)c->N, (long long)c->K,
                          (long long)i, (long long)j, C[i * ldc + j], R[i * c->N + j]);
        }
        for (int64_t j = c->N; j < ldc; j++) ck_assert_msg(C[i * ldc + j] == guard[i * ldc + j], "padding written");
    }
    free(A), free(B), free(C), free(R), free(guard);
}
END_TEST

/* The same call twice gives bit-identical results (no dependence on timing or threads). */
START_TEST(test_gemm_deterministic) {
    const int64_t M = 952, N = 96, K = 700;
    float *A = malloc((size_t)(M * K) * 4), *B = malloc((size_t)(K * N) * 4), *C1 = malloc((size_t)(M * N) * 4),
          *C2 = malloc((size_t)(M * N) * 4);
    ck_assert(A && B && C1 && C2);
    uint64_t seed = 99;
    for (int64_t i = 0; i < M * K; i++) A[i] = urand(&seed);
    for (int64_t i = 0; i < K * N; i++) B[i] = urand(&seed);
    cpu_sgemm(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, C1, N);
    cpu_sgemm(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, C2, N);
    for (int64_t i = 0; i < M * N; i++) ck_assert(C1[i] == C2[i]);
    free(A), free(B), free(C1), free(C2);
}
END_TEST

int main(void) {
    Suite *s = suite_create("cpu_gemm");
    TCase *tc = tcase_create("cpu_gemm");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_gemm_case, 0, N_CASES);
    tcase_add_test(tc, test_gemm_deterministic);
    suite_add_tcase(s, tc);
    printf("cpu_gemm: micro-kernel %s\n", cpu_gemm_isa());
    return dc_test_run_suite(s) ? 1 : 0;
}
