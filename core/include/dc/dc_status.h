/* dc_status.h: status codes and the thread-local last-error message.
 *
 * Every fallible library function returns a dc_status (DC_OK == 0, errors < 0) or
 * NULL, and records a human-readable message at the failure site:
 *
 *     dc_tensor *y = dc_matmul(ctx, x, w, 0, 1);
 *     if (!y) fprintf(stderr, "forward: %s\n", dc_last_error());
 *
 * The library never aborts or exits on user input.
 */
#ifndef DC_STATUS_H
#define DC_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dc_status {
    DC_OK = 0,
    DC_ERR_ARG = -1,         /* bad argument (NULL, out of range, bad option) */
    DC_ERR_SHAPE = -2,       /* shapes do not fit */
    DC_ERR_DTYPE = -3,       /* dtype mismatch or unsupported dtype */
    DC_ERR_OOM = -4,         /* host or device allocation failed */
    DC_ERR_BACKEND = -5,     /* unknown backend, no device, or a vendor call failed */
    DC_ERR_UNSUPPORTED = -6, /* the backend lacks a kernel for this op/dtype */
    DC_ERR_IO = -7,          /* file could not be opened, read or written */
    DC_ERR_FORMAT = -8,      /* malformed file contents */
    DC_ERR_NUMERIC = -9,     /* NaN/Inf where a finite value is required */
    DC_ERR_STATE = -10       /* call out of order (e.g. backward twice) */
} dc_status;

/* Message of the most recent failure on this thread ("" if none). */
const char *dc_last_error(void);
/* Status of the most recent failure on this thread (DC_OK if none). */
dc_status dc_last_status(void);
/* Forget the last failure. */
void dc_clear_error(void);
/* Short constant name of a status ("shape", "out of memory", ...). */
const char *dc_status_name(dc_status s);

/* Record a failure and return its status. printf-style message. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
dc_status dc_fail(dc_status s, const char *fmt, ...);

/* Prefix the current message with "prefix: " (keeps the status). Returns it. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
dc_status dc_fail_prefix(const char *fmt, ...);

#ifdef __cplusplus
}
#endif
#endif
