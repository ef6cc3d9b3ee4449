/* dc_options.h: declared options. Every method declares its options once, in a table beside
 * its vtable (one row per option: config.json key, CLI flag, type and accepted range, default
 * per dataset and protocol, help); the trainer and the options common to all methods have a
 * table each too. config.json, `dynacl pretrain` (its flags and --help), validation and the
 * help all read these tables, so nothing else lists an option. Not here: parsing argv (tools/).
 *
 *     const dc_option *o = dc_option_find(dc_model_options("tnc"), "tnc_window");
 *     double w = dc_option_default_value(o, "harth", "authors");            // 20
 *     if (dc_option_check(o, 1.0) != DC_OK) puts(dc_last_error());    // "tnc_window must be an integer >= 2 (got 1)"
 */
#ifndef DC_OPTIONS_H
#define DC_OPTIONS_H

#include <stddef.h>

#include "dc/dc.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    DC_OPTION_REAL,   /* a finite number within range */
    DC_OPTION_INT,    /* an integer within range (at most 2^53, so config.json holds it exactly) */
    DC_OPTION_BOOL,   /* JSON true/false; on the CLI a flag without value that sets it */
    DC_OPTION_CHOICE  /* one of two names, stored as 0 or 1 */
} dc_option_type;

/* Where an option's value lives: a method's options in cfg.opt[row] (the row of its table);
 * the trainer's and the common options in a field of their struct at `offset`. */
typedef enum { DC_OPTION_SLOT = 0, DC_OPTION_F64, DC_OPTION_I64, DC_OPTION_U64, DC_OPTION_INT32 } dc_option_store;

/* A default applies where dataset and protocol match (NULL matches any); the first match
 * wins, so list the specific ones first and end with the general one. */
typedef struct dc_option_default {
    const char *dataset;
    const char *protocol;
    double value;
} dc_option_default;

#define DC_OPTION_MAX_DEFAULTS 4

typedef struct dc_option {
    const char *key;        /* config.json key and the option's name in messages: "tnc_window" */
    const char *flag;       /* CLI flag without the dashes ("tnc-window"); NULL: not on the CLI */
    const char *group;      /* config.json object: "hyperparameters", "flags", "schedule"; NULL: top level */
    dc_option_type type;
    const char *range;      /* REAL, INT: the accepted interval, "[1, inf)", "(0, 1]"; NULL: any */
    const char *choices[2]; /* CHOICE: the names of 0 and 1, in config.json and on the CLI */
    const char *aliases[2]; /* CHOICE (optional): other accepted names of 0 and 1 */
    dc_option_default def[DC_OPTION_MAX_DEFAULTS];
    const char *help;       /* one line, without the default (--help adds it from def) */
    dc_option_store store;
    size_t offset;          /* with a store other than DC_OPTION_SLOT */
} dc_option;

typedef struct dc_option_table {
    const char *name;       /* "trainer", "common", or the methods that share it ("dynacl, dynacl-m, ...") */
    const dc_option *rows;
    int n;
} dc_option_table;

/* The row with this key (or, with dc_option_find_flag, this CLI flag); NULL if none. */
const dc_option *dc_option_find(const dc_option_table *t, const char *key);
const dc_option *dc_option_find_flag(const dc_option_table *t, const char *flag);
/* The default for a dataset and protocol (NULL: "other", "authors"). */
double dc_option_default_value(const dc_option *o, const char *dataset, const char *protocol);
/* DC_OK if v is a value of o (type and range), else DC_ERR_ARG "<key> must be <accepted> (got v)". */
dc_status dc_option_check(const dc_option *o, double v);
/* What o accepts, in words: "an integer >= 2", "a number in (0, 1]", "pad or overlap". */
const char *dc_option_accepts(const dc_option *o, char *buf, size_t cap);
/* Its default(s) in words: "20", "harth 1e-05, otherwise 0.3", "corrected overlap, otherwise pad". */
const char *dc_option_describe_default(const dc_option *o, char *buf, size_t cap);
/* CHOICE: 0 or 1 for a name or an alias, -1 if neither. */
int dc_option_choice(const dc_option *o, const char *name);
/* A value as config.json and the CLI write it ("overlap", "true", "500", "0.001"). */
const char *dc_option_format(const dc_option *o, double v, char *buf, size_t cap);

/* Read and write row `row` of table t in its storage: base is the struct that holds the
 * fields (or, for DC_OPTION_SLOT rows, the double array cfg.opt). Writing does not check. */
double dc_option_get(const dc_option_table *t, int row, const void *base);
void dc_option_put(const dc_option_table *t, int row, void *base, double v);

/* Parse an interval "[a, b]", "(a, b)", "[a, inf)" into bounds; returns 0 if malformed. */
int dc_option_range_parse(const char *range, double *lo, double *hi, int *lo_open, int *hi_open);
/* DC_OK if x lies in range (NULL: any finite x), else DC_ERR_ARG naming `what` and the range
 * in words ("--chunk must be an integer >= 1 (got 0)"). is_int also requires an integer. */
dc_status dc_range_check(const char *what, const char *range, int is_int, double x);
const char *dc_range_describe(const char *range, int is_int, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
