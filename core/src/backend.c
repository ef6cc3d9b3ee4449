/* backend.c: the backend registry, opening backends by name, buffers and the checked
 * kernel dispatch. It knows backends only through their vtables (dc_backend_impl.h);
 * which ones are compiled in, and their priorities, come from the generated dc_config.h
 * (one dc_add_backend() call per backend folder).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_config.h"
#include "dc_internal.h"

/* Each backend folder exports one vtable getter per kind. */
#define DC_DECLARE_KIND(id, priority) const dc_backend_vtbl *dc_backend_##id##_vtbl(void);
DC_BACKEND_KINDS(DC_DECLARE_KIND)
#undef DC_DECLARE_KIND

/* Highest priority first (the generated list is sorted): the default backend is the first
 * kind with a device. */
typedef const dc_backend_vtbl *(*vtbl_getter)(void);
static const vtbl_getter g_kinds[] = {
#define DC_KIND_GETTER(id, priority) dc_backend_##id##_vtbl,
    DC_BACKEND_KINDS(DC_KIND_GETTER)
#undef DC_KIND_GETTER
};
#define N_KINDS ((int)(sizeof g_kinds / sizeof g_kinds[0]))

const char *dc_version(void) { return DC_VERSION_STRING; }

int dc_backend_kind_count(void) { return N_KINDS; }

const char *dc_backend_kind_name(int kind) {
    if (kind < 0 || kind >= N_KINDS) return NULL;
    return g_kinds[kind]()->name;
}

int dc_backend_kind_devices(int kind, char *why, size_t why_cap) {
    if (why && why_cap) why[0] = '\0';
    if (kind < 0 || kind >= N_KINDS) {
        if (why) snprintf(why, why_cap, "no such backend kind");
        return 0;
    }
    char tmp[512] = "";
    int n = g_kinds[kind]()->device_count(tmp, sizeof tmp);
    if (why && why_cap) snprintf(why, why_cap, "%s", tmp);
    return n < 0 ? 0 : n;
}

dc_status dc_backend_kind_device_desc(int kind, int device, char *buf, size_t cap) {
    if (kind < 0 || kind >= N_KINDS) return dc_fail(DC_ERR_ARG, "no backend kind %d", kind);
    return g_kinds[kind]()->device_desc(device, buf, cap);
}

static int find_kind(const char *name, size_t len) {
    for (int k = 0; k < N_KINDS; k++) {
        const char *kn = g_kinds[k]()->name;
        if (strlen(kn) == len && strncmp(kn, name, len) == 0) return k;
    }
    return -1;
}

dc_backend *dc_backend_new(const char *spec) {
    if (!spec || !*spec) {
        dc_fail(DC_ERR_ARG, "backend: empty backend name");
        return NULL;
    }
    const char *colon = strchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    int device = 0;
    if (colon) {
        char *end = NULL;
        long d = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || *end || d < 0 || d > 1024) {
            dc_fail(DC_ERR_ARG, "backend '%s': device must be a number after ':'", spec);
            return NULL;
        }
        device = (int)d;
    }
    int k = find_kind(spec, len);
    if (k < 0) {
        char known[256] = "";
        for (int i = 0; i < N_KINDS; i++) {
            strncat(known, i ? ", " : "", sizeof known - strlen(known) - 1);
            strncat(known, g_kinds[i]()->name, sizeof known - strlen(known) - 1);
        }
        dc_fail(DC_ERR_BACKEND, "unknown backend '%.*s' (compiled in: %s)", (int)len, spec, known);
        return NULL;
    }
    const dc_backend_vtbl *vt = g_kinds[k]();
    char why[512];
    int nd = dc_backend_kind_devices(k, why, sizeof why);
    if (device >= nd) {
        if (nd == 0)
            dc_fail(DC_ERR_BACKEND, "backend '%s' is unavailable: %s", vt->name, why[0] ? why : "no device");
        else
            dc_fail(DC_ERR_BACKEND, "backend '%s' has %d device(s); device %d does not exist", vt->name, nd, device);
        return NULL;
    }
    dc_backend *be = calloc(1, sizeof *be);
    if (!be) {
        dc_fail(DC_ERR_OOM, "backend: out of host memory");
        return NULL;
    }
    be->vt = vt;
    be->device = device;
    snprintf(be->name, sizeof be->name, "%s:%d", vt->name, device);
    if (vt->abi_version != DC_BACKEND_ABI) {
        dc_fail(DC_ERR_BACKEND, "backend '%s' was built for ABI %d, core expects %d", vt->name, vt->abi_version,
                DC_BACKEND_ABI);
        free(be);
        return NULL;
    }
    uint64_t off = 0;
    if (dc_env_no_fused(&off) != DC_OK) {
        free(be);
        return NULL;
    }
    if (vt->init && vt->init(be, device) != DC_OK) {
        dc_fail_prefix("opening backend %s", be->name);
        free(be);
        return NULL;
    }
    be->ops_off = off;
    return be;
}

/* DC_NO_FUSED: unset, empty or "0" = fused kernels where the backend has them; "1" = only
 * the primitives run, every other kernel as its composite; a comma-separated list of op
 * names (mpxent,batchnorm_back) = those kernels only, to find which one disagrees. Anything
 * else is refused. */
dc_status dc_env_no_fused(uint64_t *mask) {
    const char *v = getenv("DC_NO_FUSED");
    *mask = 0;
    if (!v || !*v || !strcmp(v, "0")) return DC_OK;
    for (int op = 0; op < DC_OP_COUNT; op++)
        if (!strcmp(v, "1") && dc_op_has_composite((dc_op)op)) *mask |= 1ull << op;
    if (*mask) return DC_OK;
    for (const char *p = v; *p;) {
        size_t len = strcspn(p, ",");
        int found = -1;
        for (int op = 0; op < DC_OP_COUNT && found < 0; op++) {
            const char *name = dc_op_name((dc_op)op);
            if (dc_op_has_composite((dc_op)op) && strlen(name) == len && !strncmp(p, name, len)) found = op;
        }
        if (found < 0)
            return dc_fail(DC_ERR_ARG, "DC_NO_FUSED must be 0, 1 or a comma-separated list of ops that have a "
                           "composite (such as mpxent,batchnorm_back); '%.*s' is not one", (int)len, p);
        *mask |= 1ull << found;
        p += len + (p[len] == ',');
    }
    return DC_OK;
}

int dc_backend_set_no_fused(dc_backend *be, int on) {
    if (!be) return 0;
    int was = dc_backend_no_fused(be);
    for (int op = 0; op < DC_OP_COUNT; op++)
        if (dc_op_has_composite((dc_op)op)) dc_backend_mask_op(be, (dc_op)op, on);
    return was;
}

int dc_backend_no_fused(const dc_backend *be) {
    if (!be) return 0;
    for (int op = 0; op < DC_OP_COUNT; op++)
        if (dc_op_has_composite((dc_op)op) && !(be->ops_off & (1ull << op))) return 0;
    return 1;
}

void dc_backend_mask_op(dc_backend *be, dc_op op, int off) {
    if (!be || (int)op < 0 || op >= DC_OP_COUNT) return;
    if (off) be->ops_off |= 1ull << op;
    else be->ops_off &= ~(1ull << op);
}

dc_backend *dc_backend_default(void) {
    /* the available kind of highest priority: a GPU when there is one, else the native CPU
     * backend (OpenCL ranks below it, since PoCL's CPU device is slower) */
    for (int k = 0; k < N_KINDS; k++)
        if (dc_backend_kind_devices(k, NULL, 0) > 0) {
            dc_backend *be = dc_backend_new(g_kinds[k]()->name);
            if (be) return be;
        }
    dc_fail(DC_ERR_BACKEND, "no backend has a device");
    return NULL;
}

void dc_backend_free(dc_backend *be) {
    if (!be) return;
    dc_profile_free(be);
    if (be->vt->shutdown) be->vt->shutdown(be);
    free(be);
}

const char *dc_backend_name(const dc_backend *be) { return be ? be->name : "(null)"; }
const char *dc_backend_kind(const dc_backend *be) { return be ? be->vt->name : "(null)"; }

dc_status dc_backend_sync(dc_backend *be) {
    if (!be) return dc_fail(DC_ERR_ARG, "sync: backend is NULL");
    return be->vt->sync ? be->vt->sync(be) : DC_OK;
}

int dc_backend_is_deterministic(const dc_backend *be) { return be ? be->vt->deterministic : 0; }

int dc_backend_supports(dc_backend *be, int op, int dtype) {
    if (!be || op < 0 || op >= DC_OP_COUNT || dtype < 0 || dtype >= DC_DTYPE_COUNT) return 0;
    if (be->ops_off & (1ull << op)) return 0;
    if (be->vt->supports) return be->vt->supports(be, (dc_op)op, (dc_dtype)dtype);
    if (!be->vt->kernels[op]) return 0;
    if (dtype == DC_F64) return be->vt->supports_f64;
    return 1;
}

/* ---------------------------------------------------------------- buffers */

dc_buffer *dc_buffer_new(dc_backend *be, size_t bytes) {
    dc_buffer *b = calloc(1, sizeof *b);
    if (!b) {
        dc_fail(DC_ERR_OOM, "out of host memory");
        return NULL;
    }
    b->be = be;
    if (be->vt->buf_alloc(be, bytes, b) != DC_OK) {
        free(b);
        return NULL;
    }
    b->be = be;
    return b;
}

void dc_buffer_free(dc_buffer *buf) {
    if (!buf) return;
    buf->be->vt->buf_free(buf->be, buf);
    free(buf);
}

/* ---------------------------------------------------------------- dispatch */

void dc_args_init(dc_kernel_args *a, dc_op op) {
    memset(a, 0, sizeof *a);
    a->op = op;
}

/* The call must match the op's declaration in dc_ops.def: a kernel with a wrong count of
 * tensors would read past what it was given (or ignore what it was meant to write). */
static dc_status check_arity(const dc_backend *be, const dc_kernel_args *a) {
    int n_in, n_out;
    if (!dc_op_arity(a->op, &n_in, &n_out)) return dc_fail(DC_ERR_ARG, "dispatch: unknown op %d", (int)a->op);
    if (n_in == 0 && n_out == 0)
        return dc_fail(DC_ERR_ARG, "%s: a builder-only op has no kernel to run on %s", dc_op_name(a->op), be->name);
    if (a->n_in != n_in || a->n_out != n_out)
        return dc_fail(DC_ERR_ARG, "%s: kernel called with %d input(s) and %d output(s) on %s; dc_ops.def declares "
                                   "%d and %d", dc_op_name(a->op), a->n_in, a->n_out, be->name, n_in, n_out);
    for (int i = 0; i < n_in; i++)
        if (!a->in[i]) return dc_fail(DC_ERR_ARG, "%s: input %d is NULL", dc_op_name(a->op), i);
    if (n_out > 0 && !a->out[0]) return dc_fail(DC_ERR_ARG, "%s: output 0 is NULL", dc_op_name(a->op));
    return DC_OK;
}

static dc_status check_placement(const dc_backend *be, const dc_kernel_args *a) {
    for (int i = 0; i < a->n_in; i++)
        if (a->in[i]->buf->be != be)
            return dc_fail(DC_ERR_BACKEND, "%s: input %d lives on backend %s, not %s", dc_op_name(a->op), i,
                           a->in[i]->buf->be->name, be->name);
    for (int i = 0; i < a->n_out; i++)
        if (a->out[i] && a->out[i]->buf->be != be)
            return dc_fail(DC_ERR_BACKEND, "%s: output %d lives on backend %s, not %s", dc_op_name(a->op), i,
                           a->out[i]->buf->be->name, be->name);
    return DC_OK;
}

dc_status dc_check_kernel_args(const dc_backend *be, const dc_kernel_args *a) {
    dc_status st = check_arity(be, a);
    return st != DC_OK ? st : check_placement(be, a);
}

/* The dtype that decides support: the first float input, else output 0's dtype. */
static dc_dtype kernel_dtype(const dc_kernel_args *a) {
    for (int i = 0; i < a->n_in; i++)
        if (a->in[i] && (a->in[i]->dtype == DC_F32 || a->in[i]->dtype == DC_F64)) return a->in[i]->dtype;
    return a->n_out && a->out[0] ? a->out[0]->dtype : DC_F32;
}

int dc_kernel_runnable(dc_backend *be, const dc_kernel_args *a) {
    return (int)a->op >= 0 && a->op < DC_OP_COUNT && be->vt->kernels[a->op] &&
           dc_backend_supports(be, a->op, kernel_dtype(a));
}

dc_status dc_dispatch(dc_backend *be, dc_kernel_args *a) {
    dc_status st = check_arity(be, a);
    if (st != DC_OK) return st;
    dc_kernel_fn fn = be->vt->kernels[a->op];
    dc_dtype dt = kernel_dtype(a);
    if (fn && (be->ops_off & (1ull << a->op))) {
        if (dc_op_has_composite(a->op))
            return dc_fail(DC_ERR_UNSUPPORTED, "%s: the fused kernel is off on backend %s (DC_NO_FUSED=1) and this "
                           "call does not go through its composite", dc_op_name(a->op), be->name);
        fn = NULL;
    }
    if (!fn || !dc_backend_supports(be, a->op, dt))
        return dc_fail(DC_ERR_UNSUPPORTED, "%s: not supported for %s on backend %s", dc_op_name(a->op),
                       dc_dtype_name(dt), be->name);
    st = check_placement(be, a);
    if (st != DC_OK) return st;
    st = be->prof ? dc_profile_run(be, fn, a) : fn(be, a);
    if (st != DC_OK && dc_last_status() == DC_OK)
        dc_fail(st, "%s: kernel failed on %s", dc_op_name(a->op), be->name);
    if (st == DC_OK) st = dc_guard_check(be, a); /* poison mode: nothing written out of bounds */
    return st;
}
