/* test_errors.c: every error path returns a status or NULL and leaves a message that names
 * the op and the shapes involved; a failing inner op's message survives NULL chaining; no
 * error path crashes. The error state is cleared between cases (dc_clear_error).
 */
#include "dc_test.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "dc/dc.h"
#include "dc_internal.h" /* dc_dispatch, dc_kernel_args */

#define SH(...) ((const int64_t[]){__VA_ARGS__})

static dc_backend *g_be;
static dc_ctx *g_ctx;

static void setup(void) {
    dc_clear_error();
    g_be = dc_backend_new("cpu");
    ck_assert_ptr_nonnull(g_be);
    g_ctx = dc_ctx_new(g_be);
    ck_assert_ptr_nonnull(g_ctx);
}

static void teardown(void) {
    dc_ctx_free(g_ctx);
    dc_backend_free(g_be);
}

static dc_tensor *T(dc_dtype dt, int nd, const int64_t *sh) {
    dc_tensor *t = dc_tensor_zeros(g_ctx, dt, nd, sh);
    ck_assert_msg(t != NULL, "setup tensor: %s", dc_last_error());
    return t;
}
static dc_tensor *TG(dc_dtype dt, int nd, const int64_t *sh) {
    dc_tensor *t = T(dt, nd, sh);
    ck_assert_int_eq(dc_tensor_set_requires_grad(t, 1), DC_OK);
    return t;
}

/* The last error has status `want` and its message holds every string in subs (NULL-ended);
 * then clear it. `line` locates the case. */
static void expect_err_(int line, dc_status want, const char *const *subs) {
    const char *msg = dc_last_error();
    ck_assert_msg(dc_last_status() == want, "line %d: status %s (%d), want %s; message \"%s\"", line,
                  dc_status_name(dc_last_status()), dc_last_status(), dc_status_name(want), msg);
    for (int i = 0; subs[i]; i++)
        ck_assert_msg(strstr(msg, subs[i]) != NULL, "line %d: message \"%s\" lacks \"%s\"", line, msg, subs[i]);
    dc_clear_error();
    ck_assert_int_eq(dc_last_status(), DC_OK);
    ck_assert_str_eq(dc_last_error(), "");
}
#define EXPECT_ERR(st, ...) expect_err_(__LINE__, st, (const char *const[]){__VA_ARGS__, NULL})
#define EXPECT_NULL(expr, st, ...)                                                                         \
    do {                                                                                                   \
        dc_clear_error();                                                                                  \
        const void *r_ = (expr);                                                                           \
        ck_assert_msg(r_ == NULL, "line %d: %s should fail", __LINE__, #expr);                             \
        EXPECT_ERR(st, __VA_ARGS__);                                                                       \
    } while (0)
#define EXPECT_STATUS(expr, st, ...)                                                                       \
    do {                                                                                                   \
        dc_clear_error();                                                                                  \
        dc_status s_ = (expr);                                                                             \
        ck_assert_msg(s_ == (st), "line %d: %s returned %d, want %d", __LINE__, #expr, s_, st);             \
        EXPECT_ERR(st, __VA_ARGS__);                                                                       \
    } while (0)

START_TEST(test_matmul_errors) {
    dc_tensor *a = T(DC_F32, 2, SH(2, 3)), *b = T(DC_F32, 2, SH(4, 5));
    EXPECT_NULL(dc_matmul(g_ctx, a, b, 0, 0), DC_ERR_SHAPE, "matmul", "(2, 3) f32", "(4, 5) f32", "3 != 4");
    /* with transposes the message marks the transposed operand */
    EXPECT_NULL(dc_matmul(g_ctx, a, T(DC_F32, 2, SH(5, 4)), 0, 1), DC_ERR_SHAPE, "matmul", "(2, 3)", "(5, 4) f32^T");
    /* batched: batch sizes differ; rank 1 is not supported */
    EXPECT_NULL(dc_matmul(g_ctx, T(DC_F32, 3, SH(2, 2, 3)), T(DC_F32, 3, SH(3, 3, 2)), 0, 0), DC_ERR_SHAPE,
                "matmul", "(2, 2, 3)", "(3, 3, 2)");
    EXPECT_NULL(dc_matmul(g_ctx, T(DC_F32, 1, SH(3)), T(DC_F32, 2, SH(3, 2)), 0, 0), DC_ERR_SHAPE, "matmul", "(3) f32");
    /* 3-D x 2-D inner mismatch names the caller's shapes */
    EXPECT_NULL(dc_matmul(g_ctx, T(DC_F32, 3, SH(2, 2, 3)), b, 0, 0), DC_ERR_SHAPE, "matmul", "(2, 2, 3)", "(4, 5)");
    EXPECT_NULL(dc_matmul(g_ctx, a, T(DC_F64, 2, SH(3, 2)), 0, 0), DC_ERR_DTYPE, "matmul", "f32", "f64");
}
END_TEST

START_TEST(test_elementwise_errors) {
    dc_tensor *a = T(DC_F32, 2, SH(2, 3));
    EXPECT_NULL(dc_add(g_ctx, a, T(DC_F32, 1, SH(4))), DC_ERR_SHAPE, "add", "broadcast", "(2, 3) f32", "(4) f32");
    EXPECT_NULL(dc_sub(g_ctx, T(DC_F32, 2, SH(3, 2)), a), DC_ERR_SHAPE, "sub", "(3, 2)", "(2, 3)");
    EXPECT_NULL(dc_mul(g_ctx, a, T(DC_F32, 3, SH(2, 2, 2))), DC_ERR_SHAPE, "mul", "(2, 2, 2)");
    EXPECT_NULL(dc_add(g_ctx, a, T(DC_F64, 2, SH(2, 3))), DC_ERR_DTYPE, "add", "(2, 3) f32", "(2, 3) f64");
    EXPECT_NULL(dc_div(g_ctx, T(DC_I32, 1, SH(3)), T(DC_I32, 1, SH(3))), DC_ERR_DTYPE, "div", "i32");
    EXPECT_NULL(dc_relu(g_ctx, T(DC_I32, 2, SH(2, 2))), DC_ERR_DTYPE, "relu", "(2, 2) i32");
    EXPECT_NULL(dc_log_softmax(g_ctx, T(DC_U8, 1, SH(3))), DC_ERR_DTYPE, "log_softmax", "u8");
    EXPECT_NULL(dc_masked_fill(g_ctx, a, T(DC_F32, 1, SH(3)), 0), DC_ERR_DTYPE, "masked_fill", "u8", "(3) f32");
    EXPECT_NULL(dc_masked_fill(g_ctx, a, T(DC_U8, 1, SH(2)), 0), DC_ERR_SHAPE, "masked_fill", "(2) u8", "(2, 3) f32");
    EXPECT_NULL(dc_sum(g_ctx, a, 2, 0), DC_ERR_ARG, "sum", "axis", "(2, 3)");
    EXPECT_NULL(dc_mean(g_ctx, a, -3, 1), DC_ERR_ARG, "mean", "axis");
    EXPECT_NULL(dc_mse(g_ctx, a, T(DC_F32, 2, SH(3, 2))), DC_ERR_SHAPE, "mse", "(2, 3)", "(3, 2)");
    EXPECT_NULL(dc_l2norm(g_ctx, a, 0), DC_ERR_ARG, "l2norm", "eps");
}
END_TEST

START_TEST(test_loss_norm_errors) {
    dc_tensor *logits = T(DC_F32, 2, SH(2, 3));
    EXPECT_NULL(dc_cross_entropy(g_ctx, logits, T(DC_F32, 1, SH(2))), DC_ERR_DTYPE, "cross_entropy", "targets",
                "i32", "(2) f32");
    EXPECT_NULL(dc_cross_entropy(g_ctx, logits, T(DC_I32, 1, SH(3))), DC_ERR_SHAPE, "cross_entropy", "(2, 3)", "(3) i32");
    EXPECT_NULL(dc_cross_entropy(g_ctx, T(DC_F32, 1, SH(3)), T(DC_I32, 1, SH(3))), DC_ERR_SHAPE, "cross_entropy", "(3)");

    dc_tensor *x = T(DC_F32, 2, SH(4, 2)), *g2 = T(DC_F32, 1, SH(2)), *b2 = T(DC_F32, 1, SH(2));
    dc_tensor *rm = T(DC_F32, 1, SH(2)), *rv = T(DC_F32, 1, SH(2));
    EXPECT_NULL(dc_batchnorm(g_ctx, x, T(DC_F32, 1, SH(3)), b2, rm, rv, NULL), DC_ERR_SHAPE, "batchnorm", "gamma",
                "(3) f32", "(4, 2) f32");
    EXPECT_NULL(dc_batchnorm(g_ctx, x, g2, b2, rm, T(DC_F64, 1, SH(2)), NULL), DC_ERR_SHAPE, "batchnorm",
                "running_var", "(2) f64");
    EXPECT_NULL(dc_batchnorm(g_ctx, x, g2, NULL, rm, rv, NULL), DC_ERR_ARG, "batchnorm", "beta");
    dc_tensor *x1 = T(DC_F32, 2, SH(1, 2));
    EXPECT_NULL(dc_batchnorm(g_ctx, x1, g2, b2, rm, rv, NULL), DC_ERR_SHAPE, "batchnorm", "training", "(1, 2) f32");
    dc_bn_opts ev = dc_bn_opts_default();
    ev.training = 0; /* one row is fine in eval mode */
    ck_assert_ptr_nonnull(dc_batchnorm(g_ctx, x1, g2, b2, rm, rv, &ev));
    ev.eps = 0;
    EXPECT_NULL(dc_batchnorm(g_ctx, x, g2, b2, rm, rv, &ev), DC_ERR_ARG, "batchnorm", "eps");

    /* the fused layer checks what its composition would */
    dc_tensor *W = T(DC_F32, 2, SH(3, 2)), *v3 = T(DC_F32, 1, SH(3));
    EXPECT_NULL(dc_linear_bn(g_ctx, x, T(DC_F32, 2, SH(3, 5)), v3, v3, v3, v3, v3, NULL), DC_ERR_SHAPE, "linear_bn",
                "(4, 2) f32", "(3, 5) f32");
    EXPECT_NULL(dc_linear_bn(g_ctx, x, W, b2, v3, v3, v3, v3, NULL), DC_ERR_SHAPE, "linear_bn", "bias", "(2) f32");
    EXPECT_NULL(dc_linear_bn(g_ctx, x1, W, v3, v3, v3, v3, v3, NULL), DC_ERR_SHAPE, "linear_bn", "training");
    EXPECT_NULL(dc_linear_bn(g_ctx, x, W, v3, v3, v3, v3, v3, &ev), DC_ERR_ARG, "linear_bn", "eps");
    EXPECT_NULL(dc_margin_loss(g_ctx, T(DC_F32, 2, SH(6, 2)), T(DC_F32, 1, SH(5)), 0.5, 5, 0.05, 0), DC_ERR_SHAPE,
                "margin loss", "(6, 2) f32", "(5) f32");
    EXPECT_NULL(dc_margin_loss(g_ctx, T(DC_F32, 2, SH(6, 2)), T(DC_F32, 1, SH(6)), 0.5, 5, 0.05, 4), DC_ERR_SHAPE,
                "margin loss", "seq_len 4");
    EXPECT_NULL(dc_margin_loss(g_ctx, T(DC_F32, 2, SH(6, 2)), T(DC_F32, 1, SH(6)), 0.0, 5, 0.05, 0), DC_ERR_ARG,
                "margin loss", "tau");

    dc_tensor *z = T(DC_F32, 2, SH(6, 2));
    dc_mpxent_opts o = dc_mpxent_opts_default();
    o.seq_len = 4;
    EXPECT_NULL(dc_mpxent(g_ctx, z, &o), DC_ERR_SHAPE, "mpxent", "seq_len 4", "6 rows", "(6, 2) f32");
    o.seq_len = 2; /* multi-positive needs >= 3 rows per sequence */
    EXPECT_NULL(dc_mpxent(g_ctx, z, &o), DC_ERR_SHAPE, "mpxent", "2 rows", "(6, 2) f32");
    o.seq_len = 1;
    o.single_positive = 1; /* the single-positive loss needs >= 2 */
    EXPECT_NULL(dc_mpxent(g_ctx, z, &o), DC_ERR_SHAPE, "mpxent", "(6, 2) f32");
    o = dc_mpxent_opts_default();
    o.tau = 0;
    EXPECT_NULL(dc_mpxent(g_ctx, z, &o), DC_ERR_ARG, "mpxent", "tau");
    EXPECT_NULL(dc_mpxent(g_ctx, T(DC_F32, 1, SH(6)), NULL), DC_ERR_SHAPE, "mpxent", "(6) f32");

    dc_tensor *p = T(DC_F32, 3, SH(1, 3, 2));
    EXPECT_NULL(dc_maxpool1d(g_ctx, p, 4, 1), DC_ERR_ARG, "maxpool1d", "kernel 4", "(1, 3, 2) f32");
    EXPECT_NULL(dc_maxpool1d(g_ctx, p, 2, 0), DC_ERR_ARG, "maxpool1d", "stride 0");
    EXPECT_NULL(dc_maxpool1d(g_ctx, T(DC_F32, 2, SH(3, 2)), 2, 1), DC_ERR_SHAPE, "maxpool1d", "(3, 2)");
}
END_TEST

START_TEST(test_data_errors) {
    dc_tensor *x = T(DC_F32, 2, SH(2, 3));
    EXPECT_NULL(dc_reshape(g_ctx, x, 2, SH(4, 2)), DC_ERR_SHAPE, "reshape", "(2, 3)", "6 elements", "8");
    EXPECT_NULL(dc_reshape(g_ctx, x, 2, SH(-1, -1)), DC_ERR_SHAPE, "reshape", "-1");
    EXPECT_NULL(dc_reshape(g_ctx, x, 2, SH(-1, 4)), DC_ERR_SHAPE, "reshape", "(2, 3)");
    EXPECT_NULL(dc_view_reshape(g_ctx, dc_view_permute(g_ctx, x, (const int[]){1, 0}), 1, SH(6)), DC_ERR_ARG,
                "reshape", "non-contiguous", "(3, 2)");
    EXPECT_NULL(dc_slice(g_ctx, x, 1, 2, 2), DC_ERR_SHAPE, "slice", "[2, 4)", "(2, 3)");
    EXPECT_NULL(dc_slice(g_ctx, x, 0, -1, 1), DC_ERR_SHAPE, "slice", "(2, 3)");
    EXPECT_NULL(dc_slice(g_ctx, x, 2, 0, 1), DC_ERR_ARG, "slice", "axis");
    EXPECT_NULL(dc_permute(g_ctx, x, (const int[]){0, 0}), DC_ERR_ARG, "permute");
    EXPECT_NULL(dc_transpose(g_ctx, x, 0, 2), DC_ERR_ARG, "transpose", "(2, 3)");
    dc_tensor *r3 = T(DC_F32, 3, SH(2, 3, 1));
    EXPECT_NULL(dc_concat(g_ctx, 2, (dc_tensor *[]){x, r3}, 0), DC_ERR_SHAPE, "concat", "ranks", "(2, 3) f32",
                "(2, 3, 1) f32");
    EXPECT_NULL(dc_concat(g_ctx, 2, (dc_tensor *[]){x, T(DC_F32, 2, SH(3, 3))}, 1), DC_ERR_SHAPE, "concat",
                "(3, 3)");
    EXPECT_NULL(dc_concat(g_ctx, 2, (dc_tensor *[]){x, T(DC_F64, 2, SH(2, 3))}, 0), DC_ERR_DTYPE, "concat", "f64");
    EXPECT_NULL(dc_concat(g_ctx, 0, (dc_tensor *[]){x}, 0), DC_ERR_ARG, "concat");
    EXPECT_NULL(dc_concat(g_ctx, 9, NULL, 0), DC_ERR_ARG, "concat", "9");
    EXPECT_NULL(dc_broadcast_to(g_ctx, x, 2, SH(2, 4)), DC_ERR_SHAPE, "broadcast", "(2, 3)");
    EXPECT_NULL(dc_broadcast_to(g_ctx, x, 1, SH(6)), DC_ERR_SHAPE, "broadcast", "(2, 3)");
    EXPECT_NULL(dc_tensor_new(g_ctx, DC_F32, 5, SH(1, 1, 1, 1, 1)), DC_ERR_SHAPE, "ndim 5");
    EXPECT_NULL(dc_tensor_new(g_ctx, DC_F32, 2, SH(2, -3)), DC_ERR_SHAPE, "negative", "-3");
    EXPECT_NULL(dc_tensor_new(g_ctx, DC_DTYPE_COUNT, 1, SH(2)), DC_ERR_DTYPE, "dtype");
    float buf[6];
    EXPECT_STATUS(dc_tensor_upload(x, buf, 20), DC_ERR_SHAPE, "upload", "20 bytes", "(2, 3) f32", "24");
    EXPECT_STATUS(dc_tensor_download(x, buf, 28), DC_ERR_SHAPE, "download", "(2, 3) f32");
    EXPECT_STATUS(dc_tensor_set_requires_grad(T(DC_I32, 1, SH(2)), 1), DC_ERR_DTYPE, "i32");
    dc_clear_error();
    ck_assert(isnan(dc_tensor_item(x)));
    EXPECT_ERR(DC_ERR_SHAPE, "item");
}
END_TEST

START_TEST(test_backend_errors) {
    EXPECT_NULL(dc_backend_new("nope"), DC_ERR_BACKEND, "unknown backend 'nope'", "cpu");
    EXPECT_NULL(dc_backend_new("nope:1"), DC_ERR_BACKEND, "unknown backend 'nope'");
    EXPECT_NULL(dc_backend_new("cpu:5"), DC_ERR_BACKEND, "cpu", "device 5 does not exist");
    EXPECT_NULL(dc_backend_new("cpu:x"), DC_ERR_ARG, "cpu:x");
    EXPECT_NULL(dc_backend_new(""), DC_ERR_ARG, "backend");
    EXPECT_NULL(dc_backend_new(NULL), DC_ERR_ARG, "backend");
    dc_backend *be = dc_backend_new("cpu-ref:0");
    ck_assert_ptr_nonnull(be);
    ck_assert_str_eq(dc_backend_name(be), "cpu-ref:0");
    ck_assert_str_eq(dc_backend_kind(be), "cpu-ref");
    /* tensors from two backends do not mix */
    dc_ctx *other = dc_ctx_new(be);
    dc_tensor *a = T(DC_F32, 1, SH(3)), *b = dc_tensor_zeros(other, DC_F32, 1, SH(3));
    EXPECT_NULL(dc_add(g_ctx, a, b), DC_ERR_BACKEND, "add", "cpu-ref:0", "cpu:0");
    dc_ctx_free(other);
    dc_backend_free(be);
}
END_TEST

START_TEST(test_backward_errors) {
    dc_tensor *x = TG(DC_F32, 2, SH(2, 3));
    dc_tensor *y = dc_relu(g_ctx, x);
    EXPECT_STATUS(dc_backward(g_ctx, y), DC_ERR_SHAPE, "backward", "one element", "(2, 3) f32");
    int was = dc_ctx_set_grad_enabled(g_ctx, 0);
    dc_tensor *l = dc_sum_all(g_ctx, x);
    dc_ctx_set_grad_enabled(g_ctx, was);
    ck_assert_ptr_nonnull(l);
    EXPECT_STATUS(dc_backward(g_ctx, l), DC_ERR_STATE, "backward", "grad disabled");
    EXPECT_STATUS(dc_backward(g_ctx, dc_sum_all(g_ctx, T(DC_F32, 1, SH(2)))), DC_ERR_STATE, "backward");
    EXPECT_STATUS(dc_backward(g_ctx, NULL), DC_ERR_ARG, "backward");
    EXPECT_STATUS(dc_backward(NULL, l), DC_ERR_ARG, "backward");
    /* rfft is differentiable now (it used to refuse inputs that need grad): it records a node */
    int64_t before = dc_tape_size(g_ctx);
    ck_assert_ptr_nonnull(dc_rfft(g_ctx, x));
    ck_assert_int_eq(dc_tape_size(g_ctx), before + 1);
    EXPECT_NULL(dc_rfft(g_ctx, T(DC_I32, 1, SH(4))), DC_ERR_DTYPE, "rfft", "i32");
    EXPECT_NULL(dc_rfft(g_ctx, T(DC_F32, 4, SH(1, 1, 1, 4))), DC_ERR_SHAPE, "rfft", "(1, 1, 1, 4)");
    EXPECT_NULL(dc_irfft(g_ctx, T(DC_F32, 2, SH(3, 2)), 6), DC_ERR_SHAPE, "irfft", "length 6", "(3, 2) f32");
}
END_TEST

/* A failing inner op's message is kept through every builder it is chained into. */
START_TEST(test_null_chaining) {
    dc_tensor *a = T(DC_F32, 2, SH(2, 3)), *b = T(DC_F32, 2, SH(4, 5));
    dc_clear_error();
    dc_tensor *bad = dc_matmul(g_ctx, a, b, 0, 0);
    ck_assert_ptr_null(bad);
    char first[1024];
    snprintf(first, sizeof first, "%s", dc_last_error());
    dc_tensor *r = dc_relu(g_ctx, dc_add(g_ctx, bad, T(DC_F32, 2, SH(2, 5))));
    ck_assert_ptr_null(r);
    ck_assert_str_eq(dc_last_error(), first);
    r = dc_cross_entropy(g_ctx, dc_log_softmax(g_ctx, dc_sum(g_ctx, dc_transpose(g_ctx, bad, 0, 1), 0, 1)),
                         T(DC_I32, 1, SH(2)));
    ck_assert_ptr_null(r);
    ck_assert_str_eq(dc_last_error(), first);
    ck_assert_ptr_null(dc_concat(g_ctx, 2, (dc_tensor *[]){a, bad}, 0));
    ck_assert_ptr_null(dc_batchnorm(g_ctx, bad, NULL, NULL, NULL, NULL, NULL));
    ck_assert_ptr_null(dc_sum_all(g_ctx, dc_reshape(g_ctx, bad, 1, SH(-1))));
    EXPECT_ERR(DC_ERR_SHAPE, "matmul", "(2, 3) f32", "(4, 5) f32");
    /* without an earlier error, a NULL input names the op */
    EXPECT_NULL(dc_relu(g_ctx, NULL), DC_ERR_ARG, "relu", "NULL");
    EXPECT_NULL(dc_mul(g_ctx, a, NULL), DC_ERR_ARG, "mul", "NULL");
    EXPECT_STATUS(dc_grad_zero(NULL), DC_ERR_ARG, "grad_zero");
}
END_TEST

START_TEST(test_null_ctx) {
    dc_tensor *a = T(DC_F32, 1, SH(3));
    EXPECT_NULL(dc_add(NULL, a, a), DC_ERR_ARG, "add", "ctx is NULL");
    EXPECT_NULL(dc_relu(NULL, a), DC_ERR_ARG, "relu", "ctx is NULL");
    EXPECT_NULL(dc_matmul(NULL, a, a, 0, 0), DC_ERR_ARG, "matmul", "ctx");
    EXPECT_NULL(dc_sum_all(NULL, a), DC_ERR_ARG, "ctx");
    EXPECT_NULL(dc_reshape(NULL, a, 1, SH(3)), DC_ERR_ARG, "reshape", "ctx");
    EXPECT_NULL(dc_concat(NULL, 1, (dc_tensor *[]){a}, 0), DC_ERR_ARG, "concat", "ctx");
    EXPECT_NULL(dc_tensor_new(NULL, DC_F32, 1, SH(3)), DC_ERR_ARG, "ctx is NULL");
    EXPECT_NULL(dc_tensor_zeros(NULL, DC_F32, 1, SH(3)), DC_ERR_ARG, "ctx");
    EXPECT_NULL(dc_ctx_new(NULL), DC_ERR_ARG, "backend is NULL");
    EXPECT_NULL(dc_params_new(NULL, DC_F32, 1), DC_ERR_ARG, "params");
    /* accessors and lifetime calls accept NULL without crashing */
    dc_ctx_reset(NULL);
    dc_ctx_trim(NULL);
    dc_ctx_free(NULL);
    dc_ctx_set_poison(NULL, 1);
    ck_assert_int_eq(dc_tape_size(NULL), 0);
    ck_assert_ptr_null(dc_ctx_backend(NULL));
    ck_assert_int_eq(dc_ctx_set_grad_enabled(NULL, 0), 0);
    ck_assert_int_eq(dc_ctx_grad_enabled(NULL), 0);
    ck_assert_uint_eq(dc_ctx_bytes_live(NULL), 0);
    ck_assert_uint_eq(dc_ctx_bytes_pooled(NULL), 0);
    dc_backend_free(NULL);
    dc_params_free(NULL);
    dc_adamw_free(NULL);
}
END_TEST

START_TEST(test_params_errors) {
    dc_params *ps = dc_params_new(g_be, DC_F32, 1);
    ck_assert_ptr_nonnull(dc_params_add(ps, "w", 2, SH(2, 2)));
    EXPECT_NULL(dc_params_add(ps, "w", 1, SH(3)), DC_ERR_ARG, "duplicate", "'w'");
    EXPECT_NULL(dc_adamw_new(ps, dc_adamw_opts_default()), DC_ERR_ARG, "adamw"); /* not allocated yet */
    EXPECT_STATUS(dc_params_zero_grad(ps), DC_ERR_STATE, "params_zero_grad");
    ck_assert_int_eq(dc_params_alloc(ps), DC_OK);
    EXPECT_NULL(dc_params_add(ps, "late", 1, SH(3)), DC_ERR_STATE, "params_add", "'late'", "allocated");
    EXPECT_STATUS(dc_params_alloc(ps), DC_ERR_STATE, "params_alloc", "already");
    dc_adamw_opts o = dc_adamw_opts_default();
    o.lr = -0.1;
    EXPECT_NULL(dc_adamw_new(ps, o), DC_ERR_ARG, "adamw", "lr -0.1");
    o = dc_adamw_opts_default();
    o.beta1 = 1;
    EXPECT_NULL(dc_adamw_new(ps, o), DC_ERR_ARG, "adamw", "betas 1");
    o = dc_adamw_opts_default();
    o.weight_decay = NAN;
    EXPECT_NULL(dc_adamw_new(ps, o), DC_ERR_ARG, "adamw", "wd nan");
    EXPECT_STATUS(dc_adamw_step(NULL), DC_ERR_ARG, "adamw_step");
    dc_params *frozen = dc_params_new(g_be, DC_F32, 0);
    dc_params_add(frozen, "w", 2, SH(2, 2));
    ck_assert_int_eq(dc_params_alloc(frozen), DC_OK);
    EXPECT_NULL(dc_adamw_new(frozen, dc_adamw_opts_default()), DC_ERR_ARG, "adamw", "trainable");
    EXPECT_NULL(dc_params_new(g_be, DC_I32, 1), DC_ERR_DTYPE, "params", "i32");
    EXPECT_STATUS(dc_params_copy(ps, NULL), DC_ERR_ARG, "params_copy");
    dc_params_free(frozen);
    dc_params_free(ps);
}
END_TEST

/* (2^40 x 1024) f32 = 2^52 bytes (4 PiB, beyond any address space): a clean OOM, no crash;
 * 2^80 elements is refused as a shape. The context keeps working afterwards. */
START_TEST(test_huge_allocation) {
    const int64_t big = (int64_t)1 << 40;
    dc_clear_error();
    ck_assert_ptr_null(dc_tensor_new(g_ctx, DC_F32, 2, SH(big, 1024)));
    ck_assert_msg(dc_last_status() == DC_ERR_OOM || dc_last_status() == DC_ERR_SHAPE, "huge tensor: status %d (%s)",
                  dc_last_status(), dc_last_error());
    ck_assert_msg(strstr(dc_last_error(), "(1099511627776, 1024) f32") != NULL, "huge tensor message: %s",
                  dc_last_error());
    dc_clear_error();
    EXPECT_NULL(dc_tensor_new(g_ctx, DC_F64, 2, SH(big, big)), DC_ERR_SHAPE, "too many");
    /* an op whose output would be that large fails the same way */
    dc_tensor *s = T(DC_F32, 2, SH(1, 1));
    dc_clear_error();
    ck_assert_ptr_null(dc_broadcast_to(g_ctx, s, 2, SH(big, 1024)));
    ck_assert(dc_last_status() == DC_ERR_OOM || dc_last_status() == DC_ERR_SHAPE);
    ck_assert(strlen(dc_last_error()) > 0);
    dc_clear_error();
    ck_assert_ptr_null(dc_add(g_ctx, s, dc_view_broadcast(g_ctx, s, 2, SH(big, 1024))));
    ck_assert(dc_last_status() == DC_ERR_OOM || dc_last_status() == DC_ERR_SHAPE);
    dc_clear_error();
    dc_tensor *ok = dc_tensor_full(g_ctx, DC_F32, 1, SH(4), 3);
    ck_assert(ok && dc_tensor_item(dc_sum_all(g_ctx, ok)) == 12);
}
END_TEST

/* dc_dispatch checks every kernel call against the counts that dc_ops.def declares, before
 * the kernel runs; a builder-only op has no kernel, and the CPU kinds (the reference) have a
 * kernel for every other op. */
START_TEST(test_dispatch_arity) {
    dc_tensor *x = dc_tensor_full(g_ctx, DC_F32, 2, SH(2, 3), 1.5), *y = T(DC_F32, 2, SH(2, 3));
    ck_assert_ptr_nonnull(x);
    dc_kernel_args a;
    dc_args_init(&a, DC_OP_ADD); /* 2 inputs, 1 output */
    a.in[0] = x;
    a.out[0] = y;
    a.n_in = 1;
    a.n_out = 1;
    ck_assert_int_eq(dc_dispatch(g_be, &a), DC_ERR_ARG);
    ck_assert_msg(strstr(dc_last_error(), "add: kernel called with 1 input(s) and 1 output(s) on cpu:0; "
                                          "dc_ops.def declares 2 and 1"), "%s", dc_last_error());
    dc_clear_error();
    a.n_in = 2; /* in[1] still NULL */
    ck_assert_int_eq(dc_dispatch(g_be, &a), DC_ERR_ARG);
    ck_assert_msg(strstr(dc_last_error(), "add: input 1 is NULL"), "%s", dc_last_error());
    dc_clear_error();
    a.in[1] = x; /* the declared counts run the kernel: y = 1.5 + 1.5 */
    ck_assert_int_eq(dc_dispatch(g_be, &a), DC_OK);
    float got[6];
    ck_assert_int_eq(dc_tensor_download(y, got, sizeof got), DC_OK);
    for (int i = 0; i < 6; i++) ck_assert_float_eq(got[i], 3.0f);

    /* batch norm's backward takes gy, x, y, gamma, mean, istd: 5 inputs are refused */
    dc_args_init(&a, DC_OP_BATCHNORM_BACK);
    for (int i = 0; i < 5; i++) a.in[i] = x;
    for (int i = 0; i < 3; i++) a.out[i] = y;
    a.n_in = 5;
    a.n_out = 3;
    ck_assert_int_eq(dc_dispatch(g_be, &a), DC_ERR_ARG);
    ck_assert_msg(strstr(dc_last_error(), "declares 6 and 3"), "%s", dc_last_error());
    dc_clear_error();
    dc_args_init(&a, DC_OP_RESHAPE);
    a.in[0] = x;
    a.out[0] = y;
    a.n_in = a.n_out = 1;
    ck_assert_int_eq(dc_dispatch(g_be, &a), DC_ERR_ARG);
    ck_assert_msg(strstr(dc_last_error(), "reshape: a builder-only op has no kernel"), "%s", dc_last_error());
    dc_clear_error();
    a.op = DC_OP_COUNT;
    ck_assert_int_eq(dc_dispatch(g_be, &a), DC_ERR_ARG);
    ck_assert_msg(strstr(dc_last_error(), "unknown op"), "%s", dc_last_error());

    /* declarations of ops whose kernels read more or write fewer tensors than they consume */
    int ni, no;
    const struct { dc_op op; int n_in, n_out; } k[] = {
        {DC_OP_BATCHNORM, 5, 3}, {DC_OP_BATCHNORM_BACK, 6, 3}, {DC_OP_MPXENT, 1, 2}, {DC_OP_MAXPOOL1D, 1, 2},
        {DC_OP_MAXPOOL1D_BACK, 2, 1}, {DC_OP_ADAMW, 5, 0}, {DC_OP_RNG, 0, 1}, {DC_OP_FILL, 0, 1},
        {DC_OP_CONCAT, 0, 0}, {DC_OP_MEAN, 0, 0}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        ck_assert(dc_op_arity(k[i].op, &ni, &no));
        ck_assert_msg(ni == k[i].n_in && no == k[i].n_out, "%s: %d, %d", dc_op_name(k[i].op), ni, no);
    }
    ck_assert(!dc_op_arity(DC_OP_COUNT, &ni, &no));
    dc_backend *ref = dc_backend_new("cpu-ref");
    ck_assert_ptr_nonnull(ref);
    for (int op = 0; op < DC_OP_COUNT; op++) {
        dc_op_arity((dc_op)op, &ni, &no);
        int kernel = ni || no;
        const int dts[2] = {DC_F32, DC_F64};
        for (int d = 0; d < 2; d++) {
            ck_assert_msg(dc_backend_supports(g_be, op, dts[d]) == kernel, "cpu: %s", dc_op_name((dc_op)op));
            ck_assert_msg(dc_backend_supports(ref, op, dts[d]) == kernel, "cpu-ref: %s", dc_op_name((dc_op)op));
        }
    }
    dc_backend_free(ref);
}
END_TEST

START_TEST(test_status_names) {
    ck_assert_str_eq(dc_status_name(DC_OK), "ok");
    ck_assert_str_eq(dc_status_name(DC_ERR_SHAPE), "shape mismatch");
    ck_assert_str_eq(dc_status_name(DC_ERR_OOM), "out of memory");
    ck_assert_str_eq(dc_status_name((dc_status)-99), "unknown status");
    dc_clear_error();
    ck_assert_int_eq(dc_fail(DC_ERR_IO, "reading %s", "x.bin"), DC_ERR_IO);
    ck_assert_int_eq(dc_fail_prefix("loading %d", 3), DC_ERR_IO);
    EXPECT_ERR(DC_ERR_IO, "loading 3: reading x.bin");
}
END_TEST

static Suite *errors_suite(void) {
    Suite *s = suite_create("errors");
    TCase *tc = tcase_create("errors");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_matmul_errors);
    tcase_add_test(tc, test_elementwise_errors);
    tcase_add_test(tc, test_loss_norm_errors);
    tcase_add_test(tc, test_data_errors);
    tcase_add_test(tc, test_backend_errors);
    tcase_add_test(tc, test_backward_errors);
    tcase_add_test(tc, test_null_chaining);
    tcase_add_test(tc, test_null_ctx);
    tcase_add_test(tc, test_params_errors);
    tcase_add_test(tc, test_huge_allocation);
    tcase_add_test(tc, test_status_names);
    tcase_add_test(tc, test_dispatch_arity);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return dc_test_run_suite(errors_suite()) ? 1 : 0; }
