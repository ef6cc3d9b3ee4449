/* profile.c: the per-op profiler (dc_profile.h). dc_dispatch hands every kernel call on a
 * profiled backend to dc_profile_run, which times it with the backend's timer hooks (or,
 * without them, host clock between two syncs) and adds it to a table per (op, phase) with the
 * nominal FLOPs and bytes of op_cost.c. Device timer marks are kept as pairs and resolved in
 * batches, so profiling does not synchronise a GPU after every kernel.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dc/dc_profile.h"
#include "dc_internal.h"

#define MAX_PENDING 4096

typedef struct prof_agg {
    int64_t calls;
    double ms, flops, bytes;
} prof_agg;

typedef struct prof_pending {
    dc_op op;
    dc_phase phase;
    double flops, bytes;
    void *m0, *m1;
} prof_pending;

struct dc_profiler {
    int active;
    prof_agg agg[DC_OP_COUNT][DC_PHASE_COUNT];
    prof_pending pend[MAX_PENDING];
    int n_pend;
};

static _Thread_local dc_phase g_phase = DC_PHASE_FORWARD;

dc_phase dc_profile_set_phase(dc_phase ph) {
    dc_phase old = g_phase;
    g_phase = ph;
    return old;
}

const char *dc_phase_name(dc_phase ph) {
    static const char *const names[DC_PHASE_COUNT] = {"forward", "backward", "update"};
    return (int)ph >= 0 && ph < DC_PHASE_COUNT ? names[ph] : "?";
}

static int has_hooks(const dc_backend *be) {
    return be->vt->timer_mark && be->vt->timer_elapsed && be->vt->timer_free;
}

const char *dc_profile_timer(const dc_backend *be) {
    if (!be) return "?";
    if (!has_hooks(be)) return "host clock with syncs";
    return be->vt->sync ? "device events" : "wall clock";
}

static double host_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static void add(struct dc_profiler *p, dc_op op, dc_phase ph, double ms, double flops, double bytes) {
    prof_agg *g = &p->agg[op][ph];
    g->calls++;
    g->ms += ms;
    g->flops += flops;
    g->bytes += bytes;
}

/* Resolve every pending pair of marks (waits for the device where the hook must). */
static dc_status resolve(dc_backend *be) {
    struct dc_profiler *p = be->prof;
    dc_status st = DC_OK;
    for (int i = 0; i < p->n_pend; i++) {
        prof_pending *q = &p->pend[i];
        double ms = 0;
        if (st == DC_OK) st = be->vt->timer_elapsed(be, q->m0, q->m1, &ms);
        if (st == DC_OK) add(p, q->op, q->phase, ms, q->flops, q->bytes);
        be->vt->timer_free(be, q->m0);
        be->vt->timer_free(be, q->m1);
    }
    p->n_pend = 0;
    return st;
}

dc_status dc_profile_run(dc_backend *be, dc_kernel_fn fn, const dc_kernel_args *a) {
    struct dc_profiler *p = be->prof;
    if (!p || !p->active) return fn(be, a);
    double flops, bytes;
    dc_op_cost(a, &flops, &bytes);
    const dc_phase ph = g_phase;
    if (has_hooks(be)) {
        if (p->n_pend == MAX_PENDING) {
            dc_status st = resolve(be);
            if (st != DC_OK) return st;
        }
        void *m0 = NULL, *m1 = NULL;
        dc_status st = be->vt->timer_mark(be, &m0);
        if (st != DC_OK) return st;
        dc_status kst = fn(be, a);
        st = be->vt->timer_mark(be, &m1);
        if (st != DC_OK) {
            be->vt->timer_free(be, m0);
            return kst != DC_OK ? kst : st;
        }
        p->pend[p->n_pend++] = (prof_pending){a->op, ph, flops, bytes, m0, m1};
        return kst;
    }
    dc_status st = dc_backend_sync(be);
    if (st != DC_OK) return st;
    double t0 = host_ms();
    dc_status kst = fn(be, a);
    st = dc_backend_sync(be);
    add(p, a->op, ph, host_ms() - t0, flops, bytes);
    return kst != DC_OK ? kst : st;
}

dc_status dc_profile_start(dc_backend *be) {
    if (!be) return dc_fail(DC_ERR_ARG, "profile start: backend is NULL");
    if (be->prof) {
        dc_status st = dc_profile_stop(be);
        if (st != DC_OK) return st;
    } else if (!(be->prof = malloc(sizeof *be->prof))) {
        return dc_fail(DC_ERR_OOM, "profile start: out of host memory");
    }
    memset(be->prof, 0, sizeof *be->prof);
    be->prof->active = 1;
    return DC_OK;
}

dc_status dc_profile_stop(dc_backend *be) {
    if (!be) return dc_fail(DC_ERR_ARG, "profile stop: backend is NULL");
    if (!be->prof || !be->prof->active) return DC_OK;
    be->prof->active = 0;
    dc_status st = dc_backend_sync(be);
    dc_status rst = has_hooks(be) ? resolve(be) : DC_OK;
    return st != DC_OK ? st : rst;
}

int dc_profile_rows(dc_backend *be, dc_profile_row *rows, int cap) {
    if (!be || !be->prof) return 0;
    int n = 0;
    for (int op = 0; op < DC_OP_COUNT; op++)
        for (int ph = 0; ph < DC_PHASE_COUNT; ph++) {
            const prof_agg *g = &be->prof->agg[op][ph];
            if (!g->calls) continue;
            if (rows && n < cap) rows[n] = (dc_profile_row){(dc_op)op, (dc_phase)ph, g->calls, g->ms, g->flops, g->bytes};
            n++;
        }
    return n;
}

void dc_profile_free(dc_backend *be) {
    if (!be || !be->prof) return;
    if (be->prof->active) dc_profile_stop(be);
    else if (be->prof->n_pend) resolve(be);
    free(be->prof);
    be->prof = NULL;
}
