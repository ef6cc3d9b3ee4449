/* op_cases.h: the table of op test cases shared by the finite-difference gradient check
 * (test_grad_fd) and the backend-parity suite (test_parity). One row = one op on inputs
 * of given shapes; `build` applies the op. Adding an op means adding rows here, and both
 * suites pick it up.
 */
#ifndef DC_OP_CASES_H
#define DC_OP_CASES_H

#include "dc/dc.h"

#define OPC_MAX_IN 5

typedef enum {
    IN_UNIFORM = 0, /* U(-1, 1) */
    IN_AWAY,        /* +-U(0.2, 1): away from kinks at 0 (relu, max) */
    IN_POSITIVE,    /* U(0.5, 2): log, div */
    IN_MASK,        /* u8, Bernoulli(0.3) */
    IN_LABEL,       /* i32 in [0, shape of case's iparam) */
    IN_ONES_ISH,    /* U(0.5, 1.5): bn gamma, running var */
    IN_PROB,        /* U(0, 1): BCE targets */
    IN_INDEX        /* i32 in [-2, iparam + 2): gather indices, some out of range */
} opc_kind;

typedef struct op_case op_case;
typedef dc_tensor *(*opc_build_fn)(dc_ctx *ctx, dc_tensor *const *in, const op_case *c);

struct op_case {
    const char *name;
    dc_op op;                      /* the op under test (coverage matrix) */
    int n_in;
    int ndim[OPC_MAX_IN];
    int64_t shape[OPC_MAX_IN][4];
    opc_kind kind[OPC_MAX_IN];
    unsigned grad_mask;            /* bit i: input i gets a gradient */
    opc_build_fn build;
    int64_t iparam;                /* op-specific (classes, seq_len, kernel, ...) */
    double fwd_tol, grad_tol;      /* f32 parity thresholds (0 = defaults 1e-5 / 5e-5) */
};

extern const op_case dc_op_cases[];
extern const int dc_n_op_cases;

/* Deterministic host data for input i of case c, in dtype dt (f32/f64/u8/i32). */
void *opc_make_input(const op_case *c, int i, dc_dtype dt, uint64_t seed);
/* Create the input tensors in ctx from host data (float inputs converted to dt). */
int opc_upload_inputs(dc_ctx *ctx, const op_case *c, dc_dtype dt, uint64_t seed, dc_tensor **in);
/* numel of input i */
int64_t opc_numel(const op_case *c, int i);

#endif
