/* bench_profile.c: presents core's per-op profile (dc_profile.h) for `dynacl bench --profile`:
 * a table sorted by time per step, and the same numbers as JSON. Per-step figures divide the
 * totals by the number of profiled steps. Not here: running the steps (cmd_bench.c) or the
 * peak measurement (fma_peak.c).
 */
#include <stdlib.h>

#include "bench_profile.h"

static int cmp_rows(const void *a, const void *b) {
    const dc_profile_row *x = a, *y = b;
    return (x->ms < y->ms) - (x->ms > y->ms);
}

int bench_profile_collect(dc_backend *be, bench_profile *bp) {
    int n = dc_profile_rows(be, NULL, 0);
    bp->rows = malloc((size_t)(n ? n : 1) * sizeof *bp->rows);
    if (!bp->rows) return 0;
    bp->n_rows = dc_profile_rows(be, bp->rows, n);
    qsort(bp->rows, (size_t)bp->n_rows, sizeof *bp->rows, cmp_rows);
    bp->timer = dc_profile_timer(be);
    return 1;
}

static void totals(const bench_profile *bp, double *kernel_ms, double *flops) {
    *kernel_ms = *flops = 0;
    for (int i = 0; i < bp->n_rows; i++) {
        *kernel_ms += bp->rows[i].ms / bp->steps;
        *flops += bp->rows[i].flops / bp->steps;
    }
}

void bench_profile_print(FILE *f, const char *label, const bench_profile *bp) {
    const double n = bp->steps;
    fprintf(f, "\nprofile: %s, %d step%s, kernels timed by %s\n", label, bp->steps, bp->steps == 1 ? "" : "s",
            bp->timer);
    fprintf(f, "%-17s %-9s %8s %9s %9s %7s %9s %8s\n", "op", "phase", "calls", "ms/step", "us/call", "share",
            "GFLOP/s", "GB/s");
    for (int i = 0; i < bp->n_rows; i++) {
        const dc_profile_row *r = &bp->rows[i];
        const double s = r->ms * 1e-3;
        fprintf(f, "%-17s %-9s %8.1f %9.3f %9.1f %6.1f%% ", dc_op_name(r->op), dc_phase_name(r->phase),
                (double)r->calls / n, r->ms / n, r->ms * 1e3 / (double)r->calls, 100 * r->ms / n / bp->step_ms);
        if (r->flops > 0 && s > 0) fprintf(f, "%9.1f ", r->flops / s * 1e-9);
        else fprintf(f, "%9s ", "-");
        if (s > 0) fprintf(f, "%8.1f\n", r->bytes / s * 1e-9);
        else fprintf(f, "%8s\n", "-");
    }
    double kms, flops;
    totals(bp, &kms, &flops);
    fprintf(f, "%-27s %9s %9.3f %9s %6.1f%%\n", "all kernels", "", kms, "", 100 * kms / bp->step_ms);
    fprintf(f, "%-27s %9s %9.3f %9s %6.1f%%\n", "outside kernels (host)", "", bp->step_ms - kms, "",
            100 * (bp->step_ms - kms) / bp->step_ms);
    fprintf(f, "%-27s %9s %9.3f\n", "step (mean, profiled)", "", bp->step_ms);
    fprintf(f, "step: %.1f MFLOP, %.1f GFLOP/s achieved", flops * 1e-6, flops / (bp->step_ms * 1e-3) * 1e-9);
    if (bp->peak_gflops > 0)
        fprintf(f, "; host CPU fp32 FMA peak %.1f GFLOP/s (%s, %d thread%s)", bp->peak_gflops, bp->peak_isa,
                bp->peak_threads, bp->peak_threads == 1 ? "" : "s");
    if (bp->host_cpu && bp->peak_gflops > 0) {
        double floor_ms = flops / (bp->peak_gflops * 1e9) * 1e3;
        fprintf(f, ": floor %.3f ms, step = %.1fx the floor", floor_ms, bp->step_ms / floor_ms);
    }
    fprintf(f, "\n");
}

void bench_profile_json(FILE *f, const bench_profile *bp) {
    const double n = bp->steps;
    double kms, flops;
    totals(bp, &kms, &flops);
    fprintf(f, "{\"timer\": \"%s\", \"steps\": %d, \"step_ms_mean\": %.4f, \"kernel_ms\": %.4f, \"host_ms\": %.4f, "
            "\"flops_per_step\": %.0f, \"peak_gflops\": %.2f, \"peak_threads\": %d, \"peak_isa\": \"%s\", "
            "\"floor_ms\": %.4f, \"ops\": [",
            bp->timer, bp->steps, bp->step_ms, kms, bp->step_ms - kms, flops, bp->peak_gflops, bp->peak_threads,
            bp->peak_isa ? bp->peak_isa : "", bp->peak_gflops > 0 ? flops / (bp->peak_gflops * 1e9) * 1e3 : 0.0);
    for (int i = 0; i < bp->n_rows; i++) {
        const dc_profile_row *r = &bp->rows[i];
        const double s = r->ms * 1e-3;
        fprintf(f, "%s\n    {\"op\": \"%s\", \"phase\": \"%s\", \"calls_per_step\": %.2f, \"ms_per_step\": %.5f, "
                "\"us_per_call\": %.3f, \"share\": %.5f, \"flops_per_step\": %.0f, \"bytes_per_step\": %.0f, "
                "\"gflops\": %.3f, \"gbps\": %.3f}",
                i ? "," : "", dc_op_name(r->op), dc_phase_name(r->phase), (double)r->calls / n, r->ms / n,
                r->ms * 1e3 / (double)r->calls, r->ms / n / bp->step_ms, r->flops / n, r->bytes / n,
                s > 0 ? r->flops / s * 1e-9 : 0.0, s > 0 ? r->bytes / s * 1e-9 : 0.0);
    }
    fprintf(f, "]}");
}
