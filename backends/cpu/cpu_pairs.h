/* cpu_pairs.h: the upper-triangular tiling of an N x N matrix that the fused loss kernels
 * (MP-Xent, the margin loss) walk instead of materialising it. Rows and columns are cut into
 * nb blocks of CPU_TB; pair p is block pair (I, J), I <= J, in row-major order, and its tile
 * is stored at tiles + p * CPU_TB * CPU_TB with row stride CPU_TB (edge tiles use part of it).
 * Work is split by pair or by block row and every partial result is kept per pair, so the
 * kernels' sums do not depend on which thread computed what.
 */
#ifndef DC_CPU_PAIRS_H
#define DC_CPU_PAIRS_H

#include <stdint.h>

#define CPU_TB 96 /* a multiple of both micro-tile sides (12 rows, 32 columns): 36 KB per tile */

typedef struct cpu_pairs {
    int64_t N, nb, np;
} cpu_pairs;

static inline cpu_pairs cpu_pairs_of(int64_t N) {
    cpu_pairs P;
    P.N = N;
    P.nb = (N + CPU_TB - 1) / CPU_TB;
    P.np = P.nb * (P.nb + 1) / 2;
    return P;
}

/* pair p -> blocks (I, J), I <= J */
static inline void cpu_pair_blocks(const cpu_pairs *P, int64_t p, int64_t *I, int64_t *J) {
    int64_t i = 0;
    while (p >= P->nb - i) p -= P->nb - i++;
    *I = i;
    *J = i + p;
}

/* blocks (I, J), I <= J -> pair */
static inline int64_t cpu_pair_index(const cpu_pairs *P, int64_t I, int64_t J) {
    return I * P->nb - I * (I - 1) / 2 + (J - I);
}

/* first row and row count of block b */
static inline int64_t cpu_block_start(int64_t b) { return b * CPU_TB; }
static inline int cpu_block_len(const cpu_pairs *P, int64_t b) {
    int64_t n = P->N - b * CPU_TB;
    return (int)(n < CPU_TB ? n : CPU_TB);
}

/* Float32 helpers of the tiled kernels (cpu_mpxent_tiled.c):
 * rows of z (N, F) normalised by max(||z||, eps) into zh (N, F) and zhT (F, N), norms in nrm;
 * out (N, F) = T zh for the symmetric matrix T whose upper tiles are stored (the lower ones are
 * read transposed), one block row per task;
 * out[j+1] += coef[j] zh[j] and out[j] += coef[j] zh[j+1] for j < N-1 (a symmetric sub-diagonal). */
void cpu_pairs_normalise(const float *z, int64_t N, int64_t F, double eps, float *zh, float *zhT, double *nrm);
void cpu_pairs_sym_gemm(const cpu_pairs *P, const float *tiles, const float *zh, int64_t F, float *out);
void cpu_pairs_sub_terms(const float *zh, int64_t N, int64_t F, const double *coef, float *out);

#endif
