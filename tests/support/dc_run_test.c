/* dc_run_test.c: helpers of the suites that train (see dc_run_test.h). */
#include "dc_run_test.h"

#include <stdlib.h>
#include <string.h>

#include "dc/dc_safetensors.h"
#include "dc_test.h"

void dc_rt_small_dataset(dc_dataset *ds) {
    dc_synth_opts so = dc_synth_opts_default();
    so.subjects = 3;
    so.minutes = 2; /* 239 frames per subject: 6 windows of 119 each, 18 sequences, 15 for training */
    ck_assert_msg(dc_dataset_synthetic(&so, ds) == DC_OK, "%s", dc_last_error());
    ck_assert_int_eq(ds->seqs.n, 18);
    ck_assert_int_eq(ds->n_train, 15);
}

static int64_t g_stop_at = -1;
static int stop_hook(void *ud, int64_t step) {
    (void)ud;
    return step == g_stop_at;
}

dc_status dc_rt_train(dc_model *m, const dc_dataset *ds, dc_backend *be, const dc_train_opts *o, const char *dir,
                      dc_run_mode mode, int64_t stop_at) {
    g_stop_at = stop_at;
    dc_train_hooks h = {.should_stop = stop_hook};
    return dc_train_run(m, ds, be, o, dir, mode, "{\"test\": 1}", &h);
}

void dc_rt_assert_same_tensors(const char *a, const char *b) {
    dc_st_file *fa, *fb;
    ck_assert_msg(dc_st_open(a, &fa) == DC_OK, "%s", dc_last_error());
    ck_assert_msg(dc_st_open(b, &fb) == DC_OK, "%s", dc_last_error());
    ck_assert_int_eq(dc_st_count(fa), dc_st_count(fb));
    for (int i = 0; i < dc_st_count(fa); i++) {
        const dc_st_tensor *t = dc_st_get(fa, i), *u = dc_st_find(fb, t->name);
        ck_assert_msg(u && u->nbytes == t->nbytes && memcmp(t->data, u->data, t->nbytes) == 0, "%s vs %s: tensor %s differs", a, b,
                      t->name);
    }
    dc_st_close(fa);
    dc_st_close(fb);
}

char *dc_rt_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0, got;
    char *s = malloc(cap);
    while (s && (got = fread(s + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            char *t = realloc(s, cap *= 2);
            if (!t) free(s);
            s = t;
        }
    }
    fclose(f);
    if (s) s[n] = '\0';
    if (len) *len = n;
    return s;
}

char *dc_rt_metrics(const char *run) {
    char p[DC_RUN_PATH_MAX];
    char *s = dc_rt_read_file(dc_run_path(run, DC_RUN_METRICS, p, sizeof p), NULL);
    ck_assert_msg(s, "%s: unreadable", p);
    const char *key = "\"wall_s\": ";
    char *w = s, *r = s; /* copy s onto itself, each wall time's digits written as "0" */
    while (*r) {
        if (!strncmp(r, key, strlen(key))) {
            memmove(w, r, strlen(key));
            w += strlen(key), r += strlen(key);
            *w++ = '0';
            r += strspn(r, "0123456789.e+-");
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return s;
}

void dc_rt_assert_same_run(const char *a, const char *b) {
    char *ma = dc_rt_metrics(a), *mb = dc_rt_metrics(b);
    if (strcmp(ma, mb)) { /* name the first line that differs */
        const char *x = ma, *y = mb;
        int line = 1;
        while (*x && *x == *y) line += *x++ == '\n', y++;
        ck_abort_msg("%s vs %s: metrics.jsonl differs at line %d:\n%.200s\nvs\n%.200s", a, b, line, x - (x > ma && x[-1] != '\n' ? 1 : 0),
                     y);
    }
    free(ma);
    free(mb);
    dc_run_checkpoint *ca, *cb;
    int na, nb;
    ck_assert(dc_run_list_checkpoints(a, &ca, &na) == DC_OK && dc_run_list_checkpoints(b, &cb, &nb) == DC_OK);
    ck_assert_msg(na == nb, "%s has %d checkpoints, %s %d", a, na, b, nb);
    for (int i = 0; i < na; i++) ck_assert(ca[i].step == cb[i].step && ca[i].epoch == cb[i].epoch);
    free(ca);
    free(cb);
    char pa[DC_RUN_PATH_MAX], pb[DC_RUN_PATH_MAX];
    dc_rt_assert_same_tensors(dc_run_path(a, DC_RUN_MODEL, pa, sizeof pa), dc_run_path(b, DC_RUN_MODEL, pb, sizeof pb));
    size_t la, lb; /* the model file entirely: metadata too */
    char *fa = dc_rt_read_file(pa, &la), *fb = dc_rt_read_file(pb, &lb);
    ck_assert_msg(fa && fb && la == lb && !memcmp(fa, fb, la), "%s and %s differ", pa, pb);
    free(fa);
    free(fb);
    dc_rt_assert_same_tensors(dc_run_path(a, DC_RUN_STATE, pa, sizeof pa), dc_run_path(b, DC_RUN_STATE, pb, sizeof pb));
}
