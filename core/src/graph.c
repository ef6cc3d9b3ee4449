/* graph.c: graph capture and replay through the optional vtable entries (CUDA graphs on
 * the cuda backend), and the warm-up-then-capture driver for training steps.
 * Not here: what may run inside a capture (each backend enforces it, see dc_backend.h).
 */
#include <stdio.h>
#include <stdlib.h>

#include "dc_internal.h"

struct dc_graph {
    dc_backend *be;
    void *handle; /* backend-owned executable graph */
};

int dc_backend_can_capture(dc_backend *be) {
    return be && be->vt->capture_begin && be->vt->capture_end && be->vt->graph_launch && be->vt->graph_free;
}

dc_status dc_graph_capture_begin(dc_backend *be) {
    if (!be) return dc_fail(DC_ERR_ARG, "graph capture: backend is NULL");
    if (!dc_backend_can_capture(be))
        return dc_fail(DC_ERR_UNSUPPORTED, "graph capture: backend %s cannot capture graphs", be->name);
    dc_status st = be->vt->capture_begin(be);
    if (st == DC_OK) be->capturing = 1;
    return st;
}

dc_graph *dc_graph_capture_end(dc_backend *be) {
    if (!be || !dc_backend_can_capture(be)) {
        dc_fail(be ? DC_ERR_UNSUPPORTED : DC_ERR_ARG, "graph capture end: %s cannot capture graphs",
                be ? be->name : "NULL backend");
        return NULL;
    }
    void *h = NULL;
    be->capturing = 0;
    if (be->vt->capture_end(be, &h) != DC_OK) return NULL;
    dc_graph *g = malloc(sizeof *g);
    if (!g) {
        be->vt->graph_free(be, h);
        dc_fail(DC_ERR_OOM, "graph capture end: out of host memory");
        return NULL;
    }
    g->be = be;
    g->handle = h;
    return g;
}

dc_status dc_graph_launch(dc_graph *g) {
    if (!g) return dc_fail(DC_ERR_ARG, "graph launch: graph is NULL");
    return g->be->vt->graph_launch(g->be, g->handle);
}

void dc_graph_free(dc_graph *g) {
    if (!g) return;
    g->be->vt->graph_free(g->be, g->handle);
    free(g);
}

dc_graph *dc_graph_capture_step(dc_backend *be, dc_graph_step_fn step, void *user) {
    if (!be || !step) {
        dc_fail(DC_ERR_ARG, "graph step capture: NULL backend or step function");
        return NULL;
    }
    if (!dc_backend_can_capture(be)) {
        dc_fail(DC_ERR_UNSUPPORTED, "graph step capture: backend %s cannot capture graphs", be->name);
        return NULL;
    }
    dc_status st = step(user); /* warm-up: the step context's pool now holds every buffer */
    if (st == DC_OK) st = dc_backend_sync(be);
    if (st != DC_OK) {
        dc_fail_prefix("graph step capture: warm-up step on %s", be->name);
        return NULL;
    }
    if (dc_graph_capture_begin(be) != DC_OK) return NULL;
    st = step(user);
    if (st != DC_OK) {
        dc_status first = dc_last_status();
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", dc_last_error());
        dc_graph_free(dc_graph_capture_end(be)); /* close the capture; keep the step's error */
        dc_fail(first != DC_OK ? first : st, "graph step capture: captured step on %s: %s", be->name, msg);
        return NULL;
    }
    return dc_graph_capture_end(be);
}
