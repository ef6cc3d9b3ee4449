/* cmd_conformance.c: `dynacl conformance`: decides whether a backend is correct. Runs the
 * conformance suite (tools/conformance/) on one or more backends: every op at toy, odd and
 * training sizes against the float64 reference cpu-ref, in poison mode with guard regions,
 * then whole runs against cpu; prints the coverage matrix and exits non-zero on any FAIL.
 * Exit codes: 0 no FAIL, 1 a FAIL, 2 usage, 77 no requested backend has a device.
 */
#include <stdlib.h>
#include <string.h>

#include "conformance.h"
#include "tool_common.h"

static const char *const k_synopsis = "[--backend NAME[,NAME...]] [--quick] [--perf] [--json FILE] [--only LIST]";

static int kind_index(const char *name) {
    for (int k = 0; k < dc_backend_kind_count(); k++)
        if (!strcmp(dc_backend_kind_name(k), name)) return k;
    return -1;
}

static void list_checks(void) {
    printf("check kinds (each op case runs under every kind that applies):\n");
    for (int k = 0; k < conf_n_kinds; k++) printf("  %-6s %s\n", conf_kinds[k].name, conf_kinds[k].what);
    printf("\nop cases (size: toy, odd, train; --quick runs toy and odd):\n");
    static const char *const sz[] = {"toy", "odd", "train"};
    for (int i = 0; i < conf_n_cases; i++) {
        const conf_case *c = &conf_cases[i];
        const conf_tol t = conf_tolerance(c->op, DC_F32);
        printf("  %-30s %-5s %-15s f32 tol fwd %.0e grad %.0e\n", c->name, sz[c->size], dc_op_name(c->op), t.fwd,
               c->grad_mask ? t.grad : 0.0);
    }
    printf("\nwhole runs (group 'runs'):\n");
    char names[CONF_MAX_RUNS][CONF_NAME];
    int n = conf_whole_names(names);
    for (int i = 0; i < n; i++) printf("  %s\n", names[i]);
}

int cmd_conformance(int argc, char **argv) {
    const char *backends = NULL, *json = NULL, *only = NULL;
    int quick = 0, perf = 0, verbose = 0, list = 0;
    int64_t steps = 0;
    const dc_opt opts[] = {
        {"backend", OPT_STR, &backends,
         "comma-separated backend kinds to check (default: every kind with a device except the reference cpu-ref)"},
        {"quick", OPT_FLAG, &quick, "toy and odd sizes only, 30 training steps, 10 graph replays (a fast local run)"},
        {"perf", OPT_FLAG, &perf, "also print microseconds per op at training sizes, next to cpu"},
        {"json", OPT_STR, &json, "also write every result as JSON to this file (written atomically)"},
        {"only", OPT_STR, &only,
         "comma-separated prefixes of case or check names to run, or the groups 'ops' and 'runs'"},
        {"steps", OPT_INT, &steps, "training steps of train.dynacl, 1..100000 (default 200, 30 with --quick)", "[1, 100000]"},
        {"verbose", OPT_FLAG, &verbose, "one line per case and check kind"},
        {"list", OPT_FLAG, &list, "list the check kinds, the op cases with their thresholds, and the whole runs"},
        {0},
    };
    int rc = dc_opts_parse("conformance", k_synopsis, opts, argc, argv);
    if (rc) return rc > 0 ? 0 : 2;
    if (list) {
        list_checks();
        return 0;
    }
    if (json && !*json) {
        fprintf(stderr, "dynacl conformance: --json needs a file name\n");
        return 2;
    }
    conf_opts o = conf_opts_default();
    o.quick = quick;
    o.verbose = verbose;
    o.only = only;
    o.train_steps = steps;
    if (!conf_ops_wanted(&o) && !conf_whole_wanted(&o)) {
        fprintf(stderr, "dynacl conformance: --only '%s' selects no case and no check%s (see --list)\n", only,
                quick ? " at the --quick sizes" : "");
        return 2;
    }
    /* every context poisoned, parameter groups included: NaN-filled new tensors and guard
     * regions checked after every kernel (core/src/guard.c) */
    setenv("DC_POISON", "1", 1);

    conf_report *r = calloc(1, sizeof *r);
    if (!r) {
        fprintf(stderr, "dynacl conformance: out of memory\n");
        return 1;
    }
    conf_report_init(r);
    r->quick = quick;
    int n_asked = 0, n_skipped = 0;
    char list_buf[512];
    if (backends) {
        snprintf(list_buf, sizeof list_buf, "%s", backends);
    } else { /* every kind but the reference */
        list_buf[0] = '\0';
        for (int k = 0; k < dc_backend_kind_count(); k++)
            if (strcmp(dc_backend_kind_name(k), "cpu-ref"))
                snprintf(list_buf + strlen(list_buf), sizeof list_buf - strlen(list_buf), "%s%s", list_buf[0] ? "," : "",
                         dc_backend_kind_name(k));
    }
    for (char *save = NULL, *name = strtok_r(list_buf, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        n_asked++;
        int k = kind_index(name);
        if (k < 0) {
            fprintf(stderr, "dynacl conformance: no backend kind '%s' (see `dynacl backends`)\n", name);
            conf_report_free(r);
            free(r);
            return 2;
        }
        if (!strcmp(name, "cpu-ref")) {
            fprintf(stderr, "dynacl conformance: cpu-ref is the reference every backend is compared with; "
                            "check cpu or another backend\n");
            conf_report_free(r);
            free(r);
            return 2;
        }
        char why[512] = "";
        if (dc_backend_kind_devices(k, why, sizeof why) == 0) {
            printf("conformance: %s: SKIP, no device: %s\n", name, why[0] ? why : "no device");
            n_skipped++;
            continue;
        }
        if (conf_report_add_backend(r, name) < 0) {
            fprintf(stderr, "dynacl conformance: at most %d backends at once\n", CONF_MAX_BE);
            conf_report_free(r);
            free(r);
            return 2;
        }
    }
    if (r->n_be == 0) {
        printf("conformance: nothing to check: %s\n", n_asked ? "no requested backend has a device" : "no backend");
        conf_report_free(r);
        free(r);
        return n_skipped ? 77 : 2;
    }
    for (int b = 0; b < r->n_be; b++) {
        printf("conformance: %s against cpu-ref (ops) and %s (whole runs)%s\n", r->be[b], conf_whole_reference(r->be[b]),
               quick ? ", quick" : "");
        fflush(stdout);
        if (conf_ops_wanted(&o)) conf_run_ops(r, b, &o);
        if (conf_whole_wanted(&o)) conf_run_whole(r, b, &o);
        if (perf) conf_run_perf(r, b, &o);
    }
    conf_print_matrix(stdout, r);
    conf_print_perf(stdout, r);
    int fail = r->n_fail > 0;
    for (int b = 0; b < r->n_be; b++)
        for (int i = 0; i < r->n_runs; i++) fail |= r->run[i][b].v == CONF_FAIL;
    if (json && conf_write_json(json, r) != DC_OK) {
        fprintf(stderr, "dynacl conformance: writing %s: %s\n", json, dc_last_error());
        fail = 1;
    }
    conf_report_free(r);
    free(r);
    return fail ? 1 : 0;
}
