/* fused_composite.h: the "fused against composite" check of one op case, and a backend that
 * implements only the primitive kernels (a wrapper of a compiled-in kind). test_composite
 * runs the check over the op-case table; a conformance suite runs fc_compare_case per
 * (case, backend, dtype) as one more check kind. Not part of the library.
 */
#ifndef DC_FUSED_COMPOSITE_H
#define DC_FUSED_COMPOSITE_H

#include "conformance.h"

/* Open `kind` ("cpu", "opencl") with every kernel slot that is not a primitive set to NULL
 * (dc_op_is_primitive), so every other kernel runs as its composite: a minimal port. Its
 * host transfers (upload, download, sync) fail with DC_ERR_STATE while fc_forbid_transfers
 * is on, as they do inside a CUDA graph capture. Free with dc_backend_free. NULL + error
 * when the kind cannot be opened. */
dc_backend *fc_primitive_backend(const char *kind);
/* Make the primitives-only backends refuse host transfers (on = 1) or allow them again;
 * returns the previous setting. */
int fc_forbid_transfers(int on);

typedef struct fc_result {
    double fwd_err;               /* relative L2 error of the output, composite against fused */
    double grad_err[CONF_MAX_IN];  /* the same for each input that gets a gradient, else 0 */
    double worst;                 /* the largest of them */
    int64_t nonfinite_mismatch;   /* elements NaN/Inf on one side only (an unwritten output) */
    uint64_t composites;          /* bit op set: op's composite ran on the composite side */
} fc_result;

/* Run case c in dtype dt on `fused` (the backend as shipped) and on `composite` (the same
 * kind with its fused kernels off: fc_primitive_backend, or any backend after
 * dc_backend_set_no_fused(be, 1)), from the same inputs (f32 values, converted to dt) and
 * the same upstream gradient, with fresh outputs poisoned with NaN; host transfers are
 * refused while the composite side runs the op and its backward (on a primitives-only
 * backend). Compares the output and every input gradient by relative L2 error
 * (||a - b|| / ||b||, absolute when ||b|| = 0). Returns DC_OK, or the status of the first
 * failure with dc_last_error() saying which side and op failed. Uses only the public API. */
dc_status fc_compare_case(const conf_case *c, dc_backend *fused, dc_backend *composite, dc_dtype dt, fc_result *r);

/* Relative L2 error of n values a against b; counts NaN/Inf mismatches into *nonfinite. */
double fc_rel_err(const double *a, const double *b, int64_t n, int64_t *nonfinite);
/* A float tensor's values as doubles (malloc'd; NULL + error on failure). */
double *fc_to_host(const dc_tensor *t);

#endif
