#!/usr/bin/env python3
"""bench_eval_sklearn.py: inputs and scikit-learn timings for tools/bench_eval.sh.

  bench_eval_sklearn.py gen DIR          write the benchmark inputs (.npy) into DIR
  bench_eval_sklearn.py run DIR [REPS]   time scikit-learn on them; one JSON line per task

Tasks (the same inputs the dynacl side reads):
  silhouette  silhouette_score on 12,000 x 32 points with 12 labels (exact, Euclidean)
  tsne        TSNE(init='random', learning_rate='auto', perplexity 30, 1000 iterations,
              Barnes-Hut angle 0.5) on 5,000 x 32 standardised points
  linear      a linear softmax probe trained with Adam (lr 1e-3, no weight decay) for 50
              epochs, batches of 800 rows, on 100,000 x 32 training embeddings, scored on
              25,000: MLPClassifier(hidden_layer_sizes=()), the nearest scikit-learn has to
              the probe of docs/METHOD.md §7.1
Benchmark only: scikit-learn (Debian's python3-sklearn) is never used by the build or tests.
"""
import json
import os
import sys
import time
import warnings

import numpy as np


def gen(d):
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(7)
    # silhouette: 12 Gaussian clusters, post-ReLU-like (non-negative) features
    c = rng.normal(0, 1.0, (12, 32))
    y = np.arange(12000) % 12
    x = np.maximum(c[y] + rng.normal(0, 0.8, (12000, 32)), 0).astype(np.float32)
    np.save(os.path.join(d, "sil_X.npy"), x)
    np.save(os.path.join(d, "sil_y.npy"), y.astype(np.int32))
    # t-SNE: 5 classes, 5,000 points
    c = rng.normal(0, 1.5, (5, 32))
    y = np.arange(5000) % 5
    x = np.maximum(c[y] + rng.normal(0, 1.0, (5000, 32)), 0).astype(np.float32)
    np.save(os.path.join(d, "tsne_X.npy"), x)
    np.save(os.path.join(d, "tsne_y.npy"), y.astype(np.int32))
    # linear evaluation: sequences of T = 100 instances, 12 classes, F = 32
    c = rng.normal(0, 1.0, (12, 32))
    for name, nseq in (("tr", 1000), ("te", 250)):
        y = rng.integers(0, 12, (nseq, 100))
        x = np.maximum(c[y] + rng.normal(0, 1.0, (nseq, 100, 32)), 0).astype(np.float32)
        np.save(os.path.join(d, "lin_Z%s.npy" % name), x)
        np.save(os.path.join(d, "lin_y%s.npy" % name), y.astype(np.int32))


def best_of(reps, fn):
    times, out = [], None
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def run(d, reps):
    import sklearn
    from sklearn.manifold import TSNE
    from sklearn.metrics import accuracy_score, silhouette_score
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    warnings.filterwarnings("ignore")
    ver = sklearn.__version__
    x = np.load(os.path.join(d, "sil_X.npy"))
    y = np.load(os.path.join(d, "sil_y.npy"))
    t, v = best_of(reps, lambda: silhouette_score(x, y))
    print(json.dumps({"task": "silhouette", "sklearn": ver, "seconds": t, "value": float(v)}), flush=True)

    x = StandardScaler().fit_transform(np.load(os.path.join(d, "tsne_X.npy")))

    def tsne():
        m = TSNE(n_components=2, init="random", learning_rate="auto", perplexity=30.0, n_iter=1000, angle=0.5,
                 random_state=0)
        m.fit_transform(x)
        return m.kl_divergence_

    t, v = best_of(reps, tsne)
    print(json.dumps({"task": "tsne", "sklearn": ver, "seconds": t, "value": float(v)}), flush=True)

    ztr = np.load(os.path.join(d, "lin_Ztr.npy")).reshape(-1, 32)
    ytr = np.load(os.path.join(d, "lin_ytr.npy")).reshape(-1)
    zte = np.load(os.path.join(d, "lin_Zte.npy")).reshape(-1, 32)
    yte = np.load(os.path.join(d, "lin_yte.npy")).reshape(-1)

    def linear():
        m = MLPClassifier(hidden_layer_sizes=(), solver="adam", alpha=0.0, batch_size=800, learning_rate_init=1e-3,
                          max_iter=50, shuffle=True, tol=0.0, n_iter_no_change=10 ** 6, random_state=0)
        m.fit(ztr, ytr)
        return 100.0 * accuracy_score(yte, m.predict(zte))

    t, v = best_of(reps, linear)
    print(json.dumps({"task": "linear", "sklearn": ver, "seconds": t, "value": float(v)}), flush=True)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "gen":
        gen(sys.argv[2])
    elif len(sys.argv) >= 3 and sys.argv[1] == "run":
        run(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 3)
    else:
        sys.exit(__doc__)
