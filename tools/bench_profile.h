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
    const char *timer;       /* dc_profile_timer */
    int host_cpu;            /* the backend runs on the host CPU: print the floor against its peak */
    double peak_gflops;      /* host CPU fp32 FMA peak (dc_fma_peak_gflops) */
    int peak_threads;
    const char *peak_isa;
    dc_profile_row *rows;    /* sorted by time, longest first */
    int n_rows;
} bench_profile;

/* Fill bp from the backend's profiler after dc_profile_stop (rows malloc'ed: free(bp->rows)). */
int bench_profile_collect(dc_backend *be, bench_profile *bp);
/* The table: one row per (op, phase) with calls and time per step, mean time per call, share
 * of the step, GFLOP/s and GB/s; then the step's FLOPs, the peak and the floor. */
void bench_profile_print(FILE *f, const char *label, const bench_profile *bp);
/* The same as a JSON object (no trailing newline). */
void bench_profile_json(FILE *f, const bench_profile *bp);

#endif
