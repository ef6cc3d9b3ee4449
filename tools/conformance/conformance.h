/* conformance.h: the conformance suite behind `dynacl conformance`, the acceptance test of
 * a backend (docs/PORTING.md). It is not a test binary: tools and tests both link it.
 *
 *     conf_report r;
 *     conf_report_init(&r);
 *     conf_opts o = conf_opts_default();                 // o.quick = 1: toy and odd sizes only
 *     int b = conf_report_add_backend(&r, "opencl");
 *     conf_run_ops(&r, b, &o);                           // every op case, forward and backward
 *     conf_run_whole(&r, b, &o);                         // training runs, methods, graphs, errors
 *     conf_print_matrix(stdout, &r);  conf_write_json("c.json", &r);
 *     return r.n_fail ? 1 : 0;
 *
 * Pieces: the op-case table (conf_cases.c: toy, odd and training sizes), the check kinds
 * and thresholds (conf_checks.c: the one place where tolerances and their reasons live),
 * the op runner (conf_ops.c), the whole-run checks (conf_whole.c), the report (matrix and
 * JSON, conf_report.c) and timings (conf_perf.c). Every check compares the backend under
 * test with a reference: the float64 `cpu-ref` backend for ops (and the backend's own
 * composites for its fused kernels), `cpu` (or `cpu-ref` when `cpu` is under test) for
 * whole runs.
 */
#ifndef DC_CONFORMANCE_H
#define DC_CONFORMANCE_H

#include <stdio.h>

#include "dc/dc.h"

/* ---------------------------------------------------------------- the op-case table */

#define CONF_MAX_IN 5

typedef enum {
    IN_UNIFORM = 0, /* U(-1, 1) */
    IN_AWAY,        /* +-U(0.2, 1): away from kinks at 0 (relu, max) */
    IN_POSITIVE,    /* U(0.5, 2): log, div */
    IN_MASK,        /* u8, Bernoulli(0.3) */
    IN_LABEL,       /* i32 in [0, iparam) */
    IN_ONES_ISH,    /* U(0.5, 1.5): bn gamma, running var */
    IN_PROB,        /* U(0, 1): BCE targets */
    IN_INDEX        /* i32 in [-2, iparam + 2): gather indices, some out of range */
} conf_input;

/* Size classes: toy and odd sizes run always (--quick keeps only these, and the float64
 * finite-difference check uses them); training sizes are the shapes the methods run at
 * (N = B*T rows of 952, 2,400, 2,016; F 32/64/128/129; D 156/178/252; T 119 and 300; FFT
 * lengths 50, 178, 250, 251; reductions over more than 65,536 elements; MP-Xent with N far
 * above any GPU tile). */
typedef enum { CONF_TOY = 0, CONF_ODD, CONF_TRAIN } conf_size;

typedef struct conf_case conf_case;
typedef dc_tensor *(*conf_build_fn)(dc_ctx *ctx, dc_tensor *const *in, const conf_case *c);

struct conf_case {
    const char *name;
    dc_op op;                        /* the op under test: the row of the matrix */
    int n_in;
    int ndim[CONF_MAX_IN];
    int64_t shape[CONF_MAX_IN][4];
    conf_input kind[CONF_MAX_IN];
    unsigned grad_mask;              /* bit i: input i gets a gradient */
    conf_build_fn build;             /* applies the op to the inputs */
    int64_t iparam;                  /* op-specific (classes, seq_len, kernel, fft length, ...) */
    conf_size size;
};

extern const conf_case conf_cases[];
extern const int conf_n_cases;

/* Deterministic host data for input i of case c, in dtype dt (f32/f64/u8/i32); malloc'd. */
void *conf_make_input(const conf_case *c, int i, dc_dtype dt, uint64_t seed);
int64_t conf_numel(const conf_case *c, int i);
/* The input tensors of c in ctx: float inputs in dt, masks u8, labels/indices i32; seed
 * picks the stream. f32_values: float inputs hold f32 numbers even in f64 (so an f32 run
 * and an f64 reference see the same values). 1 ok, 0 + library error. */
int conf_upload_inputs(dc_ctx *ctx, const conf_case *c, dc_dtype dt, uint64_t seed, int f32_values, dc_tensor **in);
/* The fused backward kernel the backward of op runs (DC_OP_ACT_BACK for relu, ...), or
 * DC_OP_COUNT when the backward is composed of forward ops. */
dc_op conf_back_op(dc_op op);
/* The case named name, or NULL. */
const conf_case *conf_find_case(const char *name);

/* ---------------------------------------------------------------- check kinds, thresholds */

typedef struct conf_tol {
    double fwd, grad;                /* largest relative L2 error that passes */
    const char *why;                 /* why this threshold */
} conf_tol;

/* The threshold of op in dtype (f32 or f64): one table in conf_checks.c. */
conf_tol conf_tolerance(dc_op op, dc_dtype dt);

/* Exact-value parts of a kernel contract that an error norm cannot see (conf_checks.c):
 * NULL when the forward output y of case c keeps them, else what is violated (in buf). */
const char *conf_exact_check(const conf_case *c, const double *y, int64_t ny, char *buf, size_t cap);

/* One side of a comparison: where and how a case runs. */
typedef struct conf_side {
    const char *backend;             /* a kind name; NULL = the backend under test */
    dc_dtype dtype;                  /* float inputs and computation */
    /* optional: adjust the opened backend before the run, undo after (e.g. switch fused
     * kernels off); NULL = nothing */
    dc_status (*before)(dc_backend *be);
    void (*after)(dc_backend *be);
} conf_side;

/* A check kind: how a case on the backend under test is judged. Every kind compares a
 * "test" run with a "reference" run of the same case on the same inputs. */
typedef struct conf_kind {
    const char *name;                /* short, in case lines and JSON: "ref", "f64" */
    const char *what;                /* one line for --help and the report */
    conf_side test, ref;
    /* 1 if the kind applies to case c on be, else 0 and why (a SKIP reason) */
    int (*applies)(dc_backend *be, const conf_case *c, char *why, size_t cap);
} conf_kind;

extern const conf_kind conf_kinds[];
extern const int conf_n_kinds;

/* Whole-run thresholds (conf_checks.c), each with its reason. */
typedef struct conf_run_tols {
    double traj_start, traj_doubling_steps, traj_cap; /* loss envelope: start * 2^(s / doubling), capped */
    double traj_tail;                /* mean loss of the last 50 steps, relative */
    double final_weights;            /* relative L2 of the weights after the run */
    double step_loss, step_grad;     /* one step of a method from the same weights and batch */
    double embed;                    /* eval-mode embeddings */
    double graph;                    /* replayed graph against eager steps, per-step loss */
    const char *why;
} conf_run_tols;
extern const conf_run_tols conf_run_tolerances;

/* ---------------------------------------------------------------- results and the report */

typedef enum { CONF_NONE = 0, CONF_PASS, CONF_SKIP, CONF_FAIL } conf_verdict;

/* One cell: the worst over every check that landed in it. */
typedef struct conf_cell {
    conf_verdict v;
    double worst;                    /* largest error seen (NaN if none measured) */
    int n;                           /* checks that landed here */
    char reason[512];                /* SKIP/FAIL: why; PASS: where the worst error was */
} conf_cell;

#define CONF_MAX_BE 8
#define CONF_MAX_RUNS 48
#define CONF_NAME 48

typedef struct conf_line {           /* one case or run check, for the JSON report */
    char name[64], backend[32], kind[16];
    conf_verdict v;
    double fwd, grad;                /* errors (NaN when not measured) */
    char reason[256];
} conf_line;

typedef struct conf_perf_line {
    char name[64], backend[32];
    double fwd_us, bwd_us, cpu_fwd_us, cpu_bwd_us; /* NaN when not measured */
} conf_perf_line;

typedef struct conf_report {
    int n_be;
    char be[CONF_MAX_BE][32];        /* kind names under test */
    conf_cell op[DC_OP_COUNT][2][CONF_MAX_BE];   /* [op][0 forward, 1 backward][backend] */
    int n_runs;
    char run_name[CONF_MAX_RUNS][CONF_NAME];
    conf_cell run[CONF_MAX_RUNS][CONF_MAX_BE];
    conf_line *lines;
    int n_lines, cap_lines;
    conf_perf_line *perf;
    int n_perf, cap_perf;
    int n_fail, n_pass, n_skip;
    int quick;
} conf_report;

typedef struct conf_opts {
    int quick;                       /* toy and odd sizes, short runs */
    int verbose;                     /* one line per case and check */
    const char *only;                /* comma-separated prefixes of case/run names; NULL = all */
    int64_t train_steps;             /* 0: 200 (30 with quick) */
    FILE *log;                       /* progress lines (stdout) */
    /* optional: opens the backend under test by its kind name (tests plant broken kernels
     * this way); NULL = dc_backend_new */
    dc_backend *(*open_backend)(const char *kind);
} conf_opts;

/* The backend under test, through o->open_backend when set. */
dc_backend *conf_open_test_backend(const conf_opts *o, const char *kind);

conf_opts conf_opts_default(void);
void conf_report_init(conf_report *r);
void conf_report_free(conf_report *r);
/* Add a backend kind column; its index, or -1 when there is no room. */
int conf_report_add_backend(conf_report *r, const char *kind);
/* Record one result into a cell and the lines (the runners call these). */
void conf_cell_add(conf_cell *c, conf_verdict v, double err, const char *reason);
void conf_report_line(conf_report *r, const char *name, const char *backend, const char *kind, conf_verdict v,
                      double fwd, double grad, const char *reason);
conf_cell *conf_run_cell(conf_report *r, const char *run, int be);
/* 1 if name is selected by o->only (prefix match of any comma-separated item). */
int conf_selected(const conf_opts *o, const char *name, const char *group);

/* Every op case (every check kind that applies) on backend r->be[be]. 0 = ran (FAILs are
 * in the report), -1 = could not open the backend (a FAIL is recorded). */
int conf_run_ops(conf_report *r, int be, const conf_opts *o);
/* The whole-run checks on r->be[be]: 200 DynaCL steps against the reference backend, one
 * step of every method under both protocols, eval-mode embeddings, graph replay,
 * determinism, error paths. */
int conf_run_whole(conf_report *r, int be, const conf_opts *o);
/* 1 if o selects at least one op case / whole-run check. */
int conf_ops_wanted(const conf_opts *o);
int conf_whole_wanted(const conf_opts *o);
/* The names of the whole-run checks into names; their count. */
int conf_whole_names(char names[][CONF_NAME]);
/* Microseconds per op (forward, backward) of every training-size case on r->be[be] and on
 * cpu, into r->perf. */
int conf_run_perf(conf_report *r, int be, const conf_opts *o);

/* The coverage matrix: op x {forward, backward} x backend, then the whole-run rows. */
void conf_print_matrix(FILE *f, const conf_report *r);
void conf_print_perf(FILE *f, const conf_report *r);
/* Everything as JSON, written atomically (a temp file, then rename). */
dc_status conf_write_json(const char *path, const conf_report *r);

/* One run of a case: forward output and input gradients as doubles. */
typedef struct conf_side_result {
    double *y, *g[CONF_MAX_IN];
    int64_t ny, ng[CONF_MAX_IN];
    dc_status st;                    /* DC_OK, or the first failure (err says where) */
    char err[512];
} conf_side_result;
/* Case c on be in dtype dt, in poison mode: the forward, then the backward of
 * L = sum(w * y) with fixed random weights w. */
void conf_run_case(const conf_case *c, dc_backend *be, dc_dtype dt, conf_side_result *r);
void conf_side_free(conf_side_result *r);

/* The reference backend of whole runs for a backend under test: "cpu", or "cpu-ref" for cpu. */
const char *conf_whole_reference(const char *kind);
/* Relative L2 error ||out - ref|| / ||ref|| summed in double (||out|| when ||ref|| = 0);
 * *nan_mismatch counts elements where out and ref disagree on NaN/Inf. */
double conf_rel_err(const double *out, const double *ref, int64_t n, int64_t *nan_mismatch);
/* Any float tensor as a malloc'd double array (NULL + error on failure). */
double *conf_download(const dc_tensor *t);

#endif
