/* dataset.c: prepared datasets (dc_dataset.h): a folder of .npy arrays plus meta.json,
 * opened memory-mapped and validated, or held in memory (synthetic, reader pipelines) and
 * written atomically. The balanced subset and the counts live in balanced.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "dc/dc.h"
#include "dc/dc_atomic.h"
#include "data/dc_dataset.h"
#include "dc/dc_npy.h"

#define META_FORMAT "dynacl-dataset"
#define META_VERSION 1
#define META_MAX_BYTES (64 << 20)

typedef struct ds_impl {
    int mapped;
    dc_npy X, label, subject, start;
} ds_impl;

void dc_dataset_close(dc_dataset *ds) {
    if (!ds) return;
    ds_impl *im = ds->impl;
    if (im && im->mapped) {
        dc_npy_close(&im->X);
        dc_npy_close(&im->label);
        dc_npy_close(&im->subject);
        dc_npy_close(&im->start);
    } else if (im) {
        dc_frames_free(&ds->frames);
        dc_sequences_free(&ds->seqs);
    }
    free(im);
    memset(ds, 0, sizeof *ds);
}

/* Shared checks of frames + sequences; where names the dataset in messages. */
static dc_status check_arrays(const dc_frames *f, const dc_sequences *s, const char *where) {
    if (f->n < 1 || f->D < 1 || !f->X || !f->label || !f->subject)
        return dc_fail(DC_ERR_ARG, "%s: empty dataset (%lld instances, D %lld)", where, (long long)f->n, (long long)f->D);
    if (f->n_classes < 1 || f->n_classes > DC_MAX_CLASSES)
        return dc_fail(DC_ERR_ARG, "%s: %d classes (need 1..%d)", where, f->n_classes, DC_MAX_CLASSES);
    if (s->n < 1 || s->T < 1 || s->T > f->n || !s->start)
        return dc_fail(DC_ERR_ARG, "%s: no sequences (%lld of length %lld over %lld instances)", where, (long long)s->n,
                       (long long)s->T, (long long)f->n);
    for (int64_t i = 0; i < s->n; i++)
        if (s->start[i] < 0 || s->start[i] > f->n - s->T)
            return dc_fail(DC_ERR_FORMAT, "%s: sequence %lld starts at instance %lld, outside 0..%lld", where,
                           (long long)i, (long long)s->start[i], (long long)(f->n - s->T));
    for (int64_t i = 0; i < f->n; i++) {
        if (f->label[i] < -1 || f->label[i] >= f->n_classes)
            return dc_fail(DC_ERR_FORMAT, "%s: instance %lld has label %d, outside -1..%d", where, (long long)i,
                           f->label[i], f->n_classes - 1);
        if (i && f->subject[i] < f->subject[i - 1])
            return dc_fail(DC_ERR_FORMAT, "%s: subject ids decrease at instance %lld (%d after %d)", where,
                           (long long)i, f->subject[i], f->subject[i - 1]);
    }
    return DC_OK;
}

static void set_balanced(dc_dataset *ds) {
    int64_t want[DC_MAX_CLASSES] = {0};
    memset(ds->balanced_count, 0, sizeof ds->balanced_count);
    int nc = dc_balanced_paper_counts(ds->name, want);
    if (nc == 0) return;
    if (!strcmp(ds->name, "synthetic")) nc = ds->frames.n_classes;
    dc_dataset_counts c;
    if (dc_dataset_count(ds, &c) != DC_OK) return;
    for (int k = 0; k < ds->frames.n_classes && k < nc; k++)
        ds->balanced_count[k] = want[k] < c.test[k] ? want[k] : c.test[k];
    dc_dataset_counts_free(&c);
}

dc_status dc_dataset_from_frames(const char *name, dc_frames *frames, dc_sequences *seqs, int64_t stride,
                                 dc_dataset *out) {
    if (!name || !frames || !seqs || !out) return dc_fail(DC_ERR_ARG, "dataset_from_frames: NULL argument");
    memset(out, 0, sizeof *out);
    if (strlen(name) >= sizeof out->name) return dc_fail(DC_ERR_ARG, "dataset_from_frames: name '%s' too long", name);
    if (stride < 1) return dc_fail(DC_ERR_ARG, "dataset_from_frames: stride %lld < 1", (long long)stride);
    dc_status st = check_arrays(frames, seqs, name);
    if (st) return st;
    ds_impl *im = calloc(1, sizeof *im);
    if (!im) return dc_fail(DC_ERR_OOM, "dataset_from_frames: out of memory");
    strcpy(out->name, name);
    out->frames = *frames;
    out->seqs = *seqs;
    memset(frames, 0, sizeof *frames);
    memset(seqs, 0, sizeof *seqs);
    out->stride = stride;
    out->n_train = out->seqs.n - out->seqs.n / 5; /* docs/METHOD.md §1.0: n_valid = floor(0.2 n_seq) */
    out->impl = im;
    set_balanced(out);
    return DC_OK;
}

dc_status dc_dataset_synthetic(const dc_synth_opts *opts, dc_dataset *out) {
    if (!out) return dc_fail(DC_ERR_ARG, "dataset_synthetic: NULL output");
    memset(out, 0, sizeof *out);
    dc_frames fr;
    dc_sequences sq;
    dc_status st = dc_synthetic_generate(opts, &fr);
    if (st) return st;
    if ((st = dc_sequences_window(&fr, 119, 24, &sq)) != DC_OK) {
        dc_frames_free(&fr);
        return st;
    }
    st = dc_dataset_from_frames("synthetic", &fr, &sq, 24, out);
    dc_frames_free(&fr);
    dc_sequences_free(&sq);
    return st;
}

/* ---- meta.json ------------------------------------------------------------------------ */

static cJSON *class_counts(const dc_frames *f, const int64_t *cnt) {
    cJSON *o = cJSON_CreateObject();
    for (int k = 0; k < f->n_classes; k++) cJSON_AddNumberToObject(o, f->class_names[k], (double)cnt[k]);
    if (cnt[f->n_classes]) cJSON_AddNumberToObject(o, "unlabelled", (double)cnt[f->n_classes]);
    return o;
}

static cJSON *array_desc(const char *file, const char *dtype, int64_t d0, int64_t d1) {
    cJSON *o = cJSON_CreateObject(), *sh = cJSON_CreateArray();
    cJSON_AddStringToObject(o, "file", file);
    cJSON_AddStringToObject(o, "dtype", dtype);
    cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)d0));
    if (d1 >= 0) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)d1));
    cJSON_AddItemToObject(o, "shape", sh);
    return o;
}

static dc_status build_meta(const dc_dataset *ds, const char *extra, char **text) {
    const dc_frames *f = &ds->frames;
    dc_dataset_counts c;
    dc_status st = dc_dataset_count(ds, &c);
    if (st) return st;
    cJSON *m = cJSON_CreateObject(), *ex = NULL;
    cJSON_AddStringToObject(m, "format", META_FORMAT);
    cJSON_AddNumberToObject(m, "format_version", META_VERSION);
    cJSON_AddStringToObject(m, "dataset", ds->name);
    cJSON_AddNumberToObject(m, "n_instances", (double)f->n);
    cJSON_AddNumberToObject(m, "D", (double)f->D);
    cJSON_AddNumberToObject(m, "seq_len", (double)ds->seqs.T);
    cJSON_AddNumberToObject(m, "stride", (double)ds->stride);
    cJSON_AddNumberToObject(m, "n_seq", (double)ds->seqs.n);
    cJSON_AddNumberToObject(m, "n_train", (double)ds->n_train);
    cJSON_AddNumberToObject(m, "n_test", (double)(ds->seqs.n - ds->n_train));
    cJSON *cls = cJSON_CreateArray(), *bal = cJSON_CreateArray();
    for (int k = 0; k < f->n_classes; k++) {
        cJSON_AddItemToArray(cls, cJSON_CreateString(f->class_names[k]));
        cJSON_AddItemToArray(bal, cJSON_CreateNumber((double)ds->balanced_count[k]));
    }
    cJSON_AddItemToObject(m, "classes", cls);
    cJSON_AddItemToObject(m, "balanced_count", bal);
    cJSON *sp = cJSON_CreateObject(), *tr = cJSON_CreateArray(), *te = cJSON_CreateArray();
    cJSON_AddStringToObject(sp, "rule",
                            "sequences [0, n_train) train, [n_train, n_seq) test; n_test = floor(0.2 n_seq); "
                            "no shuffling (docs/METHOD.md §1.0)");
    cJSON_AddItemToArray(tr, cJSON_CreateNumber(0));
    cJSON_AddItemToArray(tr, cJSON_CreateNumber((double)ds->n_train));
    cJSON_AddItemToArray(te, cJSON_CreateNumber((double)ds->n_train));
    cJSON_AddItemToArray(te, cJSON_CreateNumber((double)ds->seqs.n));
    cJSON_AddItemToObject(sp, "train_sequences", tr);
    cJSON_AddItemToObject(sp, "test_sequences", te);
    cJSON_AddNumberToObject(sp, "train_instances", (double)(ds->n_train * ds->seqs.T));
    cJSON_AddNumberToObject(sp, "test_instances", (double)((ds->seqs.n - ds->n_train) * ds->seqs.T));
    cJSON_AddItemToObject(m, "split", sp);
    cJSON *arr = cJSON_CreateObject();
    cJSON_AddItemToObject(arr, "X", array_desc("X.npy", "<f4", f->n, f->D));
    cJSON_AddItemToObject(arr, "label", array_desc("label.npy", "<i4", f->n, -1));
    cJSON_AddItemToObject(arr, "subject", array_desc("subject.npy", "<i4", f->n, -1));
    cJSON_AddItemToObject(arr, "seq_start", array_desc("seq_start.npy", "<i8", ds->seqs.n, -1));
    cJSON_AddItemToObject(m, "arrays", arr);
    cJSON *cn = cJSON_CreateObject(), *ps = cJSON_CreateArray();
    cJSON_AddItemToObject(cn, "instances", class_counts(f, c.frames));
    cJSON_AddItemToObject(cn, "train", class_counts(f, c.train));
    cJSON_AddItemToObject(cn, "test", class_counts(f, c.test));
    for (int64_t s = 0; s < c.n_subjects; s++) {
        cJSON *o = cJSON_CreateObject();
        int64_t tot = 0, *row = c.subject_frames + s * (DC_MAX_CLASSES + 1);
        for (int k = 0; k <= f->n_classes; k++) tot += row[k];
        cJSON_AddNumberToObject(o, "subject", c.subject_id[s]);
        cJSON_AddNumberToObject(o, "instances", (double)tot);
        cJSON_AddItemToObject(o, "per_class", class_counts(f, row));
        cJSON_AddItemToArray(ps, o);
    }
    cJSON_AddItemToObject(cn, "per_subject", ps);
    cJSON_AddItemToObject(m, "counts", cn);
    dc_dataset_counts_free(&c);
    if (extra) {
        ex = cJSON_Parse(extra);
        if (!ex || !cJSON_IsObject(ex)) {
            const char *e = cJSON_GetErrorPtr();
            st = dc_fail(DC_ERR_ARG, "dataset_write: meta_extra is not a JSON object (near byte %lld)",
                         e && e >= extra ? (long long)(e - extra) : 0LL);
            goto done;
        }
        while (ex->child) {
            cJSON *it = cJSON_DetachItemViaPointer(ex, ex->child);
            if (cJSON_GetObjectItemCaseSensitive(m, it->string)) {
                st = dc_fail(DC_ERR_ARG, "dataset_write: meta_extra key '%s' clashes with a core meta.json key",
                             it->string);
                cJSON_Delete(it);
                goto done;
            }
            cJSON_AddItemToObject(m, it->string, it);
        }
    }
    *text = cJSON_Print(m);
    if (!*text) st = dc_fail(DC_ERR_OOM, "dataset_write: out of memory for meta.json");
done:
    cJSON_Delete(ex);
    cJSON_Delete(m);
    return st;
}

static int dir_is_dataset_or_empty(const char *dir) {
    char p[DC_PATH_MAX + 16];
    snprintf(p, sizeof p, "%s/meta.json", dir);
    struct stat sb;
    if (stat(p, &sb) == 0) return 1;
    DIR *d = opendir(dir);
    if (!d) return 0;
    int empty = 1;
    for (struct dirent *e; empty && (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) empty = 0;
    closedir(d);
    return empty;
}

dc_status dc_dataset_write(const dc_dataset *ds, const char *dir, const char *meta_extra, int overwrite) {
    if (!ds || !dir) return dc_fail(DC_ERR_ARG, "dataset_write: NULL argument");
    dc_status st = check_arrays(&ds->frames, &ds->seqs, ds->name);
    if (st) return st;
    struct stat sb;
    if (overwrite && stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode) && !dir_is_dataset_or_empty(dir))
        return dc_fail(DC_ERR_IO, "%s: exists and is not a prepared dataset (no meta.json); not replacing it", dir);
    char *meta = NULL;
    if ((st = build_meta(ds, meta_extra, &meta)) != DC_OK) return st;
    dc_atomic_dir d;
    if ((st = dc_atomic_dir_begin(&d, dir, overwrite)) != DC_OK) {
        free(meta);
        return st;
    }
    char p[DC_PATH_MAX + 32];
    const dc_frames *f = &ds->frames;
#define PATH(name) (snprintf(p, sizeof p, "%s/%s", d.tmp, name), p)
    st = dc_npy_write(PATH("X.npy"), DC_NPY_F32, 2, (int64_t[]){f->n, f->D}, f->X);
    if (st == DC_OK) st = dc_npy_write(PATH("label.npy"), DC_NPY_I32, 1, &f->n, f->label);
    if (st == DC_OK) st = dc_npy_write(PATH("subject.npy"), DC_NPY_I32, 1, &f->n, f->subject);
    if (st == DC_OK) st = dc_npy_write(PATH("seq_start.npy"), DC_NPY_I64, 1, &ds->seqs.n, ds->seqs.start);
    if (st == DC_OK) st = dc_atomic_write(PATH("meta.json"), meta, strlen(meta));
#undef PATH
    free(meta);
    if (st == DC_OK) st = dc_atomic_dir_commit(&d);
    else dc_atomic_dir_abort(&d);
    return st;
}

/* ---- opening -------------------------------------------------------------------------- */

static dc_status read_text(const char *path, char **out) {
    FILE *f = fopen(path, "rb");
    if (!f) return dc_fail(DC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char *buf = malloc(META_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, META_MAX_BYTES + 1, f) : 0;
    int err = ferror(f);
    fclose(f);
    if (!buf) return dc_fail(DC_ERR_OOM, "%s: out of memory", path);
    if (err || n > META_MAX_BYTES) {
        free(buf);
        return dc_fail(err ? DC_ERR_IO : DC_ERR_FORMAT, "%s: %s", path, err ? "read error" : "larger than 64 MiB");
    }
    buf[n] = '\0';
    if (strlen(buf) != n) {
        size_t at = strlen(buf);
        free(buf);
        return dc_fail(DC_ERR_FORMAT, "%s: byte offset %zu: NUL byte in JSON", path, at);
    }
    *out = buf;
    return DC_OK;
}

/* A non-negative integer field of meta.json. */
static dc_status meta_int(const cJSON *m, const char *key, const char *path, int64_t *v) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(m, key);
    if (!cJSON_IsNumber(it) || !(it->valuedouble >= 0) || it->valuedouble > 9.0e15 ||
        it->valuedouble != (double)(int64_t)it->valuedouble)
        return dc_fail(DC_ERR_FORMAT, "%s: '%s' is missing or not a non-negative integer", path, key);
    *v = (int64_t)it->valuedouble;
    return DC_OK;
}

static dc_status open_array(const char *dir, const char *file, dc_npy_dtype dt, int ndim, int64_t d0, int64_t d1,
                            dc_npy *a) {
    char p[DC_PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    dc_status st = dc_npy_open(p, a);
    if (st) return st;
    if (a->dtype != dt || a->ndim != ndim || a->shape[0] != d0 || (ndim == 2 && a->shape[1] != d1)) {
        char want[64];
        if (ndim == 2) snprintf(want, sizeof want, "%s (%lld, %lld)", dc_npy_dtype_descr(dt), (long long)d0, (long long)d1);
        else snprintf(want, sizeof want, "%s (%lld,)", dc_npy_dtype_descr(dt), (long long)d0);
        st = dc_fail(DC_ERR_FORMAT, "%s: holds %s with %d dimension(s) of first size %lld; meta.json says %s", p,
                     dc_npy_dtype_descr(a->dtype), a->ndim, a->ndim ? (long long)a->shape[0] : 0LL, want);
        dc_npy_close(a);
    }
    return st;
}

dc_status dc_dataset_open(const char *dir, dc_dataset *out) {
    if (!dir || !out) return dc_fail(DC_ERR_ARG, "dataset_open: NULL argument");
    memset(out, 0, sizeof *out);
    if (strlen(dir) >= sizeof out->dir) return dc_fail(DC_ERR_ARG, "dataset_open: path too long");
    char mp[DC_PATH_MAX + 32];
    snprintf(mp, sizeof mp, "%s/meta.json", dir);
    char *text = NULL;
    dc_status st = read_text(mp, &text);
    if (st) return st;
    cJSON *m = cJSON_Parse(text);
    if (!m || !cJSON_IsObject(m)) {
        const char *e = cJSON_GetErrorPtr();
        st = dc_fail(DC_ERR_FORMAT, "%s: byte offset %lld: not a valid JSON object", mp,
                     m == NULL && e && e >= text && e <= text + strlen(text) ? (long long)(e - text) : 0LL);
        cJSON_Delete(m);
        free(text);
        return st;
    }
    free(text);
    ds_impl *im = calloc(1, sizeof *im);
    if (!im) {
        cJSON_Delete(m);
        return dc_fail(DC_ERR_OOM, "dataset_open: out of memory");
    }
    im->mapped = 1;
    out->impl = im;
    int64_t n = 0, D = 0, T = 0, stride = 0, n_seq = 0, n_train = 0, ver = 0;
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(m, "format");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(m, "dataset");
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(m, "classes");
    const cJSON *bal = cJSON_GetObjectItemCaseSensitive(m, "balanced_count");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, META_FORMAT) != 0) {
        st = dc_fail(DC_ERR_FORMAT, "%s: 'format' is not \"" META_FORMAT "\"", mp);
        goto fail;
    }
    if ((st = meta_int(m, "format_version", mp, &ver)) != DC_OK) goto fail;
    if (ver > META_VERSION) {
        st = dc_fail(DC_ERR_UNSUPPORTED, "%s: format_version %lld is newer than this program reads (%d)", mp,
                     (long long)ver, META_VERSION);
        goto fail;
    }
    if (!cJSON_IsString(name) || strlen(name->valuestring) >= sizeof out->name) {
        st = dc_fail(DC_ERR_FORMAT, "%s: 'dataset' is missing or longer than 31 characters", mp);
        goto fail;
    }
    strcpy(out->name, name->valuestring);
    if ((st = meta_int(m, "n_instances", mp, &n)) || (st = meta_int(m, "D", mp, &D)) ||
        (st = meta_int(m, "seq_len", mp, &T)) || (st = meta_int(m, "stride", mp, &stride)) ||
        (st = meta_int(m, "n_seq", mp, &n_seq)) || (st = meta_int(m, "n_train", mp, &n_train)))
        goto fail;
    if (n < 1 || D < 1 || T < 1 || stride < 1 || n_seq < 1 || n_train > n_seq) {
        st = dc_fail(DC_ERR_FORMAT, "%s: inconsistent sizes (n_instances %lld, D %lld, seq_len %lld, stride %lld, "
                     "n_seq %lld, n_train %lld)", mp, (long long)n, (long long)D, (long long)T, (long long)stride,
                     (long long)n_seq, (long long)n_train);
        goto fail;
    }
    int nc = cJSON_IsArray(cls) ? cJSON_GetArraySize(cls) : 0;
    if (nc < 1 || nc > DC_MAX_CLASSES) {
        st = dc_fail(DC_ERR_FORMAT, "%s: 'classes' must be an array of 1..%d names", mp, DC_MAX_CLASSES);
        goto fail;
    }
    out->frames.n_classes = nc;
    for (int k = 0; k < nc; k++) {
        const cJSON *c = cJSON_GetArrayItem(cls, k);
        if (!cJSON_IsString(c) || !c->valuestring[0] || strlen(c->valuestring) >= sizeof out->frames.class_names[0]) {
            st = dc_fail(DC_ERR_FORMAT, "%s: class name %d is not a string of 1..23 characters", mp, k);
            goto fail;
        }
        strcpy(out->frames.class_names[k], c->valuestring);
    }
    if (bal) {
        if (!cJSON_IsArray(bal) || cJSON_GetArraySize(bal) != nc) {
            st = dc_fail(DC_ERR_FORMAT, "%s: 'balanced_count' must hold one count per class (%d)", mp, nc);
            goto fail;
        }
        for (int k = 0; k < nc; k++) {
            const cJSON *c = cJSON_GetArrayItem(bal, k);
            if (!cJSON_IsNumber(c) || !(c->valuedouble >= 0) || c->valuedouble > 9.0e15) {
                st = dc_fail(DC_ERR_FORMAT, "%s: balanced_count[%d] is not a non-negative integer", mp, k);
                goto fail;
            }
            out->balanced_count[k] = (int64_t)c->valuedouble;
        }
    }
    if ((st = open_array(dir, "X.npy", DC_NPY_F32, 2, n, D, &im->X)) ||
        (st = open_array(dir, "label.npy", DC_NPY_I32, 1, n, 0, &im->label)) ||
        (st = open_array(dir, "subject.npy", DC_NPY_I32, 1, n, 0, &im->subject)) ||
        (st = open_array(dir, "seq_start.npy", DC_NPY_I64, 1, n_seq, 0, &im->start)))
        goto fail;
    out->frames.n = n;
    out->frames.D = D;
    out->frames.X = im->X.data;
    out->frames.label = im->label.data;
    out->frames.subject = im->subject.data;
    out->seqs.n = n_seq;
    out->seqs.T = T;
    out->seqs.start = im->start.data;
    out->stride = stride;
    out->n_train = n_train;
    if (T > n) {
        st = dc_fail(DC_ERR_FORMAT, "%s: seq_len %lld exceeds the %lld instances", mp, (long long)T, (long long)n);
        goto fail;
    }
    if ((st = check_arrays(&out->frames, &out->seqs, dir)) != DC_OK) goto fail;
    strcpy(out->dir, dir);
    cJSON_Delete(m);
    return DC_OK;
fail:
    cJSON_Delete(m);
    dc_dataset_close(out);
    return st;
}
