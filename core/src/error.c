/* error.c: thread-local last-error state behind dc_fail/dc_last_error, and the report of a
 * broken internal invariant (DC_ASSERT). */
#include "dc/dc_status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dc_internal_assert_fail(const char *expr, const char *file, int line);

#define DC_ERRMSG_MAX 1024

static _Thread_local char g_msg[DC_ERRMSG_MAX];
static _Thread_local dc_status g_status = DC_OK;

const char *dc_last_error(void) { return g_msg; }
dc_status dc_last_status(void) { return g_status; }

void dc_clear_error(void) {
    g_msg[0] = '\0';
    g_status = DC_OK;
}

const char *dc_status_name(dc_status s) {
    switch (s) {
    case DC_OK: return "ok";
    case DC_ERR_ARG: return "bad argument";
    case DC_ERR_SHAPE: return "shape mismatch";
    case DC_ERR_DTYPE: return "dtype mismatch";
    case DC_ERR_OOM: return "out of memory";
    case DC_ERR_BACKEND: return "backend error";
    case DC_ERR_UNSUPPORTED: return "unsupported";
    case DC_ERR_IO: return "I/O error";
    case DC_ERR_FORMAT: return "format error";
    case DC_ERR_NUMERIC: return "numeric error";
    case DC_ERR_STATE: return "invalid state";
    }
    return "unknown status";
}

dc_status dc_fail(dc_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_msg, sizeof g_msg, fmt, ap);
    va_end(ap);
    g_status = s;
    return s;
}

dc_status dc_fail_prefix(const char *fmt, ...) {
    char prefix[256], old[DC_ERRMSG_MAX - 260];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    size_t n = strnlen(g_msg, sizeof old - 1);
    memcpy(old, g_msg, n);
    old[n] = '\0';
    snprintf(g_msg, sizeof g_msg, "%s: %s", prefix, old);
    if (g_status == DC_OK) g_status = DC_ERR_ARG;
    return g_status;
}

void dc_internal_assert_fail(const char *expr, const char *file, int line) {
    fprintf(stderr, "dynacl internal error: %s (%s:%d)\n", expr, file, line);
    abort(); /* invariant violated inside the library: a bug, never user input */
}
