/* cmd_plot.c: `dynacl plot RUN [--out FILE]`: a run folder's training curves as one figure
 * (PNG, SVG or PDF by the extension): the loss (logged steps, epoch means, validation), the
 * learning rate and the validation J over epochs. Reads RUN/metrics.jsonl through
 * run_curves.c; trains nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval_tools.h"
#include "plot.h"
#include "run_curves.h"
#include "tool_common.h"

#define DOTS(n) ((n) <= 60) /* markers while the points stay apart */

/* The three panels of a run: loss, learning rate, validation J. */
static void build_panels(const run_curves *c, dc_line_panel p[3], char *note, size_t cap) {
    memset(p, 0, 3 * sizeof *p);
    p[0].ylabel = "loss";
    p[0].series[0] = (dc_series){c->step_x, c->step_loss, c->n_step, "logged steps", 0, 0, 1};
    p[0].series[1] = (dc_series){c->ep, c->ep_loss, c->n_ep, "epoch mean (training)", 0, DOTS(c->n_ep), 0};
    p[0].series[2] = (dc_series){c->val_ep, c->val_loss, c->n_val, "validation (mean per batch)", 1, DOTS(c->n_val), 0};
    p[0].n_series = 3;
    p[0].log_y = 0;
    p[0].empty = "no loss recorded";
    p[1].ylabel = "learning rate";
    p[1].series[0] = (dc_series){c->ep, c->ep_lr, c->n_ep, NULL, 2, DOTS(c->n_ep), 0};
    p[1].n_series = 1;
    p[1].log_y = 1;
    p[1].empty = "no epoch finished yet";
    p[2].ylabel = "validation J";
    p[2].series[0] = (dc_series){c->j_ep, c->j, c->n_j, NULL, 3, DOTS(c->n_j), 0};
    p[2].n_series = 1;
    p[2].empty = "no clustering J in metrics.jsonl (pretrain with --valid-every N)";
    int64_t best = -1;
    for (int64_t i = 0; i < c->n_j; i++)
        if (best < 0 || c->j[i] > c->j[best]) best = i;
    if (best >= 0) {
        snprintf(note, cap, "best J %.4g at epoch %.0f", c->j[best], c->j_ep[best]);
        p[2].note = note;
    }
}

int cmd_plot(int argc, char **argv) {
    const char *out = NULL, *title = NULL;
    const dc_opt opts[] = {
        {"out", OPT_STR, &out, "output figure: .png, .svg or .pdf (default RUN/training.png)"},
        {"title", OPT_STR, &title, "figure title (default: method, dataset, protocol and seed of the run)"},
        {0},
    };
    const char **pos = malloc((size_t)(argc + 1) * sizeof *pos);
    if (!pos) return dc_tool_fail("plot", "out of memory");
    int np = 0, r = dc_opts_parse_pos("plot", "RUN [--out FILE.png|.svg|.pdf]", opts, argc, argv, pos, &np);
    if (!r && np != 1) {
        fprintf(stderr, "dynacl plot: needs exactly one run folder (got %d)\n", np);
        r = -1;
    }
    char run[4096], outp[4200];
    if (!r) snprintf(run, sizeof run, "%s", pos[0]);
    free(pos);
    if (r) return r > 0 ? 0 : 2;
    if (out) snprintf(outp, sizeof outp, "%s", out);
    else snprintf(outp, sizeof outp, "%s/training.png", run);
    dc_plot_format fmt;
    if (dc_plot_format_of(outp, &fmt) != DC_OK) {
        fprintf(stderr, "dynacl plot: --out %s\n", dc_last_error());
        return 2;
    }
    run_curves c;
    if (run_curves_read(run, &c) != DC_OK) return dc_tool_fail("plot", "reading the run");
    if (c.partial_tail) fprintf(stderr, "dynacl plot: note: the last line of metrics.jsonl is incomplete and left out\n");
    char ttl[512], note[128];
    char seed[40] = "";
    if (c.seed >= 0) snprintf(seed, sizeof seed, ", seed %lld", c.seed);
    if (title) snprintf(ttl, sizeof ttl, "%s", title);
    else if (c.model[0])
        snprintf(ttl, sizeof ttl, "%s, %s (%s)%s: training", et_pretty_method(c.model), c.dataset[0] ? et_pretty_dataset(c.dataset) : "?",
                 c.protocol[0] ? c.protocol : "?", seed);
    else snprintf(ttl, sizeof ttl, "%.400s: training", run);
    dc_line_panel p[3];
    build_panels(&c, p, note, sizeof note);
    int rc = 0;
    if (dc_plot_lines_file(outp, p, 3, c.steps_per_epoch > 0 ? "epoch" : "step (no epoch finished yet)", ttl, NULL) != DC_OK)
        rc = dc_tool_fail("plot", "writing the figure");
    else
        printf("wrote %s: %lld epochs, %lld logged steps, %lld validations%s%s\n", outp, (long long)c.n_ep,
               (long long)c.n_step, (long long)c.n_val, p[2].note ? ", " : "", p[2].note ? p[2].note : "");
    run_curves_free(&c);
    return rc;
}
