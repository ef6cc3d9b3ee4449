/* cpu_gemm.c: the float32 GEMM of the `cpu` backend, C = alpha op(A) op(B) + beta C, tuned for
 * the step's small, cache-resident shapes (N = B*T rows by 32..256 columns, K from 32 to N).
 *
 * Register-blocked micro-kernels keep an MR x NR tile of C in vector registers over the
 * whole K loop: AVX-512 12 x 32, AVX2+FMA 6 x 16, and a plain-C 4 x 16 that compilers
 * vectorise on anything else; the widest one the CPU has is chosen once at run time. op(B) is
 * read as row-major rows (k, j..j+NR), straight from B when it is not transposed, else from a
 * transposed copy made once per call; op(A) is packed per MR-row tile into k-major order
 * (a[k*MR + r]) by the thread that owns the tile, except for full tiles of a transposed A,
 * which already are. Every element of C is summed by one thread in k order, so results do not
 * depend on the thread count. Not here: float64 (cpu_matmul.c) and the MATMUL kernel entry.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "cpu_kernels.h"
#include "cpu_simd.h"

#define KC 512   /* K block: the packed A tile (MR x KC floats) stays on the stack and in L1 */
#define MR_MAX 12

/* A micro-kernel: C[0..mr, 0..nr) = alpha * sum_k A(r, k) b[k*ldb + j] + beta * C, where A(r, k) is
 * a[k*sa + r] ("k-major": a packed tile, or a transposed A read in place) or, in the row
 * variant, a[r*sa + k] (a row-major A read in place, which saves packing when the tile meets
 * only one or two column panels). Rows mr..MR-1 of A are not read in the row variant. */
typedef void (*ukr_fn)(int64_t K, const float *a, int64_t sa, const float *b, int64_t ldb, float *c, int64_t ldc,
                       int mr, int nr, float alpha, float beta);

#define UKR_INLINE static inline __attribute__((always_inline))

/* ---------------------------------------------------------------- generic C, 4 x 16 */

UKR_INLINE void ukr_generic_body(int rows, int64_t K, const float *a, int64_t sa, const float *b, int64_t ldb,
                                 float *c, int64_t ldc, int mr, int nr, float alpha, float beta) {
    float acc[4][16] = {{0}};
    const int64_t ar = rows ? sa : 1, ak = rows ? 1 : sa;
    for (int64_t k = 0; k < K; k++) {
        const float *bk = b + k * ldb;
        for (int r = 0; r < mr; r++) {
            const float av = a[r * ar + k * ak];
            for (int j = 0; j < 16; j++) acc[r][j] += av * (j < nr ? bk[j] : 0.0f);
        }
    }
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nr; j++)
            c[r * ldc + j] = beta == 0 ? alpha * acc[r][j] : alpha * acc[r][j] + beta * c[r * ldc + j];
}
static void ukr_generic(int64_t K, const float *a, int64_t sa, const float *b, int64_t ldb, float *c, int64_t ldc,
                        int mr, int nr, float alpha, float beta) {
    ukr_generic_body(0, K, a, sa, b, ldb, c, ldc, mr, nr, alpha, beta);
}
static void ukr_generic_rows(int64_t K, const float *a, int64_t sa, const float *b, int64_t ldb, float *c,
                             int64_t ldc, int mr, int nr, float alpha, float beta) {
    ukr_generic_body(1, K, a, sa, b, ldb, c, ldc, mr, nr, alpha, beta);
}

#ifdef CPU_X86

/* ---------------------------------------------------------------- AVX2 + FMA, 6 x 16 */

UKR_INLINE CPU_AVX2 void ukr_avx2_body(int rows, int64_t K, const float *a, int64_t sa, const float *b, int64_t ldb,
                                       float *c, int64_t ldc, int mr, int nr, float alpha, float beta) {
    const __m256i m0 = cpu_mask8(nr), m1 = cpu_mask8(nr - 8);
    const float *ap[6];
    for (int r = 0; r < 6; r++) ap[r] = a + (r < mr ? r : mr - 1) * sa;
    __m256 acc[6][2];
    for (int r = 0; r < 6; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int64_t k = 0; k < K; k++) {
        const float *bk = b + k * ldb, *ak = a + k * sa;
        __m256 b0 = _mm256_maskload_ps(bk, m0), b1 = _mm256_maskload_ps(bk + 8, m1);
        for (int r = 0; r < 6; r++) {
            __m256 av = _mm256_broadcast_ss(rows ? ap[r] + k : ak + r);
            acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
        }
    }
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    for (int r = 0; r < mr; r++) {
        float *cr = c + r * ldc;
        __m256 y0 = _mm256_mul_ps(va, acc[r][0]), y1 = _mm256_mul_ps(va, acc[r][1]);
        if (beta != 0) {
            y0 = _mm256_fmadd_ps(vb, _mm256_maskload_ps(cr, m0), y0);
            y1 = _mm256_fmadd_ps(vb, _mm256_maskload_ps(cr + 8, m1), y1);
        }
        _mm256_maskstore_ps(cr, m0, y0);
        _mm256_maskstore_ps(cr + 8, m1, y1);
    }
}
CPU_AVX2 static void ukr_avx2(int64_t K, const float *a, int64_t sa, const float *b, int64_t ldb, float *c,
                              int64_t ldc, int mr, int nr, float alpha, float beta) {
    ukr_avx2_body(0, K, a, sa, b, ldb, c, ldc, mr, nr, alpha, beta);
}
CPU_AVX2 static void ukr_avx2_rows(int64_t K, const float *a, int64_t sa, const float *b, int64_t ldb, float *c,
                                   int64_t ldc, int mr, int nr, float alpha, float beta) {
    ukr_avx2_body(1, K, a, sa, b, ldb, c, ldc, mr, nr, alpha, beta);
}

/* ---------------------------------------------------------------- AVX-512, 12 x 32 */

UKR_INLINE CPU_AVX512 void ukr_avx512_body(int rows, int64_t K, const float *a, int64_t sa, const float *b,
                                           int64_t ldb, float *c, int64_t ldc, int mr, int nr, float alpha,
                                           float beta) {
    const __mmask16 k0 = cpu_mask16(nr), k1 = cpu_mask16(nr > 16 ? nr - 16 : 0);
    const float *ap[12];
    for (int r = 0; r < 12; r++) ap[r] = a + (r < mr ? r : mr - 1) * sa;
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
           c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00, c80 = c00,
           c81 = c00, c90 = c00, c91 = c00, ca0 = c00, ca1 = c00, cb0 = c00, cb1 = c00;
#define ROW(R, A0, A1)                                                                                       \
    {                                                                                                        \
        __m512 av = _mm512_set1_ps(rows ? ap[R][k] : ak[R]);                                                 \
        A0 = _mm512_fmadd_ps(av, b0, A0);                                                                    \
        A1 = _mm512_fmadd_ps(av, b1, A1);                                                                    \
    }
    for (int64_t k = 0; k < K; k++) {
        const float *bk = b + k * ldb, *ak = a + k * sa;
        const __m512 b0 = _mm512_maskz_loadu_ps(k0, bk), b1 = _mm512_maskz_loadu_ps(k1, bk + 16);
        ROW(0, c00, c01) ROW(1, c10, c11) ROW(2, c20, c21) ROW(3, c30, c31) ROW(4, c40, c41) ROW(5, c50, c51)
        ROW(6, c60, c61) ROW(7, c70, c71) ROW(8, c80, c81) ROW(9, c90, c91) ROW(10, ca0, ca1) ROW(11, cb0, cb1)
    }
#undef ROW
    const __m512 acc[12][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51},
                               {c60, c61}, {c70, c71}, {c80, c81}, {c90, c91}, {ca0, ca1}, {cb0, cb1}};
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (int r = 0; r < mr; r++) {
        float *cr = c + r * ldc;
        __m512 y0 = _mm512_mul_ps(va, acc[r][0]), y1 = _mm512_mul_ps(va, acc[r][1]);
        if (beta != 0) {
            y0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(k0, cr), y0);
            y1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(k1, cr + 16), y1);
        }
        _mm512_mask_storeu_ps(cr, k0, y0);
        _mm512_mask_storeu_ps(cr + 16, k1, y1);
    }
}
CPU_AVX512 static void ukr_avx512(int64_t K, const float *a, int64_t sa, const float *b, int64_t ldb, float *c,
                                  int64_t ldc, int mr, int nr, float alpha, float beta) {
    ukr_avx512_body(0, K, a, sa, b, ldb, c, ldc, mr, nr, alpha, beta);
}
CPU_AVX512 static void ukr_avx512_rows(int64_t K, const float *a, int64_t sa, const float *b, int64_t ldb, float *c,
                                       int64_t ldc, int mr, int nr, float alpha, float beta) {
    ukr_avx512_body(1, K, a, sa, b, ldb, c, ldc, mr, nr, alpha, beta);
}
#endif

typedef struct gemm_isa {
    ukr_fn ukr, ukr_rows;
    int mr, nr;
    const char *name;
} gemm_isa;

static gemm_isa isa_of(cpu_isa_level level) {
#ifdef CPU_X86
    if (level == CPU_ISA_AVX512) return (gemm_isa){ukr_avx512, ukr_avx512_rows, 12, 32, "avx512"};
    if (level == CPU_ISA_AVX2) return (gemm_isa){ukr_avx2, ukr_avx2_rows, 6, 16, "avx2"};
#endif
    (void)level;
    return (gemm_isa){ukr_generic, ukr_generic_rows, 4, 16, "generic"};
}

const char *cpu_gemm_isa(void) { return isa_of(cpu_isa()).name; }

/* One MR-row tile of C over all of N, K-blocked. op(A)'s rows [i, i+mr) are read in place
 * when they can be: k-major for a transposed A (full tiles), row by row for a row-major A that
 * meets at most two column panels; otherwise they are packed per K block. */
static void gemm_tile(const gemm_isa *isa, int64_t i, int mr, int64_t N, int64_t K, float alpha, const float *A,
                      int64_t rsa, int64_t csa, const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    _Alignas(64) float ap[MR_MAX * KC];
    const int MR = isa->mr;
    const int rows_in_place = csa == 1 && N <= 2 * isa->nr;
    for (int64_t k0 = 0; k0 < K || k0 == 0; k0 += KC) {
        const int64_t kc = K - k0 < KC ? K - k0 : KC;
        const float *a = ap;
        int64_t sa = MR;
        ukr_fn ukr = isa->ukr;
        if (rows_in_place) {
            a = A + i * rsa + k0;
            sa = rsa;
            ukr = isa->ukr_rows;
        } else if (rsa == 1 && mr == MR) { /* transposed A, full tile: rows i..i+MR are contiguous per k */
            a = A + k0 * csa + i;
            sa = csa;
        } else {
            for (int64_t k = 0; k < kc; k++) {
                const float *src = A + i * rsa + (k0 + k) * csa;
                float *dst = ap + k * MR;
                int r = 0;
                for (; r < mr; r++) dst[r] = src[r * rsa];
                for (; r < MR; r++) dst[r] = 0;
            }
        }
        const float b_k = k0 == 0 ? beta : 1.0f; /* later K blocks add to what the first wrote */
        for (int64_t j = 0; j < N; j += isa->nr) {
            const int nr = (int)(N - j < isa->nr ? N - j : isa->nr);
            ukr(kc, a, sa, B + k0 * ldb + j, ldb, C + i * ldc + j, ldc, mr, nr, alpha, b_k);
        }
        if (K == 0) break;
    }
}

void cpu_sgemm(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
               const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    const gemm_isa isa_v = isa_of(cpu_isa()), *isa = &isa_v;
    if (M <= 0 || N <= 0) return;
    /* op(B) as row-major rows of N: B itself, or its transpose copied once */
    const float *Bk = B;
    int64_t ldk = ldb;
    if (tb) {
        float *bt = cpu_scratch(CPU_SCR_GEMM_B, (size_t)(K * N > 0 ? K * N : 1) * sizeof(float));
        if (!bt) { /* out of memory: plain loops */
            for (int64_t i = 0; i < M; i++)
                for (int64_t j = 0; j < N; j++) {
                    float s = 0;
                    for (int64_t k = 0; k < K; k++) s += (ta ? A[k * lda + i] : A[i * lda + k]) * B[j * ldb + k];
                    C[i * ldc + j] = alpha * s + (beta == 0 ? 0 : beta * C[i * ldc + j]);
                }
            return;
        }
        for (int64_t j = 0; j < N; j++)
            for (int64_t k = 0; k < K; k++) bt[k * N + j] = B[j * ldb + k];
        Bk = bt;
        ldk = N;
    }
    const int64_t rsa = ta ? 1 : lda, csa = ta ? lda : 1;
    const int64_t tiles = (M + isa->mr - 1) / isa->mr;
    const int par = (double)M * (double)N * (double)K >= (double)(1 << 17) && tiles > 1;
    _Pragma("omp parallel for schedule(static) if(par)")
    for (int64_t t = 0; t < tiles; t++) {
        const int64_t i = t * isa->mr;
        const int mr = (int)(M - i < isa->mr ? M - i : isa->mr);
        gemm_tile(isa, i, mr, N, K, alpha, A, rsa, csa, Bk, ldk, beta, C, ldc);
    }
}

void cpu_sgemm_serial(int ta, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                      const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    const gemm_isa isa = isa_of(cpu_isa());
    for (int64_t i = 0; i < M; i += isa.mr) {
        const int mr = (int)(M - i < isa.mr ? M - i : isa.mr);
        gemm_tile(&isa, i, mr, N, K, alpha, A, ta ? 1 : lda, ta ? lda : 1, B, ldb, beta, C, ldc);
    }
}
