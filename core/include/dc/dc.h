/* dc.h: umbrella header of libdynacl's core.
 *
 *     #include <dc/dc.h>
 *     dc_backend *be = dc_backend_new("cpu");
 *     dc_ctx *ctx = dc_ctx_new(be);
 *     ...
 *
 * See docs/ARCHITECTURE.md for the layers and docs/OPS.md for every op.
 */
#ifndef DC_H
#define DC_H

#include "dc_autodiff.h"
#include "dc_backend.h"
#include "dc_ops.h"
#include "dc_optim.h"
#include "dc_profile.h"
#include "dc_rng.h"
#include "dc_status.h"
#include "dc_tensor.h"

const char *dc_version(void);

#endif
