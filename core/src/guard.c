/* guard.c: guard regions of poison mode (dc_ctx_set_poison). A buffer handed to a new
 * tensor of a poisoned context gets DC_GUARD_LO bytes of a pattern before the tensor's
 * bytes and up to DC_GUARD_HI_MAX bytes after them: the after-guard starts where the
 * requested bytes end, so it also covers the slack of a pooled buffer (up to twice the
 * request). The dispatch checks the guards of every buffer a kernel was given, through
 * the backend's own upload and download, so this works on every backend; where the backend
 * refuses transfers for now (a graph capture), guards are left unchecked. Not here: the
 * NaN fill of new tensors (tensor.c), the pool (context.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_internal.h"

/* a 4-byte pattern no kernel writes by chance: as f32 it is -1.1e29, as i32 -272716322 */
static const unsigned char k_pattern[4] = {0xDE, 0xAD, 0xBE, 0xEF};

static void pattern_fill(unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = k_pattern[i % 4];
}

int dc_guard_poison_env(void) {
    const char *e = getenv("DC_POISON");
    return e && *e && strcmp(e, "0") != 0;
}

/* The last error before a guard transfer, to put back when the backend refuses the
 * transfer for now (DC_ERR_STATE: inside a graph capture, or a test double that forbids
 * host transfers during a step): the guards then stay unchecked instead of failing. */
typedef struct saved_error {
    dc_status st;
    char msg[512];
} saved_error;

static void save_error(saved_error *e) {
    e->st = dc_last_status();
    if (e->st != DC_OK) snprintf(e->msg, sizeof e->msg, "%s", dc_last_error());
}

/* 1 if st is a refusal to transfer now; the error of before the transfer is restored */
static int refused(dc_status st, const saved_error *e) {
    if (st != DC_ERR_STATE) return 0;
    if (e->st == DC_OK) dc_clear_error();
    else dc_fail(e->st, "%s", e->msg);
    return 1;
}

dc_status dc_guard_arm(dc_buffer *buf, size_t used) {
    dc_backend *be = buf->be;
    buf->guard_lo = DC_GUARD_LO;
    buf->used = used;
    buf->guard_hi = 0;
    if (be->capturing) return DC_OK; /* no uploads inside a capture: the guards stay unchecked */
    size_t hi = buf->size - DC_GUARD_LO - used;
    if (hi > DC_GUARD_HI_MAX) hi = DC_GUARD_HI_MAX;
    unsigned char pat[DC_GUARD_HI_MAX > DC_GUARD_LO ? DC_GUARD_HI_MAX : DC_GUARD_LO];
    pattern_fill(pat, sizeof pat);
    saved_error e;
    save_error(&e);
    dc_status st = be->vt->upload(be, buf, 0, pat, DC_GUARD_LO);
    if (st == DC_OK && hi) st = be->vt->upload(be, buf, DC_GUARD_LO + used, pat, hi);
    if (refused(st, &e)) return DC_OK;
    if (st != DC_OK) return dc_fail_prefix("poison mode: writing the guards of a %zu-byte buffer on %s", used, be->name);
    buf->guard_hi = hi;
    return DC_OK;
}

/* 1 and the offset of the first changed byte in *at when the region differs from the pattern */
static int region_changed(const unsigned char *got, size_t n, size_t *at) {
    for (size_t i = 0; i < n; i++)
        if (got[i] != k_pattern[i % 4]) {
            *at = i;
            return 1;
        }
    return 0;
}

/* Check one buffer; `role` names the tensor ("output 0") for the message. */
static dc_status check_buffer(const dc_kernel_args *a, const dc_buffer *buf, const dc_tensor *t, const char *role) {
    dc_backend *be = buf->be;
    unsigned char got[DC_GUARD_HI_MAX > DC_GUARD_LO ? DC_GUARD_HI_MAX : DC_GUARD_LO];
    size_t at = 0;
    char desc[160];
    saved_error e;
    save_error(&e);
    dc_status st = be->vt->download(be, buf, 0, got, DC_GUARD_LO);
    if (refused(st, &e)) return DC_OK;
    if (st != DC_OK) return dc_fail_prefix("%s: reading the guard before %s on %s", dc_op_name(a->op), role, be->name);
    if (region_changed(got, DC_GUARD_LO, &at))
        return dc_fail(DC_ERR_BACKEND,
                       "%s on %s wrote before the start of %s (%s, %zu bytes): guard byte -%zu of %d changed "
                       "(out-of-bounds write, side: before)",
                       dc_op_name(a->op), be->name, role, dc_tensor_describe(t, desc, sizeof desc), buf->used,
                       DC_GUARD_LO - at, DC_GUARD_LO);
    st = be->vt->download(be, buf, DC_GUARD_LO + buf->used, got, buf->guard_hi);
    if (refused(st, &e)) return DC_OK;
    if (st != DC_OK) return dc_fail_prefix("%s: reading the guard after %s on %s", dc_op_name(a->op), role, be->name);
    if (region_changed(got, buf->guard_hi, &at))
        return dc_fail(DC_ERR_BACKEND,
                       "%s on %s wrote past the end of %s (%s, %zu bytes): guard byte +%zu changed "
                       "(out-of-bounds write, side: after)",
                       dc_op_name(a->op), be->name, role, dc_tensor_describe(t, desc, sizeof desc), buf->used, at);
    return DC_OK;
}

dc_status dc_guard_check(dc_backend *be, const dc_kernel_args *a) {
    if (be->capturing) return DC_OK;
    const dc_buffer *seen[DC_MAX_KERNEL_IN + DC_MAX_KERNEL_OUT];
    int n_seen = 0;
    for (int k = 0; k < a->n_out + a->n_in; k++) { /* outputs first: they are the likely culprits */
        const dc_tensor *t = k < a->n_out ? a->out[k] : a->in[k - a->n_out];
        if (!t || !t->buf || !t->buf->guard_hi) continue;
        int dup = 0;
        for (int j = 0; j < n_seen; j++) dup |= seen[j] == t->buf;
        if (dup) continue;
        seen[n_seen++] = t->buf;
        char role[32];
        snprintf(role, sizeof role, "%s %d", k < a->n_out ? "output" : "input", k < a->n_out ? k : k - a->n_out);
        dc_status st = check_buffer(a, t->buf, t, role);
        if (st != DC_OK) return st;
    }
    return DC_OK;
}
