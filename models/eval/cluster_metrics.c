/* cluster_metrics.c: Davies-Bouldin, silhouette (exact, Gram blocks on the backend's GEMM),
 * Calinski-Harabasz and the joint score J, with scikit-learn 1.1's definitions and special
 * cases, plus docs/METHOD.md §7.2's evaluation (k-means labels, optionally ground truth). Not k-means
 * itself (kmeans.c) and not the pretraining hook (cluster_hook.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/dc_eval.h"

/* Label-encode labels into codes (n) in [0, L) (sorted unique values, as sklearn's
 * LabelEncoder); *counts (L) malloc'd. Fails unless 2 <= L <= n - 1. */
static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static dc_status encode_labels(const char *who, const int32_t *labels, int64_t n, int32_t *codes, int64_t **counts,
                               int *L_out) {
    *counts = NULL;
    int32_t *u = malloc((size_t)(n ? n : 1) * sizeof *u);
    if (!u) return dc_fail(DC_ERR_OOM, "%s: out of memory", who);
    memcpy(u, labels, (size_t)n * sizeof *u);
    qsort(u, (size_t)n, sizeof *u, cmp_i32);
    int64_t L = 0;
    for (int64_t i = 0; i < n; i++)
        if (i == 0 || u[i] != u[L - 1]) u[L++] = u[i];
    if (L < 2 || L > n - 1) {
        free(u);
        return dc_fail(DC_ERR_ARG,
                       "%s: number of labels is %lld; valid values are 2 to n_samples - 1 = %lld (inclusive)", who,
                       (long long)L, (long long)(n - 1));
    }
    int64_t *cnt = calloc((size_t)L, sizeof *cnt);
    if (!cnt) {
        free(u);
        return dc_fail(DC_ERR_OOM, "%s: out of memory", who);
    }
    for (int64_t i = 0; i < n; i++) {
        int32_t *hit = bsearch(&labels[i], u, (size_t)L, sizeof *u, cmp_i32);
        codes[i] = (int32_t)(hit - u);
        cnt[codes[i]]++;
    }
    free(u);
    *counts = cnt;
    *L_out = (int)L;
    return DC_OK;
}

static dc_status check_input(const char *who, const float *X, int64_t n, int64_t d, const int32_t *labels) {
    if (!X || !labels) return dc_fail(DC_ERR_ARG, "%s: NULL argument", who);
    if (n < 1 || d < 1) return dc_fail(DC_ERR_ARG, "%s: empty input (%lld x %lld)", who, (long long)n, (long long)d);
    for (int64_t i = 0; i < n * d; i++)
        if (!isfinite(X[i]))
            return dc_fail(DC_ERR_NUMERIC, "%s: X[%lld, %lld] is %g", who, (long long)(i / d), (long long)(i % d), X[i]);
    return DC_OK;
}

/* Cluster centroids (L, d) in double. */
static void centroids(const float *X, int64_t n, int64_t d, const int32_t *code, const int64_t *cnt, int L, double *C) {
    memset(C, 0, (size_t)L * (size_t)d * sizeof *C);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) C[(int64_t)code[i] * d + j] += X[i * d + j];
    for (int c = 0; c < L; c++)
        for (int64_t j = 0; j < d; j++) C[(int64_t)c * d + j] /= (double)cnt[c];
}

dc_status dc_davies_bouldin(const float *X, int64_t n, int64_t d, const int32_t *labels, double *score) {
    dc_status st = check_input("davies_bouldin", X, n, d, labels);
    if (st || !score) return st ? st : dc_fail(DC_ERR_ARG, "davies_bouldin: NULL score");
    int32_t *code = malloc((size_t)n * sizeof *code);
    int64_t *cnt = NULL;
    int L = 0;
    if (!code) return dc_fail(DC_ERR_OOM, "davies_bouldin: out of memory");
    if ((st = encode_labels("davies_bouldin", labels, n, code, &cnt, &L)) != DC_OK) {
        free(code);
        return st;
    }
    double *C = malloc((size_t)L * (size_t)d * sizeof *C), *s = calloc((size_t)L, sizeof *s);
    if (!C || !s) {
        free(code), free(cnt), free(C), free(s);
        return dc_fail(DC_ERR_OOM, "davies_bouldin: out of memory");
    }
    centroids(X, n, d, code, cnt, L, C);
    for (int64_t i = 0; i < n; i++) { /* s_c: mean distance of the cluster's points to its centroid */
        double q = 0;
        for (int64_t j = 0; j < d; j++) {
            double e = X[i * d + j] - C[(int64_t)code[i] * d + j];
            q += e * e;
        }
        s[code[i]] += sqrt(q);
    }
    int all_s0 = 1, all_c0 = 1;
    for (int c = 0; c < L; c++) {
        s[c] /= (double)cnt[c];
        all_s0 &= fabs(s[c]) <= 1e-8; /* np.allclose(x, 0): |x| <= atol 1e-8 */
    }
    double total = 0;
    for (int a = 0; a < L; a++) {
        double worst = 0;
        for (int b = 0; b < L; b++) {
            if (a == b) continue;
            double q = 0;
            for (int64_t j = 0; j < d; j++) {
                double e = C[(int64_t)a * d + j] - C[(int64_t)b * d + j];
                q += e * e;
            }
            double dist = sqrt(q);
            all_c0 &= dist <= 1e-8;
            double r = dist == 0 ? 0 : (s[a] + s[b]) / dist; /* sklearn: a zero distance becomes inf */
            if (r > worst) worst = r;
        }
        total += worst;
    }
    *score = (all_s0 || all_c0) ? 0.0 : total / L;
    free(code), free(cnt), free(C), free(s);
    return DC_OK;
}

dc_status dc_calinski_harabasz(const float *X, int64_t n, int64_t d, const int32_t *labels, double *score) {
    dc_status st = check_input("calinski_harabasz", X, n, d, labels);
    if (st || !score) return st ? st : dc_fail(DC_ERR_ARG, "calinski_harabasz: NULL score");
    int32_t *code = malloc((size_t)n * sizeof *code);
    int64_t *cnt = NULL;
    int L = 0;
    if (!code) return dc_fail(DC_ERR_OOM, "calinski_harabasz: out of memory");
    if ((st = encode_labels("calinski_harabasz", labels, n, code, &cnt, &L)) != DC_OK) {
        free(code);
        return st;
    }
    double *C = malloc((size_t)L * (size_t)d * sizeof *C), *mean = calloc((size_t)d, sizeof *mean);
    if (!C || !mean) {
        free(code), free(cnt), free(C), free(mean);
        return dc_fail(DC_ERR_OOM, "calinski_harabasz: out of memory");
    }
    centroids(X, n, d, code, cnt, L, C);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) mean[j] += X[i * d + j];
    for (int64_t j = 0; j < d; j++) mean[j] /= (double)n;
    double extra = 0, intra = 0;
    for (int c = 0; c < L; c++)
        for (int64_t j = 0; j < d; j++) {
            double e = C[(int64_t)c * d + j] - mean[j];
            extra += (double)cnt[c] * e * e;
        }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) {
            double e = X[i * d + j] - C[(int64_t)code[i] * d + j];
            intra += e * e;
        }
    *score = intra == 0.0 ? 1.0 : extra * (double)(n - L) / (intra * (double)(L - 1));
    free(code), free(cnt), free(C), free(mean);
    return DC_OK;
}

/* Per-row sums of distances to each cluster for rows [r0, r0 + R) of the cluster-sorted
 * points, from the Gram block G (R, n): d_ij = sqrt(max(0, |x_i|^2 + |x_j|^2 - 2 g_ij)), the
 * diagonal exactly 0 as sklearn's euclidean_distances sets it. */
static void block_sums(const double *G, int64_t r0, int64_t R, int64_t n, const double *nn, const int64_t *off, int L,
                       double *sums) {
    _Pragma("omp parallel for schedule(dynamic, 8)")
    for (int64_t r = 0; r < R; r++) {
        const double *g = G + r * n;
        const double ni = nn[r0 + r];
        double *out = sums + r * L;
        for (int c = 0; c < L; c++) {
            double s = 0;
            for (int64_t j = off[c]; j < off[c + 1]; j++) {
                double v = ni + nn[j] - 2.0 * g[j];
                s += sqrt(v > 0 ? v : 0);
            }
            out[c] = s;
        }
        int64_t i = r0 + r;
        int c = 0;
        while (off[c + 1] <= i) c++;
        double v = ni + nn[i] - 2.0 * g[i];
        out[c] -= sqrt(v > 0 ? v : 0);
    }
}

dc_status dc_silhouette(dc_backend *be, const float *X, int64_t n, int64_t d, const int32_t *labels, double *score,
                        double *per_sample) {
    dc_status st = check_input("silhouette", X, n, d, labels);
    if (st || !score) return st ? st : dc_fail(DC_ERR_ARG, "silhouette: NULL score");
    int32_t *code = malloc((size_t)n * sizeof *code);
    int64_t *cnt = NULL;
    int L = 0;
    if (!code) return dc_fail(DC_ERR_OOM, "silhouette: out of memory");
    if ((st = encode_labels("silhouette", labels, n, code, &cnt, &L)) != DC_OK) {
        free(code);
        return st;
    }
    dc_backend *own = NULL;
    if (!be && !(be = own = dc_backend_new("cpu"))) {
        free(code), free(cnt);
        return dc_last_status();
    }
    const int f64 = dc_backend_supports(be, DC_OP_MATMUL, DC_F64);
    const dc_dtype dt = f64 ? DC_F64 : DC_F32;
    /* rows of Gram per block: keep a block near 64 MB of doubles */
    int64_t R = (int64_t)(8u << 20) / n;
    if (R < 16) R = 16;
    if (R > n) R = n;
    int64_t *off = calloc((size_t)L + 1, sizeof *off), *perm = malloc((size_t)n * sizeof *perm);
    double *mean = calloc((size_t)d, sizeof *mean), *Xs = malloc((size_t)(n * d) * sizeof *Xs);
    double *nn = malloc((size_t)n * sizeof *nn), *G = malloc((size_t)(R * n) * sizeof *G);
    double *sums = malloc((size_t)(R * L) * sizeof *sums);
    float *Xf = f64 ? NULL : malloc((size_t)(n * d) * sizeof *Xf);
    float *Gf = f64 ? NULL : malloc((size_t)(R * n) * sizeof *Gf);
    dc_ctx *dctx = dc_ctx_new(be), *ctx = dctx ? dc_ctx_new(be) : NULL; /* the points; one block's work */
    double total = 0;
    if (!off || !perm || !mean || !Xs || !nn || !G || !sums || (!f64 && (!Xf || !Gf)) || !ctx) {
        st = dc_last_status() ? dc_last_status() : dc_fail(DC_ERR_OOM, "silhouette: out of memory for n = %lld", (long long)n);
        goto done;
    }
    dc_ctx_set_grad_enabled(dctx, 0);
    dc_ctx_set_grad_enabled(ctx, 0);
    for (int c = 0; c < L; c++) off[c + 1] = off[c] + cnt[c];
    {
        int64_t *pos = malloc((size_t)L * sizeof *pos);
        if (!pos) {
            st = dc_fail(DC_ERR_OOM, "silhouette: out of memory");
            goto done;
        }
        memcpy(pos, off, (size_t)L * sizeof *pos);
        for (int64_t i = 0; i < n; i++) perm[pos[code[i]]++] = i; /* stable sort by cluster */
        free(pos);
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) mean[j] += X[i * d + j];
    for (int64_t j = 0; j < d; j++) mean[j] /= (double)n;
    /* distances do not change under a shift; centring keeps |x|^2 + |y|^2 - 2 x.y accurate */
    for (int64_t p = 0; p < n; p++) {
        double q = 0;
        for (int64_t j = 0; j < d; j++) {
            double v = X[perm[p] * d + j] - mean[j];
            if (!f64) v = (float)v;
            Xs[p * d + j] = v;
            if (!f64) Xf[p * d + j] = (float)v;
            q += v * v;
        }
        nn[p] = q;
    }
    dc_tensor *A = dc_tensor_from_host(dctx, dt, 2, (int64_t[]){n, d}, f64 ? (const void *)Xs : (const void *)Xf);
    if (!A) {
        st = dc_last_status();
        goto done;
    }
    for (int64_t r0 = 0; r0 < n && st == DC_OK; r0 += R) {
        int64_t rows = n - r0 < R ? n - r0 : R;
        dc_tensor *blk = dc_view_slice(ctx, A, 0, r0, rows);
        dc_tensor *g = blk ? dc_matmul(ctx, blk, A, 0, 1) : NULL; /* (rows, n) */
        if (!g) {
            st = dc_last_status();
            break;
        }
        if (f64) st = dc_tensor_download(g, G, (size_t)(rows * n) * sizeof *G);
        else {
            st = dc_tensor_download(g, Gf, (size_t)(rows * n) * sizeof *Gf);
            for (int64_t q = 0; st == DC_OK && q < rows * n; q++) G[q] = Gf[q];
        }
        if (st != DC_OK) break;
        block_sums(G, r0, rows, n, nn, off, L, sums);
        for (int64_t r = 0; r < rows; r++) {
            int64_t i = r0 + r;
            int c = code[perm[i]];
            double s = 0;
            if (cnt[c] > 1) { /* singletons score 0 */
                double a = sums[r * L + c] / (double)(cnt[c] - 1), b = INFINITY;
                for (int q = 0; q < L; q++)
                    if (q != c && sums[r * L + q] / (double)cnt[q] < b) b = sums[r * L + q] / (double)cnt[q];
                double m = a > b ? a : b;
                s = m > 0 ? (b - a) / m : 0; /* 0/0 -> 0 (np.nan_to_num) */
            }
            if (per_sample) per_sample[perm[i]] = s;
            total += s;
        }
        dc_ctx_reset(ctx);
    }
    if (st == DC_OK) *score = total / (double)n;
done:
    dc_ctx_free(ctx);
    dc_ctx_free(dctx);
    dc_backend_free(own);
    free(code), free(cnt), free(off), free(perm), free(mean), free(Xs), free(nn), free(G), free(sums), free(Xf), free(Gf);
    return st;
}

double dc_joint_score(double dbi, double ch, double ss) {
    if (!(dbi != 0)) return 0;
    return 0.33 * (1.0 / dbi + log(ch + 1.0) + 0.5 * (ss + 1.0));
}

static void scores_fail(dc_cluster_scores *out, const char *why) {
    memset(out, 0, sizeof *out);
    snprintf(out->reason, sizeof out->reason, "%s", why);
}

dc_status dc_cluster_scores_compute(dc_backend *be, const float *X, int64_t n, int64_t d, const int32_t *labels,
                                    dc_cluster_scores *out) {
    if (!out) return dc_fail(DC_ERR_ARG, "cluster_scores: NULL output");
    memset(out, 0, sizeof *out);
    double dbi = 0, ch = 0, ss = 0;
    dc_status st = dc_davies_bouldin(X, n, d, labels, &dbi);
    if (st == DC_OK) st = dc_calinski_harabasz(X, n, d, labels, &ch);
    if (st == DC_OK) st = dc_silhouette(be, X, n, d, labels, &ss, NULL);
    if (st == DC_ERR_ARG || st == DC_ERR_NUMERIC) { /* the authors' `except`: every score 0 */
        scores_fail(out, dc_last_error());
        dc_clear_error();
        return DC_OK;
    }
    if (st != DC_OK) return st;
    if (dbi == 0) {
        scores_fail(out, "DBI = 0 (every cluster collapsed to a point): 1/DBI fails in the authors' code");
        return DC_OK;
    }
    double j = dc_joint_score(dbi, ch, ss);
    if (!isfinite(dbi) || !isfinite(ch) || !isfinite(ss) || !isfinite(j)) {
        scores_fail(out, "a score is not finite");
        return DC_OK;
    }
    out->dbi = dbi, out->ch = ch, out->ss = ss, out->j = j, out->ok = 1;
    return DC_OK;
}

dc_status dc_cluster_evaluate(dc_backend *be, const float *Z, int64_t n, int64_t d, const int32_t *y, int n_classes,
                              dc_protocol p, uint64_t kmeans_seed, dc_cluster_eval *out) {
    if (!Z || !out || n_classes < 1) return dc_fail(DC_ERR_ARG, "cluster_evaluate: NULL argument or no classes");
    if (p == DC_PROTOCOL_CORRECTED && !y) return dc_fail(DC_ERR_ARG, "cluster_evaluate: the corrected protocol needs labels");
    memset(out, 0, sizeof *out);
    int32_t *lab = malloc((size_t)(n > 0 ? n : 1) * sizeof *lab);
    if (!lab) return dc_fail(DC_ERR_OOM, "cluster_evaluate: out of memory");
    dc_kmeans_opts ko = dc_kmeans_opts_default(n_classes);
    ko.seed = kmeans_seed;
    dc_status st = dc_kmeans(Z, n, d, &ko, lab, NULL, &out->km);
    if (st == DC_ERR_ARG || st == DC_ERR_NUMERIC) { /* e.g. fewer points than clusters, NaN features */
        scores_fail(&out->kmeans, dc_last_error());
        dc_clear_error();
        st = DC_OK;
    } else if (st == DC_OK) {
        st = dc_cluster_scores_compute(be, Z, n, d, lab, &out->kmeans);
    }
    if (st == DC_OK && p == DC_PROTOCOL_CORRECTED) {
        st = dc_cluster_scores_compute(be, Z, n, d, y, &out->truth);
        out->has_truth = 1;
    }
    free(lab);
    return st;
}
