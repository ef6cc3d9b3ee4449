/* test_tensor.c: tensors, views, contexts (pooling), the tape, gradient accumulation,
 * parameter groups, poison mode and its guard regions (with a "leaky" backend whose kernels
 * write out of bounds). Tests that touch kernels loop over "cpu" and "cpu-ref" (loop
 * index = backend).
 */
#include "dc_test.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "dc/dc_backend_impl.h" /* the leaky test backend */

#define SH(...) ((const int64_t[]){__VA_ARGS__})

static const char *const BE_NAMES[2] = {"cpu", "cpu-ref"};

static dc_backend *open_be(int i) {
    dc_backend *be = dc_backend_new(BE_NAMES[i & 1]);
    ck_assert_msg(be != NULL, "backend %s: %s", BE_NAMES[i & 1], dc_last_error());
    return be;
}

static dc_tensor *from_f32(dc_ctx *ctx, int nd, const int64_t *sh, const float *v) {
    dc_tensor *t = dc_tensor_from_host(ctx, DC_F32, nd, sh, v);
    ck_assert_msg(t != NULL, "from_host: %s", dc_last_error());
    return t;
}

static void expect_f32(const dc_tensor *t, const float *want, int n, const char *what, const char *be) {
    ck_assert_msg(t && dc_tensor_numel(t) == n, "%s [%s]: wrong element count", what, be);
    float got[64];
    ck_assert_msg(dc_tensor_download(t, got, (size_t)n * 4) == DC_OK, "%s [%s]: download: %s", what, be,
                  dc_last_error());
    for (int k = 0; k < n; k++)
        ck_assert_msg(fabsf(got[k] - want[k]) <= 1e-6f * fmaxf(1.0f, fabsf(want[k])),
                      "%s [%s]: element %d = %g, want %g", what, be, k, got[k], want[k]);
}
#define EXPECT_F32(t, what, be, ...) \
    expect_f32(t, (const float[]){__VA_ARGS__}, (int)(sizeof((const float[]){__VA_ARGS__}) / 4), what, be)

/* ---------------------------------------------------------------- shapes and strides */

START_TEST(test_shapes_strides) {
    dc_backend *be = open_be(0);
    dc_ctx *ctx = dc_ctx_new(be);
    ck_assert_uint_eq(dc_dtype_size(DC_F32), 4);
    ck_assert_uint_eq(dc_dtype_size(DC_F64), 8);
    ck_assert_uint_eq(dc_dtype_size(DC_I32), 4);
    ck_assert_uint_eq(dc_dtype_size(DC_U8), 1);
    ck_assert_str_eq(dc_dtype_name(DC_F64), "f64");
    dc_tensor *t = dc_tensor_new(ctx, DC_F32, 3, SH(2, 3, 4));
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->ndim, 3);
    /* row-major strides: (3*4, 4, 1) */
    ck_assert(t->stride[0] == 12 && t->stride[1] == 4 && t->stride[2] == 1);
    ck_assert_int_eq(dc_tensor_numel(t), 24);
    ck_assert(dc_tensor_is_contiguous(t));
    ck_assert(t->grad == NULL && t->node == NULL && t->ctx == ctx && !(t->flags & DC_VIEW));
    char buf[64];
    ck_assert_str_eq(dc_tensor_describe(t, buf, sizeof buf), "(2, 3, 4) f32");
    ck_assert_uint_eq(dc_ctx_bytes_live(ctx), 24 * 4);
    dc_tensor *s = dc_tensor_new(ctx, DC_F64, 0, NULL); /* scalar */
    ck_assert(s && s->ndim == 0 && dc_tensor_numel(s) == 1 && dc_tensor_is_contiguous(s));
    ck_assert_str_eq(dc_tensor_describe(s, buf, sizeof buf), "() f64");
    dc_tensor *z = dc_tensor_zeros(ctx, DC_I32, 2, SH(0, 5)); /* empty */
    ck_assert(z && dc_tensor_numel(z) == 0);
    dc_tensor *u = dc_tensor_new(ctx, DC_F32, 2, SH(2, 3));
    ck_assert(dc_tensor_same_shape(u, dc_tensor_new(ctx, DC_F64, 2, SH(2, 3))));
    ck_assert(!dc_tensor_same_shape(u, dc_tensor_new(ctx, DC_F32, 2, SH(3, 2))));
    dc_tensor *f = dc_tensor_full(ctx, DC_F32, 2, SH(2, 2), 2.5);
    EXPECT_F32(f, "full", "cpu", 2.5, 2.5, 2.5, 2.5);
    ck_assert_int_eq(dc_tensor_fill(f, -1), DC_OK);
    EXPECT_F32(f, "fill", "cpu", -1, -1, -1, -1);
    dc_tensor_set_name(f, "weights");
    ck_assert_str_eq(f->name, "weights");
    dc_ctx_free(ctx);
    dc_backend_free(be);
}
END_TEST

/* ---------------------------------------------------------------- views */

/* x = [[1,2,3],[4,5,6]] (f32). Every view shares x's buffer: writes through the view show in x. */
START_TEST(test_views_share) {
    const char *bn = BE_NAMES[_i];
    dc_backend *be = open_be(_i);
    dc_ctx *ctx = dc_ctx_new(be);
    dc_tensor *x = from_f32(ctx, 2, SH(2, 3), (const float[]){1, 2, 3, 4, 5, 6});

    /* reshape (3,2): same buffer, contiguous strides (2,1) */
    dc_tensor *r = dc_view_reshape(ctx, x, 2, SH(3, -1));
    ck_assert(r && r->buf == x->buf && r->offset == x->offset && (r->flags & DC_VIEW));
    ck_assert(r->shape[1] == 2 && r->stride[0] == 2 && r->stride[1] == 1);
    ck_assert_int_eq(dc_tensor_upload(r, (const float[]){10, 20, 30, 40, 50, 60}, 24), DC_OK);
    EXPECT_F32(x, "write via reshape view", bn, 10, 20, 30, 40, 50, 60);

    /* permute (3,2): strides (1,3), not contiguous; download gives the transpose;
     * upload writes element (i,j) of the view to x[j][i] */
    dc_tensor *p = dc_view_permute(ctx, x, (const int[]){1, 0});
    ck_assert(p && p->buf == x->buf && p->stride[0] == 1 && p->stride[1] == 3 && !dc_tensor_is_contiguous(p));
    EXPECT_F32(p, "download permuted view", bn, 10, 40, 20, 50, 30, 60);
    ck_assert_int_eq(dc_tensor_upload(p, (const float[]){1, 4, 2, 5, 3, 6}, 24), DC_OK);
    EXPECT_F32(x, "upload into permuted view", bn, 1, 2, 3, 4, 5, 6);

    /* slice axis 1 [1,3): offset one element (4 bytes), strides (3,1), shape (2,2) */
    dc_tensor *s = dc_view_slice(ctx, x, 1, 1, 2);
    ck_assert(s && s->buf == x->buf && s->offset == x->offset + 4 && s->stride[0] == 3 && s->shape[1] == 2);
    ck_assert(!dc_tensor_is_contiguous(s));
    EXPECT_F32(s, "download slice", bn, 2, 3, 5, 6);
    ck_assert_int_eq(dc_tensor_upload(s, (const float[]){-2, -3, -5, -6}, 16), DC_OK);
    EXPECT_F32(x, "upload into slice leaves column 0", bn, 1, -2, -3, 4, -5, -6);
    /* a row slice is contiguous: offset 3 elements = 12 bytes */
    dc_tensor *row = dc_view_slice(ctx, x, 0, 1, 1);
    ck_assert(row->offset == x->offset + 12 && dc_tensor_is_contiguous(row));
    EXPECT_F32(row, "row slice", bn, 4, -5, -6);

    /* broadcast a (3) row to (2,3): stride 0 on the new axis; (2,1) -> (2,3): stride 0 on axis 1 */
    dc_tensor *b = dc_view_broadcast(ctx, row, 2, SH(2, 3));
    ck_assert(b && b->buf == x->buf && b->stride[0] == 0 && b->stride[1] == 1);
    EXPECT_F32(b, "broadcast view", bn, 4, -5, -6, 4, -5, -6);
    dc_tensor *col = dc_view_slice(ctx, x, 1, 0, 1);
    dc_tensor *b2 = dc_view_broadcast(ctx, col, 2, SH(2, 3));
    ck_assert(b2 && b2->stride[1] == 0);
    EXPECT_F32(b2, "broadcast column", bn, 1, 1, 1, 4, 4, 4);
    /* write through x, read through the views */
    ck_assert_int_eq(dc_tensor_upload(x, (const float[]){7, 8, 9, 10, 11, 12}, 24), DC_OK);
    EXPECT_F32(b, "broadcast sees x", bn, 10, 11, 12, 10, 11, 12);
    EXPECT_F32(s, "slice sees x", bn, 8, 9, 11, 12);

    /* a slice of a permuted view: p is (3,2) [[7,10],[8,11],[9,12]]; rows [1,3) -> [[8,11],[9,12]] */
    dc_tensor *ps = dc_view_slice(ctx, p, 0, 1, 2);
    EXPECT_F32(ps, "slice of permuted view", bn, 8, 11, 9, 12);
    /* views are not recorded on the tape */
    ck_assert_int_eq(dc_tape_size(ctx), 0);
    dc_ctx_free(ctx);
    dc_backend_free(be);
}
END_TEST

START_TEST(test_item) {
    dc_backend *be = open_be(_i);
    dc_ctx *ctx = dc_ctx_new(be);
    ck_assert(dc_tensor_item(dc_tensor_full(ctx, DC_F64, 0, NULL, -2.25)) == -2.25);
    ck_assert(dc_tensor_item(dc_tensor_full(ctx, DC_F32, 2, SH(1, 1), 0.5)) == 0.5);
    ck_assert(dc_tensor_item(dc_tensor_full(ctx, DC_I32, 1, SH(1), -7)) == -7);
    ck_assert(dc_tensor_item(dc_tensor_full(ctx, DC_U8, 1, SH(1), 200)) == 200);
    /* element 4 of [[0..2],[3..5]] through a (1,1) non-contiguous view */
    dc_tensor *x = from_f32(ctx, 2, SH(2, 3), (const float[]){0, 1, 2, 3, 4, 5});
    dc_tensor *v = dc_view_slice(ctx, dc_view_slice(ctx, x, 0, 1, 1), 1, 1, 1);
    ck_assert(dc_tensor_item(v) == 4);
    dc_clear_error();
    ck_assert(isnan(dc_tensor_item(x)));
    ck_assert_int_eq(dc_last_status(), DC_ERR_SHAPE);
    dc_clear_error();
    dc_ctx_free(ctx);
    dc_backend_free(be);
}
END_TEST

/* ---------------------------------------------------------------- pool */

START_TEST(test_ctx_pool) {
    dc_backend *be = open_be(_i);
    dc_ctx *ctx = dc_ctx_new(be);
    ck_assert_uint_eq(dc_ctx_bytes_live(ctx), 0);
    dc_tensor *a = dc_tensor_new(ctx, DC_F32, 1, SH(1000)); /* 4000 bytes */
    dc_tensor *b = dc_tensor_new(ctx, DC_F64, 1, SH(10));   /* 80 bytes */
    dc_buffer *ba = a->buf, *bb = b->buf;
    ck_assert_uint_eq(dc_ctx_bytes_live(ctx), 4080);
    ck_assert_uint_eq(dc_ctx_bytes_pooled(ctx), 0);
    /* views allocate nothing */
    dc_view_reshape(ctx, a, 2, SH(10, 100));
    ck_assert_uint_eq(dc_ctx_bytes_live(ctx), 4080);
    dc_ctx_reset(ctx);
    ck_assert_uint_eq(dc_ctx_bytes_live(ctx), 0);
    ck_assert_uint_eq(dc_ctx_bytes_pooled(ctx), 4080);
    ck_assert_int_eq(dc_tape_size(ctx), 0);
    /* the same sizes come back from the pool: same buffers, nothing new */
    dc_tensor *a2 = dc_tensor_new(ctx, DC_I32, 2, SH(10, 100)); /* also 4000 bytes */
    ck_assert_ptr_eq(a2->buf, ba);
    ck_assert_uint_eq(dc_ctx_bytes_pooled(ctx), 80);
    ck_assert_uint_eq(dc_ctx_bytes_live(ctx), 4000);
    dc_tensor *c = dc_tensor_new(ctx, DC_F32, 1, SH(7)); /* 28 bytes: no pooled buffer of that size */
    ck_assert(c->buf != bb);
    ck_assert_uint_eq(dc_ctx_bytes_pooled(ctx), 80);
    dc_tensor *b2 = dc_tensor_new(ctx, DC_U8, 1, SH(80));
    ck_assert_ptr_eq(b2->buf, bb);
    ck_assert_uint_eq(dc_ctx_bytes_pooled(ctx), 0);
    ck_assert_uint_eq(dc_ctx_bytes_live(ctx), 4000 + 28 + 80);
    dc_ctx_reset(ctx);
    ck_assert_uint_eq(dc_ctx_bytes_pooled(ctx), 4108);
    dc_ctx_trim(ctx);
    ck_assert_uint_eq(dc_ctx_bytes_pooled(ctx), 0);
    ck_assert_uint_eq(dc_ctx_bytes_live(ctx), 0);
    /* still usable after trim */
    dc_tensor *d = dc_tensor_full(ctx, DC_F32, 1, SH(3), 1.5);
    EXPECT_F32(d, "after trim", BE_NAMES[_i], 1.5, 1.5, 1.5);
    dc_ctx_free(ctx);
    dc_backend_free(be);
}
END_TEST

/* ---------------------------------------------------------------- tape */

START_TEST(test_tape_recording) {
    dc_backend *be = open_be(_i);
    dc_ctx *ctx = dc_ctx_new(be);
    ck_assert_int_eq(dc_ctx_grad_enabled(ctx), 1);
    dc_tensor *x = from_f32(ctx, 1, SH(3), (const float[]){1, 2, 3});
    dc_tensor *y = dc_add(ctx, x, x);
    ck_assert_int_eq(dc_tape_size(ctx), 0); /* no input needs grad */
    ck_assert(!(y->flags & DC_NEEDS_GRAD) && y->node == NULL);
    ck_assert_int_eq(dc_tensor_set_requires_grad(x, 1), DC_OK);
    ck_assert(x->flags & DC_NEEDS_GRAD);
    y = dc_mul(ctx, x, x);
    ck_assert_int_eq(dc_tape_size(ctx), 1);
    ck_assert(y->node != NULL && (y->flags & DC_NEEDS_GRAD));
    dc_tensor *z = dc_relu(ctx, y); /* y needs grad through the tape */
    ck_assert_int_eq(dc_tape_size(ctx), 2);
    ck_assert_int_eq(dc_ctx_set_grad_enabled(ctx, 0), 1);
    ck_assert_int_eq(dc_ctx_grad_enabled(ctx), 0);
    dc_tensor *q = dc_sum_all(ctx, dc_scale(ctx, z, 2));
    ck_assert_int_eq(dc_tape_size(ctx), 2); /* nothing recorded */
    ck_assert(!(q->flags & DC_NEEDS_GRAD) && q->node == NULL);
    ck_assert(fabs(dc_tensor_item(q) - 2 * (1 + 4 + 9)) < 1e-6); /* still computed */
    ck_assert_int_eq(dc_ctx_set_grad_enabled(ctx, 1), 0);
    dc_sum_all(ctx, z); /* reshape + sum: 2 nodes */
    ck_assert_int_eq(dc_tape_size(ctx), 4);
    ck_assert_int_eq(dc_tensor_set_requires_grad(x, 0), DC_OK);
    dc_exp(ctx, x);
    ck_assert_int_eq(dc_tape_size(ctx), 4);
    dc_ctx_reset(ctx);
    ck_assert_int_eq(dc_tape_size(ctx), 0);
    dc_ctx_free(ctx);
    dc_backend_free(be);
}
END_TEST

/* x = [1,2] leaf; y = x*x; z = 3 y; loss = sum z = 3 (1 + 4) = 15. dloss/dx = 6x = [6,12].
 * Two backward calls: x->grad accumulates to [12,24]; y->grad (intermediate) restarts at [3,3]. */
START_TEST(test_grad_accumulation) {
    const char *bn = BE_NAMES[_i];
    dc_backend *be = open_be(_i);
    dc_ctx *ctx = dc_ctx_new(be);
    dc_tensor *x = from_f32(ctx, 1, SH(2), (const float[]){1, 2});
    dc_tensor_set_requires_grad(x, 1);
    dc_tensor *y = dc_mul(ctx, x, x);
    dc_tensor *loss = dc_sum_all(ctx, dc_scale(ctx, y, 3));
    ck_assert(fabs(dc_tensor_item(loss) - 15) < 1e-6);
    ck_assert_int_eq(dc_backward(ctx, loss), DC_OK);
    EXPECT_F32(x->grad, "x grad after 1 backward", bn, 6, 12);
    EXPECT_F32(y->grad, "y grad after 1 backward", bn, 3, 3);
    ck_assert_int_eq(dc_backward(ctx, loss), DC_OK);
    EXPECT_F32(x->grad, "x grad after 2 backward (+=)", bn, 12, 24);
    EXPECT_F32(y->grad, "y grad after 2 backward (restarts)", bn, 3, 3);
    ck_assert_int_eq(dc_grad_zero(x), DC_OK);
    EXPECT_F32(x->grad, "grad_zero", bn, 0, 0);
    ck_assert_int_eq(dc_backward(ctx, loss), DC_OK);
    EXPECT_F32(x->grad, "x grad after zero + backward", bn, 6, 12);
    /* grad_zero without a gradient is a no-op; NULL is an error */
    dc_tensor *n = from_f32(ctx, 1, SH(1), (const float[]){1});
    ck_assert_int_eq(dc_grad_zero(n), DC_OK);
    ck_assert(n->grad == NULL);
    ck_assert_int_eq(dc_grad_zero(NULL), DC_ERR_ARG);
    dc_clear_error();
    dc_ctx_free(ctx);
    dc_backend_free(be);
}
END_TEST

/* Accumulation through matmul (the second backward adds into the existing grad, beta = 1):
 * A = [[1,2],[3,4]], B = [[1,0],[2,1]], loss = sum(AB * W), W = [[1,2],[0,1]].
 * dA = W B^T = [[1*1+2*0, 1*2+2*1], [0+0, 0+1]] = [[1,4],[0,1]];
 * dB = A^T W = [[1,3],[2,4]] [[1,2],[0,1]] = [[1,5],[2,8]]. After two calls: doubled. */
START_TEST(test_grad_accumulation_matmul) {
    const char *bn = BE_NAMES[_i];
    dc_backend *be = open_be(_i);
    dc_ctx *ctx = dc_ctx_new(be);
    for (int tr = 0; tr < 2; tr++) { /* tr: A stored transposed, matmul(ta = 1) */
        dc_tensor *a = tr ? from_f32(ctx, 2, SH(2, 2), (const float[]){1, 3, 2, 4})
                          : from_f32(ctx, 2, SH(2, 2), (const float[]){1, 2, 3, 4});
        dc_tensor *b = from_f32(ctx, 2, SH(2, 2), (const float[]){1, 0, 2, 1});
        dc_tensor *w = from_f32(ctx, 2, SH(2, 2), (const float[]){1, 2, 0, 1});
        dc_tensor_set_requires_grad(a, 1);
        dc_tensor_set_requires_grad(b, 1);
        dc_tensor *loss = dc_sum_all(ctx, dc_mul(ctx, dc_matmul(ctx, a, b, tr, 0), w));
        for (int k = 1; k <= 2; k++) {
            ck_assert_int_eq(dc_backward(ctx, loss), DC_OK);
            float f = (float)k;
            if (tr) expect_f32(a->grad, (const float[]){f, 0, 4 * f, f}, 4, "matmul^T dA accumulates", bn);
            else expect_f32(a->grad, (const float[]){f, 4 * f, 0, f}, 4, "matmul dA accumulates", bn);
            expect_f32(b->grad, (const float[]){f, 5 * f, 2 * f, 8 * f}, 4, "matmul dB accumulates", bn);
        }
    }
    dc_ctx_free(ctx);
    dc_backend_free(be);
}
END_TEST

/* ---------------------------------------------------------------- params */

START_TEST(test_params) {
    const char *bn = BE_NAMES[_i];
    dc_backend *be = open_be(_i);
    dc_params *ps = dc_params_new(be, DC_F32, 1);
    ck_assert_ptr_nonnull(ps);
    dc_tensor *a = dc_params_add(ps, "a", 1, SH(3));
    dc_tensor *b = dc_params_add(ps, "b", 2, SH(2, 2));
    dc_tensor *c = dc_params_add(ps, "c", 1, SH(20));
    ck_assert(a && b && c);
    ck_assert(a->flags & DC_PARAM && a->flags & DC_NEEDS_GRAD);
    ck_assert_int_eq(dc_params_alloc(ps), DC_OK);
    ck_assert_int_eq(dc_params_count(ps), 3);
    ck_assert_ptr_eq(dc_params_get(ps, 1), b);
    ck_assert_ptr_null(dc_params_get(ps, 3));
    ck_assert_ptr_eq(dc_params_find(ps, "c"), c);
    ck_assert_ptr_null(dc_params_find(ps, "nope"));
    ck_assert_int_eq(dc_params_numel(ps), 3 + 4 + 20);
    /* offsets aligned to 16 elements: a at 0, b at 16, c at 32; total 32 + 32 = 64 */
    dc_tensor *flat = dc_params_flat(ps), *fg = dc_params_flat_grad(ps);
    ck_assert(flat && fg && dc_tensor_numel(flat) == 64 && dc_tensor_numel(fg) == 64);
    ck_assert(a->buf == flat->buf && b->buf == flat->buf && c->buf == flat->buf);
    ck_assert(a->offset == flat->offset + 0 && b->offset == flat->offset + 16 * 4 && c->offset == flat->offset + 32 * 4);
    ck_assert(a->grad && b->grad && c->grad);
    ck_assert(b->grad->buf == fg->buf && b->grad->offset == fg->offset + 16 * 4 && dc_tensor_same_shape(b->grad, b));
    ck_assert(c->grad->buf == fg->buf && c->grad->offset == fg->offset + 32 * 4);
    float zeros[64] = {0}, got[64];
    ck_assert_int_eq(dc_tensor_download(flat, got, sizeof got), DC_OK);
    ck_assert(memcmp(got, zeros, sizeof got) == 0);
    ck_assert_int_eq(dc_tensor_download(fg, got, sizeof got), DC_OK);
    ck_assert(memcmp(got, zeros, sizeof got) == 0);
    /* write members, read the flat buffer: gaps stay zero */
    ck_assert_int_eq(dc_tensor_upload(a, (const float[]){1, 2, 3}, 12), DC_OK);
    ck_assert_int_eq(dc_tensor_upload(b, (const float[]){4, 5, 6, 7}, 16), DC_OK);
    float cv[20];
    for (int k = 0; k < 20; k++) cv[k] = 0.5f * (float)k;
    ck_assert_int_eq(dc_tensor_upload(c, cv, sizeof cv), DC_OK);
    ck_assert_int_eq(dc_tensor_download(flat, got, sizeof got), DC_OK);
    for (int k = 0; k < 64; k++) {
        float want = k < 3 ? (float)(k + 1) : (k >= 16 && k < 20) ? (float)(k - 12) : (k >= 32 && k < 52) ? cv[k - 32] : 0;
        ck_assert_msg(got[k] == want, "params flat [%s] element %d = %g, want %g", bn, k, got[k], want);
    }
    /* member gradients are views of the flat gradient */
    ck_assert_int_eq(dc_tensor_fill(b->grad, 3), DC_OK);
    ck_assert_int_eq(dc_tensor_download(fg, got, sizeof got), DC_OK);
    for (int k = 0; k < 64; k++) ck_assert(got[k] == ((k >= 16 && k < 20) ? 3.0f : 0.0f));
    /* backward into a parameter accumulates into the flat gradient: d sum(2 b) / db = 2, plus 3 */
    dc_ctx *ctx = dc_ctx_new(be);
    ck_assert_int_eq(dc_backward(ctx, dc_sum_all(ctx, dc_scale(ctx, b, 2))), DC_OK);
    EXPECT_F32(b->grad, "param grad accumulates", bn, 5, 5, 5, 5);
    ck_assert_int_eq(dc_params_zero_grad(ps), DC_OK);
    ck_assert_int_eq(dc_tensor_download(fg, got, sizeof got), DC_OK);
    ck_assert(memcmp(got, zeros, sizeof got) == 0);
    dc_ctx_free(ctx);

    /* copy into an f64 group (f32 -> f64), then back into a fresh f32 group (f64 -> f32) */
    dc_params *p64 = dc_params_new(be, DC_F64, 0);
    dc_tensor *c64 = dc_params_add(p64, "c", 1, SH(20)); /* other order, other offsets */
    dc_tensor *a64 = dc_params_add(p64, "a", 1, SH(3));
    dc_tensor *b64 = dc_params_add(p64, "b", 2, SH(2, 2));
    ck_assert_int_eq(dc_params_alloc(p64), DC_OK);
    ck_assert(a64->grad == NULL && dc_params_flat_grad(p64) == NULL); /* not trainable */
    ck_assert_int_eq(dc_params_copy(p64, ps), DC_OK);
    double d[20];
    ck_assert_int_eq(dc_tensor_download(a64, d, 24), DC_OK);
    ck_assert(d[0] == 1 && d[1] == 2 && d[2] == 3);
    ck_assert_int_eq(dc_tensor_download(b64, d, 32), DC_OK);
    ck_assert(d[0] == 4 && d[3] == 7);
    ck_assert_int_eq(dc_tensor_download(c64, d, 160), DC_OK);
    for (int k = 0; k < 20; k++) ck_assert(d[k] == 0.5 * k);
    ck_assert_int_eq(dc_tensor_upload(a64, (const double[]){-1.5, 0.25, 8}, 24), DC_OK);
    dc_params *p2 = dc_params_new(be, DC_F32, 1);
    dc_tensor *a2 = dc_params_add(p2, "a", 1, SH(3));
    dc_params_add(p2, "c", 1, SH(20));
    ck_assert_int_eq(dc_params_alloc(p2), DC_OK);
    ck_assert_int_eq(dc_params_copy(p2, p64), DC_OK); /* dst's members only: b is not needed */
    EXPECT_F32(a2, "params_copy f64 -> f32", bn, -1.5, 0.25, 8);
    EXPECT_F32(dc_params_find(p2, "c"), "params_copy c", bn, 0, .5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5,
               7, 7.5, 8, 8.5, 9, 9.5);
    /* a source without one of dst's names, or with another shape, fails */
    dc_params *p3 = dc_params_new(be, DC_F32, 0);
    dc_params_add(p3, "z", 1, SH(1));
    dc_params_add(p3, "a", 1, SH(4));
    ck_assert_int_eq(dc_params_alloc(p3), DC_OK);
    ck_assert_int_eq(dc_params_copy(p3, p2), DC_ERR_ARG); /* no "z" in p2 */
    ck_assert(strstr(dc_last_error(), "'z'") != NULL);
    dc_clear_error();
    ck_assert_int_eq(dc_params_copy(p2, p3), DC_ERR_SHAPE); /* "a" is (3) here, (4) in p3 */
    ck_assert(strstr(dc_last_error(), "'a'") != NULL);
    dc_clear_error();
    dc_params_free(p3);
    dc_params_free(p2);
    dc_params_free(p64);
    dc_params_free(ps);
    dc_backend_free(be);
}
END_TEST

/* ---------------------------------------------------------------- poison */

START_TEST(test_poison) {
    dc_backend *be = open_be(_i);
    dc_ctx *ctx = dc_ctx_new(be);
    dc_ctx_set_poison(ctx, 1);
    float f[6];
    double d[3];
    int32_t i[2];
    uint8_t u[3];
    ck_assert_int_eq(dc_tensor_download(dc_tensor_new(ctx, DC_F32, 2, SH(2, 3)), f, sizeof f), DC_OK);
    for (int k = 0; k < 6; k++) ck_assert_msg(isnan(f[k]), "poison f32 [%s] %d", BE_NAMES[_i], k);
    ck_assert_int_eq(dc_tensor_download(dc_tensor_new(ctx, DC_F64, 1, SH(3)), d, sizeof d), DC_OK);
    for (int k = 0; k < 3; k++) ck_assert(isnan(d[k]));
    ck_assert_int_eq(dc_tensor_download(dc_tensor_new(ctx, DC_U8, 1, SH(3)), u, sizeof u), DC_OK);
    ck_assert(u[0] == 0xA5 && u[2] == 0xA5);
    ck_assert_int_eq(dc_tensor_download(dc_tensor_new(ctx, DC_I32, 1, SH(2)), i, sizeof i), DC_OK);
    ck_assert((uint32_t)i[0] == 0xA5A5A5A5u && (uint32_t)i[1] == 0xA5A5A5A5u);
    /* poisoning also applies to pooled (reused) buffers, and zeros/ops still fully overwrite */
    dc_ctx_reset(ctx);
    ck_assert_int_eq(dc_tensor_download(dc_tensor_new(ctx, DC_F32, 2, SH(3, 2)), f, sizeof f), DC_OK);
    for (int k = 0; k < 6; k++) ck_assert(isnan(f[k]));
    dc_tensor *z = dc_tensor_zeros(ctx, DC_F32, 1, SH(6));
    ck_assert_int_eq(dc_tensor_download(z, f, sizeof f), DC_OK);
    for (int k = 0; k < 6; k++) ck_assert(f[k] == 0);
    dc_tensor *x = from_f32(ctx, 2, SH(2, 3), (const float[]){1, 2, 3, 4, 5, 6});
    EXPECT_F32(dc_sum(ctx, x, 0, 0), "sum in poison mode", BE_NAMES[_i], 5, 7, 9);
    EXPECT_F32(dc_transpose(ctx, x, 0, 1), "transpose in poison mode", BE_NAMES[_i], 1, 4, 2, 5, 3, 6);
    dc_ctx_set_poison(ctx, 0);
    dc_ctx_free(ctx);
    dc_backend_free(be);
}
END_TEST

/* ---------------------------------------------------------------- guards */

/* A backend that is cpu-ref whose FILL and ADD, when the op is g_leak_op, also write one
 * element out of bounds: `g_leak` elements past the end (> 0) or before the start (< 0)
 * of output 0. */
const dc_backend_vtbl *dc_backend_cpu_ref_vtbl(void);
static int64_t g_leak;
static dc_op g_leak_op;
static dc_kernel_fn g_ref_fill, g_ref_add;

static void leak(const dc_kernel_args *a) {
    float *p = dc_tensor_host_ptr(a->out[0]);
    int64_t n = dc_tensor_numel(a->out[0]);
    if (a->op != g_leak_op) return;
    if (g_leak > 0) p[n + g_leak - 1] = 1.0f;
    if (g_leak < 0) p[g_leak] = 1.0f;
}
static dc_status leaky_fill(dc_backend *be, const dc_kernel_args *a) {
    dc_status st = g_ref_fill(be, a);
    leak(a);
    return st;
}
static dc_status leaky_add(dc_backend *be, const dc_kernel_args *a) {
    dc_status st = g_ref_add(be, a);
    leak(a);
    return st;
}

START_TEST(test_guards) {
    static dc_backend_vtbl vt;
    vt = *dc_backend_cpu_ref_vtbl();
    g_ref_fill = vt.kernels[DC_OP_FILL];
    g_ref_add = vt.kernels[DC_OP_ADD];
    vt.kernels[DC_OP_FILL] = leaky_fill;
    vt.kernels[DC_OP_ADD] = leaky_add;
    dc_backend *be = calloc(1, sizeof *be);
    be->vt = &vt;
    snprintf(be->name, sizeof be->name, "leaky:0");
    dc_ctx *ctx = dc_ctx_new(be);
    dc_ctx_set_poison(ctx, 1);
    /* the FILL that poisons a new tensor writes one float past its end */
    g_leak_op = DC_OP_FILL;
    g_leak = 1;
    dc_clear_error();
    ck_assert_ptr_null(dc_tensor_new(ctx, DC_F32, 2, SH(3, 5)));
    const char *e = dc_last_error();
    ck_assert_int_eq(dc_last_status(), DC_ERR_BACKEND);
    ck_assert_msg(strstr(e, "fill on leaky:0 wrote past the end of output 0 ((3, 5) f32, 60 bytes)") &&
                      strstr(e, "guard byte +0 changed") && strstr(e, "side: after"),
                  "%s", e);
    /* ... and one before its start */
    g_leak = -1;
    dc_clear_error();
    ck_assert_ptr_null(dc_tensor_new(ctx, DC_F32, 1, SH(7)));
    e = dc_last_error();
    ck_assert_msg(strstr(e, "fill on leaky:0 wrote before the start of output 0 ((7) f32, 28 bytes)") &&
                      strstr(e, "guard byte -4 of 256") && strstr(e, "side: before"),
                  "%s", e);
    /* a well-behaved kernel passes the check; ADD leaking into a pooled buffer's slack is
     * caught although the pool handed out a buffer larger than requested */
    g_leak = 0;
    dc_ctx_reset(ctx);
    dc_tensor *big = dc_tensor_full(ctx, DC_F32, 1, SH(100), 1.0);
    ck_assert_msg(big, "%s", dc_last_error());
    dc_ctx_reset(ctx);
    dc_tensor *a = dc_tensor_full(ctx, DC_F32, 1, SH(60), 2.0), *b = dc_tensor_full(ctx, DC_F32, 1, SH(60), 3.0);
    ck_assert_msg(a && b, "%s", dc_last_error());
    ck_assert_ptr_eq(a->buf, big->buf); /* the 100-float buffer, reused for 60 floats */
    dc_tensor *c = dc_add(ctx, a, b);
    ck_assert_msg(c && dc_tensor_item(dc_sum_all(ctx, c)) == 300.0, "%s", dc_last_error());
    g_leak_op = DC_OP_ADD;
    g_leak = 20; /* element 79: inside the pooled buffer, 80 bytes past the requested 240 */
    dc_clear_error();
    ck_assert_ptr_null(dc_add(ctx, a, b));
    e = dc_last_error();
    ck_assert_msg(strstr(e, "add on leaky:0 wrote past the end of output 0 ((60) f32, 240 bytes): guard byte +76"),
                  "%s", e);
    /* without poison mode there are no guards (and this backend does not leak then) */
    g_leak = 0;
    dc_ctx *plain = dc_ctx_new(be);
    dc_tensor *t = dc_tensor_full(plain, DC_F32, 1, SH(3), 4.0);
    ck_assert_msg(t && t->offset == 0 && t->buf->guard_hi == 0, "%s", dc_last_error());
    dc_ctx_free(plain);
    dc_ctx_free(ctx);
    free(be);
}
END_TEST

static Suite *tensor_suite(void) {
    Suite *s = suite_create("tensor");
    TCase *tc = tcase_create("tensor");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_shapes_strides);
    /* loop index: backend (cpu, cpu-ref) */
    tcase_add_loop_test(tc, test_views_share, 0, 2);
    tcase_add_loop_test(tc, test_item, 0, 2);
    tcase_add_loop_test(tc, test_ctx_pool, 0, 2);
    tcase_add_loop_test(tc, test_tape_recording, 0, 2);
    tcase_add_loop_test(tc, test_grad_accumulation, 0, 2);
    tcase_add_loop_test(tc, test_grad_accumulation_matmul, 0, 2);
    tcase_add_loop_test(tc, test_params, 0, 2);
    tcase_add_loop_test(tc, test_poison, 0, 2);
    tcase_add_test(tc, test_guards);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return dc_test_run_suite(tensor_suite()) ? 1 : 0; }
