#!/usr/bin/env bash
# reproduce.sh: the paper's pipeline for one dataset, end to end: prepare -> pretrain every
# available method over several seeds (plus "Random Init.") -> embed -> linear evaluation ->
# clustering (best J over the periodic evaluations) -> t-SNE -> Figure 3 grid -> Tables 2, 3, 5.
# Not a CI job beyond --quick. Usage: tools/reproduce.sh DATASET [--quick] [options]; --help.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: tools/reproduce.sh harth|sleepeeg|ecg|synthetic [--quick] [options]

  --quick             minutes, not days: 10 pretraining epochs, 2 seeds, 10 probe epochs,
                      t-SNE of at most 1500 points (default: the paper's 500 epochs, its seeds,
                      50 probe epochs)
  --protocol P        authors (default) | corrected | both (reports side by side)
  --raw DIR           raw files for `dynacl prepare` (default: ecg -> ../shared/data/mitdb,
                      harth -> data/raw/harth, sleepeeg -> data/raw/sleep-edf)
  --out DIR           output folder (default out/reproduce-DATASET[-quick])
  --backend NAME      cpu | cuda[:N] | opencl[:N] (default cpu)
  --methods LIST      comma-separated methods (default: every one `dynacl pretrain` offers)
  --seeds LIST        comma-separated pretraining seeds (default per dataset, docs/METHOD.md §5)
  --epochs N          pretraining epochs (overrides the default)
  --bin PATH          the dynacl program (default build/dynacl)

Each method's run folder gets config.json, metrics.jsonl, checkpoints (every 5 epochs, so
`dynacl cluster --run` can select the best J as the authors' periodic evaluation did, unless
the runs already log clustering scores), z_test.npy, linear_eval.json and cluster.json.
EOF
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATASET=""
QUICK=0
PROTOCOL=authors
RAW=""
OUT=""
BACKEND=cpu
METHODS=""
SEEDS=""
EPOCHS=""
BIN="$ROOT/build/dynacl"
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --protocol) PROTOCOL=$2; shift ;;
        --raw) RAW=$2; shift ;;
        --out) OUT=$2; shift ;;
        --backend) BACKEND=$2; shift ;;
        --methods) METHODS=$2; shift ;;
        --seeds) SEEDS=$2; shift ;;
        --epochs) EPOCHS=$2; shift ;;
        --bin) BIN=$2; shift ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "reproduce.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) if [ -z "$DATASET" ]; then DATASET=$1; else echo "reproduce.sh: one dataset only" >&2; exit 2; fi ;;
    esac
    shift
done
case "$DATASET" in harth|sleepeeg|ecg|synthetic) ;; *) usage >&2; exit 2 ;; esac
case "$PROTOCOL" in authors|corrected) PROTOCOLS=$PROTOCOL ;; both) PROTOCOLS="authors corrected" ;;
    *) echo "reproduce.sh: --protocol must be authors, corrected or both" >&2; exit 2 ;; esac
[ -x "$BIN" ] || { echo "reproduce.sh: $BIN not found; build first (cmake -B build && cmake --build build)" >&2; exit 1; }

SHARED=${DC_SHARED_DATA:-$ROOT/../shared/data}
if [ -z "$RAW" ]; then
    case "$DATASET" in
        ecg) RAW=$SHARED/mitdb ;;
        harth) RAW=$ROOT/data/raw/harth ;;
        sleepeeg) RAW=$ROOT/data/raw/sleep-edf ;;
    esac
fi
[ -n "$OUT" ] || OUT=$ROOT/out/reproduce-$DATASET$([ $QUICK = 1 ] && echo -quick || true)
mkdir -p "$OUT"
LOG=$OUT/reproduce.log
: > "$LOG"
say() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$LOG"; }
run() { echo "+ $*" >> "$LOG"; "$@" >> "$LOG" 2>&1 || { echo "reproduce.sh: failed: $* (see $LOG)" >&2; tail -n 20 "$LOG" >&2; exit 1; }; }

# ---- settings -------------------------------------------------------------------------------
if [ -z "$SEEDS" ]; then
    if [ $QUICK = 1 ]; then SEEDS="42,53"
    elif [ "$DATASET" = ecg ]; then SEEDS="42,53,64,75"      # the ECG config's seeds (docs/METHOD.md §5)
    else SEEDS="42,53,64,75,86"; fi
fi
SEEDS=${SEEDS//,/ }
[ -n "$EPOCHS" ] || EPOCHS=$([ $QUICK = 1 ] && echo 10 || echo 500)
PROBE_EPOCHS=$([ $QUICK = 1 ] && echo 10 || echo 50)
TSNE_POINTS=$([ $QUICK = 1 ] && echo 1500 || echo 0)
if [ -z "$METHODS" ]; then   # every method the program offers, from `dynacl pretrain --help`
    METHODS=$("$BIN" pretrain --help | sed -n 's/^ *--model STR *\([^(]*\).*/\1/p' | tr -d ' ' | tr '|' ',')
fi
METHODS=${METHODS//,/ }
say "reproduce $DATASET: methods [$METHODS] + random, seeds [$SEEDS], $EPOCHS epochs, protocols [$PROTOCOLS], backend $BACKEND -> $OUT"

# ---- 1. prepare -------------------------------------------------------------------------------
CLUSTER_FLAGS=""
if [ "$DATASET" = synthetic ]; then
    DATA=synthetic
    NTRAIN=$("$BIN" pretrain --epochs 1 --max-steps 1 --out "$OUT/.probe" --force 2>/dev/null | sed -n 's/.*(train \([0-9]*\),.*/\1/p' | head -n 1)
    rm -rf "$OUT/.probe"
else
    DATA=$OUT/data
    if [ ! -f "$DATA/meta.json" ]; then
        [ -d "$RAW" ] || { echo "reproduce.sh: raw $DATASET files not found in $RAW (use --raw, or dynacl fetch-data)" >&2; exit 1; }
        say "prepare $DATASET from $RAW"
        run "$BIN" prepare "$DATASET" --input "$RAW" --out "$DATA" --quiet
    fi
    NTRAIN=$(tr -d "\n" < "$DATA/meta.json" | sed -n "s/.*\"n_train\":[[:space:]]*\([0-9]*\).*/\1/p")
    case "$RAW" in *mitdb*)   # the MIT-BIH substitute's test split holds only AFIB and N
        CLUSTER_FLAGS="--allow-empty-class"
        say "note: mitdb stands in for AFDB; its test split has no AFL or J instances (clustering with --allow-empty-class)" ;;
    esac
fi
[ -n "$NTRAIN" ] || { echo "reproduce.sh: could not read the number of training sequences" >&2; exit 1; }
SAVE_EVERY=$(( 5 * (NTRAIN / 8) ))   # a checkpoint every 5 epochs (batch 8): the validation cadence
[ "$SAVE_EVERY" -ge 1 ] || SAVE_EVERY=1

# ---- 2..7 per protocol ------------------------------------------------------------------------
for P in $PROTOCOLS; do
    RUNS=$OUT/runs/$P
    TSNE=$OUT/tsne/$P
    mkdir -p "$RUNS" "$TSNE"
    FIRST=${SEEDS%% *}
    for M in $METHODS; do
        for S in $SEEDS; do
            R=$RUNS/$M-s$S
            if [ ! -f "$R/model.safetensors" ]; then
                say "[$P] pretrain $M seed $S"
                run "$BIN" pretrain --model "$M" --data "$DATA" --seed "$S" --epochs "$EPOCHS" --protocol "$P" \
                    --backend "$BACKEND" --save-every "$SAVE_EVERY" --out "$R" --force
            fi
            say "[$P] embed, linear evaluation, clustering: $M seed $S"
            run "$BIN" embed --checkpoint "$R/model.safetensors" --data "$DATA" --split test --out "$R/z_test.npy" --backend "$BACKEND"
            run "$BIN" linear-eval --checkpoint "$R/model.safetensors" --data "$DATA" --seeds "$S" --epochs "$PROBE_EPOCHS" \
                --protocol "$P" --backend "$BACKEND" --method "$M" --out "$R/linear_eval.json" --quiet
            if ! grep -q '"best_j"' "$R/metrics.jsonl" 2>/dev/null; then   # no in-training clustering logged
                run "$BIN" cluster --run "$R" --data "$DATA" --seed "$S" --protocol "$P" --backend "$BACKEND" \
                    --method "$M" $CLUSTER_FLAGS --out "$R/cluster.json"
            fi
            if [ "$S" = "$FIRST" ]; then
                run "$BIN" tsne --checkpoint "$R/model.safetensors" --data "$DATA" --subset-seed "$S" --method "$M" \
                    --protocol "$P" --max-points "$TSNE_POINTS" --backend "$BACKEND" --out "$TSNE/$M.png"
            fi
        done
    done
    # "Random Init.": an untrained encoder seeded S through the same protocol (docs/METHOD.md §9 item 17)
    for S in $SEEDS; do
        R=$RUNS/random-s$S
        mkdir -p "$R"
        say "[$P] Random Init. seed $S"
        run "$BIN" linear-eval --checkpoint random --seed "$S" --data "$DATA" --seeds "$S" --epochs "$PROBE_EPOCHS" \
            --protocol "$P" --backend "$BACKEND" --out "$R/linear_eval.json" --quiet
        run "$BIN" cluster --checkpoint random --data "$DATA" --seed "$S" --protocol "$P" --backend "$BACKEND" \
            $CLUSTER_FLAGS --out "$R/cluster.json"
        if [ "$S" = "$FIRST" ]; then
            run "$BIN" tsne --checkpoint random --data "$DATA" --subset-seed "$S" --protocol "$P" \
                --max-points "$TSNE_POINTS" --backend "$BACKEND" --out "$TSNE/random.png"
        fi
    done
    say "[$P] figure and report"
    run "$BIN" figure --out "$OUT/figure3-$P.png" --title "t-SNE of the balanced test subset ($DATASET, protocol $P)" "$TSNE"/*.csv
    "$BIN" report "$RUNS"/* --protocol "$P" --out "$OUT/report-$P" > "$OUT/report-$P.md" 2>> "$LOG"
done

cat "$OUT"/report-*.md > "$OUT/report.md"
cat "$OUT/report.md"
say "done: $OUT/report.md, $OUT/figure3-*.png, runs in $OUT/runs"
