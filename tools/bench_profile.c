/* bench_profile.c: presents core's per-op profile (dc_profile.h) for `dynacl bench --profile`:
 * a table sorted by time per step, and the same numbers as JSON. Each step is profiled on its
 * own: the means divide the totals by the number of steps, and the fastest step's own times
 * are kept beside them (on a machine that other jobs load, the means mostly measure waiting). Not here: running the steps (cmd_bench.c) or the
 * peak measurement (fma_peak.c).
 */
#include <stdlib.h>
#include <string.h>

#include "bench_profile.h"

static int cmp_rows(const void *a, const void *b) {
    const dc_profile_row *x = a, *y = b;
    return (x->ms < y->ms) - (x->ms > y->ms);
}

int bench_profile_add_step(dc_backend *be, bench_profile_acc *acc, double step_ms) {
    dc_profile_row rows[DC_OP_COUNT * DC_PHASE_COUNT];
    int n = dc_profile_rows(be, rows, DC_OP_COUNT * DC_PHASE_COUNT);
    const int fastest = acc->steps == 0 || step_ms < acc->best_ms;
    if (fastest) {
        memset(acc->best, 0, sizeof acc->best);
        acc->best_ms = step_ms;
    }
    for (int i = 0; i < n; i++) {
        dc_profile_row *t = &acc->total[rows[i].op][rows[i].phase];
        t->op = rows[i].op;
        t->phase = rows[i].phase;
        t->calls += rows[i].calls;
        t->ms += rows[i].ms;
        t->flops += rows[i].flops;
        t->bytes += rows[i].bytes;
        if (fastest) acc->best[rows[i].op][rows[i].phase] = rows[i];
    }
    acc->sum_ms += step_ms;
    acc->steps++;
    return 1;
}

int bench_profile_finish(dc_backend *be, const bench_profile_acc *acc, bench_profile *bp) {
    int n = 0;
    for (int op = 0; op < DC_OP_COUNT; op++)
        for (int ph = 0; ph < DC_PHASE_COUNT; ph++) n += acc->total[op][ph].calls > 0;
    bp->rows = malloc((size_t)(n ? n : 1) * sizeof *bp->rows);
    bp->best = malloc((size_t)(n ? n : 1) * sizeof *bp->best);
    if (!bp->rows || !bp->best) return 0;
    bp->n_rows = 0;
    for (int op = 0; op < DC_OP_COUNT; op++)
        for (int ph = 0; ph < DC_PHASE_COUNT; ph++)
            if (acc->total[op][ph].calls > 0) bp->rows[bp->n_rows++] = acc->total[op][ph];
    qsort(bp->rows, (size_t)bp->n_rows, sizeof *bp->rows, cmp_rows);
    for (int i = 0; i < bp->n_rows; i++) bp->best[i] = acc->best[bp->rows[i].op][bp->rows[i].phase];
    bp->steps = acc->steps;
    bp->step_ms = acc->steps ? acc->sum_ms / acc->steps : 0;
    bp->best_ms = acc->best_ms;
    bp->timer = dc_profile_timer(be);
    return 1;
}

static void totals(const bench_profile *bp, double *kernel_ms, double *best_ms, double *flops) {
    *kernel_ms = *best_ms = *flops = 0;
    for (int i = 0; i < bp->n_rows; i++) {
        *kernel_ms += bp->rows[i].ms / bp->steps;
        *best_ms += bp->best[i].ms;
        *flops += bp->rows[i].flops / bp->steps;
    }
}

static void rate(FILE *f, double v, double s) {
    if (v > 0 && s > 0) fprintf(f, " %8.1f", v / s * 1e-9);
    else fprintf(f, " %8s", "-");
}

void bench_profile_print(FILE *f, const char *label, const bench_profile *bp) {
    const double n = bp->steps;
    fprintf(f, "\nprofile: %s, %d step%s, kernels timed by %s; the fastest step took %.3f ms\n", label, bp->steps,
            bp->steps == 1 ? "" : "s", bp->timer, bp->best_ms);
    fprintf(f, "%-16s %-8s %6s %9s %6s | %9s %6s %8s %8s\n", "op", "phase", "calls", "ms/step", "share", "fastest",
            "share", "GFLOP/s", "GB/s");
    for (int i = 0; i < bp->n_rows; i++) {
        const dc_profile_row *r = &bp->rows[i], *b = &bp->best[i];
        fprintf(f, "%-16s %-8s %6.1f %9.3f %5.1f%% | %9.3f %5.1f%%", dc_op_name(r->op), dc_phase_name(r->phase),
                (double)r->calls / n, r->ms / n, 100 * r->ms / n / bp->step_ms, b->ms, 100 * b->ms / bp->best_ms);
        rate(f, b->flops, b->ms * 1e-3);
        rate(f, b->bytes, b->ms * 1e-3);
        fprintf(f, "\n");
    }
    double kms, kbest, flops;
    totals(bp, &kms, &kbest, &flops);
    fprintf(f, "%-31s %9.3f %5.1f%% | %9.3f %5.1f%%\n", "all kernels", kms, 100 * kms / bp->step_ms, kbest,
            100 * kbest / bp->best_ms);
    fprintf(f, "%-31s %9.3f %5.1f%% | %9.3f %5.1f%%\n", "outside kernels (host)", bp->step_ms - kms,
            100 * (bp->step_ms - kms) / bp->step_ms, bp->best_ms - kbest, 100 * (bp->best_ms - kbest) / bp->best_ms);
    fprintf(f, "%-31s %9.3f        | %9.3f\n", "step", bp->step_ms, bp->best_ms);
    fprintf(f, "step: %.1f MFLOP, %.1f GFLOP/s in the fastest step", flops * 1e-6, flops / (bp->best_ms * 1e-3) * 1e-9);
    if (bp->peak_gflops > 0)
        fprintf(f, "; host CPU fp32 FMA peak %.1f GFLOP/s (%s, %d thread%s)", bp->peak_gflops, bp->peak_isa,
                bp->peak_threads, bp->peak_threads == 1 ? "" : "s");
    if (bp->host_cpu && bp->peak_gflops > 0) {
        double floor_ms = flops / (bp->peak_gflops * 1e9) * 1e3;
        fprintf(f, ": floor %.3f ms, fastest step = %.1fx the floor", floor_ms, bp->best_ms / floor_ms);
    }
    fprintf(f, "\n");
}

void bench_profile_json(FILE *f, const bench_profile *bp) {
    const double n = bp->steps;
    double kms, kbest, flops;
    totals(bp, &kms, &kbest, &flops);
    fprintf(f, "{\"timer\": \"%s\", \"steps\": %d, \"step_ms_mean\": %.4f, \"step_ms_fastest\": %.4f, "
            "\"kernel_ms\": %.4f, \"host_ms\": %.4f, \"flops_per_step\": %.0f, \"peak_gflops\": %.2f, "
            "\"peak_threads\": %d, \"peak_isa\": \"%s\", \"floor_ms\": %.4f, \"ops\": [",
            bp->timer, bp->steps, bp->step_ms, bp->best_ms, kms, bp->step_ms - kms, flops, bp->peak_gflops,
            bp->peak_threads, bp->peak_isa ? bp->peak_isa : "", bp->peak_gflops > 0 ? flops / (bp->peak_gflops * 1e9) * 1e3 : 0.0);
    for (int i = 0; i < bp->n_rows; i++) {
        const dc_profile_row *r = &bp->rows[i], *b = &bp->best[i];
        const double s = r->ms * 1e-3, sb = b->ms * 1e-3;
        fprintf(f, "%s\n    {\"op\": \"%s\", \"phase\": \"%s\", \"calls_per_step\": %.2f, \"ms_per_step\": %.5f, "
                "\"us_per_call\": %.3f, \"share\": %.5f, \"ms_fastest_step\": %.5f, \"share_fastest_step\": %.5f, "
                "\"flops_per_step\": %.0f, \"bytes_per_step\": %.0f, \"gflops\": %.3f, \"gbps\": %.3f, "
                "\"gflops_mean\": %.3f}",
                i ? "," : "", dc_op_name(r->op), dc_phase_name(r->phase), (double)r->calls / n, r->ms / n,
                r->ms * 1e3 / (double)r->calls, r->ms / n / bp->step_ms, b->ms, b->ms / bp->best_ms, r->flops / n,
                r->bytes / n, sb > 0 ? b->flops / sb * 1e-9 : 0.0, sb > 0 ? b->bytes / sb * 1e-9 : 0.0,
                s > 0 ? r->flops / s * 1e-9 : 0.0);
    }
    fprintf(f, "]}");
}
