/* tsne.c: Barnes-Hut t-SNE in 2-D with scikit-learn 1.1 TSNE semantics (exact k-nearest
 * neighbours, perplexity binary search, symmetric sparse P, a quadtree summarised with the
 * angle criterion, gradient descent with gains and momentum, two phases). Host code in
 * double precision with OpenMP; not the exact O(n^2) method and not other dimensions.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/dc_eval.h"

#define TSNE_EPS 1e-6            /* sklearn's quadtree EPSILON: duplicate points */
#define TSNE_FLOAT32_TINY 1.17549435e-38
#define TSNE_CHECK 50            /* _N_ITER_CHECK */
#define TSNE_NO_PROGRESS 300     /* n_iter_without_progress */
#define TSNE_MAX_DEPTH 64

dc_tsne_opts dc_tsne_opts_default(void) {
    dc_tsne_opts o = {30.0, 1000, 12.0, 250, 0.0, 0.5, 1, 0};
    return o;
}

/* ---- affinities ------------------------------------------------------------------------ */

/* The k nearest neighbours of every point (squared distances, ascending). */
static void knn(const double *X, int64_t n, int64_t d, int64_t k, int64_t *nb, double *nd) {
    _Pragma("omp parallel for schedule(dynamic, 16)")
    for (int64_t i = 0; i < n; i++) {
        int64_t *hi = nb + i * k; /* a max-heap on distance of size <= k */
        double *hd = nd + i * k;
        int64_t m = 0;
        const double *xi = X + i * d;
        for (int64_t j = 0; j < n; j++) {
            if (j == i) continue;
            const double *xj = X + j * d;
            double s = 0;
            for (int64_t q = 0; q < d; q++) {
                double e = xi[q] - xj[q];
                s += e * e;
            }
            if (m == k && s >= hd[0]) continue;
            int64_t c;
            if (m < k) { /* sift up */
                c = m++;
                while (c > 0 && hd[(c - 1) / 2] < s) {
                    hd[c] = hd[(c - 1) / 2], hi[c] = hi[(c - 1) / 2];
                    c = (c - 1) / 2;
                }
            } else { /* replace the root, sift down */
                c = 0;
                for (;;) {
                    int64_t l = 2 * c + 1, r = l + 1, g = c;
                    double gv = s;
                    if (l < k && hd[l] > gv) g = l, gv = hd[l];
                    if (r < k && hd[r] > gv) g = r;
                    if (g == c) break;
                    hd[c] = hd[g], hi[c] = hi[g];
                    c = g;
                }
            }
            hd[c] = s, hi[c] = j;
        }
        for (int64_t e = k - 1; e > 0; e--) { /* heap sort: ascending */
            double tv = hd[e];
            int64_t ti = hi[e];
            hd[e] = hd[0], hi[e] = hi[0];
            int64_t c = 0;
            for (;;) {
                int64_t l = 2 * c + 1, r = l + 1, g = c;
                double gv = tv;
                if (l < e && hd[l] > gv) g = l, gv = hd[l];
                if (r < e && hd[r] > gv) g = r;
                if (g == c) break;
                hd[c] = hd[g], hi[c] = hi[g];
                c = g;
            }
            hd[c] = tv, hi[c] = ti;
        }
    }
}

/* sklearn's _binary_search_perplexity: row-conditional P over the neighbours. */
static void perplexity_search(const double *nd, int64_t n, int64_t k, double perplexity, double *P) {
    const double desired = log(perplexity);
    _Pragma("omp parallel for schedule(static)")
    for (int64_t i = 0; i < n; i++) {
        const double *di = nd + i * k;
        double *pi = P + i * k;
        double beta = 1.0, bmin = -INFINITY, bmax = INFINITY;
        for (int step = 0; step < 100; step++) {
            double sum = 0;
            for (int64_t j = 0; j < k; j++) sum += pi[j] = exp(-di[j] * beta);
            if (sum == 0.0) sum = 1e-8;
            double sd = 0;
            for (int64_t j = 0; j < k; j++) {
                pi[j] /= sum;
                sd += di[j] * pi[j];
            }
            double diff = log(sum) + beta * sd - desired;
            if (fabs(diff) <= 1e-5) break;
            if (diff > 0) {
                bmin = beta;
                beta = bmax == INFINITY ? beta * 2.0 : (beta + bmax) / 2.0;
            } else {
                bmax = beta;
                beta = bmin == -INFINITY ? beta / 2.0 : (beta + bmin) / 2.0;
            }
        }
    }
}

typedef struct csr {
    int64_t *ptr, *col;
    double *val;
} csr;

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* P + P^T normalised to sum 1, in CSR with sorted columns. */
static dc_status symmetrize(const int64_t *nb, const double *Pc, int64_t n, int64_t k, csr *out) {
    int64_t m = 2 * n * k;
    int64_t *cnt = calloc((size_t)n + 1, sizeof *cnt), *key = malloc((size_t)m * sizeof *key);
    double *v = malloc((size_t)m * sizeof *v);
    int64_t *ord = malloc((size_t)m * sizeof *ord);
    if (!cnt || !key || !v || !ord) {
        free(cnt), free(key), free(v), free(ord);
        return dc_fail(DC_ERR_OOM, "tsne: out of memory for %lld affinities", (long long)m);
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t e = 0; e < k; e++) cnt[i + 1]++, cnt[nb[i * k + e] + 1]++;
    for (int64_t i = 0; i < n; i++) cnt[i + 1] += cnt[i];
    int64_t *pos = malloc((size_t)n * sizeof *pos);
    if (!pos) {
        free(cnt), free(key), free(v), free(ord);
        return dc_fail(DC_ERR_OOM, "tsne: out of memory");
    }
    memcpy(pos, cnt, (size_t)n * sizeof *pos);
    for (int64_t i = 0; i < n; i++)
        for (int64_t e = 0; e < k; e++) {
            int64_t j = nb[i * k + e];
            double p = Pc[i * k + e];
            key[pos[i]] = j, v[pos[i]++] = p;
            key[pos[j]] = i, v[pos[j]++] = p;
        }
    free(pos);
    /* sort each row by column (entry index in the low bits keeps it stable) and merge */
    int64_t *ptr = calloc((size_t)n + 1, sizeof *ptr), *col = malloc((size_t)m * sizeof *col);
    double *val = malloc((size_t)m * sizeof *val), total = 0;
    if (!ptr || !col || !val) {
        free(cnt), free(key), free(v), free(ord), free(ptr), free(col), free(val);
        return dc_fail(DC_ERR_OOM, "tsne: out of memory");
    }
    int64_t w = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t a = cnt[i], b = cnt[i + 1], len = b - a;
        for (int64_t e = 0; e < len; e++) ord[a + e] = key[a + e] * m + (a + e);
        qsort(ord + a, (size_t)len, sizeof *ord, cmp_i64);
        for (int64_t e = 0; e < len; e++) {
            int64_t src = ord[a + e] % m, c = key[src];
            if (w > ptr[i] && col[w - 1] == c) val[w - 1] += v[src];
            else col[w] = c, val[w++] = v[src];
            total += v[src];
        }
        ptr[i + 1] = w;
    }
    double s = total > 2.220446049250313e-16 ? total : 2.220446049250313e-16;
    for (int64_t e = 0; e < w; e++) val[e] /= s;
    free(cnt), free(key), free(v), free(ord);
    out->ptr = ptr, out->col = col, out->val = val;
    return DC_OK;
}

/* ---- the quadtree --------------------------------------------------------------------- */

/* Cells split in two arrays: the fields the repulsion traversal reads (hot, 56 bytes) and
 * the ones only the build needs (cold). */
typedef struct qhot {
    double bary[2];   /* centre of mass */
    double sqw;       /* squared max width */
    double size;      /* points below (duplicates counted) */
    int32_t child[4]; /* -1: none */
    int32_t leaf, pad;
} qhot;

typedef struct qcold {
    double lo[2], hi[2], mid[2];
    int64_t point;    /* leaf: its point, -1 when empty */
    int depth;
} qcold;

typedef struct qtree {
    qhot *h;
    qcold *c;
    int64_t n, cap;
} qtree;

static int32_t qt_new_cell(qtree *t, const double lo[2], const double hi[2], int depth) {
    if (t->n == t->cap) {
        int64_t cap = t->cap ? 2 * t->cap : 1024;
        qhot *h = realloc(t->h, (size_t)cap * sizeof *h);
        if (h) t->h = h;
        qcold *c = h ? realloc(t->c, (size_t)cap * sizeof *c) : NULL;
        if (!c) return -1;
        t->c = c, t->cap = cap;
    }
    qhot *q = &t->h[t->n];
    qcold *k = &t->c[t->n];
    double w = 0;
    for (int a = 0; a < 2; a++) {
        k->lo[a] = lo[a], k->hi[a] = hi[a], k->mid[a] = 0.5 * (lo[a] + hi[a]);
        q->bary[a] = 0;
        double e = hi[a] - lo[a];
        if (e * e > w) w = e * e;
    }
    q->sqw = w;
    q->size = 0, q->leaf = 1, q->pad = 0;
    k->point = -1, k->depth = depth;
    for (int a = 0; a < 4; a++) q->child[a] = -1;
    return (int32_t)t->n++;
}

static int32_t qt_child(qtree *t, int32_t id, const double *p) {
    int sel = (p[0] > t->c[id].mid[0]) + 2 * (p[1] > t->c[id].mid[1]);
    if (t->h[id].child[sel] < 0) {
        double lo[2], hi[2];
        for (int a = 0; a < 2; a++) {
            int upper = a == 0 ? (sel & 1) : (sel >> 1);
            lo[a] = upper ? t->c[id].mid[a] : t->c[id].lo[a];
            hi[a] = upper ? t->c[id].hi[a] : t->c[id].mid[a];
        }
        int32_t c = qt_new_cell(t, lo, hi, t->c[id].depth + 1); /* may move the arrays */
        if (c < 0) return -1;
        t->h[id].child[sel] = c;
    }
    return t->h[id].child[sel];
}

static void qt_add_mass(qhot *q, const double *p, double m) {
    for (int a = 0; a < 2; a++) q->bary[a] = (q->bary[a] * q->size + p[a] * m) / (q->size + m);
    q->size += m;
}

static dc_status qt_insert(qtree *t, const double *Y, int64_t i) {
    const double *p = Y + 2 * i;
    int32_t id = 0;
    for (;;) {
        qhot *q = &t->h[id];
        if (q->leaf) {
            if (q->size == 0) {
                qt_add_mass(q, p, 1);
                t->c[id].point = i;
                return DC_OK;
            }
            int dup = fabs(p[0] - q->bary[0]) <= TSNE_EPS && fabs(p[1] - q->bary[1]) <= TSNE_EPS;
            if (dup || t->c[id].depth >= TSNE_MAX_DEPTH) {
                qt_add_mass(q, p, 1);
                return DC_OK;
            }
            /* split: push the resident point(s) one level down */
            int64_t pt = t->c[id].point;
            double m = q->size, where[2] = {q->bary[0], q->bary[1]};
            q->leaf = 0;
            t->c[id].point = -1;
            int32_t c = qt_child(t, id, where);
            if (c < 0) return dc_fail(DC_ERR_OOM, "tsne: out of memory for the quadtree");
            qt_add_mass(&t->h[c], where, m);
            t->c[c].point = pt;
            continue; /* re-examine this (now internal) cell */
        }
        qt_add_mass(q, p, 1);
        int32_t c = qt_child(t, id, p);
        if (c < 0) return dc_fail(DC_ERR_OOM, "tsne: out of memory for the quadtree");
        id = c;
    }
}

static dc_status qt_build(qtree *t, const double *Y, int64_t n) {
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (int64_t i = 0; i < n; i++)
        for (int a = 0; a < 2; a++) {
            if (Y[2 * i + a] < lo[a]) lo[a] = Y[2 * i + a];
            if (Y[2 * i + a] > hi[a]) hi[a] = Y[2 * i + a];
        }
    for (int a = 0; a < 2; a++) { /* sklearn: maxs = max(maxs * (1 + 1e-3 sign(maxs)), maxs + 1e-3) */
        double s = hi[a] > 0 ? 1 : hi[a] < 0 ? -1 : 0, m1 = hi[a] * (1 + 1e-3 * s), m2 = hi[a] + 1e-3;
        hi[a] = m1 > m2 ? m1 : m2;
    }
    t->n = 0;
    if (qt_new_cell(t, lo, hi, 0) < 0) return dc_fail(DC_ERR_OOM, "tsne: out of memory for the quadtree");
    for (int64_t i = 0; i < n; i++) {
        dc_status st = qt_insert(t, Y, i);
        if (st != DC_OK) return st;
    }
    return DC_OK;
}

/* Repulsion on point p: neg (2) and the summed q*Z (sklearn's compute_gradient_negative). */
static double qt_negative(const qtree *t, const double *p, double theta2, double neg[2]) {
    int32_t stack[4 * TSNE_MAX_DEPTH + 8];
    int sp = 0;
    double sq = 0, nx = 0, ny = 0;
    const qhot *h = t->h;
    stack[sp++] = 0;
    while (sp) {
        const qhot *q = &h[stack[--sp]];
        if (q->size == 0) continue;
        double dx = p[0] - q->bary[0], dy = p[1] - q->bary[1], d2 = dx * dx + dy * dy;
        if (q->leaf && fabs(dx) <= TSNE_EPS && fabs(dy) <= TSNE_EPS) continue; /* no self interaction */
        if (q->leaf || q->sqw < theta2 * d2) { /* sqw / d2 < theta^2, without the division */
            double qz = 1.0 / (1.0 + d2), m = q->size * qz;
            sq += m;
            m *= qz;
            nx += m * dx, ny += m * dy;
            continue;
        }
        for (int c = 3; c >= 0; c--)
            if (q->child[c] >= 0) stack[sp++] = q->child[c];
    }
    neg[0] = nx, neg[1] = ny;
    return sq;
}

/* KL gradient (times 4, the dof = 1 constant) of P (scaled by exag) at Y; KL when err. */
static double gradient(const qtree *t, const csr *P, double exag, const double *Y, int64_t n, double theta2, double *grad,
                       double *negf, double *sqs, const uint64_t *order, int err) {
    _Pragma("omp parallel for schedule(dynamic, 64)")
    for (int64_t k = 0; k < n; k++) { /* in space-filling-curve order: neighbours walk the same cells */
        int64_t i = (int64_t)(order[k] & 0xffffffffu);
        sqs[i] = qt_negative(t, Y + 2 * i, theta2, negf + 2 * i);
    }
    double sQ = 0;
    for (int64_t i = 0; i < n; i++) sQ += sqs[i];
    double kl = 0;
    _Pragma("omp parallel for schedule(static) reduction(+ : kl)")
    for (int64_t i = 0; i < n; i++) {
        double px = 0, py = 0;
        for (int64_t e = P->ptr[i]; e < P->ptr[i + 1]; e++) {
            int64_t j = P->col[e];
            double dx = Y[2 * i] - Y[2 * j], dy = Y[2 * i + 1] - Y[2 * j + 1];
            double q = 1.0 / (1.0 + dx * dx + dy * dy), pij = P->val[e] * exag, f = pij * q;
            if (err) {
                double qn = q / sQ;
                kl += pij * log((pij > TSNE_FLOAT32_TINY ? pij : TSNE_FLOAT32_TINY) /
                                (qn > TSNE_FLOAT32_TINY ? qn : TSNE_FLOAT32_TINY));
            }
            px += f * dx, py += f * dy;
        }
        grad[2 * i] = 4.0 * (px - negf[2 * i] / sQ);
        grad[2 * i + 1] = 4.0 * (py - negf[2 * i + 1] / sQ);
    }
    return kl;
}

/* ---- driver ------------------------------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* order[k]: Morton code of point i (16 bits per axis within the root cell) << 32 | i, sorted. */
static void morton_order(const qtree *t, const double *Y, int64_t n, uint64_t *order) {
    const qcold *r = &t->c[0];
    for (int64_t i = 0; i < n; i++) {
        uint32_t q[2];
        for (int a = 0; a < 2; a++) {
            double u = (Y[2 * i + a] - r->lo[a]) / (r->hi[a] - r->lo[a]) * 65535.0;
            q[a] = u <= 0 ? 0 : u >= 65535.0 ? 65535u : (uint32_t)u;
        }
        uint64_t code = 0;
        for (int b = 0; b < 16; b++) code |= (uint64_t)((q[0] >> b) & 1u) << (2 * b) | (uint64_t)((q[1] >> b) & 1u) << (2 * b + 1);
        order[i] = code << 32 | (uint64_t)i;
    }
    qsort(order, (size_t)n, sizeof *order, cmp_u64);
}

typedef struct descent {
    const csr *P;
    qtree *t;
    double *Y, *grad, *update, *gains, *negf, *sqs;
    uint64_t *order;
    int64_t n;
    double lr, theta2;
} descent;

/* sklearn's _gradient_descent from iteration `it` up to n_iter; returns the last index. */
static dc_status descend(descent *g, int it, int n_iter, double momentum, double exag, int no_progress, double *kl,
                         int *last) {
    const int64_t m = 2 * g->n;
    for (int64_t e = 0; e < m; e++) g->update[e] = 0, g->gains[e] = 1;
    double best = INFINITY, error = INFINITY;
    int best_it = it, i = it;
    for (; i < n_iter; i++) {
        int check = (i + 1) % TSNE_CHECK == 0;
        dc_status st = qt_build(g->t, g->Y, g->n);
        if (st != DC_OK) return st;
        if (i % 10 == 0 || i == it) morton_order(g->t, g->Y, g->n, g->order); /* points move slowly */
        double e = gradient(g->t, g->P, exag, g->Y, g->n, g->theta2, g->grad, g->negf, g->sqs, g->order,
                            check || i == n_iter - 1);
        if (check || i == n_iter - 1) error = e;
        double gn = 0;
        for (int64_t q = 0; q < m; q++) {
            double gr = g->grad[q];
            gn += gr * gr;
            if (g->update[q] * gr < 0.0) g->gains[q] += 0.2;
            else g->gains[q] *= 0.8;
            if (g->gains[q] < 0.01) g->gains[q] = 0.01;
            gr *= g->gains[q];
            g->update[q] = momentum * g->update[q] - g->lr * gr;
            g->Y[q] += g->update[q];
        }
        if (!isfinite(gn)) return dc_fail(DC_ERR_NUMERIC, "tsne: the gradient became %g at iteration %d", gn, i + 1);
        if (check) {
            if (error < best) best = error, best_it = i;
            else if (i - best_it > no_progress) break;
            if (sqrt(gn) <= 1e-7) break;
        }
    }
    *kl = error;
    *last = i < n_iter ? i : n_iter - 1;
    return DC_OK;
}

dc_status dc_tsne(const float *X, int64_t n, int64_t d, const dc_tsne_opts *o, float *Y, double *kl_out) {
    if (!X || !o || !Y) return dc_fail(DC_ERR_ARG, "tsne: NULL argument");
    if (n < 2 || d < 1) return dc_fail(DC_ERR_ARG, "tsne: needs at least 2 points of >= 1 feature (got %lld x %lld)", (long long)n, (long long)d);
    if (!(o->perplexity > 0) || o->n_iter < 1 || o->exaggeration_iter < 0 || !(o->early_exaggeration > 0) ||
        !(o->angle >= 0 && o->angle <= 1))
        return dc_fail(DC_ERR_ARG, "tsne: perplexity > 0, n_iter >= 1, exaggeration > 0 and 0 <= angle <= 1 required");
    int64_t k = (int64_t)(3.0 * o->perplexity + 1.0);
    if (k > n - 1) k = n - 1;
    double *Xd = malloc((size_t)(n * d) * sizeof *Xd);
    int64_t *nb = malloc((size_t)(n * k) * sizeof *nb);
    double *nd = malloc((size_t)(n * k) * sizeof *nd), *Pc = malloc((size_t)(n * k) * sizeof *Pc);
    double *Yd = malloc((size_t)(2 * n) * sizeof *Yd), *buf = malloc((size_t)(9 * n) * sizeof *buf);
    uint64_t *order = malloc((size_t)n * sizeof *order);
    csr P = {0};
    qtree t = {0};
    dc_status st = DC_OK;
    if (!Xd || !nb || !nd || !Pc || !Yd || !buf || !order || n > 0xffffffffLL) {
        st = dc_fail(DC_ERR_OOM, "tsne: out of memory for %lld points", (long long)n);
        goto done;
    }
    for (int64_t j = 0; j < d; j++) { /* z-score (StandardScaler: population std, 0 -> 1) */
        double mu = 0, var = 0;
        for (int64_t i = 0; i < n; i++) {
            if (!isfinite(X[i * d + j])) {
                st = dc_fail(DC_ERR_NUMERIC, "tsne: X[%lld, %lld] is %g", (long long)i, (long long)j, X[i * d + j]);
                goto done;
            }
            mu += X[i * d + j];
        }
        mu /= (double)n;
        for (int64_t i = 0; i < n; i++) var += (X[i * d + j] - mu) * (X[i * d + j] - mu);
        double sd = sqrt(var / (double)n);
        if (!o->standardize) mu = 0, sd = 1;
        else if (sd == 0) sd = 1;
        for (int64_t i = 0; i < n; i++) Xd[i * d + j] = (X[i * d + j] - mu) / sd;
    }
    knn(Xd, n, d, k, nb, nd);
    perplexity_search(nd, n, k, o->perplexity, Pc);
    if ((st = symmetrize(nb, Pc, n, k, &P)) != DC_OK) goto done;
    dc_rng rng = dc_rng_init(o->seed);
    for (int64_t q = 0; q < 2 * n; q++) Yd[q] = 1e-4 * dc_rng_normal(&rng);
    double lr = o->learning_rate > 0 ? o->learning_rate : (double)n / o->early_exaggeration / 4.0;
    if (o->learning_rate <= 0 && lr < 50) lr = 50;
    descent g = {&P, &t, Yd, buf, buf + 2 * n, buf + 4 * n, buf + 6 * n, buf + 8 * n, order, n, lr, o->angle * o->angle};
    double kl = 0;
    int last = -1, explore = o->exaggeration_iter < o->n_iter ? o->exaggeration_iter : o->n_iter;
    if (explore > 0)
        st = descend(&g, 0, explore, 0.5, o->early_exaggeration, explore, &kl, &last);
    if (st == DC_OK && last + 1 < o->n_iter)
        st = descend(&g, last + 1, o->n_iter, 0.8, 1.0, TSNE_NO_PROGRESS, &kl, &last);
    if (st == DC_OK) {
        for (int64_t q = 0; q < 2 * n; q++) Y[q] = (float)Yd[q];
        if (kl_out) *kl_out = kl;
    }
done:
    free(Xd), free(nb), free(nd), free(Pc), free(Yd), free(buf), free(order);
    free(P.ptr), free(P.col), free(P.val), free(t.h), free(t.c);
    return st;
}
