/* cmd_report.c: `dynacl report RUN...`: the paper's Tables 2, 3 and 5 from run folders and
 * result files (config.json, metrics.jsonl, cluster.json, linear_eval.json), as Markdown on
 * stdout and, with --out, report.md plus one CSV per table. */
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "dc/dc_atomic.h"
#include "eval_tools.h"
#include "report.h"
#include "tool_common.h"

int cmd_report(int argc, char **argv) {
    const char *out = NULL, *protocol_s = NULL;
    const dc_opt opts[] = {
        {"out", OPT_STR, &out, "folder for report.md, table2.csv, table3.csv and table5.csv"},
        {"protocol", OPT_STR, &protocol_s, "authors | corrected (default: the first run's); other runs are skipped", NULL,
         "authors|corrected"},
        {0},
    };
    const char **paths = malloc((size_t)(argc + 1) * sizeof *paths);
    if (!paths) return dc_tool_fail("report", "out of memory");
    int np = 0;
    int r = dc_opts_parse_pos("report", "RUN_DIR|RESULT.json... [--out DIR] [--protocol P]", opts, argc, argv, paths, &np);
    if (r || !np) {
        if (!r) fprintf(stderr, "dynacl report: give run folders or result files (see --help)\n");
        free(paths);
        return r > 0 ? 0 : 2;
    }
    dc_report rep = {0};
    int fixed = protocol_s != NULL, rc = 0, used = 0, skipped = 0;
    if (fixed && dc_protocol_parse(protocol_s, &rep.protocol) != DC_OK) {
        free(paths);
        return dc_tool_fail("report", "--protocol");
    }
    for (int i = 0; i < np && !rc; i++) {
        dc_status st = dc_report_add_path(&rep, paths[i]);
        if (st == DC_ERR_STATE && !fixed && rep.n == 0) { /* the first run decides the protocol */
            rep.protocol = rep.protocol == DC_PROTOCOL_AUTHORS ? DC_PROTOCOL_CORRECTED : DC_PROTOCOL_AUTHORS;
            st = dc_report_add_path(&rep, paths[i]);
        }
        if (st == DC_OK) used++, fixed = 1;
        else if (st == DC_ERR_STATE) {
            fprintf(stderr, "dynacl report: skipping %s\n", dc_last_error());
            skipped++;
        } else {
            rc = dc_tool_fail("report", paths[i]);
        }
    }
    free(paths);
    char *md = !rc && used ? dc_report_markdown(&rep) : NULL;
    if (!rc && !used) {
        fprintf(stderr, "dynacl report: nothing to report\n");
        rc = 1;
    } else if (!rc && !md) {
        rc = dc_tool_fail("report", "formatting");
    }
    if (!rc) {
        fputs(md, stdout);
        if (skipped) printf("(%d input%s of another protocol skipped)\n", skipped, skipped > 1 ? "s" : "");
    }
    if (!rc && out) {
        char p[4200];
        if (dc_mkdirs(out) != DC_OK) rc = dc_tool_fail("report", "creating --out");
        snprintf(p, sizeof p, "%s/report.md", out);
        if (!rc && !et_write_text("report", p, md)) rc = 1;
        const int tables[3] = {2, 3, 5};
        for (int t = 0; t < 3 && !rc; t++) {
            char *csv = dc_report_csv(&rep, tables[t]);
            snprintf(p, sizeof p, "%s/table%d.csv", out, tables[t]);
            if (!csv || !et_write_text("report", p, csv)) rc = 1;
            free(csv);
        }
        if (!rc) fprintf(stderr, "wrote %s/report.md and %s/table{2,3,5}.csv\n", out, out);
    }
    free(md);
    dc_report_free(&rep);
    return rc;
}
