/* bench_profile.h: the per-op profile of `dynacl bench --profile`, as a table and as JSON
 * (bench_profile.c). The measuring is core's profiler (dc_profile.h); this only presents it.
 */
#ifndef DC_BENCH_PROFILE_H
#define DC_BENCH_PROFILE_H

#include <stdio.h>

#include "dc/dc.h"

typedef struct bench_profile {
    int steps;               /* profiled steps */
    double step_ms;          /* mean wall time of a profiled step */
    double best_ms;          /* wall time of the fastest profiled step */
    const char *timer;       /* dc_profile_timer */
    int host_cpu;            /* the backend runs on the host CPU: print the floor against its peak */
    double peak_gflops;      /* host CPU fp32 FMA peak (dc_fma_peak_gflops) */
    int peak_threads;
    const char *peak_isa;
    dc_profile_row *rows;    /* totals over the steps, sorted by time, longest first */
    dc_profile_row *best;    /* the same (op, phase) in the fastest step (calls 0 if absent) */
    int n_rows;
} bench_profile;

/* Accumulates one profiled step (after dc_profile_stop) that took step_ms: its rows are added
 * to the totals, and kept as the fastest step's when it is the fastest so far. */
typedef struct bench_profile_acc {
    dc_profile_row total[DC_OP_COUNT][DC_PHASE_COUNT], best[DC_OP_COUNT][DC_PHASE_COUNT];
    double best_ms, sum_ms;
    int steps;
} bench_profile_acc;
int bench_profile_add_step(dc_backend *be, bench_profile_acc *acc, double step_ms);
/* Fill bp from the accumulated steps (rows malloc'ed: free(bp->rows), free(bp->best)). */
int bench_profile_finish(dc_backend *be, const bench_profile_acc *acc, bench_profile *bp);
/* The table: one row per (op, phase) with calls and mean time per step, its share of the mean
 * step, its time and share in the fastest step (steadier than the mean on a loaded machine), and
 * GFLOP/s and GB/s in the fastest step; then the step's FLOPs, the peak and the floor. */
void bench_profile_print(FILE *f, const char *label, const bench_profile *bp);
/* The same as a JSON object (no trailing newline). */
void bench_profile_json(FILE *f, const bench_profile *bp);

#endif
