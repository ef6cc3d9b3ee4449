/* dc_profile.h: the per-op profiler. While it runs on a backend, every kernel dispatched there
 * is timed and counted per (op, phase), with the op's FLOPs and bytes computed from its shapes.
 *
 *     dc_profile_start(be);                     // clears the counts, times every kernel on be
 *     for (i = 0; i < steps; i++) train_step();
 *     dc_profile_stop(be);                      // waits for the device, resolves the timers
 *     dc_profile_row rows[128];
 *     int n = dc_profile_rows(be, rows, 128);   // one row per (op, phase) that ran
 *
 * Timing: each backend's timer hook (wall clock per kernel on the CPU, OpenCL profiling events,
 * CUDA events where the backend provides them); a backend without one is synchronised before
 * and after each kernel and timed by the host clock. Not here: the tables and JSON printed from
 * the rows (`dynacl bench --profile`), or the machine's peak (tools).
 */
#ifndef DC_PROFILE_H
#define DC_PROFILE_H

#include <stdint.h>

#include "dc_backend.h"
#include "dc_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Which part of a training step dispatched the kernel: the forward pass (anything outside
 * the two below), dc_backward, or the optimizer (dc_params_zero_grad, dc_adamw_step). */
typedef enum dc_phase { DC_PHASE_FORWARD = 0, DC_PHASE_BACKWARD, DC_PHASE_UPDATE, DC_PHASE_COUNT } dc_phase;
const char *dc_phase_name(dc_phase ph);   /* "forward", "backward", "update" */

typedef struct dc_profile_row {
    dc_op op;
    dc_phase phase;
    int64_t calls;
    double ms;       /* total kernel time */
    double flops;    /* total floating-point operations (0: not defined for this op) */
    double bytes;    /* total bytes of the kernels' input and output tensors */
} dc_profile_row;

/* Start (or restart) profiling every kernel dispatched on be; earlier counts are cleared. */
dc_status dc_profile_start(dc_backend *be);
/* Stop profiling: synchronises be and resolves the outstanding device timers. The counts stay
 * readable until the next start or dc_backend_free. */
dc_status dc_profile_stop(dc_backend *be);
/* Copy up to cap rows (ops in dc_ops.def order, phases in order; only those that ran) and
 * return how many there are in all. */
int dc_profile_rows(dc_backend *be, dc_profile_row *rows, int cap);
/* How kernels on be are timed: "wall clock", "device events" or "host clock with syncs". */
const char *dc_profile_timer(const dc_backend *be);

#ifdef __cplusplus
}
#endif
#endif
