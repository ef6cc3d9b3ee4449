/* test_ops.c: one unit test per op, forward and backward, against values worked out by
 * hand (the arithmetic is in the comments). Every test runs on "cpu" and "cpu-ref", and
 * float ops in f32 and f64 (loop index i: backend i & 1, dtype f64 when i >= 2).
 *
 * Backward checks use loss = sum_all(y * w) with a small hand-chosen w, so dL/dy = w.
 * Inputs are small dyadic numbers, exact in f32, so most expected values are exact.
 * Tolerance: |got - want| <= tol * max(1, |want|), tol 1e-12 (f64) / 1e-6 (f32).
 * MP-Xent has its own suite.
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* M_PI */
#endif
#include "dc_test.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"

#define SH(...) ((const int64_t[]){__VA_ARGS__})
#define V(...) ((const double[]){__VA_ARGS__})
#define NV(...) (sizeof((const double[]){__VA_ARGS__}) / sizeof(double))

static const char *const BE_NAMES[2] = {"cpu", "cpu-ref"};

typedef struct {
    dc_backend *be;
    dc_ctx *ctx;
    dc_dtype dt;
    const char *bname;
} tenv;

static tenv env_open(int i) {
    tenv e;
    e.bname = BE_NAMES[i & 1];
    e.dt = i >= 2 ? DC_F64 : DC_F32;
    e.be = dc_backend_new(e.bname);
    ck_assert_msg(e.be != NULL, "backend %s: %s", e.bname, dc_last_error());
    e.ctx = dc_ctx_new(e.be);
    ck_assert_ptr_nonnull(e.ctx);
    dc_clear_error();
    return e;
}

static void env_close(tenv *e) {
    dc_ctx_free(e->ctx);
    dc_backend_free(e->be);
}

static double deftol(const tenv *e) { return e->dt == DC_F64 ? 1e-12 : 1e-6; }

/* Upload doubles into t, converting to its dtype. */
static void put(dc_tensor *t, const double *v) {
    int64_t n = dc_tensor_numel(t);
    void *h = malloc((size_t)(n ? n : 1) * 8);
    for (int64_t k = 0; k < n; k++) {
        switch (t->dtype) {
        case DC_F32: ((float *)h)[k] = (float)v[k]; break;
        case DC_F64: ((double *)h)[k] = v[k]; break;
        case DC_I32: ((int32_t *)h)[k] = (int32_t)v[k]; break;
        default: ((uint8_t *)h)[k] = (uint8_t)v[k]; break;
        }
    }
    ck_assert_int_eq(dc_tensor_upload(t, h, (size_t)n * dc_dtype_size(t->dtype)), DC_OK);
    free(h);
}

/* A tensor of e->dt (or dt) from doubles; grad: mark it as needing gradients. */
static dc_tensor *mk_dt(tenv *e, dc_dtype dt, int nd, const int64_t *sh, const double *v, int grad) {
    dc_tensor *t = dc_tensor_new(e->ctx, dt, nd, sh);
    ck_assert_msg(t != NULL, "tensor_new on %s: %s", e->bname, dc_last_error());
    put(t, v);
    if (grad) ck_assert_int_eq(dc_tensor_set_requires_grad(t, 1), DC_OK);
    return t;
}
static dc_tensor *mk(tenv *e, int nd, const int64_t *sh, const double *v, int grad) {
    return mk_dt(e, e->dt, nd, sh, v, grad);
}

/* Download any tensor as doubles (caller frees). */
static double *fetch(const dc_tensor *t) {
    int64_t n = dc_tensor_numel(t);
    void *h = malloc((size_t)(n ? n : 1) * 8);
    double *d = malloc((size_t)(n ? n : 1) * sizeof *d);
    ck_assert_int_eq(dc_tensor_download(t, h, (size_t)n * dc_dtype_size(t->dtype)), DC_OK);
    for (int64_t k = 0; k < n; k++) {
        switch (t->dtype) {
        case DC_F32: d[k] = ((float *)h)[k]; break;
        case DC_F64: d[k] = ((double *)h)[k]; break;
        case DC_I32: d[k] = ((int32_t *)h)[k]; break;
        default: d[k] = ((uint8_t *)h)[k]; break;
        }
    }
    free(h);
    return d;
}

/* Compare t (numel must be n) with want; tol <= 0 means the dtype default. */
static void expect_tol(tenv *e, const dc_tensor *t, const double *want, int64_t n, double tol, const char *what) {
    ck_assert_msg(t != NULL, "%s [%s %s]: tensor is NULL (%s)", what, dc_dtype_name(e->dt), e->bname,
                  dc_last_error());
    ck_assert_msg(dc_tensor_numel(t) == n, "%s [%s %s]: %lld elements, want %lld", what, dc_dtype_name(e->dt),
                  e->bname, (long long)dc_tensor_numel(t), (long long)n);
    if (tol <= 0) tol = deftol(e);
    double *got = fetch(t);
    for (int64_t k = 0; k < n; k++) {
        double lim = tol * (fabs(want[k]) > 1 ? fabs(want[k]) : 1);
        ck_assert_msg(fabs(got[k] - want[k]) <= lim, "%s [%s %s]: element %lld = %.17g, want %.17g (tol %g)", what,
                      dc_dtype_name(e->dt), e->bname, (long long)k, got[k], want[k], lim);
    }
    free(got);
}
#define EXPECT(e, t, what, ...) expect_tol(e, t, V(__VA_ARGS__), (int64_t)NV(__VA_ARGS__), 0, what)

static void expect_shape(tenv *e, const dc_tensor *t, int nd, const int64_t *sh, const char *what) {
    ck_assert_msg(t != NULL, "%s [%s %s]: NULL (%s)", what, dc_dtype_name(e->dt), e->bname, dc_last_error());
    ck_assert_msg(t->ndim == nd, "%s [%s %s]: ndim %d, want %d", what, dc_dtype_name(e->dt), e->bname, t->ndim, nd);
    for (int i = 0; i < nd; i++)
        ck_assert_msg(t->shape[i] == sh[i], "%s [%s %s]: axis %d is %lld, want %lld", what, dc_dtype_name(e->dt),
                      e->bname, i, (long long)t->shape[i], (long long)sh[i]);
}

/* loss = sum_all(y * w), w shaped like y; then dc_backward. */
static void run_backward(tenv *e, dc_tensor *y, const double *w, const char *what) {
    ck_assert_msg(y != NULL, "%s [%s %s]: forward failed: %s", what, dc_dtype_name(e->dt), e->bname, dc_last_error());
    dc_tensor *wt = mk(e, y->ndim, y->shape, w, 0);
    dc_tensor *loss = dc_sum_all(e->ctx, dc_mul(e->ctx, y, wt));
    ck_assert_msg(loss != NULL, "%s: loss: %s", what, dc_last_error());
    dc_status st = dc_backward(e->ctx, loss);
    ck_assert_msg(st == DC_OK, "%s [%s %s]: backward: %s", what, dc_dtype_name(e->dt), e->bname, dc_last_error());
}

static void expect_grad_n(tenv *e, dc_tensor *x, const double *want, int64_t n, double tol, const char *what) {
    ck_assert_msg(x->grad != NULL, "%s [%s %s]: no gradient", what, dc_dtype_name(e->dt), e->bname);
    ck_assert_msg(dc_tensor_same_shape(x->grad, x), "%s [%s %s]: gradient shape differs from the input", what,
                  dc_dtype_name(e->dt), e->bname);
    expect_tol(e, x->grad, want, n, tol, what);
}
#define EXPECT_GRAD(e, x, what, ...) expect_grad_n(e, x, V(__VA_ARGS__), (int64_t)NV(__VA_ARGS__), 0, what)

/* ---------------------------------------------------------------- matmul */

/* A = [[1,2,3],[4,5,6]], B = [[7,8],[9,10],[11,12]]
 * A B = [[1*7+2*9+3*11, 1*8+2*10+3*12], [4*7+5*9+6*11, 4*8+5*10+6*12]] = [[58,64],[139,154]].
 * G = w = [[1,-1],[2,0.5]]:
 * dA = G B^T: row0 [1,-1].[7,8]=-1, [9,10]: -1, [11,12]: -1; row1 [2,.5]: 14+4=18, 18+5=23, 22+6=28
 * dB = A^T G: row k = A[0][k]*[1,-1] + A[1][k]*[2,.5]: k0 [1+8, -1+2] = [9,1]; k1 [2+10, -2+2.5] = [12,.5];
 *             k2 [3+12, -3+3] = [15,0]
 * For a stored transposed operand the gradient is the transpose of dA / dB. */
START_TEST(test_matmul_2d) {
    static const double A[] = {1, 2, 3, 4, 5, 6}, At[] = {1, 4, 2, 5, 3, 6};
    static const double B[] = {7, 8, 9, 10, 11, 12}, Bt[] = {7, 9, 11, 8, 10, 12};
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            tenv e = env_open(_i);
            char what[64];
            snprintf(what, sizeof what, "matmul(ta=%d, tb=%d)", ta, tb);
            dc_tensor *a = ta ? mk(&e, 2, SH(3, 2), At, 1) : mk(&e, 2, SH(2, 3), A, 1);
            dc_tensor *b = tb ? mk(&e, 2, SH(2, 3), Bt, 1) : mk(&e, 2, SH(3, 2), B, 1);
            dc_tensor *y = dc_matmul(e.ctx, a, b, ta, tb);
            expect_shape(&e, y, 2, SH(2, 2), what);
            EXPECT(&e, y, what, 58, 64, 139, 154);
            run_backward(&e, y, V(1, -1, 2, 0.5), what);
            if (ta) EXPECT_GRAD(&e, a, what, -1, 18, -1, 23, -1, 28);
            else EXPECT_GRAD(&e, a, what, -1, -1, -1, 18, 23, 28);
            if (tb) EXPECT_GRAD(&e, b, what, 9, 12, 15, 1, 0.5, 0);
            else EXPECT_GRAD(&e, b, what, 9, 1, 12, 0.5, 15, 0);
            env_close(&e);
        }
}
END_TEST

/* Batched: A0 = [[1,2],[3,4]], A1 = [[-1,0],[2,1]]; B0 = [[5,6],[7,8]], B1 = [[1,1],[0,2]].
 * Y0 = [[5+14, 6+16], [15+28, 18+32]] = [[19,22],[43,50]]; Y1 = [[-1, -1], [2, 2+2]] = [[-1,-1],[2,4]].
 * W0 = I, W1 = [[1,2],[3,4]].
 * dA0 = W0 B0^T = B0^T = [[5,7],[6,8]]; dA1 = W1 B1^T = [[1,2],[3,4]] [[1,0],[1,2]] = [[3,4],[7,8]].
 * dB0 = A0^T W0 = [[1,3],[2,4]]; dB1 = A1^T W1 = [[-1,2],[0,1]] [[1,2],[3,4]] = [[5,6],[3,4]]. */
START_TEST(test_matmul_batched) {
    tenv e = env_open(_i);
    dc_tensor *a = mk(&e, 3, SH(2, 2, 2), V(1, 2, 3, 4, -1, 0, 2, 1), 1);
    dc_tensor *b = mk(&e, 3, SH(2, 2, 2), V(5, 6, 7, 8, 1, 1, 0, 2), 1);
    dc_tensor *y = dc_matmul(e.ctx, a, b, 0, 0);
    expect_shape(&e, y, 3, SH(2, 2, 2), "matmul 3-D");
    EXPECT(&e, y, "matmul 3-D", 19, 22, 43, 50, -1, -1, 2, 4);
    run_backward(&e, y, V(1, 0, 0, 1, 1, 2, 3, 4), "matmul 3-D");
    EXPECT_GRAD(&e, a, "matmul 3-D dA", 5, 7, 6, 8, 3, 4, 7, 8);
    EXPECT_GRAD(&e, b, "matmul 3-D dB", 1, 3, 2, 4, 5, 6, 3, 4);
    env_close(&e);
}
END_TEST

/* 3-D x 2-D: A as above (rows a = [1,2],[3,4],[-1,0],[2,1]), B = [[1,0,2],[0,1,-1]]:
 * row [p,q] -> [p, q, 2p-q]: [1,2,0], [3,4,2], [-1,0,-2], [2,1,3].
 * W rows g: [1,0,1],[0,1,0],[1,1,1],[2,0,0]; dA row = g B^T = [g0 + 2 g2, g1 - g2]:
 *   [3,-1], [0,1], [3,0], [2,0].
 * dB[k] = sum_r a_r[k] g_r: k0 = 1[1,0,1] + 3[0,1,0] - 1[1,1,1] + 2[2,0,0] = [4,2,0];
 *                           k1 = 2[1,0,1] + 4[0,1,0] + 0 + 1[2,0,0] = [4,4,2].
 * Also with tb = 1 (B stored as its (3,2) transpose): same y, dB transposed. */
START_TEST(test_matmul_3d_2d) {
    for (int tb = 0; tb < 2; tb++) {
        tenv e = env_open(_i);
        const char *what = tb ? "matmul 3-D x 2-D^T" : "matmul 3-D x 2-D";
        dc_tensor *a = mk(&e, 3, SH(2, 2, 2), V(1, 2, 3, 4, -1, 0, 2, 1), 1);
        dc_tensor *b = tb ? mk(&e, 2, SH(3, 2), V(1, 0, 0, 1, 2, -1), 1) : mk(&e, 2, SH(2, 3), V(1, 0, 2, 0, 1, -1), 1);
        dc_tensor *y = dc_matmul(e.ctx, a, b, 0, tb);
        expect_shape(&e, y, 3, SH(2, 2, 3), what);
        EXPECT(&e, y, what, 1, 2, 0, 3, 4, 2, -1, 0, -2, 2, 1, 3);
        run_backward(&e, y, V(1, 0, 1, 0, 1, 0, 1, 1, 1, 2, 0, 0), what);
        EXPECT_GRAD(&e, a, what, 3, -1, 0, 1, 3, 0, 2, 0);
        if (tb) EXPECT_GRAD(&e, b, what, 4, 4, 2, 4, 0, 2);
        else EXPECT_GRAD(&e, b, what, 4, 2, 0, 4, 4, 2);
        env_close(&e);
    }
}
END_TEST

/* ---------------------------------------------------------------- elementwise */

/* a = [[1,2,3],[4,5,6]], b = [10,20,30] (broadcast over rows).
 * add = [[11,22,33],[14,25,36]], sub = [[-9,-18,-27],[-6,-15,-24]].
 * w = [[1,0,2],[-1,3,1]]: da = w; db = +-column sums = +-[1-1, 0+3, 2+1] = +-[0,3,3]. */
START_TEST(test_add_sub_broadcast) {
    for (int sub = 0; sub < 2; sub++) {
        tenv e = env_open(_i);
        const char *what = sub ? "sub (2,3)-(3)" : "add (2,3)+(3)";
        dc_tensor *a = mk(&e, 2, SH(2, 3), V(1, 2, 3, 4, 5, 6), 1);
        dc_tensor *b = mk(&e, 1, SH(3), V(10, 20, 30), 1);
        dc_tensor *y = sub ? dc_sub(e.ctx, a, b) : dc_add(e.ctx, a, b);
        expect_shape(&e, y, 2, SH(2, 3), what);
        if (sub) EXPECT(&e, y, what, -9, -18, -27, -6, -15, -24);
        else EXPECT(&e, y, what, 11, 22, 33, 14, 25, 36);
        run_backward(&e, y, V(1, 0, 2, -1, 3, 1), what);
        EXPECT_GRAD(&e, a, what, 1, 0, 2, -1, 3, 1);
        expect_shape(&e, b->grad, 1, SH(3), what);
        if (sub) EXPECT_GRAD(&e, b, what, 0, -3, -3);
        else EXPECT_GRAD(&e, b, what, 0, 3, 3);
        env_close(&e);
    }
}
END_TEST

/* a (2,1) = [[2],[3]], b (1,3) = [[1,-1,0.5]] -> y (2,3) = [[2,-2,1],[3,-3,1.5]].
 * w = [[1,0,2],[-1,3,1]]: da_i = sum_j w_ij b_j: [1 + 0 + 1, -1 - 3 + 0.5] = [2, -3.5];
 * db_j = sum_i w_ij a_i: [2 - 3, 0 + 9, 4 + 3] = [-1, 9, 7]. */
START_TEST(test_mul_broadcast) {
    tenv e = env_open(_i);
    dc_tensor *a = mk(&e, 2, SH(2, 1), V(2, 3), 1);
    dc_tensor *b = mk(&e, 2, SH(1, 3), V(1, -1, 0.5), 1);
    dc_tensor *y = dc_mul(e.ctx, a, b);
    expect_shape(&e, y, 2, SH(2, 3), "mul (2,1)*(1,3)");
    EXPECT(&e, y, "mul", 2, -2, 1, 3, -3, 1.5);
    run_backward(&e, y, V(1, 0, 2, -1, 3, 1), "mul");
    expect_shape(&e, a->grad, 2, SH(2, 1), "mul da");
    EXPECT_GRAD(&e, a, "mul da", 2, -3.5);
    expect_shape(&e, b->grad, 2, SH(1, 3), "mul db");
    EXPECT_GRAD(&e, b, "mul db", -1, 9, 7);
    env_close(&e);
}
END_TEST

/* a = [[1,2],[3,4]] / b, b a 0-d scalar 2 -> [[0.5,1],[1.5,2]].
 * w = [[1,2],[3,4]]: da = w / 2 = [[0.5,1],[1.5,2]];
 * db = -sum(w a) / b^2 = -(1 + 4 + 9 + 16) / 4 = -7.5 (a scalar again). */
START_TEST(test_div_scalar) {
    tenv e = env_open(_i);
    dc_tensor *a = mk(&e, 2, SH(2, 2), V(1, 2, 3, 4), 1);
    dc_tensor *b = mk(&e, 0, NULL, V(2), 1);
    dc_tensor *y = dc_div(e.ctx, a, b);
    expect_shape(&e, y, 2, SH(2, 2), "div by 0-d");
    EXPECT(&e, y, "div", 0.5, 1, 1.5, 2);
    run_backward(&e, y, V(1, 2, 3, 4), "div");
    EXPECT_GRAD(&e, a, "div da", 0.5, 1, 1.5, 2);
    ck_assert_msg(b->grad && b->grad->ndim == 0, "div db: want a 0-d gradient");
    EXPECT_GRAD(&e, b, "div db", -7.5);
    env_close(&e);
}
END_TEST

/* x = [1,-2,3]: scale 2.5 -> [2.5,-5,7.5], dx = 2.5 w; affine(-2, 1) -> [-1,5,-5], dx = -2 w.
 * w = [1,2,3]. */
START_TEST(test_scale_affine) {
    tenv e = env_open(_i);
    dc_tensor *x = mk(&e, 1, SH(3), V(1, -2, 3), 1);
    dc_tensor *y = dc_scale(e.ctx, x, 2.5);
    EXPECT(&e, y, "scale", 2.5, -5, 7.5);
    run_backward(&e, y, V(1, 2, 3), "scale");
    EXPECT_GRAD(&e, x, "scale", 2.5, 5, 7.5);
    dc_tensor *x2 = mk(&e, 1, SH(3), V(1, -2, 3), 1);
    dc_tensor *y2 = dc_affine(e.ctx, x2, -2, 1);
    EXPECT(&e, y2, "affine", -1, 5, -5);
    run_backward(&e, y2, V(1, 2, 3), "affine");
    EXPECT_GRAD(&e, x2, "affine", -2, -4, -6);
    env_close(&e);
}
END_TEST

/* x = [[1,2,3],[4,5,6]], mask (3) u8 = [1,0,1] broadcast over rows, value -9:
 * y = [[-9,2,-9],[-9,5,-9]]; dx = w where the mask is 0: w = [[1,2,3],[4,5,6]] -> [[0,2,0],[0,5,0]]. */
START_TEST(test_masked_fill) {
    tenv e = env_open(_i);
    dc_tensor *x = mk(&e, 2, SH(2, 3), V(1, 2, 3, 4, 5, 6), 1);
    dc_tensor *m = mk_dt(&e, DC_U8, 1, SH(3), V(1, 0, 1), 0);
    dc_tensor *y = dc_masked_fill(e.ctx, x, m, -9);
    expect_shape(&e, y, 2, SH(2, 3), "masked_fill");
    EXPECT(&e, y, "masked_fill", -9, 2, -9, -9, 5, -9);
    run_backward(&e, y, V(1, 2, 3, 4, 5, 6), "masked_fill");
    EXPECT_GRAD(&e, x, "masked_fill", 0, 2, 0, 0, 5, 0);
    env_close(&e);
}
END_TEST

/* ---------------------------------------------------------------- unary */

/* x = [-2, -0.5, 0.5, 2], w = [1,2,3,4].
 * relu: [0,0,0.5,2], dx = [0,0,3,4] (0 for negative inputs).
 * sigmoid s = 1/(1+e^-x) (s(2) = 0.8807970779778823, s(-x) = 1 - s(x)), dx = w s (1-s).
 * tanh t: dx = w (1 - t^2) (tanh 0.5 = 0.46211715726000974). exp: dx = w e^x.
 * log on [0.5,1,2,4]: [-ln2, 0, ln2, 2 ln2], dx = w / x = [2, 2, 1.5, 1]. */
START_TEST(test_unary) {
    static const double xs[4] = {-2, -0.5, 0.5, 2}, w[4] = {1, 2, 3, 4};
    for (int op = 0; op < 5; op++) {
        tenv e = env_open(_i);
        static const char *const names[5] = {"relu", "sigmoid", "tanh", "exp", "log"};
        double want[4], gw[4];
        const double *in = xs;
        static const double lx[4] = {0.5, 1, 2, 4};
        if (op == 4) in = lx;
        for (int k = 0; k < 4; k++) {
            double x = in[k];
            switch (op) {
            case 0: want[k] = x > 0 ? x : 0; gw[k] = x > 0 ? w[k] : 0; break;
            case 1: want[k] = 1 / (1 + exp(-x)); gw[k] = w[k] * want[k] * (1 - want[k]); break;
            case 2: want[k] = tanh(x); gw[k] = w[k] * (1 - want[k] * want[k]); break;
            case 3: want[k] = exp(x); gw[k] = w[k] * want[k]; break;
            default: want[k] = log(x); gw[k] = w[k] / x; break;
            }
        }
        /* spot values from tables, independent of libm */
        if (op == 1) ck_assert(fabs(want[3] - 0.8807970779778823) < 1e-15);
        if (op == 2) ck_assert(fabs(want[2] - 0.46211715726000974) < 1e-15);
        if (op == 4) ck_assert(fabs(want[2] - 0.6931471805599453) < 1e-15);
        dc_tensor *x = mk(&e, 1, SH(4), in, 1);
        dc_tensor *y = op == 0 ? dc_relu(e.ctx, x) : op == 1 ? dc_sigmoid(e.ctx, x) : op == 2 ? dc_tanh(e.ctx, x)
                     : op == 3 ? dc_exp(e.ctx, x) : dc_log(e.ctx, x);
        expect_tol(&e, y, want, 4, 0, names[op]);
        run_backward(&e, y, w, names[op]);
        expect_grad_n(&e, x, gw, 4, 0, names[op]);
        env_close(&e);
    }
}
END_TEST

/* ---------------------------------------------------------------- reductions */

/* x = [[1,2,3],[4,5,6]]: sum axis 0 = [5,7,9], axis 1 = [6,15]; mean axis 0 = [2.5,3.5,4.5],
 * axis 1 = [2,5]; sum_all = 21. Gradients spread w back over the reduced axis (times 1/n for mean):
 * sum0, w = [1,2,3] -> [[1,2,3],[1,2,3]]; sum1, w = [1,-1] -> [[1,1,1],[-1,-1,-1]];
 * mean0, w = [1,2,3] -> [[.5,1,1.5],[.5,1,1.5]]; mean1, w = [3,-3] -> [[1,1,1],[-1,-1,-1]]. */
START_TEST(test_sum_mean) {
    static const double X[] = {1, 2, 3, 4, 5, 6};
    for (int keep = 0; keep < 2; keep++)
        for (int which = 0; which < 4; which++) {
            tenv e = env_open(_i);
            int axis = which & 1, mean = which >> 1;
            char what[64];
            snprintf(what, sizeof what, "%s axis %d keepdim %d", mean ? "mean" : "sum", axis, keep);
            dc_tensor *x = mk(&e, 2, SH(2, 3), X, 1);
            /* axis 1 is also reached as -1 */
            dc_tensor *y = mean ? dc_mean(e.ctx, x, axis ? -1 : 0, keep) : dc_sum(e.ctx, x, axis ? -1 : 0, keep);
            int64_t n = axis ? 2 : 3;
            if (keep) expect_shape(&e, y, 2, axis ? SH(2, 1) : SH(1, 3), what);
            else expect_shape(&e, y, 1, &n, what);
            switch (which) {
            case 0: EXPECT(&e, y, what, 5, 7, 9); run_backward(&e, y, V(1, 2, 3), what);
                EXPECT_GRAD(&e, x, what, 1, 2, 3, 1, 2, 3); break;
            case 1: EXPECT(&e, y, what, 6, 15); run_backward(&e, y, V(1, -1), what);
                EXPECT_GRAD(&e, x, what, 1, 1, 1, -1, -1, -1); break;
            case 2: EXPECT(&e, y, what, 2.5, 3.5, 4.5); run_backward(&e, y, V(1, 2, 3), what);
                EXPECT_GRAD(&e, x, what, .5, 1, 1.5, .5, 1, 1.5); break;
            default: EXPECT(&e, y, what, 2, 5); run_backward(&e, y, V(3, -3), what);
                EXPECT_GRAD(&e, x, what, 1, 1, 1, -1, -1, -1); break;
            }
            env_close(&e);
        }
}
END_TEST

/* x (2,2,2) = 1..8, sum over the middle axis: [[1+3, 2+4], [5+7, 6+8]] = [[4,6],[12,14]];
 * w = [[1,2],[3,4]] -> dx[i][j][k] = w[i][k]: [1,2,1,2,3,4,3,4].
 * sum_all(x) = 36, 0-d; with w = 2 every dx is 2. */
START_TEST(test_sum_middle_and_all) {
    tenv e = env_open(_i);
    dc_tensor *x = mk(&e, 3, SH(2, 2, 2), V(1, 2, 3, 4, 5, 6, 7, 8), 1);
    dc_tensor *y = dc_sum(e.ctx, x, 1, 0);
    expect_shape(&e, y, 2, SH(2, 2), "sum axis 1 of 3-D");
    EXPECT(&e, y, "sum axis 1 of 3-D", 4, 6, 12, 14);
    run_backward(&e, y, V(1, 2, 3, 4), "sum axis 1 of 3-D");
    EXPECT_GRAD(&e, x, "sum axis 1 of 3-D", 1, 2, 1, 2, 3, 4, 3, 4);
    dc_tensor *x2 = mk(&e, 3, SH(2, 2, 2), V(1, 2, 3, 4, 5, 6, 7, 8), 1);
    dc_tensor *s = dc_sum_all(e.ctx, x2);
    ck_assert_msg(s && s->ndim == 0, "sum_all must be 0-d");
    EXPECT(&e, s, "sum_all", 36);
    run_backward(&e, s, V(2), "sum_all");
    EXPECT_GRAD(&e, x2, "sum_all", 2, 2, 2, 2, 2, 2, 2, 2);
    env_close(&e);
}
END_TEST

/* ---------------------------------------------------------------- batchnorm */

/* x (4,2): channel 0 = [1,2,3,4], channel 1 = [0,0,4,4]. gamma = [2,1], beta = [0.5,-0.5].
 * ch0: mu 2.5, dev [-1.5,-.5,.5,1.5], sum dev^2 = 2.25+.25+.25+2.25 = 5: biased var 1.25, unbiased 5/3.
 * ch1: mu 2, dev [-2,-2,2,2], sum dev^2 = 16: biased var 4, unbiased 16/3.
 * istd0 = 1/sqrt(1.25 + 1e-5) (~0.894427), istd1 = 1/sqrt(4 + 1e-5) (~0.5).
 * y0 = 2 dev istd0 + 0.5 ~ [-2.1833, -0.3944, 1.3944, 3.1833]... exactly 2*dev*istd0 + 0.5;
 * y1 = dev istd1 - 0.5 ~ [-1.5, -1.5, 0.5, 0.5].
 * running (start rm = [0,1], rv = [1,2], momentum 0.1):
 *   rm = 0.9 rm + 0.1 mu = [0.25, 0.9 + 0.2 = 1.1]; rv = 0.9 rv + 0.1 unbiased = [0.9 + 1/6, 1.8 + 1.6/3]. */
static void bn_inputs(tenv *e, dc_tensor **x, dc_tensor **g, dc_tensor **b, dc_tensor **rm, dc_tensor **rv) {
    *x = mk(e, 2, SH(4, 2), V(1, 0, 2, 0, 3, 4, 4, 4), 1);
    *g = mk(e, 1, SH(2), V(2, 1), 1);
    *b = mk(e, 1, SH(2), V(0.5, -0.5), 1);
    *rm = mk(e, 1, SH(2), V(0, 1), 0);
    *rv = mk(e, 1, SH(2), V(1, 2), 0);
}

/* f32: y = x*scale + shift in f32 cancels (|shift| ~ 4 for |y| ~ 0.4): allow 4e-6. */
#define BN_TOL(e) ((e)->dt == DC_F64 ? 1e-12 : 4e-6)

START_TEST(test_batchnorm_train) {
    tenv e = env_open(_i);
    dc_tensor *x, *g, *b, *rm, *rv;
    bn_inputs(&e, &x, &g, &b, &rm, &rv);
    const double i0 = 1 / sqrt(1.25 + 1e-5), i1 = 1 / sqrt(4 + 1e-5);
    const double d0[4] = {-1.5, -.5, .5, 1.5}, d1[4] = {-2, -2, 2, 2};
    dc_bn_opts o = dc_bn_opts_default();
    ck_assert(o.training == 1 && o.fuse_relu == 0 && o.momentum == 0.1 && o.eps == 1e-5);
    dc_tensor *y = dc_batchnorm(e.ctx, x, g, b, rm, rv, &o);
    double want[8];
    for (int r = 0; r < 4; r++) {
        want[2 * r] = 2 * d0[r] * i0 + 0.5;
        want[2 * r + 1] = d1[r] * i1 - 0.5;
    }
    expect_tol(&e, y, want, 8, BN_TOL(&e), "batchnorm train y");
    expect_tol(&e, rm, V(0.25, 1.1), 2, 0, "batchnorm running_mean");
    expect_tol(&e, rv, V(0.9 + 0.1 * 5.0 / 3.0, 1.8 + 0.1 * 16.0 / 3.0), 2, 0, "batchnorm running_var");
    /* Backward, w ch0 = [1,0,0,0], ch1 = [0,1,-1,2]; dx = gamma istd (w - mean w - xh mean(w xh)).
     * ch0: mean w = .25; sum w dev = -1.5 -> mean(w xh) = -1.5 istd0 / 4 = -.375 istd0;
     *   dx0 = 2 istd0 ([.75,-.25,-.25,-.25] + .375 istd0^2 dev); with eps -> 0 (istd0^2 = .8):
     *   .3 dev = [-.45,-.15,.15,.45] -> 2 istd0 [.3,-.4,-.1,.2] ~ [.5367,-.7155,-.1789,.3578] (sums to 0).
     *   dgamma0 = sum w xh = -1.5 istd0, dbeta0 = sum w = 1.
     * ch1: mean w = .5; sum w dev = 0 - 2 - 2 + 4 = 0 -> dx1 = istd1 (w - .5) = istd1 [-.5,.5,-1.5,1.5];
     *   dgamma1 = 0, dbeta1 = 2. */
    run_backward(&e, y, V(1, 0, 0, 1, 0, -1, 0, 2), "batchnorm train");
    const double w0[4] = {1, 0, 0, 0};
    double gx[8];
    for (int r = 0; r < 4; r++) {
        gx[2 * r] = 2 * i0 * (w0[r] - 0.25 + 0.375 * i0 * i0 * d0[r]);
        gx[2 * r + 1] = i1 * (V(-.5, .5, -1.5, 1.5)[r]);
    }
    expect_grad_n(&e, x, gx, 8, 0, "batchnorm dx");
    expect_grad_n(&e, g, V(-1.5 * i0, 0), 2, 0, "batchnorm dgamma");
    expect_grad_n(&e, b, V(1, 2), 2, 0, "batchnorm dbeta");
    env_close(&e);
}
END_TEST

/* Fused ReLU on the same input: y0 ~ [-2.18,-0.39,1.39,3.18] -> [0,0,y,y]; y1 -> [0,0,.5,.5].
 * Backward with w ch0 = [1,0,0,0] (masked by y > 0 to all zero: dx0 = dgamma0 = dbeta0 = 0) and
 * w ch1 = [0,1,-1,2], masked to g = [0,0,-1,2]: mean g = .25, sum g dev = -2 + 4 = 2 ->
 *   mean(g xh) = .5 istd1; dx1 = istd1 (g - .25 - .5 istd1^2 dev)
 *   (eps -> 0: istd1^2 = .25, .125 dev = [-.25,-.25,.25,.25] -> .5 [0, 0, -1.5, 1.5] = [0,0,-.75,.75]);
 *   dgamma1 = sum g xh = (-1*2 + 2*2) istd1 = 2 istd1, dbeta1 = 1. */
START_TEST(test_batchnorm_relu) {
    tenv e = env_open(_i);
    dc_tensor *x, *g, *b, *rm, *rv;
    bn_inputs(&e, &x, &g, &b, &rm, &rv);
    const double i0 = 1 / sqrt(1.25 + 1e-5), i1 = 1 / sqrt(4 + 1e-5);
    const double d1[4] = {-2, -2, 2, 2}, gm[4] = {0, 0, -1, 2};
    dc_bn_opts o = dc_bn_opts_default();
    o.fuse_relu = 1;
    dc_tensor *y = dc_batchnorm(e.ctx, x, g, b, rm, rv, &o);
    expect_tol(&e, y, V(0, 0, 0, 0, 2 * .5 * i0 + .5, 2 * i1 - .5, 2 * 1.5 * i0 + .5, 2 * i1 - .5), 8, BN_TOL(&e),
               "batchnorm+relu y");
    run_backward(&e, y, V(1, 0, 0, 1, 0, -1, 0, 2), "batchnorm+relu");
    double gx[8];
    for (int r = 0; r < 4; r++) {
        gx[2 * r] = 0;
        gx[2 * r + 1] = i1 * (gm[r] - 0.25 - 0.5 * i1 * i1 * d1[r]);
    }
    expect_grad_n(&e, x, gx, 8, 0, "batchnorm+relu dx");
    expect_grad_n(&e, g, V(0, 2 * i1), 2, 0, "batchnorm+relu dgamma");
    expect_grad_n(&e, b, V(0, 1), 2, 0, "batchnorm+relu dbeta");
    env_close(&e);
}
END_TEST

/* Eval mode with rm = [0.25, 1.25], rv = [1.0625, 2.25] (exact in f32): the running statistics
 * replace the batch ones and stay unchanged. y = gamma (x - rm) / sqrt(rv + eps) + beta;
 * dx = gamma w / sqrt(rv + eps) (no batch terms), dbeta = sum w. */
START_TEST(test_batchnorm_eval) {
    tenv e = env_open(_i);
    dc_tensor *x, *g, *b, *rm, *rv;
    bn_inputs(&e, &x, &g, &b, &rm, &rv);
    put(rm, V(0.25, 1.25));
    put(rv, V(1.0625, 2.25));
    dc_bn_opts o = dc_bn_opts_default();
    o.training = 0;
    dc_tensor *y = dc_batchnorm(e.ctx, x, g, b, rm, rv, &o);
    const double s0 = 1 / sqrt(1.0625 + 1e-5), s1 = 1 / sqrt(2.25 + 1e-5);
    const double xv[8] = {1, 0, 2, 0, 3, 4, 4, 4};
    double want[8], gx[8];
    const double w[8] = {1, 0, 0, 1, 0, -1, 0, 2};
    for (int r = 0; r < 4; r++) {
        want[2 * r] = 2 * (xv[2 * r] - 0.25) * s0 + 0.5;     /* e.g. row 0: 2 * .75 / 1.0308 + .5 */
        want[2 * r + 1] = (xv[2 * r + 1] - 1.25) * s1 - 0.5; /* e.g. row 0: -1.25 / 1.5 - .5 */
        gx[2 * r] = 2 * s0 * w[2 * r];
        gx[2 * r + 1] = s1 * w[2 * r + 1];
    }
    expect_tol(&e, y, want, 8, BN_TOL(&e), "batchnorm eval y");
    EXPECT(&e, rm, "batchnorm eval keeps running_mean", 0.25, 1.25);
    EXPECT(&e, rv, "batchnorm eval keeps running_var", 1.0625, 2.25);
    run_backward(&e, y, w, "batchnorm eval");
    expect_grad_n(&e, x, gx, 8, 0, "batchnorm eval dx");
    /* dgamma = sum w (x - rm) s: ch0 (1 - .25) s0 = .75 s0;
     * ch1 (0 - 1.25) 1 + (4 - 1.25)(-1) + (4 - 1.25) 2 = -1.25 - 2.75 + 5.5 = 1.5 -> 1.5 s1 */
    expect_grad_n(&e, g, V(0.75 * s0, 1.5 * s1), 2, 0, "batchnorm eval dgamma");
    expect_grad_n(&e, b, V(1, 2), 2, 0, "batchnorm eval dbeta");
    env_close(&e);
}
END_TEST

/* ---------------------------------------------------------------- l2norm */

/* eps = 0.01. Rows: [3,4] (norm 5) -> [.6,.8]; [0,0] -> [0,0] (clamped, no NaN); [0,-2] -> [0,-1];
 * [.003,.004] (norm .005 < eps) -> x / eps = [.3,.4].
 * Backward, norm > eps: dx = (g - y (y.g)) / n; else dx = g / eps.
 *   row 0, g = [1,0]: y.g = .6 -> ([1,0] - .6[.6,.8]) / 5 = [.64,-.48]/5 = [.128,-.096]
 *   row 1, g = [1,2]: [100,200];  row 2, g = [3,-1]: y.g = 1 -> ([3,-1] - [0,-1]) / 2 = [1.5,0]
 *   row 3, g = [1,1]: [100,100]. */
START_TEST(test_l2norm) {
    tenv e = env_open(_i);
    dc_tensor *x = mk(&e, 2, SH(4, 2), V(3, 4, 0, 0, 0, -2, .003, .004), 1);
    dc_tensor *y = dc_l2norm(e.ctx, x, 0.01);
    EXPECT(&e, y, "l2norm", .6, .8, 0, 0, 0, -1, .3, .4);
    run_backward(&e, y, V(1, 0, 1, 2, 3, -1, 1, 1), "l2norm");
    EXPECT_GRAD(&e, x, "l2norm", .128, -.096, 100, 200, 1.5, 0, 100, 100);
    env_close(&e);
}
END_TEST

/* ---------------------------------------------------------------- softmax and losses */

/* Row 0 = [0,0,0]: log_softmax = -ln 3 each. Row 1 = [1,2,3]: lse = ln(e + e^2 + e^3), y = x - lse;
 * p = softmax = [e^-2, e^-1, 1] / (1 + e^-1 + e^-2) ~ [.0900, .2447, .6652].
 * Backward dx = g - p sum(g): row 0, g = [1,0,0]: [2/3, -1/3, -1/3]; row 1, g = [0,0,1]: [-p0,-p1,1-p2]. */
START_TEST(test_log_softmax) {
    tenv e = env_open(_i);
    dc_tensor *x = mk(&e, 2, SH(2, 3), V(0, 0, 0, 1, 2, 3), 1);
    dc_tensor *y = dc_log_softmax(e.ctx, x);
    const double l3 = log(3.0), lse = log(exp(1) + exp(2) + exp(3)), z = 1 + exp(-1) + exp(-2);
    const double p0 = exp(-2) / z, p1 = exp(-1) / z, p2 = 1 / z;
    ck_assert(fabs(p2 - 0.6652409557748219) < 1e-15);
    EXPECT(&e, y, "log_softmax", -l3, -l3, -l3, 1 - lse, 2 - lse, 3 - lse);
    run_backward(&e, y, V(1, 0, 0, 0, 0, 1), "log_softmax");
    EXPECT_GRAD(&e, x, "log_softmax", 2.0 / 3, -1.0 / 3, -1.0 / 3, -p0, -p1, 1 - p2);
    env_close(&e);
}
END_TEST

/* logits rows [0,0,0] (target 1), [1,2,3] (target 2), [5,5,5] (target 7: out of range, adds 0).
 * loss = (ln 3 + (lse_1 - 3) + 0) / 3 = (ln 3 + ln(1 + e^-1 + e^-2)) / 3.
 * dlogits = (softmax - onehot) / R; with w = 3 the gradient is softmax - onehot:
 * [1/3, -2/3, 1/3], [p0, p1, p2 - 1], [0, 0, 0]. */
START_TEST(test_cross_entropy) {
    tenv e = env_open(_i);
    dc_tensor *x = mk(&e, 2, SH(3, 3), V(0, 0, 0, 1, 2, 3, 5, 5, 5), 1);
    dc_tensor *t = mk_dt(&e, DC_I32, 1, SH(3), V(1, 2, 7), 0);
    dc_tensor *loss = dc_cross_entropy(e.ctx, x, t);
    ck_assert_msg(loss && loss->ndim == 0, "cross_entropy: want a 0-d loss (%s)", dc_last_error());
    const double z = 1 + exp(-1) + exp(-2);
    EXPECT(&e, loss, "cross_entropy", (log(3.0) + log(z)) / 3);
    run_backward(&e, loss, V(3), "cross_entropy");
    EXPECT_GRAD(&e, x, "cross_entropy", 1.0 / 3, -2.0 / 3, 1.0 / 3, exp(-2) / z, exp(-1) / z, 1 / z - 1, 0, 0, 0);
    env_close(&e);
}
END_TEST

/* a = [1,2,3,4], b = [0,2,5,1]: diffs [1,0,-2,3], squares [1,0,4,9] -> mean 14/4 = 3.5.
 * w = 2: da = 2 * 2 (a - b) / 4 = [1,0,-2,3], db = -da. */
START_TEST(test_mse) {
    tenv e = env_open(_i);
    dc_tensor *a = mk(&e, 1, SH(4), V(1, 2, 3, 4), 1), *b = mk(&e, 1, SH(4), V(0, 2, 5, 1), 1);
    dc_tensor *l = dc_mse(e.ctx, a, b);
    ck_assert_msg(l && l->ndim == 0, "mse: want 0-d");
    EXPECT(&e, l, "mse", 3.5);
    run_backward(&e, l, V(2), "mse");
    EXPECT_GRAD(&e, a, "mse da", 1, 0, -2, 3);
    EXPECT_GRAD(&e, b, "mse db", -1, 0, 2, -3);
    env_close(&e);
}
END_TEST

/* ---------------------------------------------------------------- data movement */

/* x = [[1,2,3],[4,5,6]]. reshape (3,-1) -> (3,2) same order; dx = w reshaped.
 * transpose -> [[1,4],[2,5],[3,6]]; w = [[1,2],[3,4],[5,6]] -> dx[i][j] = w[j][i] = [[1,3,5],[2,4,6]].
 * permute (2,1,3) by {2,0,1} -> (3,2,1): y[k][i] = x[i][0][k] = [1,4,2,5,3,6]; w = 1..6 ->
 *   dx[i][0][k] = w[2k+i] = [1,3,5,2,4,6]. */
START_TEST(test_reshape_permute) {
    tenv e = env_open(_i);
    dc_tensor *x = mk(&e, 2, SH(2, 3), V(1, 2, 3, 4, 5, 6), 1);
    dc_tensor *r = dc_reshape(e.ctx, x, 2, SH(3, -1));
    expect_shape(&e, r, 2, SH(3, 2), "reshape");
    EXPECT(&e, r, "reshape", 1, 2, 3, 4, 5, 6);
    run_backward(&e, r, V(6, 5, 4, 3, 2, 1), "reshape");
    EXPECT_GRAD(&e, x, "reshape", 6, 5, 4, 3, 2, 1);
    dc_tensor *x2 = mk(&e, 2, SH(2, 3), V(1, 2, 3, 4, 5, 6), 1);
    dc_tensor *t = dc_transpose(e.ctx, x2, 0, -1);
    expect_shape(&e, t, 2, SH(3, 2), "transpose");
    ck_assert(dc_tensor_is_contiguous(t));
    EXPECT(&e, t, "transpose", 1, 4, 2, 5, 3, 6);
    run_backward(&e, t, V(1, 2, 3, 4, 5, 6), "transpose");
    EXPECT_GRAD(&e, x2, "transpose", 1, 3, 5, 2, 4, 6);
    dc_tensor *x3 = mk(&e, 3, SH(2, 1, 3), V(1, 2, 3, 4, 5, 6), 1);
    dc_tensor *p = dc_permute(e.ctx, x3, (const int[]){2, 0, 1});
    expect_shape(&e, p, 3, SH(3, 2, 1), "permute");
    EXPECT(&e, p, "permute", 1, 4, 2, 5, 3, 6);
    run_backward(&e, p, V(1, 2, 3, 4, 5, 6), "permute");
    EXPECT_GRAD(&e, x3, "permute", 1, 3, 5, 2, 4, 6);
    env_close(&e);
}
END_TEST

/* slice x = [[1,2,3],[4,5,6]] axis 1 [1,3) -> [[2,3],[5,6]]; w = [[1,2],[3,4]] -> dx = [[0,1,2],[0,3,4]].
 * slice axis 0 [1,2) -> [[4,5,6]]; w = [7,8,9] -> dx = [[0,0,0],[7,8,9]].
 * concat axis 1 of a = [[1],[2]], b = [[3,4],[5,6]] -> [[1,3,4],[2,5,6]]; w = [[1,2,3],[4,5,6]] ->
 *   da = [[1],[4]], db = [[2,3],[5,6]]. concat axis 0 of c = [[1,2]], b -> [[1,2],[3,4],[5,6]];
 *   w = 1..6 -> dc = [1,2], db = [3,4,5,6]. */
START_TEST(test_slice_concat) {
    tenv e = env_open(_i);
    dc_tensor *x = mk(&e, 2, SH(2, 3), V(1, 2, 3, 4, 5, 6), 1);
    dc_tensor *s = dc_slice(e.ctx, x, -1, 1, 2);
    expect_shape(&e, s, 2, SH(2, 2), "slice axis 1");
    EXPECT(&e, s, "slice axis 1", 2, 3, 5, 6);
    dc_tensor *s0 = dc_slice(e.ctx, x, 0, 1, 1);
    EXPECT(&e, s0, "slice axis 0", 4, 5, 6);
    /* both slices in one loss: gradients add up in x */
    dc_tensor *w1 = mk(&e, 2, SH(2, 2), V(1, 2, 3, 4), 0), *w0 = mk(&e, 2, SH(1, 3), V(7, 8, 9), 0);
    dc_tensor *loss = dc_add(e.ctx, dc_sum_all(e.ctx, dc_mul(e.ctx, s, w1)), dc_sum_all(e.ctx, dc_mul(e.ctx, s0, w0)));
    ck_assert_int_eq(dc_backward(e.ctx, loss), DC_OK);
    EXPECT_GRAD(&e, x, "slice", 0, 1, 2, 7, 8 + 3, 9 + 4);

    dc_tensor *a = mk(&e, 2, SH(2, 1), V(1, 2), 1), *b = mk(&e, 2, SH(2, 2), V(3, 4, 5, 6), 1);
    dc_tensor *c = dc_concat(e.ctx, 2, (dc_tensor *[]){a, b}, 1);
    expect_shape(&e, c, 2, SH(2, 3), "concat axis 1");
    EXPECT(&e, c, "concat axis 1", 1, 3, 4, 2, 5, 6);
    run_backward(&e, c, V(1, 2, 3, 4, 5, 6), "concat axis 1");
    EXPECT_GRAD(&e, a, "concat da", 1, 4);
    EXPECT_GRAD(&e, b, "concat db", 2, 3, 5, 6);
    dc_tensor *c1 = mk(&e, 2, SH(1, 2), V(1, 2), 1), *b2 = mk(&e, 2, SH(2, 2), V(3, 4, 5, 6), 1);
    dc_tensor *c0 = dc_concat(e.ctx, 2, (dc_tensor *[]){c1, b2}, 0);
    expect_shape(&e, c0, 2, SH(3, 2), "concat axis 0");
    EXPECT(&e, c0, "concat axis 0", 1, 2, 3, 4, 5, 6);
    run_backward(&e, c0, V(1, 2, 3, 4, 5, 6), "concat axis 0");
    EXPECT_GRAD(&e, c1, "concat axis 0 dc", 1, 2);
    EXPECT_GRAD(&e, b2, "concat axis 0 db", 3, 4, 5, 6);
    env_close(&e);
}
END_TEST

/* broadcast_to (3) [1,2,3] -> (2,3) [[1,2,3],[1,2,3]]; w = [[1,2,3],[4,5,6]] -> dx = [5,7,9].
 * (2,1) [1,2] -> (2,3) [[1,1,1],[2,2,2]]; w same -> dx = [[6],[15]].
 * contiguous: of a contiguous tensor returns it; of a transposed view makes [[1,4],[2,5],[3,6]]. */
START_TEST(test_broadcast_contiguous) {
    tenv e = env_open(_i);
    dc_tensor *x = mk(&e, 1, SH(3), V(1, 2, 3), 1);
    dc_tensor *y = dc_broadcast_to(e.ctx, x, 2, SH(2, 3));
    expect_shape(&e, y, 2, SH(2, 3), "broadcast_to");
    EXPECT(&e, y, "broadcast_to", 1, 2, 3, 1, 2, 3);
    run_backward(&e, y, V(1, 2, 3, 4, 5, 6), "broadcast_to");
    EXPECT_GRAD(&e, x, "broadcast_to", 5, 7, 9);
    dc_tensor *x2 = mk(&e, 2, SH(2, 1), V(1, 2), 1);
    dc_tensor *y2 = dc_broadcast_to(e.ctx, x2, 2, SH(2, 3));
    EXPECT(&e, y2, "broadcast_to (2,1)", 1, 1, 1, 2, 2, 2);
    run_backward(&e, y2, V(1, 2, 3, 4, 5, 6), "broadcast_to (2,1)");
    EXPECT_GRAD(&e, x2, "broadcast_to (2,1)", 6, 15);

    dc_tensor *m = mk(&e, 2, SH(2, 3), V(1, 2, 3, 4, 5, 6), 0);
    ck_assert_ptr_eq(dc_contiguous(e.ctx, m), m);
    dc_tensor *v = dc_view_permute(e.ctx, m, (const int[]){1, 0});
    ck_assert(!dc_tensor_is_contiguous(v));
    dc_tensor *c = dc_contiguous(e.ctx, v);
    ck_assert(c != v && dc_tensor_is_contiguous(c) && c->buf != m->buf);
    expect_shape(&e, c, 2, SH(3, 2), "contiguous");
    EXPECT(&e, c, "contiguous", 1, 4, 2, 5, 3, 6);
    env_close(&e);
}
END_TEST

/* ---------------------------------------------------------------- maxpool1d */

/* x (B=2, T=4, C=2), listed as (t: ch0, ch1):
 *   b0: t0 (1,4) t1 (5,4) t2 (2,-1) t3 (3,0);  b1: t0 (0,-1) t1 (0,-2) t2 (0,-3) t3 (0,-4).
 * kernel 2 stride 2 (windows {0,1},{2,3}): b0 o0 (5@t1, 4@t0 first max), o1 (3@t3, 0@t3);
 *   b1 o0 (0@t0 first max, -1@t0), o1 (0@t2, -3@t2).
 *   w = b0 [[1,2],[3,4]], b1 [[5,6],[7,8]] -> dx b0: t0 (0,2) t1 (1,0) t2 (0,0) t3 (3,4);
 *                                             b1: t0 (5,6) t1 0 t2 (7,8) t3 0.
 * kernel 3 stride 1 (windows {0,1,2},{1,2,3}): b0 o0 (5@t1, 4@t0), o1 (5@t1, 4@t1);
 *   b1 o0 (0@t0, -1@t0), o1 (0@t1, -2@t1).
 *   dx b0: ch0 t1 gets 1 + 3 = 4 (shared argmax), ch1 t0 = 2, t1 = 4 -> t0 (0,2) t1 (4,4) rest 0;
 *      b1: ch0 t0 = 5, t1 = 7; ch1 t0 = 6, t1 = 8 -> t0 (5,6) t1 (7,8) rest 0. */
START_TEST(test_maxpool1d) {
    static const double X[] = {1, 4, 5, 4, 2, -1, 3, 0, 0, -1, 0, -2, 0, -3, 0, -4};
    static const double W[] = {1, 2, 3, 4, 5, 6, 7, 8};
    tenv e = env_open(_i);
    dc_tensor *x = mk(&e, 3, SH(2, 4, 2), X, 1);
    dc_tensor *y = dc_maxpool1d(e.ctx, x, 2, 2);
    expect_shape(&e, y, 3, SH(2, 2, 2), "maxpool1d k2 s2");
    EXPECT(&e, y, "maxpool1d k2 s2", 5, 4, 3, 0, 0, -1, 0, -3);
    run_backward(&e, y, W, "maxpool1d k2 s2");
    EXPECT_GRAD(&e, x, "maxpool1d k2 s2", 0, 2, 1, 0, 0, 0, 3, 4, 5, 6, 0, 0, 7, 8, 0, 0);
    dc_tensor *x2 = mk(&e, 3, SH(2, 4, 2), X, 1);
    dc_tensor *y2 = dc_maxpool1d(e.ctx, x2, 3, 1);
    expect_shape(&e, y2, 3, SH(2, 2, 2), "maxpool1d k3 s1");
    EXPECT(&e, y2, "maxpool1d k3 s1", 5, 4, 5, 4, 0, -1, 0, -2);
    run_backward(&e, y2, W, "maxpool1d k3 s1");
    EXPECT_GRAD(&e, x2, "maxpool1d k3 s1", 0, 2, 4, 4, 0, 0, 0, 0, 5, 6, 7, 8, 0, 0, 0, 0);
    env_close(&e);
}
END_TEST

/* ---------------------------------------------------------------- rfft / irfft */

/* X_k = sum_j x_j e^{-2 pi i jk/n}, k = 0..n/2, as (re, im).
 * n = 4, x = [1,2,3,4]: X0 = 10; X1 = 1 - 2i - 3 + 4i = -2 + 2i; X2 = 1 - 2 + 3 - 4 = -2.
 *        x = [1,0,-1,0]: X0 = 0; X1 = 1 - (-1) = 2; X2 = 1 + (-1) = 0.
 * n = 5, delta [1,0,0,0,0] -> all 1; ones -> [5, 0, 0]; shifted delta [0,1,0,0,0] -> X_k = e^{-2 pi i k/5}:
 *   X1 = cos 72 - i sin 72 = c1 - i s1, X2 = cos 144 - i sin 144 = c2 - i s2 with
 *   c1 = (sqrt5 - 1)/4, s1 = sqrt(10 + 2 sqrt5)/4, c2 = -(sqrt5 + 1)/4, s2 = sqrt(10 - 2 sqrt5)/4.
 * Backward: L = sum_k wr_k Re X_k + wi_k Im X_k -> dx_j = sum_k wr_k cos(2 pi jk/n) - wi_k sin(2 pi jk/n)
 *   (the Im weights of DC and Nyquist never matter: their sine is 0).
 *   n = 4 (1-D x), w = [[1,5],[2,3],[4,7]]: dx_j = 1 + 2 cos(pi j/2) - 3 sin(pi j/2) + 4 cos(pi j)
 *     = [1+2+4, 1-3-4, 1-2+4, 1+3-4] = [7,-6,3,0].
 *   n = 5 (row 2 only, w = [[1,0],[2,0],[0,1]]): dx_j = 1 + 2 cos(72 j) - sin(144 j)
 *     = [3, 1 + 2c1 - s2, 1 + 2c2 + s1, 1 + 2c2 - s1, 1 + 2c1 + s2]. */
START_TEST(test_rfft) {
    tenv e = env_open(_i);
    dc_tensor *x4 = mk(&e, 2, SH(2, 4), V(1, 2, 3, 4, 1, 0, -1, 0), 0);
    dc_tensor *y4 = dc_rfft(e.ctx, x4);
    expect_shape(&e, y4, 3, SH(2, 3, 2), "rfft n=4");
    EXPECT(&e, y4, "rfft n=4", 10, 0, -2, 2, -2, 0, 0, 0, 2, 0, 0, 0);
    dc_tensor *x1 = mk(&e, 1, SH(4), V(1, 2, 3, 4), 1);
    dc_tensor *y1 = dc_rfft(e.ctx, x1);
    expect_shape(&e, y1, 2, SH(3, 2), "rfft 1-D n=4");
    EXPECT(&e, y1, "rfft 1-D n=4", 10, 0, -2, 2, -2, 0);
    run_backward(&e, y1, V(1, 5, 2, 3, 4, 7), "rfft n=4 backward");
    EXPECT_GRAD(&e, x1, "rfft n=4 backward", 7, -6, 3, 0);
    const double s5 = sqrt(5.0), c1 = (s5 - 1) / 4, c2 = -(s5 + 1) / 4;
    const double s1 = sqrt(10 + 2 * s5) / 4, s2 = sqrt(10 - 2 * s5) / 4;
    dc_tensor *x5 = mk(&e, 2, SH(3, 5), V(1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 1, 0, 0, 0), 1);
    dc_tensor *y5 = dc_rfft(e.ctx, x5);
    expect_shape(&e, y5, 3, SH(3, 3, 2), "rfft n=5");
    EXPECT(&e, y5, "rfft n=5", 1, 0, 1, 0, 1, 0, 5, 0, 0, 0, 0, 0, 1, 0, c1, -s1, c2, -s2);
    run_backward(&e, y5, V(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 0, 0, 1), "rfft n=5 backward");
    EXPECT_GRAD(&e, x5, "rfft n=5 backward", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 1 + 2 * c1 - s2, 1 + 2 * c2 + s1,
                1 + 2 * c2 - s1, 1 + 2 * c1 + s2);
    env_close(&e);
}
END_TEST

/* irfft (n = 4, scaled by 1/4) of [[10,9],[-2,2],[-2,9]] = [1,2,3,4]: the Im parts of DC and Nyquist (9)
 * are ignored. y_j = (X0r + (-1)^j X2r + 2 (X1r cos(pi j/2) - X1i sin(pi j/2))) / 4, so with w = [1,2,3,4]:
 *   dX0r = sum w / 4 = 2.5; dX2r = (1-2+3-4)/4 = -.5; dX1r = (1-3)/2 = -1; dX1i = -(2-4)/2 = 1; Im DC/Nyq 0. */
START_TEST(test_irfft) {
    tenv e = env_open(_i);
    dc_tensor *X = mk(&e, 2, SH(3, 2), V(10, 9, -2, 2, -2, 9), 1);
    dc_tensor *y = dc_irfft(e.ctx, X, 4);
    expect_shape(&e, y, 1, SH(4), "irfft n=4");
    EXPECT(&e, y, "irfft n=4", 1, 2, 3, 4);
    run_backward(&e, y, V(1, 2, 3, 4), "irfft n=4");
    EXPECT_GRAD(&e, X, "irfft n=4", 2.5, 0, -1, 1, -.5, 0);
    env_close(&e);
}
END_TEST

/* ---------------------------------------------------------------- AdamW */

/* p0 = [1,-2,0.5], constant g = [0.5,-1,2], lr 0.1, wd 0.01, betas 0.9/0.999, eps 1e-8.
 * PyTorch: p <- p (1 - lr wd); m <- b1 m + (1-b1) g; v <- b2 v + (1-b2) g^2;
 *          p <- p - lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).
 * t=1: m = .1 g, v = .001 g^2, mhat = g, vhat = g^2 -> p1 = .999 p0 - .1 g/(|g| + 1e-8) ~ [.899,-1.898,.3995]
 * t=2: m = .19 g, v = .001999 g^2, bias corrections .19 / .001999 -> again mhat = g, vhat = g^2:
 *      p2 = .999 p1 - .1 g/(|g| + 1e-8) ~ [.7981, -1.7961, .2991]. Padding (13 elements) stays 0. */
START_TEST(test_adamw) {
    tenv e = env_open(_i);
    dc_params *ps = dc_params_new(e.be, e.dt, 1);
    dc_tensor *p = dc_params_add(ps, "p", 1, SH(3));
    ck_assert_int_eq(dc_params_alloc(ps), DC_OK);
    const double p0[3] = {1, -2, 0.5}, g[3] = {0.5, -1, 2};
    put(p, p0);
    put(p->grad, g);
    dc_adamw_opts o = dc_adamw_opts_default();
    o.lr = 0.1;
    o.weight_decay = 0.01;
    dc_adamw *opt = dc_adamw_new(ps, o);
    ck_assert_msg(opt != NULL, "adamw_new: %s", dc_last_error());
    double pw[3] = {1, -2, 0.5}, m[3] = {0}, v[3] = {0};
    for (int t = 1; t <= 2; t++) {
        ck_assert_int_eq(dc_adamw_step(opt), DC_OK);
        const double bc1 = 1 - pow(0.9, t), bc2 = 1 - pow(0.999, t);
        for (int k = 0; k < 3; k++) {
            pw[k] *= 1 - 0.1 * 0.01;
            m[k] = 0.9 * m[k] + 0.1 * g[k];
            v[k] = 0.999 * v[k] + 0.001 * g[k] * g[k];
            pw[k] -= 0.1 / bc1 * m[k] / (sqrt(v[k]) / sqrt(bc2) + 1e-8);
        }
        expect_tol(&e, p, pw, 3, 0, t == 1 ? "adamw step 1 p" : "adamw step 2 p");
    }
    ck_assert_int_eq(dc_adamw_steps(opt), 2);
    /* the recurrences by hand: step 1 gives ~ [.899, -1.898, .3995], step 2 ~ [.798101, -1.796102, .299100] */
    ck_assert(fabs(pw[0] - (0.999 * (0.999 - 0.1 * 0.5 / (0.5 + 1e-8)) - 0.1 * 0.19 * 0.5 / 0.19 /
                            (sqrt(0.001999 * 0.25) / sqrt(0.001999) + 1e-8))) < 1e-12);
    double mw[16] = {0}, vw[16] = {0};
    for (int k = 0; k < 3; k++) {
        mw[k] = 0.19 * g[k];
        vw[k] = 0.001999 * g[k] * g[k];
    }
    expect_tol(&e, dc_adamw_m(opt), mw, 16, 0, "adamw m");
    expect_tol(&e, dc_adamw_v(opt), vw, 16, 0, "adamw v");
    double flat[16] = {0};
    memcpy(flat, pw, sizeof pw);
    expect_tol(&e, dc_params_flat(ps), flat, 16, 0, "adamw flat (padding stays 0)");
    dc_adamw_free(opt);
    dc_params_free(ps);
    env_close(&e);
}
END_TEST

/* ---------------------------------------------------------------- RNG */

/* Random123 known-answer vectors for philox4x32-10. */
START_TEST(test_philox_kat) {
    static const uint32_t ctr[3][4] = {{0, 0, 0, 0},
                                       {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
                                       {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}};
    static const uint32_t key[3][2] = {{0, 0}, {0xffffffffu, 0xffffffffu}, {0xa4093822u, 0x299f31d0u}};
    static const uint32_t want[3][4] = {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u},
                                        {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu},
                                        {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}};
    for (int c = 0; c < 3; c++) {
        uint32_t out[4];
        dc_philox4x32_block(ctr[c], key[c], out);
        for (int l = 0; l < 4; l++)
            ck_assert_msg(out[l] == want[c][l], "philox KAT %d lane %d: %08x, want %08x", c, l, out[l], want[c][l]);
    }
    /* dc_philox4x32(seed, counter) = block(ctr {lo, hi, 0, 0}, key {lo, hi}) */
    uint32_t a[4], b[4];
    dc_philox4x32(0x299f31d0a4093822ull, 0x85a308d3243f6a88ull, a);
    dc_philox4x32_block((const uint32_t[]){0x243f6a88u, 0x85a308d3u, 0, 0}, key[2], b);
    ck_assert(memcmp(a, b, sizeof a) == 0);
    dc_philox4x32(0, 0, a);
    ck_assert(a[0] == want[0][0] && a[3] == want[0][3]);
    /* uniform01(u) = (u >> 8) 2^-24 */
    ck_assert(dc_rng_u01(0) == 0.0 && dc_rng_u01(0xffu) == 0.0 && dc_rng_u01(0x100u) == 0x1p-24);
    ck_assert(dc_rng_u01(0xffffffffu) == 1.0 - 0x1p-24 && dc_rng_u01(0x80000000u) == 0.5);
    ck_assert(dc_rng_u01_open0(0) == 0x1p-24 && dc_rng_u01_open0(0xffffffffu) == 1.0);
}
END_TEST

/* Device fills vs the host formula: element j uses block counter + j/4, lane j%4.
 * n = 10 -> 3 blocks (ceil(10/4)); the counter starts at C0 = 2^32 - 2 (so the blocks cross into
 * the second counter word) and ends at C0 + 3. The seed has its top bit set. Every fill is then
 * compared bit for bit between cpu and cpu-ref. */
#define C0 0xfffffffeull
START_TEST(test_rng_fills) {
    const uint64_t seed = 0xfedcba9876543210ull;
    static const char *const names[3] = {"rng uniform", "rng normal", "rng bernoulli"};
    for (int d = 0; d < 2; d++) {
        double want[3][12], got[2][3][10];
        for (int b = 0; b < 3; b++) {
            uint32_t w[4];
            dc_philox4x32(seed, C0 + (uint64_t)b, w);
            for (int l = 0; l < 4; l++) {
                want[0][4 * b + l] = -1 + 4 * dc_rng_u01(w[l]); /* uniform on [-1, 3) */
                want[2][4 * b + l] = dc_rng_u01(w[l]) < 0.3 ? 1 : 0;
            }
            for (int l = 0; l < 4; l += 2) { /* Box-Muller, mean 2, std 0.5 */
                double r = sqrt(-2 * log(dc_rng_u01_open0(w[l]))), th = 2 * M_PI * dc_rng_u01(w[l + 1]);
                want[1][4 * b + l] = 2 + 0.5 * r * cos(th);
                want[1][4 * b + l + 1] = 2 + 0.5 * r * sin(th);
            }
        }
        for (int bi = 0; bi < 2; bi++) {
            tenv e = env_open(bi + 2 * d);
            for (int dist = 0; dist < 3; dist++) {
                dc_rng r = dc_rng_init(seed);
                ck_assert(r.seed == seed && r.counter == 0);
                r.counter = C0;
                dc_tensor *t = dc_tensor_new(e.ctx, e.dt, 1, SH(10));
                dc_status st = dist == 0 ? dc_rng_fill_uniform(&r, t, -1, 3)
                             : dist == 1 ? dc_rng_fill_normal(&r, t, 2, 0.5) : dc_rng_fill_bernoulli(&r, t, 0.3);
                ck_assert_msg(st == DC_OK, "%s: %s", names[dist], dc_last_error());
                ck_assert_msg(r.counter == C0 + 3, "%s [%s]: counter %llx, want C0 + 3", names[dist], e.bname,
                              (unsigned long long)r.counter);
                expect_tol(&e, t, want[dist], 10, 0, names[dist]);
                double *g = fetch(t);
                memcpy(got[bi][dist], g, sizeof got[bi][dist]);
                free(g);
            }
            /* bernoulli into u8; counter advance for 1 and 4 elements is one block each */
            dc_rng r = dc_rng_init(seed);
            r.counter = C0;
            dc_tensor *u = dc_tensor_new(e.ctx, DC_U8, 1, SH(10));
            ck_assert_int_eq(dc_rng_fill_bernoulli(&r, u, 0.3), DC_OK);
            double *gu = fetch(u);
            for (int j = 0; j < 10; j++) ck_assert_msg(gu[j] == want[2][j], "bernoulli u8 [%s] %d", e.bname, j);
            free(gu);
            ck_assert(r.counter == C0 + 3);
            ck_assert_int_eq(dc_rng_fill_uniform(&r, dc_tensor_new(e.ctx, e.dt, 0, NULL), 0, 1), DC_OK);
            ck_assert(r.counter == C0 + 4);
            ck_assert_int_eq(dc_rng_fill_uniform(&r, dc_tensor_new(e.ctx, e.dt, 2, SH(2, 2)), 0, 1), DC_OK);
            ck_assert(r.counter == C0 + 5);
            env_close(&e);
        }
        /* uniform and Bernoulli bit for bit; normal: cpu-ref's Box-Muller uses libm's log, cos
         * and sin, the CPU's the exact series of dc_rng_normal.h (a few ulp apart in f64) */
        ck_assert_msg(memcmp(got[0][0], got[1][0], sizeof got[0][0]) == 0 && memcmp(got[0][2], got[1][2], sizeof got[0][2]) == 0,
                      "rng fills (%s): cpu and cpu-ref differ", d ? "f64" : "f32");
        for (int j = 0; j < 10; j++)
            ck_assert_msg(fabs(got[0][1][j] - got[1][1][j]) <= 1e-14 * fmax(1.0, fabs(got[1][1][j])),
                          "rng normal (%s) [%d]: cpu %.17g, cpu-ref %.17g", d ? "f64" : "f32", j, got[0][1][j], got[1][1][j]);
    }
}
END_TEST

/* 100k standard normals (f64): the sample mean has std 1/sqrt(1e5) = 0.00316 -> |mean| < 4 sigma = 0.01265;
 * the sample variance has std ~ sqrt(2/1e5) = 0.00447 -> |var - 1| < 0.0179. */
START_TEST(test_rng_normal_moments) {
    tenv e = env_open(_i + 2);
    const int64_t n = 100000;
    dc_rng r = dc_rng_init(2024);
    dc_tensor *t = dc_tensor_new(e.ctx, DC_F64, 1, &n);
    ck_assert_int_eq(dc_rng_fill_normal(&r, t, 0, 1), DC_OK);
    ck_assert(r.counter == 25000);
    double *v = fetch(t), s = 0, s2 = 0;
    for (int64_t k = 0; k < n; k++) s += v[k];
    double mean = s / (double)n;
    for (int64_t k = 0; k < n; k++) s2 += (v[k] - mean) * (v[k] - mean);
    double var = s2 / (double)(n - 1);
    free(v);
    ck_assert_msg(fabs(mean) < 4 / sqrt((double)n), "rng normal [%s]: mean %g", e.bname, mean);
    ck_assert_msg(fabs(var - 1) < 4 * sqrt(2.0 / (double)n), "rng normal [%s]: var %g", e.bname, var);
    env_close(&e);
}
END_TEST

static Suite *ops_suite(void) {
    /* loop index: backend (cpu, cpu-ref) x dtype (f32, f64) */
    const TTest *const per_dtype[] = {
        test_matmul_2d, test_matmul_batched, test_matmul_3d_2d, test_add_sub_broadcast, test_mul_broadcast,
        test_div_scalar, test_scale_affine, test_masked_fill, test_unary, test_sum_mean, test_sum_middle_and_all,
        test_batchnorm_train, test_batchnorm_relu, test_batchnorm_eval, test_l2norm, test_log_softmax,
        test_cross_entropy, test_mse, test_reshape_permute, test_slice_concat, test_broadcast_contiguous,
        test_maxpool1d, test_rfft, test_irfft, test_adamw};
    Suite *s = suite_create("ops");
    TCase *tc = tcase_create("forward_backward");
    tcase_set_timeout(tc, 60);
    for (size_t k = 0; k < sizeof per_dtype / sizeof per_dtype[0]; k++) tcase_add_loop_test(tc, per_dtype[k], 0, 4);
    suite_add_tcase(s, tc);
    TCase *rng = tcase_create("rng");
    tcase_set_timeout(rng, 60);
    tcase_add_test(rng, test_philox_kat);
    tcase_add_test(rng, test_rng_fills);
    tcase_add_loop_test(rng, test_rng_normal_moments, 0, 2);
    suite_add_tcase(s, rng);
    return s;
}

int main(void) { return dc_test_run_suite(ops_suite()) ? 1 : 0; }
