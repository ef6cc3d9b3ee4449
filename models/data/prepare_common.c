/* prepare_common.c: what the three prepare pipelines share: options, dispatch by name,
 * sorted file listings, progress/cancellation, hashed reads, z-scoring, sequence cutting
 * and meta.json pieces. The pipelines themselves are prepare_harth.c, prepare_ecg.c and
 * prepare_sleepeeg.c.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dc/dc.h"
#include "dc/dc_sha256.h"
#include "data_file.h"
#include "prepare_util.h"

dc_prepare_opts dc_prepare_opts_default(void) {
    dc_prepare_opts o;
    memset(&o, 0, sizeof o);
    o.seed = 42;
    return o;
}

dc_status dc_prepare(const char *dataset, const dc_prepare_opts *o, dc_dataset *ds, char **meta_extra) {
    if (!dataset) return dc_fail(DC_ERR_ARG, "prepare: no dataset name");
    if (!strcmp(dataset, "harth")) return dc_prepare_harth(o, ds, meta_extra);
    if (!strcmp(dataset, "ecg")) return dc_prepare_ecg(o, ds, meta_extra);
    if (!strcmp(dataset, "sleepeeg")) return dc_prepare_sleepeeg(o, ds, meta_extra);
    return dc_fail(DC_ERR_ARG, "prepare: unknown dataset '%s' (harth, ecg or sleepeeg)", dataset);
}

void dc_prepare_names_free(char **names, int count) {
    if (!names) return;
    for (int i = 0; i < count; i++) free(names[i]);
    free(names);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

dc_status dc_prepare_list(const char *dir, const char *suffix, char ***names, int *count) {
    if (!dir || !suffix || !names || !count) return dc_fail(DC_ERR_ARG, "prepare_list: NULL argument");
    *names = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d) return dc_fail(DC_ERR_IO, "%s: cannot open folder: %s", dir, strerror(errno));
    size_t sl = strlen(suffix);
    int n = 0, cap = 0;
    char **v = NULL;
    dc_status st = DC_OK;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || l <= sl || strcmp(e->d_name + l - sl, suffix) != 0) continue;
        char p[4096];
        struct stat sb;
        if (pp_join(p, sizeof p, dir, e->d_name) != DC_OK || stat(p, &sb) != 0 || !S_ISREG(sb.st_mode)) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 32;
            char **nv = realloc(v, (size_t)cap * sizeof *nv);
            if (!nv) {
                st = dc_fail(DC_ERR_OOM, "%s: out of memory listing files", dir);
                break;
            }
            v = nv;
        }
        if (!(v[n] = strdup(e->d_name))) {
            st = dc_fail(DC_ERR_OOM, "%s: out of memory listing files", dir);
            break;
        }
        n++;
    }
    closedir(d);
    if (st) {
        dc_prepare_names_free(v, n);
        return st;
    }
    if (n) qsort(v, (size_t)n, sizeof *v, cmp_str);
    *names = v;
    *count = n;
    return DC_OK;
}

dc_status pp_progress(const dc_prepare_opts *o, const char *stage, int64_t done, int64_t total) {
    if (o && o->progress && o->progress(o->user, stage, done, total))
        return dc_fail(DC_ERR_STATE, "%s: interrupted", stage);
    return DC_OK;
}

dc_backend *pp_backend(const dc_prepare_opts *o, dc_backend **own) {
    *own = NULL;
    if (o->backend) return o->backend;
    *own = dc_backend_new("cpu");
    return *own;
}

dc_status pp_join(char *out, size_t cap, const char *dir, const char *name) {
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap) return dc_fail(DC_ERR_ARG, "%s/%s: path too long", dir, name);
    return DC_OK;
}

dc_status pp_read_hashed(const char *path, uint8_t **buf, size_t *len, char hex[65]) {
    dc_status st = dc_data_read_file(path, buf, len);
    if (st) return st;
    uint8_t d[32];
    dc_sha256_buf(*buf, *len, d);
    dc_sha256_hex(d, hex);
    return DC_OK;
}

dc_status pp_check_finite(const dc_prepare_opts *o, const dc_frames *fr, const char *dataset) {
    if (o->allow_nonfinite) return DC_OK;
    for (int64_t i = 0; i < fr->n * fr->D; i++)
        if (!isfinite(fr->X[i]))
            return dc_fail(DC_ERR_NUMERIC,
                           "prepare %s: instance %lld (subject %d), feature %lld is %g: an input value is NaN, Inf or "
                           "beyond float32's range (--allow-nonfinite keeps such instances)",
                           dataset, (long long)(i / fr->D), fr->subject ? fr->subject[i / fr->D] : 0,
                           (long long)(i % fr->D), fr->X[i]);
    return DC_OK;
}

void *pp_alloc(size_t bytes, const char *what) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) dc_fail(DC_ERR_OOM, "%s: out of memory for %zu bytes", what, bytes);
    return p;
}

/* out[j] = sum_i (X[i, j] - shift[j])^p for p = 1 (shift NULL) or 2, in double. Rows are split
 * into one static chunk per thread; the partial sums are combined in thread order, so the
 * result does not depend on timing (only on the thread count). */
static dc_status column_sums(const float *X, int64_t n, int64_t D, const double *shift, double *out) {
    int nt = 1;
#ifdef _OPENMP
    nt = omp_get_max_threads();
#endif
    double *part = calloc((size_t)nt * (size_t)D, sizeof *part);
    if (!part) return dc_fail(DC_ERR_OOM, "z-score: out of memory");
#ifdef _OPENMP
#pragma omp parallel num_threads(nt)
#endif
    {
        int t = 0, k = 1;
#ifdef _OPENMP
        t = omp_get_thread_num();
        k = omp_get_num_threads();
#endif
        double *acc = part + (size_t)t * (size_t)D;
        int64_t lo = n * t / k, hi = n * (t + 1) / k;
        for (int64_t i = lo; i < hi; i++)
            for (int64_t j = 0; j < D; j++) {
                double d = X[i * D + j] - (shift ? shift[j] : 0.0);
                acc[j] += shift ? d * d : d;
            }
    }
    for (int64_t j = 0; j < D; j++) out[j] = 0;
    for (int t = 0; t < nt; t++)
        for (int64_t j = 0; j < D; j++) out[j] += part[(size_t)t * (size_t)D + j];
    free(part);
    return DC_OK;
}

dc_status pp_zscore(float *X, int64_t n, int64_t D, double zero_std, double *mean, double *std) {
    double *mu = calloc((size_t)D, sizeof *mu), *sd = calloc((size_t)D, sizeof *sd);
    if (!mu || !sd) {
        free(mu);
        free(sd);
        return dc_fail(DC_ERR_OOM, "z-score: out of memory");
    }
    /* two passes in double: mean, then population variance */
    dc_status st = column_sums(X, n, D, NULL, mu);
    for (int64_t j = 0; st == DC_OK && j < D; j++) mu[j] /= (double)n;
    if (st == DC_OK) st = column_sums(X, n, D, mu, sd);
    if (st != DC_OK) {
        free(mu);
        free(sd);
        return st;
    }
    for (int64_t j = 0; j < D; j++) {
        sd[j] = sqrt(sd[j] / (double)n);
        if (sd[j] == 0) sd[j] = zero_std;
    }
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < D; j++) X[i * D + j] = (float)((X[i * D + j] - mu[j]) / sd[j]);
    if (mean) memcpy(mean, mu, (size_t)D * sizeof *mu);
    if (std) memcpy(std, sd, (size_t)D * sizeof *sd);
    free(mu);
    free(sd);
    return DC_OK;
}

dc_status pp_stream_sequences(int64_t n, int64_t T, int64_t stride, const char *what, dc_sequences *out) {
    memset(out, 0, sizeof *out);
    if (T < 1 || stride < 1) return dc_fail(DC_ERR_ARG, "%s: sequence length and stride must be >= 1", what);
    if (n < T)
        return dc_fail(DC_ERR_SHAPE, "%s: %lld instances are fewer than one sequence of %lld", what, (long long)n,
                       (long long)T);
    int64_t cnt = (n - T) / stride + 1;
    out->start = malloc((size_t)cnt * sizeof *out->start);
    if (!out->start) return dc_fail(DC_ERR_OOM, "%s: out of memory for %lld sequences", what, (long long)cnt);
    for (int64_t s = 0; s < cnt; s++) out->start[s] = s * stride;
    out->n = cnt;
    out->T = T;
    return DC_OK;
}

cJSON *pp_source(const char *name, int64_t bytes, const char *hex) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "file", name);
    cJSON_AddNumberToObject(o, "bytes", (double)bytes);
    cJSON_AddStringToObject(o, "sha256", hex);
    return o;
}

cJSON *pp_double_array(const double *v, int64_t n) {
    cJSON *a = cJSON_CreateArray();
    for (int64_t i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    return a;
}

dc_status pp_finish_meta(cJSON *m, char **text) {
    *text = cJSON_PrintUnformatted(m);
    cJSON_Delete(m);
    return *text ? DC_OK : dc_fail(DC_ERR_OOM, "prepare: out of memory for meta.json");
}

cJSON *pp_meta_new(const dc_prepare_opts *o, const char *dataset) {
    cJSON *m = cJSON_CreateObject();
    char by[96];
    snprintf(by, sizeof by, "dynacl %s prepare %s", dc_version(), dataset);
    cJSON_AddStringToObject(m, "created_by", by);
    cJSON_AddStringToObject(m, "input", o->input);
    cJSON_AddNumberToObject(m, "seed", (double)o->seed);
    return m;
}
