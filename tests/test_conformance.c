/* test_conformance.c: the conformance suite's own machinery (tools/conformance/), on a cpu
 * backend with one planted bug at a time, opened through conf_opts.open_backend: a kernel
 * that writes one element past its output, a reduction that drops its remainder, an MP-Xent
 * that loses one anchor. Each must be a FAIL in the right cell of the matrix, naming what
 * broke, while the untouched ops pass. Also: the case table covers every op, the JSON
 * report parses, selection by name. The suite itself runs per backend as the
 * conformance.<backend>.* ctests (`dynacl conformance`).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"
#include "dc/dc_backend_impl.h"
#include "dc_test.h"

enum { PLANT_NONE, PLANT_PAST_END, PLANT_REMAINDER, PLANT_ANCHOR };
static int g_plant;
static dc_backend_vtbl g_vt;
static dc_kernel_fn g_orig_add, g_orig_sum, g_orig_mpxent;

/* ADD that also writes one float past the end of its output */
static dc_status add_past_end(dc_backend *be, const dc_kernel_args *a) {
    dc_status st = g_orig_add(be, a);
    if (a->out[0]->dtype == DC_F32) ((float *)dc_tensor_host_ptr(a->out[0]))[dc_tensor_numel(a->out[0])] = 1.0f;
    return st;
}

/* SUM that forgets the remainder: only whole tiles of 64 along the reduced axis */
static dc_status sum_without_remainder(dc_backend *be, const dc_kernel_args *a) {
    dc_kernel_args b = *a;
    const int64_t n = a->p.i[2], outer = a->p.i[1], inner = a->p.i[3];
    if (n % 64 == 0) return g_orig_sum(be, a);
    /* reduce the first n - n % 64 rows of each outer block through a strided view */
    dc_tensor x = *a->in[0];
    x.ndim = 3;
    x.flags = 0;
    x.shape[0] = outer, x.shape[1] = n - n % 64, x.shape[2] = inner;
    x.stride[0] = n * inner, x.stride[1] = inner, x.stride[2] = 1;
    if (x.shape[1] == 0) return dc_tensor_fill(a->out[0], 0.0);
    b.p.i[2] = x.shape[1];
    /* the cpu kernel wants a contiguous input: copy the kept rows first */
    dc_ctx *tmp = dc_ctx_new(be);
    dc_tensor *xc = dc_copy(tmp, &x);
    b.in[0] = xc;
    dc_status st = xc ? g_orig_sum(be, &b) : dc_last_status();
    dc_ctx_free(tmp);
    return st;
}

/* MP-Xent whose gradient loses anchor 3 (its row and its positives' rows are zero) */
static dc_status mpxent_lost_anchor(dc_backend *be, const dc_kernel_args *a) {
    dc_status st = g_orig_mpxent(be, a);
    if (st == DC_OK && a->out[1] && a->in[0]->shape[0] > 5 && a->out[1]->dtype == DC_F32) {
        float *dz = dc_tensor_host_ptr(a->out[1]);
        const int64_t F = a->in[0]->shape[1];
        memset(dz + 2 * F, 0, (size_t)(3 * F) * sizeof *dz);
    }
    return st;
}

static dc_backend *open_planted(const char *kind) {
    dc_backend *be = dc_backend_new(kind);
    if (!be || g_plant == PLANT_NONE) return be;
    g_vt = *be->vt;
    g_orig_add = g_vt.kernels[DC_OP_ADD];
    g_orig_sum = g_vt.kernels[DC_OP_SUM];
    g_orig_mpxent = g_vt.kernels[DC_OP_MPXENT];
    if (g_plant == PLANT_PAST_END) g_vt.kernels[DC_OP_ADD] = add_past_end;
    if (g_plant == PLANT_REMAINDER) g_vt.kernels[DC_OP_SUM] = sum_without_remainder;
    if (g_plant == PLANT_ANCHOR) g_vt.kernels[DC_OP_MPXENT] = mpxent_lost_anchor;
    be->vt = &g_vt;
    return be;
}

/* the op checks on "cpu" with a plant, quick sizes, only the named cases */
static conf_report *run_ops(int plant, const char *only) {
    g_plant = plant;
    setenv("DC_POISON", "1", 1);
    conf_report *r = calloc(1, sizeof *r);
    conf_report_init(r);
    ck_assert_int_eq(conf_report_add_backend(r, "cpu"), 0);
    conf_opts o = conf_opts_default();
    o.quick = 1;
    o.only = only;
    o.open_backend = open_planted;
    ck_assert_int_eq(conf_run_ops(r, 0, &o), 0);
    return r;
}

static void free_report(conf_report *r) {
    conf_report_free(r);
    free(r);
}

START_TEST(test_clean_backend_passes) {
    conf_report *r = run_ops(PLANT_NONE, "add,sum,mean,mpxent,matmul_nt");
    ck_assert_int_eq(r->n_fail, 0);
    ck_assert_int_gt(r->n_pass, 10);
    const dc_op ops[] = {DC_OP_ADD, DC_OP_SUM, DC_OP_MEAN, DC_OP_MPXENT, DC_OP_MATMUL};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        for (int dir = 0; dir < 2; dir++) {
            const conf_cell *c = &r->op[ops[i]][dir][0];
            ck_assert_msg(c->v == CONF_PASS, "%s %d: %d %s", dc_op_name(ops[i]), dir, c->v, c->reason);
            /* the worst error is a real measurement, below the threshold of the op */
            ck_assert(c->worst >= 0 && c->worst <= conf_tolerance(ops[i], DC_F32).grad);
        }
    free_report(r);
}
END_TEST

START_TEST(test_write_past_end_is_named) {
    conf_report *r = run_ops(PLANT_PAST_END, "add_bcast,sub");
    const conf_cell *add = &r->op[DC_OP_ADD][0][0], *sub = &r->op[DC_OP_SUB][0][0];
    ck_assert_msg(add->v == CONF_FAIL && strstr(add->reason, "add on cpu:0 wrote past the end of output 0") &&
                      strstr(add->reason, "side: after") && strstr(add->reason, "add_bcast"),
                  "%s", add->reason);
    ck_assert_msg(sub->v == CONF_PASS, "%s", sub->reason); /* the same kernel in another slot is fine */
    free_report(r);
}
END_TEST

START_TEST(test_dropped_remainder_is_caught) {
    conf_report *r = run_ops(PLANT_REMAINDER, "sum_axis,mean_last,mul_bcast");
    const conf_cell *sum = &r->op[DC_OP_SUM][0][0], *mean = &r->op[DC_OP_MEAN][0][0];
    ck_assert_msg(sum->v == CONF_FAIL && strstr(sum->reason, "forward: rel err"), "%s", sum->reason);
    ck_assert_msg(mean->v == CONF_FAIL, "%s", mean->reason); /* mean runs the SUM kernel */
    /* mul's backward sums over the broadcast axis with the same kernel */
    ck_assert_msg(r->op[DC_OP_MUL][1][0].v == CONF_FAIL, "%s", r->op[DC_OP_MUL][1][0].reason);
    ck_assert_msg(r->op[DC_OP_MUL][0][0].v == CONF_PASS, "%s", r->op[DC_OP_MUL][0][0].reason);
    free_report(r);
}
END_TEST

START_TEST(test_lost_anchor_is_caught) {
    conf_report *r = run_ops(PLANT_ANCHOR, "mpxent");
    const conf_cell *f = &r->op[DC_OP_MPXENT][0][0], *b = &r->op[DC_OP_MPXENT][1][0];
    ck_assert_msg(f->v == CONF_PASS, "%s", f->reason); /* the loss itself is untouched */
    ck_assert_msg(b->v == CONF_FAIL && strstr(b->reason, "gradient of input 0: rel err") && b->worst > 1e-2,
                  "%s (%g)", b->reason, b->worst);
    /* both kinds see it: against cpu-ref, and the fused kernel against its composite */
    int fails[2] = {0, 0};
    for (int i = 0; i < r->n_lines; i++)
        if (r->lines[i].v == CONF_FAIL) fails[!strcmp(r->lines[i].kind, "fused")]++;
    ck_assert_msg(fails[0] > 0 && fails[1] > 0, "ref FAILs %d, fused FAILs %d", fails[0], fails[1]);
    free_report(r);
}
END_TEST

/* the whole-run step check sees the planted MP-Xent through DynaCL's loss */
START_TEST(test_lost_anchor_fails_a_training_step) {
    g_plant = PLANT_ANCHOR;
    conf_report *r = calloc(1, sizeof *r);
    conf_report_init(r);
    conf_report_add_backend(r, "cpu");
    conf_opts o = conf_opts_default();
    o.quick = 1;
    o.only = "step.dynacl.authors,error.bad_argument";
    o.open_backend = open_planted;
    ck_assert_int_eq(conf_run_whole(r, 0, &o), 0);
    const conf_cell *c = conf_run_cell(r, "step.dynacl.authors", 0), *e = conf_run_cell(r, "error.bad_argument", 0);
    ck_assert_msg(c->v == CONF_FAIL && strstr(c->reason, "gradients rel err"), "%s", c->reason);
    ck_assert_msg(e->v == CONF_PASS, "%s", e->reason);
    free_report(r);
}
END_TEST

/* every op of dc_ops.def is checked: a case of its own, or (fused backward kernels) the
 * backward of a case whose op runs it */
START_TEST(test_every_op_has_a_case) {
    for (int op = 0; op < DC_OP_COUNT; op++) {
        int found = 0;
        for (int i = 0; i < conf_n_cases; i++)
            found |= (int)conf_cases[i].op == op || ((int)conf_back_op(conf_cases[i].op) == op && conf_cases[i].grad_mask);
        ck_assert_msg(found, "op %s has no case in tools/conformance/conf_cases.c", dc_op_name((dc_op)op));
        const conf_tol t = conf_tolerance((dc_op)op, DC_F32);
        ck_assert_msg(t.why && t.fwd > 0, "op %s has no threshold in conf_checks.c", dc_op_name((dc_op)op));
    }
    /* every size class is present, names are unique */
    int sizes[3] = {0};
    for (int i = 0; i < conf_n_cases; i++) {
        sizes[conf_cases[i].size]++;
        ck_assert_ptr_eq(conf_find_case(conf_cases[i].name), &conf_cases[i]);
    }
    ck_assert(sizes[CONF_TOY] > 0 && sizes[CONF_ODD] > 0 && sizes[CONF_TRAIN] > 0);
}
END_TEST

START_TEST(test_selection_and_json) {
    conf_opts o = conf_opts_default();
    ck_assert(conf_selected(&o, "matmul_nt", "ops"));
    o.only = "matmul,runs";
    ck_assert(conf_selected(&o, "matmul_nt_952x156x128", "ops"));
    ck_assert(!conf_selected(&o, "mpxent_authors", "ops"));
    ck_assert(conf_selected(&o, "determinism", "runs"));
    ck_assert(conf_ops_wanted(&o) && conf_whole_wanted(&o));
    o.only = "ops";
    ck_assert(!conf_whole_wanted(&o));

    conf_report *r = run_ops(PLANT_PAST_END, "add_bcast_mid,exp");
    const char *path = "test_conformance_report.json";
    ck_assert_int_eq(conf_write_json(path, r), DC_OK);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    remove(path);
    buf[n] = '\0';
    cJSON *root = cJSON_Parse(buf);
    ck_assert_msg(root, "the JSON report does not parse");
    ck_assert_int_eq(cJSON_GetObjectItem(root, "failed")->valueint, r->n_fail);
    ck_assert_int_ge(r->n_fail, 1);
    int seen_fail = 0;
    cJSON *cell;
    cJSON_ArrayForEach(cell, cJSON_GetObjectItem(root, "matrix")) {
        const char *op = cJSON_GetObjectItem(cell, "op")->valuestring;
        const char *v = cJSON_GetObjectItem(cell, "verdict")->valuestring;
        if (!strcmp(op, "add") && !strcmp(v, "FAIL")) seen_fail = 1;
        if (!strcmp(op, "exp")) ck_assert_str_eq(v, "PASS");
    }
    ck_assert(seen_fail);
    cJSON_Delete(root);
    free_report(r);
}
END_TEST

int main(void) {
    Suite *s = suite_create("conformance");
    TCase *tc = tcase_create("conformance");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_every_op_has_a_case);
    tcase_add_test(tc, test_clean_backend_passes);
    tcase_add_test(tc, test_write_past_end_is_named);
    tcase_add_test(tc, test_dropped_remainder_is_caught);
    tcase_add_test(tc, test_lost_anchor_is_caught);
    tcase_add_test(tc, test_lost_anchor_fails_a_training_step);
    tcase_add_test(tc, test_selection_and_json);
    suite_add_tcase(s, tc);
    return dc_test_run_suite(s) ? 1 : 0;
}
