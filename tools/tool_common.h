/* tool_common.h: shared pieces of the dynacl CLI (commands, option parsing, progress). */
#ifndef DC_TOOL_COMMON_H
#define DC_TOOL_COMMON_H

#include <stdint.h>
#include <stdio.h>

typedef struct dc_command {
    const char *name;
    const char *help;
    int (*run)(int argc, char **argv);
} dc_command;

int cmd_backends(int argc, char **argv);
int cmd_pretrain(int argc, char **argv);
int cmd_run_status(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_prepare(int argc, char **argv);
int cmd_fetch(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_loss(int argc, char **argv);
int cmd_linear_eval(int argc, char **argv);
int cmd_cluster(int argc, char **argv);
int cmd_tsne(int argc, char **argv);
int cmd_figure(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_conformance(int argc, char **argv);

/* ---- option parsing: --name value / --name=value / --flag ----
 * Every numeric option states the values it accepts as an interval (range, e.g. "[1, inf)",
 * "(0, 1]"), every option with a fixed set of values lists them (choices, "train|test|all");
 * the parser rejects anything else with a message that names the option and what it accepts. */
typedef enum { OPT_STR, OPT_INT, OPT_DBL, OPT_FLAG, OPT_SECTION } dc_opt_kind;
typedef struct dc_opt {
    const char *name;    /* without leading dashes (OPT_SECTION: "", help is the heading) */
    dc_opt_kind kind;
    void *dst;           /* const char **, int64_t *, double *, int * */
    const char *help;
    const char *range;   /* OPT_INT, OPT_DBL: the accepted interval; NULL: any (integer / finite number) */
    const char *choices; /* OPT_STR: the accepted values, '|'-separated; NULL: any */
    int *seen;           /* optional: set to 1 when the option is given */
} dc_opt;
/* Parses argv[1..]; prints help and returns 1 on --help, -1 (after a message) on error, 0 ok.
 * Values outside an option's range or choices are errors (-1). */
int dc_opts_parse(const char *cmd, const char *synopsis, const dc_opt *opts, int argc, char **argv);
/* The same, collecting non-option arguments into pos (room for argc entries) instead of
 * rejecting them. */
int dc_opts_parse_pos(const char *cmd, const char *synopsis, const dc_opt *opts, int argc, char **argv,
                      const char **pos, int *n_pos);
void dc_opts_help(FILE *f, const char *cmd, const char *synopsis, const dc_opt *opts);
/* 1 if val is one of o's choices (or o has none); else prints why and returns 0. */
int dc_opt_choice_ok(const char *cmd, const dc_opt *o, const char *val);

/* ---- progress: a bar on a terminal, plain lines otherwise ---- */
typedef struct dc_progress {
    int64_t total, done;
    double t0, last_print;
    int tty;
    const char *label;
} dc_progress;
void dc_progress_start(dc_progress *p, const char *label, int64_t total);
/* msg: short status (e.g. "loss 3.21"); prints at most ~10 times/s (tty) or every 10% (log). */
void dc_progress_update(dc_progress *p, int64_t done, const char *msg);
void dc_progress_finish(dc_progress *p, const char *msg);
double dc_now(void);

/* Print "dynacl <cmd>: <message>" with the library's last error and return 1. */
int dc_tool_fail(const char *cmd, const char *what);

#endif
