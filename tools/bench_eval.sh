#!/usr/bin/env bash
# bench_eval.sh: times the evaluation tools against scikit-learn on the same machine and the
# same inputs: exact silhouette on 12,000 x 32, Barnes-Hut t-SNE on 5,000 points, and linear
# evaluation on 100,000 embeddings x 50 epochs. Prints a Markdown table (docs/PERFORMANCE.md).
# Usage: tools/bench_eval.sh [--reps N] [--backend NAME] [--bin PATH] [--out DIR]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REPS=3
BACKEND=cpu
BIN=$ROOT/build/dynacl
OUT=$ROOT/out/bench-eval
while [ $# -gt 0 ]; do
    case "$1" in
        --reps) REPS=$2; shift ;;
        --backend) BACKEND=$2; shift ;;
        --bin) BIN=$2; shift ;;
        --out) OUT=$2; shift ;;
        -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
        *) echo "bench_eval.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
[ -x "$BIN" ] || { echo "bench_eval.sh: $BIN not found; build first" >&2; exit 1; }
PY=/usr/bin/python3   # Debian's interpreter, where python3-sklearn installs
if ! "$PY" -c "import sklearn" 2>/dev/null; then
    echo "bench_eval.sh: installing Debian's python3-sklearn (benchmark only)" >&2
    if [ "$(id -u)" = 0 ]; then apt-get install -y python3-sklearn >/dev/null || { apt-get update >/dev/null && apt-get install -y python3-sklearn >/dev/null; }
    else sudo apt-get install -y python3-sklearn >/dev/null; fi
fi
mkdir -p "$OUT"
"$PY" "$ROOT/tools/bench_eval_sklearn.py" gen "$OUT"

# best (minimum) of REPS runs of a dynacl command; $2: sed pattern extracting seconds
best() {
    local pat=$1; shift
    local b=""
    for _ in $(seq "$REPS"); do
        local t
        t=$("$@" 2>&1 | sed -n "$pat" | head -n 1)
        [ -n "$t" ] || { echo "bench_eval.sh: no timing from: $*" >&2; exit 1; }
        if [ -z "$b" ] || awk "BEGIN{exit !($t < $b)}"; then b=$t; fi
    done
    echo "$b"
}
echo "timing dynacl ($REPS runs each, best kept) ..." >&2
SIL=$(best 's/.*SS .* (\([0-9.]*\) s, exact).*/\1/p' "$BIN" cluster --embeddings "$OUT/sil_X.npy" --labels "$OUT/sil_y.npy" \
      --score-labels --backend "$BACKEND")
TSNE=$(best 's/.*after \([0-9.]*\) s.*/\1/p' "$BIN" tsne --embeddings "$OUT/tsne_X.npy" --labels "$OUT/tsne_y.npy" \
      --seed 0 --out "$OUT/tsne.png")
LIN=$(best 's/.*test instances, \([0-9.]*\) s).*/\1/p' "$BIN" linear-eval --embeddings "$OUT/lin_Ztr.npy" \
      --labels "$OUT/lin_ytr.npy" --test-embeddings "$OUT/lin_Zte.npy" --test-labels "$OUT/lin_yte.npy" --runs 1 \
      --epochs 50 --backend "$BACKEND" --quiet)
echo "timing scikit-learn ..." >&2
SK=$("$PY" "$ROOT/tools/bench_eval_sklearn.py" run "$OUT" "$REPS")
skt() { echo "$SK" | sed -n "s/.*\"task\": \"$1\".*\"seconds\": \([0-9.e-]*\).*/\1/p"; }
SKV=$(echo "$SK" | sed -n 's/.*"sklearn": "\([^"]*\)".*/\1/p' | head -n 1)
row() { awk -v a="$2" -v b="$3" -v n="$1" 'BEGIN{printf "| %s | %.2f | %.2f | %.1fx |\n", n, a, b, b / a}'; }
echo
echo "Machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1); backend $BACKEND;" \
     "scikit-learn $SKV; best of $REPS; $(date +%Y-%m-%d)"
echo
echo "| task | dynacl (s) | scikit-learn (s) | speed-up |"
echo "|---|---|---|---|"
row "silhouette, 12,000 x 32, exact" "$SIL" "$(skt silhouette)"
row "t-SNE, 5,000 x 32, 1000 iterations" "$TSNE" "$(skt tsne)"
row "linear evaluation, 100,000 x 32 embeddings, 50 epochs" "$LIN" "$(skt linear)"
