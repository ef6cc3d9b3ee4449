/* dc_backend.h: finding and opening backends at run time.
 *
 *     dc_backend *be = dc_backend_new("cuda:0");   // or "cpu", "cpu-ref", "opencl", "opencl:1"
 *     if (!be) { fprintf(stderr, "%s\n", dc_last_error()); be = dc_backend_new("cpu"); }
 *
 * Compiled-in backends are listed even when they have no device; dc_backend_kind_devices
 * then returns 0 and says why. The default backend is the first kind with a device
 * (GPUs are registered before the CPU).
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
/* The first kind with a device ("cuda", else "opencl", else "cpu"). */
dc_backend *dc_backend_default(void);
void dc_backend_free(dc_backend *be);
const char *dc_backend_name(const dc_backend *be);   /* "cuda:0" */
const char *dc_backend_kind(const dc_backend *be);   /* "cuda" */
dc_status dc_backend_sync(dc_backend *be);
/* 1 if the backend implements the op for the dtype (see dc_ops.h for op ids). */
int dc_backend_supports(dc_backend *be, int op, int dtype);

#ifdef __cplusplus
}
#endif
#endif
