/* test_mpxent.c: the MP-Xent op against docs/METHOD.md §3.4's worked numbers, against an
 * independent composition of primitive ops (value and gradient, through autodiff), and
 * the difference between the authors' and the corrected protocol at sequence boundaries.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "dc_test.h"

static const char *const k_backends[] = {"cpu-ref", "cpu"};

/* docs/METHOD.md §3.4: Z = [[1,0],[1,1],[0,1],[-1,1],[-1,0]], tau = 0.5 */
static const double k_Z[10] = {1, 0, 1, 1, 0, 1, -1, 1, -1, 0};

static double mpx_value(const char *backend, dc_dtype dt, const double *z, int64_t N, int64_t F, int64_t seq_len,
                        int single, double tau) {
    dc_backend *be = dc_backend_new(backend);
    ck_assert_msg(be, "%s", dc_last_error());
    dc_ctx *ctx = dc_ctx_new(be);
    void *h = malloc((size_t)(N * F) * 8);
    for (int64_t i = 0; i < N * F; i++) {
        if (dt == DC_F32) ((float *)h)[i] = (float)z[i];
        else ((double *)h)[i] = z[i];
    }
    dc_tensor *t = dc_tensor_from_host(ctx, dt, 2, (int64_t[]){N, F}, h);
    dc_mpxent_opts o = {tau, seq_len, single};
    dc_tensor *L = dc_mpxent(ctx, t, &o);
    ck_assert_msg(L, "mpxent on %s: %s", backend, dc_last_error());
    ck_assert_int_eq(L->ndim, 0);
    double v = dc_tensor_item(L);
    free(h);
    dc_ctx_free(ctx);
    dc_backend_free(be);
    return v;
}

START_TEST(test_spec_worked_example_f64) {
    const char *b = k_backends[_i];
    double v = mpx_value(b, DC_F64, k_Z, 5, 2, 0, 0, 0.5);
    ck_assert_msg(fabs(v - (-0.4557256)) < 1e-6, "%s: MP-Xent %.9f, docs/METHOD.md §3.4 gives -0.4557256", b, v);
    /* independent recomputation of the per-anchor table of docs/METHOD.md §3.4: num = 8.226501 for
     * every anchor, den = 2.621569, 7.356367, 7.356367 */
    double e = exp(0.70710678118654752 / 0.5), e0 = 1.0, em = exp(-0.70710678118654752 / 0.5), e4 = exp(-2.0);
    /* anchor 1: column 1 minus rows {0,1,2}: e(3,1) + e(4,1) = 1 + em; column 0 minus rows {0,1}:
     * e(2,0) + e(3,0) + e(4,0) = 1 + em + e4. anchor 2: e(0,2) + e(4,2) = 1 + 1; column 1 minus
     * rows {1,2}: e(0,1) + e(3,1) + e(4,1) = e + 1 + em. anchor 3 mirrors anchor 2. */
    double num = 2 * e, den1 = (e0 + em) + (e0 + em + e4), den2 = (e0 + e0) + (e + e0 + em), ref;
    ck_assert(fabs(num - 8.226501) < 1e-6 && fabs(den1 - 2.621569) < 1e-6 && fabs(den2 - 7.356367) < 1e-6);
    ref = (log(den1) - log(num) + 2 * (log(den2) - log(num))) / 3;
    ck_assert_msg(fabs(v - ref) < 1e-12, "%s: %.15f vs closed form %.15f", b, v, ref);
    double s = mpx_value(b, DC_F64, k_Z, 5, 2, 0, 1, 0.5);
    ck_assert_msg(fabs(s - (-0.0422156)) < 1e-6, "%s: single-positive %.9f, docs/METHOD.md §3.6 gives -0.0422156", b,
                  s);
}
END_TEST

START_TEST(test_spec_worked_example_f32) {
    const char *b = k_backends[_i];
    double v = mpx_value(b, DC_F32, k_Z, 5, 2, 0, 0, 0.5);
    ck_assert_msg(fabs(v - (-0.4557254)) < 1e-6, "%s f32: MP-Xent %.9f, docs/METHOD.md §3.4 gives -0.4557254", b, v);
    double s = mpx_value(b, DC_F32, k_Z, 5, 2, 0, 1, 0.5);
    ck_assert_msg(fabs(s - (-0.0422156)) < 1e-6, "%s f32: single-positive %.9f", b, s);
}
END_TEST

/* Per-row terms log den_a - log num_a for a = 0..N-1 (docs/METHOD.md §3.2, meaningful only at anchors),
 * built from primitive ops so that autodiff differentiates it independently of the fused
 * kernel. eye: u8 (N, N) identity; subdiag: (N, N) with ones at (i, i-1). */
static dc_tensor *composite_terms(dc_ctx *c, dc_tensor *z, double tau, int single, dc_tensor *eye, dc_tensor *subdiag) {
    int64_t N = z->shape[0];
    dc_tensor *zh = dc_l2norm(c, z, 1e-12);
    dc_tensor *E = dc_masked_fill(c, dc_exp(c, dc_scale(c, dc_matmul(c, zh, zh, 0, 1), 1.0 / tau)), eye, 0.0);
    dc_tensor *C = dc_sum(c, E, 0, 0);                            /* column sums (N) */
    dc_tensor *r = dc_sum(c, dc_mul(c, E, subdiag), 1, 0);        /* r_i = E[i, i-1] */
    dc_tensor *l = dc_slice(c, r, 0, 1, N - 1);                   /* l_j = E[j+1, j], j < N-1 */
    dc_tensor *zero1 = dc_tensor_zeros(c, z->dtype, 1, (int64_t[]){1});
    dc_tensor *lp = dc_concat(c, 2, (dc_tensor *const[]){l, zero1}, 0);       /* l_a   (0 at a = N-1) */
    dc_tensor *lm = dc_concat(c, 2, (dc_tensor *const[]){zero1, l}, 0);       /* l_{a-1} (0 at a = 0) */
    dc_tensor *Cm = dc_concat(c, 2, (dc_tensor *const[]){zero1, dc_slice(c, C, 0, 0, N - 1)}, 0); /* C_{a-1} */
    dc_tensor *num, *den;
    if (single) {
        num = lp;
        den = dc_sub(c, C, lp);
    } else {
        num = dc_add(c, lm, lp);
        den = dc_sub(c, dc_add(c, dc_sub(c, Cm, lm), dc_sub(c, C, lm)), lp);
    }
    return dc_sub(c, dc_log(c, den), dc_log(c, num)); /* non-anchor entries are masked by the caller */
}

static void composite_vs_fused(const char *backend, int64_t B, int64_t T, int64_t F, int seq_mode, int single,
                               uint64_t seed) {
    int64_t N = B * T, L = seq_mode ? T : N;
    dc_backend *be = dc_backend_new(backend);
    dc_ctx *c = dc_ctx_new(be);
    double *zh = malloc((size_t)(N * F) * sizeof *zh), *sub = calloc((size_t)(N * N), 8);
    uint8_t *eyeu = calloc((size_t)(N * N), 1);
    double *sel = calloc((size_t)N, 8);
    dc_rng r = dc_rng_init(seed);
    for (int64_t i = 0; i < N * F; i++) zh[i] = dc_rng_uniform(&r); /* non-negative, as after ReLU */
    for (int64_t f = 0; f < F; f++) zh[3 * F + f] = 0;              /* an all-zero row */
    for (int64_t i = 0; i < N; i++) {
        eyeu[i * N + i] = 1;
        if (i > 0) sub[i * N + i - 1] = 1;
        int64_t t = i % L;
        sel[i] = single ? (t <= L - 2) : (t >= 1 && t <= L - 2);
    }
    int64_t A = 0;
    for (int64_t i = 0; i < N; i++) A += (int64_t)sel[i];
    dc_tensor *z1 = dc_tensor_from_host(c, DC_F64, 2, (int64_t[]){N, F}, zh);
    dc_tensor *z2 = dc_tensor_from_host(c, DC_F64, 2, (int64_t[]){N, F}, zh);
    dc_tensor *eyet = dc_tensor_from_host(c, DC_U8, 2, (int64_t[]){N, N}, eyeu);
    dc_tensor *subt = dc_tensor_from_host(c, DC_F64, 2, (int64_t[]){N, N}, sub);
    dc_tensor *selt = dc_tensor_from_host(c, DC_F64, 1, &N, sel);
    dc_tensor_set_requires_grad(z1, 1);
    dc_tensor_set_requires_grad(z2, 1);
    /* non-anchor terms can be log(0) (num = 0 at the ends): masked_fill them to 0 so that
     * neither the value nor the gradient sees them */
    dc_tensor *terms = composite_terms(c, z1, 0.5, single, eyet, subt);
    uint8_t ns[64];
    ck_assert(N <= 64);
    for (int64_t i = 0; i < N; i++) ns[i] = sel[i] == 0;
    dc_tensor *notsel = dc_tensor_from_host(c, DC_U8, 1, &N, ns);
    dc_tensor *Lc = dc_scale(c, dc_sum_all(c, dc_mul(c, dc_masked_fill(c, terms, notsel, 0.0), selt)), 1.0 / (double)A);
    dc_mpxent_opts o = {0.5, seq_mode ? T : 0, single};
    dc_tensor *Lf = dc_mpxent(c, z2, &o);
    ck_assert_msg(Lc && Lf, "%s: %s", backend, dc_last_error());
    double vc = dc_tensor_item(Lc), vf = dc_tensor_item(Lf);
    ck_assert_msg(fabs(vc - vf) < 1e-12 * (1 + fabs(vc)), "%s B%lld T%lld seq%d single%d: composite %.15f fused %.15f",
                  backend, (long long)B, (long long)T, seq_mode, single, vc, vf);
    ck_assert(dc_backward(c, Lc) == DC_OK);
    ck_assert(dc_backward(c, Lf) == DC_OK);
    double *g1 = malloc((size_t)(N * F) * 8), *g2 = malloc((size_t)(N * F) * 8);
    dc_tensor_download(z1->grad, g1, (size_t)(N * F) * 8);
    dc_tensor_download(z2->grad, g2, (size_t)(N * F) * 8);
    double num = 0, den = 0;
    for (int64_t i = 0; i < N * F; i++) {
        num += (g1[i] - g2[i]) * (g1[i] - g2[i]);
        den += g1[i] * g1[i];
    }
    ck_assert_msg(den > 0 && sqrt(num / den) < 1e-10, "%s B%lld T%lld seq%d single%d: gradient rel err %.3g", backend,
                  (long long)B, (long long)T, seq_mode, single, sqrt(num / den));
    free(zh), free(sub), free(eyeu), free(sel), free(g1), free(g2);
    dc_ctx_free(c);
    dc_backend_free(be);
}

START_TEST(test_composite_agrees) {
    const char *b = k_backends[_i];
    for (int single = 0; single <= 1; single++)
        for (int seq = 0; seq <= 1; seq++) {
            composite_vs_fused(b, 1, 7, 3, seq, single, 5);
            composite_vs_fused(b, 3, 6, 4, seq, single, 6);
            composite_vs_fused(b, 4, 9, 5, seq, single, 7);
        }
}
END_TEST

/* docs/METHOD.md §3.3: B = 2, T = 3. Authors: anchors 1..4, and anchor 2's positives are rows 1 and 3
 * (3 belongs to the next sequence). Corrected: only anchors 1 and 4 (t = 1 in each sequence). */
START_TEST(test_protocol_boundary) {
    const char *b = k_backends[_i];
    const int64_t N = 6, F = 3;
    double z[18];
    dc_rng r = dc_rng_init(11);
    for (int i = 0; i < 18; i++) z[i] = dc_rng_uniform(&r);
    double authors = mpx_value(b, DC_F64, z, N, F, 0, 0, 0.5), corrected = mpx_value(b, DC_F64, z, N, F, 3, 0, 0.5);
    /* per-anchor terms by direct double loops */
    double zh[18], E[36] = {0}, C[6] = {0}, term[6];
    for (int i = 0; i < 6; i++) {
        double n = 0;
        for (int f = 0; f < 3; f++) n += z[i * 3 + f] * z[i * 3 + f];
        for (int f = 0; f < 3; f++) zh[i * 3 + f] = z[i * 3 + f] / sqrt(n);
    }
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) {
            double s = 0;
            for (int f = 0; f < 3; f++) s += zh[i * 3 + f] * zh[j * 3 + f];
            E[i * 6 + j] = i == j ? 0 : exp(s / 0.5);
        }
    for (int j = 0; j < 6; j++)
        for (int i = 0; i < 6; i++) C[j] += E[i * 6 + j];
    for (int a = 1; a <= 4; a++) {
        double lm = E[a * 6 + a - 1], lp = E[(a + 1) * 6 + a];
        term[a] = log((C[a - 1] - lm) + (C[a] - lm - lp)) - log(lm + lp);
    }
    double ref_a = (term[1] + term[2] + term[3] + term[4]) / 4, ref_c = (term[1] + term[4]) / 2;
    ck_assert_msg(fabs(authors - ref_a) < 1e-12, "%s authors %.15f vs %.15f", b, authors, ref_a);
    ck_assert_msg(fabs(corrected - ref_c) < 1e-12, "%s corrected %.15f vs %.15f", b, corrected, ref_c);
    ck_assert_msg(fabs(authors - corrected) > 1e-3, "%s: protocols should differ here", b);
}
END_TEST

/* tau 0.01 on post-ReLU rows (N = 240): a column's positives can dwarf the rest below float
 * precision, so the fused f32 kernel must sum the columns in double (den = C - l), and its
 * exps must not overflow (exp(S / tau) would, above S = 0.88). Against cpu-ref in f64. */
START_TEST(test_tiny_tau_relu_rows) {
    const int64_t N = 240, F = 32;
    double *z = malloc((size_t)(N * F) * sizeof *z);
    dc_rng r = dc_rng_init(77);
    for (int64_t i = 0; i < N * F; i++) {
        double u = 2 * dc_rng_uniform(&r) - 1;
        z[i] = u > 0 ? u : 0;
    }
    double ref = mpx_value("cpu-ref", DC_F64, z, N, F, 0, 0, 0.01), got = mpx_value("cpu", DC_F32, z, N, F, 0, 0, 0.01);
    ck_assert_msg(isfinite(got) && fabs(got - ref) <= 1e-5 * fabs(ref), "cpu f32 %.9g, cpu-ref %.9g", got, ref);
    free(z);
}
END_TEST

START_TEST(test_errors) {
    dc_backend *be = dc_backend_new("cpu");
    dc_ctx *c = dc_ctx_new(be);
    dc_tensor *z = dc_tensor_zeros(c, DC_F32, 2, (int64_t[]){10, 4});
    dc_mpxent_opts o = {0.5, 3, 0};
    dc_clear_error();
    ck_assert_ptr_null(dc_mpxent(c, z, &o));
    ck_assert_msg(strstr(dc_last_error(), "seq_len 3") && strstr(dc_last_error(), "(10, 4)"), "%s", dc_last_error());
    o.seq_len = 2;
    dc_clear_error();
    ck_assert_ptr_null(dc_mpxent(c, z, &o));
    ck_assert_msg(strstr(dc_last_error(), "no anchor"), "%s", dc_last_error());
    o.seq_len = 0;
    o.tau = 0;
    dc_clear_error();
    ck_assert_ptr_null(dc_mpxent(c, z, &o));
    ck_assert_msg(strstr(dc_last_error(), "tau"), "%s", dc_last_error());
    dc_ctx_free(c);
    dc_backend_free(be);
}
END_TEST

int main(void) {
    Suite *s = suite_create("mpxent");
    TCase *tc = tcase_create("mpxent");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_spec_worked_example_f64, 0, 2);
    tcase_add_loop_test(tc, test_spec_worked_example_f32, 0, 2);
    tcase_add_loop_test(tc, test_composite_agrees, 0, 2);
    tcase_add_loop_test(tc, test_protocol_boundary, 0, 2);
    tcase_add_test(tc, test_tiny_tau_relu_rows);
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    return dc_test_run_suite(s) ? 1 : 0;
}
