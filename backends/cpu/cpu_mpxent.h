/* cpu_mpxent.h: pieces shared by the CPU's MP-Xent kernels (cpu_mpxent.c: reference and
 * float64; cpu_mpxent_tiled.c: float32). Notation of cpu_mpxent.c.
 */
#ifndef DC_CPU_MPXENT_H
#define DC_CPU_MPXENT_H

#include <stdint.h>

#include "dc/dc_backend_impl.h"

/* 1 if row a is an anchor: position t = a mod L inside its block of L rows is in 1..L-2
 * (multi-positive) or 0..L-2 (single positive). */
static inline int cpu_mpx_is_anchor(int64_t a, int64_t L, int single) {
    int64_t t = a % L;
    return single ? (t <= L - 2) : (t >= 1 && t <= L - 2);
}

/* From the column sums C (N) and the sub-diagonal l (l_j = E_{j+1,j}, N-1): the loss
 * mean_a (log den_a - log num_a), and for the gradient the column weights w (N) and the
 * sub-diagonal coefficients sub (N), both overwritten. */
double cpu_mpx_anchors(int64_t N, int64_t L, int single, const double *C, const double *l, double *w, double *sub);

/* dz = (dzh - zh (zh . dzh)) / ||z|| per row (dzh / eps where ||z|| <= eps), in place. */
void cpu_mpx_norm_back_f32(float *dz, const float *zh, const double *nrm, int64_t N, int64_t F, double eps);

dc_status cpu_mpxent_f32(dc_backend *be, const dc_kernel_args *a);

#endif
