/* dc_backend.h: finding and opening backends at run time.
 *
 *     dc_backend *be = dc_backend_new("cuda:0");   // or "cpu", "cpu-ref", "opencl", "opencl:1"
 *     if (!be) { fprintf(stderr, "%s\n", dc_last_error()); be = dc_backend_new("cpu"); }
 *
 * Compiled-in backends are listed, highest priority first, even when they have no device;
 * dc_backend_kind_devices then returns 0 and says why. The default backend is the kind of
 * highest priority that has a device. Priorities are set where each backend registers
 * (backends/<name>/CMakeLists.txt): cuda 100, cpu 50, opencl 10 (only on request: PoCL's
 * CPU device is slower than "cpu"), cpu-ref 0.
 */
#ifndef DC_BACKEND_H
#define DC_BACKEND_H

#include <stddef.h>

#include "dc_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dc_backend dc_backend;

int dc_backend_kind_count(void);
const char *dc_backend_kind_name(int kind);
/* Number of devices of this kind; when 0, why[] says why (may be NULL). */
int dc_backend_kind_devices(int kind, char *why, size_t why_cap);
/* Human-readable description of one device. */
dc_status dc_backend_kind_device_desc(int kind, int device, char *buf, size_t cap);

/* spec: "name" or "name:device". NULL + message if unknown or unavailable. */
dc_backend *dc_backend_new(const char *spec);
/* The available kind of highest priority ("cuda" when it has a device, else "cpu"). */
dc_backend *dc_backend_default(void);
void dc_backend_free(dc_backend *be);
const char *dc_backend_name(const dc_backend *be);   /* "cuda:0" */
const char *dc_backend_kind(const dc_backend *be);   /* "cuda" */
dc_status dc_backend_sync(dc_backend *be);
/* 1 if the backend implements the op for the dtype (see dc_ops.h for op ids); 0 for a
 * kernel switched off by dc_backend_set_no_fused. */
int dc_backend_supports(dc_backend *be, int op, int dtype);
/* 1 if the backend claims bit-identical results for identical calls (cpu, cpu-ref, ...). */
int dc_backend_is_deterministic(const dc_backend *be);
/* Fused kernels off (on = 1): every kernel that has a composite (dc_op_has_composite: fused
 * ops, losses, *_BACK, ADAMW) runs as that composite of primitive ops, as on a backend that
 * implements only the primitives. dc_backend_new sets it from the environment variable
 * DC_NO_FUSED=1 (or =mpxent,l2norm_back: only those kernels). Returns the previous setting
 * (1 only if every such kernel was off). */
int dc_backend_set_no_fused(dc_backend *be, int on);
int dc_backend_no_fused(const dc_backend *be);

/* ---- graph capture (CUDA graphs; core/src/graph.c) ----
 *
 *     dc_graph *g = dc_graph_capture_step(be, my_step, &state);  // 1 eager step, then capture 1
 *     for (i = 0; i < steps; i++) dc_graph_launch(g);            // each launch = one more step
 *     dc_backend_sync(be);  read the loss tensor;  dc_graph_free(g);
 *
 * Between dc_graph_capture_begin and dc_graph_capture_end the backend records what is
 * issued instead of running it. The captured code must not allocate (a step context that
 * ran the same step once allocates nothing: dc_ctx_reset pools its buffers and hands the
 * same ones back), download or synchronise; those calls fail with DC_ERR_STATE. Small
 * uploads inside the step (a method's indices, masks and targets; up to 64 KiB each on
 * cuda) are recorded with their bytes; larger ones (inputs) fail: upload them before the
 * capture or between launches. Scalar parameters (learning rate, RNG counters, shapes) and
 * the recorded uploads are frozen into the graph: every replay repeats the captured step's
 * random draws. A step whose shapes change (TS2Vec's random crops) cannot be one graph.
 * AdamW's step count lives on the device, so replays advance it. Buffers the graph uses
 * must outlive it: do not trim or free the step context, parameters or inputs until
 * dc_graph_free. Inputs can be refreshed between launches by uploading into the same
 * tensors (uploads are ordered with launches). Host-side counters touched by the captured
 * code (dc_adamw_steps, an encoder's num_batches_tracked) advance once at capture and not
 * on replays: after R launches, add R - 1 to them. */
typedef struct dc_graph dc_graph;
/* 1 if the backend can capture graphs (cuda), else 0 (cpu, opencl). */
int dc_backend_can_capture(dc_backend *be);
dc_status dc_graph_capture_begin(dc_backend *be);
/* Ends the capture (also after an error inside it) and returns the graph, or NULL + error. */
dc_graph *dc_graph_capture_end(dc_backend *be);
/* Enqueue one replay on the graph's backend (asynchronous; dc_backend_sync waits). */
dc_status dc_graph_launch(dc_graph *g);
void dc_graph_free(dc_graph *g);   /* accepts NULL */
/* The training-step driver: calls step(user) once eagerly (the warm-up: fills the step
 * context's pool, creates library handles and plans; it is a real step), then captures a
 * second call into a graph and returns it without running it. step must reset its step
 * context first and issue the same work on every call. NULL + error if the backend cannot
 * capture or a call fails; the capture is always closed. */
typedef dc_status (*dc_graph_step_fn)(void *user);
dc_graph *dc_graph_capture_step(dc_backend *be, dc_graph_step_fn step, void *user);

#ifdef __cplusplus
}
#endif
#endif
