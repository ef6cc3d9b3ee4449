/* kmeans.c: k-means with scikit-learn 1.1 KMeans semantics (algorithm "lloyd"): data centred
 * on its mean, k-means++ seeding with greedy local trials, Lloyd iterations with sklearn's
 * stopping rule and empty-cluster relocation, n_init restarts keeping the lowest inertia.
 * Host code in double precision, seeded with dc_rng (not bit-equal to numpy's stream).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/dc_eval.h"

dc_kmeans_opts dc_kmeans_opts_default(int k) {
    dc_kmeans_opts o = {k, 10, 300, 1e-4, 1};
    return o;
}

typedef struct km {
    const double *X;  /* (n, d) centred */
    int64_t n, d;
    int k;
} km;

static double sqdist(const double *a, const double *b, int64_t d) {
    double s = 0;
    for (int64_t j = 0; j < d; j++) {
        double e = a[j] - b[j];
        s += e * e;
    }
    return s;
}

/* sklearn's _kmeans_plusplus: first centre uniform, then for each next centre draw
 * 2 + floor(ln k) candidates with probability ~ D(x)^2 and keep the one that lowers the
 * potential most. */
static void plusplus(const km *p, dc_rng *rng, double *C, double *closest, double *cand_d, double *cum) {
    const int64_t n = p->n, d = p->d;
    const int trials = 2 + (int)log((double)p->k);
    int64_t first = dc_rng_randint(rng, 0, n - 1);
    memcpy(C, p->X + first * d, (size_t)d * sizeof *C);
    double pot = 0;
    for (int64_t i = 0; i < n; i++) pot += closest[i] = sqdist(p->X + i * d, C, d);
    for (int c = 1; c < p->k; c++) {
        double acc = 0;
        for (int64_t i = 0; i < n; i++) cum[i] = acc += closest[i];
        double best_pot = INFINITY;
        int64_t best_id = 0;
        int best_t = 0;
        for (int t = 0; t < trials; t++) {
            double r = dc_rng_uniform(rng) * pot;
            int64_t lo = 0, hi = n; /* searchsorted(cum, r, 'left'), clipped to n - 1 */
            while (lo < hi) {
                int64_t mid = lo + (hi - lo) / 2;
                if (cum[mid] < r) lo = mid + 1;
                else hi = mid;
            }
            int64_t id = lo < n ? lo : n - 1;
            double *dt = cand_d + (size_t)t * (size_t)n, s = 0;
            const double *xc = p->X + id * d;
            for (int64_t i = 0; i < n; i++) {
                double v = sqdist(p->X + i * d, xc, d);
                dt[i] = v < closest[i] ? v : closest[i];
                s += dt[i];
            }
            if (s < best_pot) best_pot = s, best_id = id, best_t = t; /* argmin: first of equals */
        }
        pot = best_pot;
        memcpy(closest, cand_d + (size_t)best_t * (size_t)n, (size_t)n * sizeof *closest);
        memcpy(C + (int64_t)c * d, p->X + best_id * d, (size_t)d * sizeof *C);
    }
}

/* Labels from the centres C (ties to the lowest index); returns the inertia. */
static double assign(const km *p, const double *C, int32_t *lab, double *dist) {
    const int64_t n = p->n, d = p->d;
    const int k = p->k;
    double inertia = 0;
    _Pragma("omp parallel for schedule(static) reduction(+ : inertia)")
    for (int64_t i = 0; i < n; i++) {
        const double *x = p->X + i * d;
        double best = INFINITY;
        int bj = 0;
        for (int j = 0; j < k; j++) {
            double v = sqdist(x, C + (int64_t)j * d, d);
            if (v < best) best = v, bj = j;
        }
        lab[i] = bj;
        dist[i] = best;
        inertia += best;
    }
    return inertia;
}

/* New centres from the labels into Cn; empty clusters take the points farthest from their
 * centre (sklearn's _relocate_empty_clusters_dense); shift_sq = sum of squared moves. */
static dc_status update(const km *p, const double *C, const int32_t *lab, const double *dist, double *Cn, double *w,
                        double *shift_sq) {
    const int64_t n = p->n, d = p->d;
    const int k = p->k;
    memset(Cn, 0, (size_t)(k * d) * sizeof *Cn);
    memset(w, 0, (size_t)k * sizeof *w);
    for (int64_t i = 0; i < n; i++) {
        double *c = Cn + (int64_t)lab[i] * d;
        const double *x = p->X + i * d;
        for (int64_t j = 0; j < d; j++) c[j] += x[j];
        w[lab[i]] += 1;
    }
    int n_empty = 0;
    for (int j = 0; j < k; j++) n_empty += w[j] == 0;
    if (n_empty) {
        int64_t *far = malloc((size_t)n * sizeof *far);
        if (!far) return dc_fail(DC_ERR_OOM, "kmeans: out of memory");
        for (int64_t i = 0; i < n; i++) far[i] = i;
        int64_t m = 0;
        for (int e = 0; e < n_empty; e++) { /* the n_empty largest distances, largest first */
            int64_t bi = m;
            for (int64_t i = m + 1; i < n; i++)
                if (dist[far[i]] > dist[far[bi]]) bi = i;
            int64_t t = far[m];
            far[m] = far[bi];
            far[bi] = t;
            m++;
        }
        int e = 0;
        for (int j = 0; j < k; j++) {
            if (w[j] != 0) continue;
            int64_t fi = far[e++];
            int old = lab[fi];
            const double *x = p->X + fi * d;
            for (int64_t q = 0; q < d; q++) {
                Cn[(int64_t)old * d + q] -= x[q];
                Cn[(int64_t)j * d + q] = x[q];
            }
            w[j] = 1;
            w[old] -= 1;
        }
        free(far);
    }
    double s = 0;
    for (int j = 0; j < k; j++) {
        double *c = Cn + (int64_t)j * d;
        if (w[j] > 0)
            for (int64_t q = 0; q < d; q++) c[q] /= w[j];
        s += sqdist(c, C + (int64_t)j * d, d);
    }
    *shift_sq = s;
    return DC_OK;
}

static int same_clustering(const int32_t *a, const int32_t *b, int64_t n, int k) {
    int32_t map[DC_MAX_CLASSES * 8];
    int32_t *mp = k <= (int)(sizeof map / sizeof map[0]) ? map : malloc((size_t)k * sizeof *mp);
    if (!mp) return 0;
    for (int j = 0; j < k; j++) mp[j] = -1;
    int same = 1;
    for (int64_t i = 0; i < n && same; i++) {
        if (mp[a[i]] == -1) mp[a[i]] = b[i];
        else if (mp[a[i]] != b[i]) same = 0;
    }
    if (mp != map) free(mp);
    return same;
}

dc_status dc_kmeans(const float *X, int64_t n, int64_t d, const dc_kmeans_opts *o, int32_t *labels, double *centers,
                    dc_kmeans_result *res) {
    if (!X || !o || !labels) return dc_fail(DC_ERR_ARG, "kmeans: NULL argument");
    if (n < 1 || d < 1) return dc_fail(DC_ERR_ARG, "kmeans: empty input (%lld x %lld)", (long long)n, (long long)d);
    if (o->k < 1 || o->k > n)
        return dc_fail(DC_ERR_ARG, "kmeans: n_samples = %lld should be >= n_clusters = %d >= 1", (long long)n, o->k);
    if (o->n_init < 1 || o->max_iter < 1 || !(o->tol >= 0))
        return dc_fail(DC_ERR_ARG, "kmeans: n_init and max_iter must be >= 1 and tol >= 0");
    const int k = o->k;
    size_t nd = (size_t)(n * d), kd = (size_t)k * (size_t)d;
    const int trials = 2 + (int)log((double)k);
    double *Xc = malloc(nd * sizeof *Xc), *mean = calloc((size_t)d, sizeof *mean);
    double *C = malloc(kd * sizeof *C), *Cn = malloc(kd * sizeof *Cn), *bestC = malloc(kd * sizeof *bestC);
    double *w = malloc((size_t)k * sizeof *w), *dist = malloc((size_t)n * sizeof *dist);
    double *closest = malloc((size_t)n * sizeof *closest), *cum = malloc((size_t)n * sizeof *cum);
    double *cand = malloc((size_t)trials * (size_t)n * sizeof *cand);
    int32_t *lab = malloc((size_t)n * sizeof *lab), *old = malloc((size_t)n * sizeof *old);
    int32_t *best = malloc((size_t)n * sizeof *best);
    dc_status st = DC_OK;
    if (!Xc || !mean || !C || !Cn || !bestC || !w || !dist || !closest || !cum || !cand || !lab || !old || !best) {
        st = dc_fail(DC_ERR_OOM, "kmeans: out of memory for %lld x %lld points", (long long)n, (long long)d);
        goto done;
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) {
            double v = X[i * d + j];
            if (!isfinite(v)) {
                st = dc_fail(DC_ERR_NUMERIC, "kmeans: X[%lld, %lld] is %g", (long long)i, (long long)j, v);
                goto done;
            }
            mean[j] += v;
        }
    for (int64_t j = 0; j < d; j++) mean[j] /= (double)n;
    double var = 0; /* tol is scaled by the mean per-feature variance (sklearn's _tolerance) */
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) {
            double v = X[i * d + j] - mean[j];
            Xc[i * d + j] = v;
            var += v * v;
        }
    const double tol = o->tol * var / (double)(n * d);
    km p = {Xc, n, d, k};
    dc_rng rng = dc_rng_init(o->seed);
    double best_inertia = INFINITY;
    int best_iter = 0, have = 0;
    for (int run = 0; run < o->n_init && st == DC_OK; run++) {
        plusplus(&p, &rng, C, closest, cand, cum);
        for (int64_t i = 0; i < n; i++) old[i] = -1;
        int it;
        for (it = 0; it < o->max_iter; it++) {
            double shift = 0;
            assign(&p, C, lab, dist);
            if ((st = update(&p, C, lab, dist, Cn, w, &shift)) != DC_OK) break;
            memcpy(C, Cn, kd * sizeof *C);
            if (!memcmp(lab, old, (size_t)n * sizeof *lab)) break; /* strict convergence */
            if (shift <= tol) break;
            memcpy(old, lab, (size_t)n * sizeof *lab);
        }
        if (st != DC_OK) break;
        int iters = it < o->max_iter ? it + 1 : o->max_iter;
        /* labels of the final centres and their inertia (sklearn reruns this E-step unless the
         * labels converged strictly, where it gives the same labels) */
        double inertia = assign(&p, C, lab, dist);
        if (!have || (inertia < best_inertia && !same_clustering(lab, best, n, k))) {
            memcpy(best, lab, (size_t)n * sizeof *lab);
            memcpy(bestC, C, kd * sizeof *C);
            best_inertia = inertia;
            best_iter = iters;
            have = 1;
        }
    }
    if (st == DC_OK) {
        memcpy(labels, best, (size_t)n * sizeof *labels);
        if (centers)
            for (int j = 0; j < k; j++)
                for (int64_t q = 0; q < d; q++) centers[(int64_t)j * d + q] = bestC[(int64_t)j * d + q] + mean[q];
        if (res) {
            res->inertia = best_inertia;
            res->n_iter = best_iter;
            int distinct = 0;
            for (int j = 0; j < k; j++) w[j] = 0;
            for (int64_t i = 0; i < n; i++) distinct += w[labels[i]]++ == 0;
            res->n_distinct = distinct;
        }
    }
done:
    free(Xc), free(mean), free(C), free(Cn), free(bestC), free(w), free(dist), free(closest), free(cum), free(cand);
    free(lab), free(old), free(best);
    return st;
}
