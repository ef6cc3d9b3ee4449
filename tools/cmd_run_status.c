/* cmd_run_status.c: `dynacl run-status RUN_DIR`: what a run folder holds, for people and
 * scripts: one line that starts with the stage (none, started, resumable, complete), then
 * the step, epoch and checkpoint; --json for a JSON object. Reads the folder through the run
 * API (dc_run.h); writes nothing. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "dc/dc.h"
#include "tool_common.h"
#include "train/dc_run.h"

static void print_line(const char *run, const dc_run_status *s) {
    char ep[64] = "";
    if (s->epochs > 0) snprintf(ep, sizeof ep, " of %lld", (long long)s->epochs);
    switch (s->stage) {
    case DC_RUN_NONE: printf("none: %s holds no run (no config.json)\n", run); break;
    case DC_RUN_STARTED:
        printf("started: %s has no checkpoint yet; 'dynacl pretrain --resume %s' starts it from the beginning\n", run, run);
        break;
    case DC_RUN_RESUMABLE:
        printf("resumable: step %lld, epoch %lld%s, %d checkpoint%s, latest %s; 'dynacl pretrain --resume %s' continues it\n",
               (long long)s->step, (long long)s->epoch, ep, s->n_checkpoints, s->n_checkpoints == 1 ? "" : "s", s->latest, run);
        break;
    case DC_RUN_COMPLETE: {
        char p[DC_RUN_PATH_MAX];
        printf("complete: step %lld, epoch %lld%s, %d checkpoint%s; final model %s\n", (long long)s->step, (long long)s->epoch, ep,
               s->n_checkpoints, s->n_checkpoints == 1 ? "" : "s", dc_run_path(run, DC_RUN_MODEL, p, sizeof p));
        break;
    }
    }
}

static int print_json(const char *run, const dc_run_status *s) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "run", run);
    cJSON_AddStringToObject(o, "stage", dc_run_stage_name(s->stage));
    cJSON_AddNumberToObject(o, "step", (double)s->step);
    cJSON_AddNumberToObject(o, "epoch", (double)s->epoch);
    cJSON_AddNumberToObject(o, "epochs", (double)s->epochs);
    cJSON_AddNumberToObject(o, "checkpoints", s->n_checkpoints);
    if (s->latest[0]) cJSON_AddStringToObject(o, "latest", s->latest);
    else cJSON_AddNullToObject(o, "latest");
    char *txt = cJSON_Print(o);
    cJSON_Delete(o);
    if (!txt) return dc_tool_fail("run-status", "out of memory");
    printf("%s\n", txt);
    free(txt);
    return 0;
}

int cmd_run_status(int argc, char **argv) {
    int json = 0;
    const dc_opt opts[] = {
        {"json", OPT_FLAG, &json, "print a JSON object (run, stage, step, epoch, epochs, checkpoints, latest)"},
        {0},
    };
    const char **pos = calloc((size_t)argc, sizeof *pos); /* room for every argument */
    int n_pos = 0;
    if (!pos) return dc_tool_fail("run-status", "out of memory");
    int r = dc_opts_parse_pos("run-status", "RUN_DIR [--json]", opts, argc, argv, pos, &n_pos);
    const char *run = n_pos == 1 ? pos[0] : NULL;
    free(pos);
    if (r) return r > 0 ? 0 : 2;
    if (!run) {
        fprintf(stderr, "dynacl run-status: give exactly one run folder (see --help)\n");
        return 2;
    }
    dc_run_status s;
    if (dc_run_status_read(run, &s) != DC_OK) return dc_tool_fail("run-status", "reading the run");
    if (json) return print_json(run, &s);
    print_line(run, &s);
    return 0;
}
