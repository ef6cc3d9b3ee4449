#!/usr/bin/env bash
# reproduce.sh: the paper's pipeline for one dataset, end to end: prepare -> pretrain every
# available method over several seeds (plus "Random Init.") -> embed -> linear evaluation ->
# clustering (best J over the periodic evaluations) -> t-SNE -> Figure 3 grid -> Tables 2, 3, 5,
# here in sequence or (--slurm) as a Slurm job array plus a dependent job. The steps themselves
# are tools/reproduce_step.sh, shared by both. Not a CI job beyond --quick. --help for usage.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: tools/reproduce.sh harth|sleepeeg|ecg|synthetic [--quick] [options] [--slurm [Slurm options]]

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

On a Slurm cluster (docs/REPRODUCING.md, "On a cluster"):
  --slurm             submit instead of running here: one job array with a task per
                      (protocol, method, seed) run, Random Init. included, then one job that
                      waits for all of them (afterany), checks every run and writes the
                      figure and the tables; prints the job ids and how to follow them
  --partition P       sbatch --partition for both jobs
  --account A         sbatch --account for both jobs
  --time T            time limit of each pretraining task (sbatch --time, e.g. 12:00:00)
  --finish-time T     time limit of the tables job (default: the cluster's default)
  --mem M             memory of each task and of the tables job (sbatch --mem, e.g. 4G)
  --cpus-per-task N   CPUs of each task and of the tables job (OpenMP threads)
  --max-running N     at most N tasks at once (--array=...%N)
  --sbatch ARG        one more sbatch argument for both jobs (repeatable), e.g. --sbatch --qos=long
  With --backend cuda each task also gets --gres=gpu:1 (and uses it as cuda).

Every step is restartable: a run folder that is complete is skipped, one with a checkpoint is
resumed from it, one killed before its first checkpoint starts again, and evaluation outputs
already written for the current model are kept. Re-running the same command (here or with
--slurm) therefore does only what is missing. Tasks are listed in OUT/tasks.tsv; each has one
log, OUT/logs/task-N.log (N its line), and the tables step OUT/logs/finish.log.

Each method's run folder gets config.json, metrics.jsonl, checkpoints (every 5 epochs, so
`dynacl cluster --run` can select the best J as the authors' periodic evaluation did, unless
the runs already log clustering scores), z_test.npy, linear_eval.json and cluster.json.
EOF
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STEP=$ROOT/tools/reproduce_step.sh
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
SLURM=0
PARTITION="" ACCOUNT="" TIME="" FINISH_TIME="" MEM="" CPUS="" MAX_RUNNING=""
EXTRA=()
die() { echo "reproduce.sh: $*" >&2; exit 2; }
need() { [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value (see --help)"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --slurm) SLURM=1 ;;
        -h|--help) usage; exit 0 ;;
        --protocol|--raw|--out|--backend|--methods|--seeds|--epochs|--bin|--partition|--account|--time|\
        --finish-time|--mem|--cpus-per-task|--max-running|--sbatch)
            need "$@"
            case "$1" in
                --protocol) PROTOCOL=$2 ;; --raw) RAW=$2 ;; --out) OUT=$2 ;; --backend) BACKEND=$2 ;;
                --methods) METHODS=$2 ;; --seeds) SEEDS=$2 ;; --epochs) EPOCHS=$2 ;; --bin) BIN=$2 ;;
                --partition) PARTITION=$2 ;; --account) ACCOUNT=$2 ;; --time) TIME=$2 ;;
                --finish-time) FINISH_TIME=$2 ;; --mem) MEM=$2 ;; --cpus-per-task) CPUS=$2 ;;
                --max-running) MAX_RUNNING=$2 ;; --sbatch) EXTRA+=("$2") ;;
            esac
            shift ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) if [ -z "$DATASET" ]; then DATASET=$1; else die "one dataset only"; fi ;;
    esac
    shift
done
case "$DATASET" in harth|sleepeeg|ecg|synthetic) ;; *) usage >&2; exit 2 ;; esac
case "$PROTOCOL" in authors|corrected) PROTOCOLS=$PROTOCOL ;; both) PROTOCOLS="authors corrected" ;;
    *) die "--protocol must be authors, corrected or both" ;; esac
posint() { [[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1 must be a positive integer, not '$2'"; }
[ -z "$EPOCHS" ] || posint --epochs "$EPOCHS"
[ -z "$SEEDS" ] || [[ $SEEDS =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--seeds must be comma-separated integers, not '$SEEDS'"
[ -z "$CPUS" ] || posint --cpus-per-task "$CPUS"
[ -z "$MAX_RUNNING" ] || posint --max-running "$MAX_RUNNING"
if [ $SLURM = 0 ] && [ -n "$PARTITION$ACCOUNT$TIME$FINISH_TIME$MEM$CPUS$MAX_RUNNING${EXTRA[*]}" ]; then
    die "the Slurm options (--partition, --account, --time, --mem, ...) need --slurm"
fi
if [ $SLURM = 1 ] && [[ $BACKEND =~ ^cuda:[1-9] ]]; then
    die "with --slurm each task gets one GPU (--gres=gpu:1), which it sees as cuda:0: use --backend cuda"
fi
[ -x "$BIN" ] || { echo "reproduce.sh: $BIN not found; build first (cmake -B build && cmake --build build)" >&2; exit 1; }
if [ $SLURM = 1 ]; then
    command -v sbatch > /dev/null || { echo "reproduce.sh: --slurm: sbatch not found (run this where the Slurm client commands are)" >&2; exit 1; }
fi
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")   # tasks may start in another folder

SHARED=${DC_SHARED_DATA:-$ROOT/../shared/data}
if [ -z "$RAW" ]; then
    case "$DATASET" in
        ecg) RAW=$SHARED/mitdb ;;
        harth) RAW=$ROOT/data/raw/harth ;;
        sleepeeg) RAW=$ROOT/data/raw/sleep-edf ;;
    esac
fi
[ -n "$OUT" ] || OUT=$ROOT/out/reproduce-$DATASET$([ $QUICK = 1 ] && echo -quick || true)
mkdir -p "$OUT/logs"
OUT=$(cd "$OUT" && pwd)
LOG=$OUT/reproduce.log
say() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$LOG"; }
run() { echo "+ $*" >> "$LOG"; "$@" >> "$LOG" 2>&1 || { echo "reproduce.sh: failed: $* (see $LOG)" >&2; tail -n 20 "$LOG" >&2; exit 1; }; }
# write a file whole or not at all
put() { cat > "$1.tmp.$$" && mv "$1.tmp.$$" "$1"; }

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
OFFERED=$("$BIN" pretrain --help | sed -n 's/^ *--model STR *\([^(]*\).*/\1/p' | tr -d ' ' | tr '|' ' ')
[ -n "$METHODS" ] || METHODS=$OFFERED   # every method the program offers
METHODS=${METHODS//,/ }
for M in $METHODS; do
    [[ " $OFFERED " == *" $M "* ]] || die "unknown method '$M' (dynacl pretrain offers: $OFFERED)"
done
say "reproduce $DATASET: methods [$METHODS] + random, seeds [$SEEDS], $EPOCHS epochs, protocols [$PROTOCOLS], backend $BACKEND -> $OUT"

# ---- 1. prepare (here, also with --slurm: seconds) ------------------------------------------
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

# ---- 2. the sweep: settings for reproduce_step.sh and one task per run ------------------------
if [ -f "$OUT/slurm/jobs" ] && command -v squeue > /dev/null; then   # never two submissions at once
    read -r -a JOBS < "$OUT/slurm/jobs"
    LEFT=$(squeue -h -o '%i %T' -j "$(IFS=,; echo "${JOBS[*]}")" 2>/dev/null || true)
    if [ -n "$LEFT" ]; then
        echo "reproduce.sh: jobs of an earlier submission for $OUT are still queued or running:" >&2
        echo "$LEFT" | sed 's/^/  /' >&2
        echo "wait for them (squeue -j $(IFS=,; echo "${JOBS[*]}")) or cancel them (scancel ${JOBS[*]}) first" >&2
        exit 1
    fi
fi
for v in DATASET DATA BIN BACKEND EPOCHS PROBE_EPOCHS TSNE_POINTS SAVE_EVERY CLUSTER_FLAGS SEEDS PROTOCOLS; do
    printf '%s=%q\n' "$v" "${!v}"
done | put "$OUT/sweep.env"
N=0
for P in $PROTOCOLS; do
    for M in $METHODS random; do   # "Random Init.": an untrained encoder seeded S (docs/METHOD.md §9 item 17)
        for S in $SEEDS; do N=$((N + 1)); printf '%d\t%s\t%s\t%s\n' $N "$P" "$M" "$S"; done
    done
done | put "$OUT/tasks.tsv"
N=$(wc -l < "$OUT/tasks.tsv")

# ---- 3a. here, in sequence ---------------------------------------------------------------------
if [ $SLURM = 0 ]; then
    while IFS=$'\t' read -r n P M S; do
        say "task $n/$N: [$P] ${M/#random/Random Init.} seed $S (log: logs/task-$n.log)"
        bash "$STEP" "$OUT" task "$n" >> "$OUT/logs/task-$n.log" 2>&1 < /dev/null || {
            echo "reproduce.sh: task $n failed (see $OUT/logs/task-$n.log)" >&2; tail -n 20 "$OUT/logs/task-$n.log" >&2; exit 1; }
    done < "$OUT/tasks.tsv"
    say "figure and report (log: logs/finish.log)"
    bash "$STEP" "$OUT" finish >> "$OUT/logs/finish.log" 2>&1 || {
        echo "reproduce.sh: the tables step failed (see $OUT/logs/finish.log)" >&2; tail -n 20 "$OUT/logs/finish.log" >&2; exit 1; }
    cat "$OUT/report.md"
    say "done: $OUT/report.md, $OUT/figure3-*.png, runs in $OUT/runs"
    exit 0
fi

# ---- 3b. on Slurm: an array of the tasks not yet complete, then the tables job -----------------
WANT=()
for n in $(seq 1 "$N"); do bash "$STEP" "$OUT" status "$n" 2>/dev/null || WANT+=("$n"); done
RANGES=""   # 1 2 3 5 -> 1-3,5
i=0
while [ $i -lt ${#WANT[@]} ]; do
    a=${WANT[$i]} b=$a
    while [ $((i + 1)) -lt ${#WANT[@]} ] && [ "${WANT[$((i + 1))]}" -eq $((b + 1)) ]; do i=$((i + 1)); b=${WANT[$i]}; done
    RANGES+=${RANGES:+,}$a$([ "$b" = "$a" ] || echo "-$b")
    i=$((i + 1))
done
COMMON=(--parsable --requeue --open-mode=append)
[ -z "$PARTITION" ] || COMMON+=("--partition=$PARTITION")
[ -z "$ACCOUNT" ] || COMMON+=("--account=$ACCOUNT")
[ -z "$MEM" ] || COMMON+=("--mem=$MEM")
[ -z "$CPUS" ] || COMMON+=("--cpus-per-task=$CPUS")
COMMON+=("${EXTRA[@]}")
mkdir -p "$OUT/slurm"
printf '#!/bin/bash\n# one pretraining task of %s: line $SLURM_ARRAY_TASK_ID of tasks.tsv\nexec bash %q %q task "$SLURM_ARRAY_TASK_ID"\n' \
    "$OUT" "$STEP" "$OUT" | put "$OUT/slurm/task.sbatch"
printf '#!/bin/bash\n# the figure and the tables of %s, once every task is complete\nexec bash %q %q finish\n' \
    "$OUT" "$STEP" "$OUT" | put "$OUT/slurm/finish.sbatch"
submit() {   # sbatch ARGS... -> the job id
    local id
    echo "+ sbatch $(printf '%q ' "$@")" >> "$LOG"
    id=$(sbatch "$@") || { echo "reproduce.sh: sbatch failed: sbatch $*" >&2; exit 1; }
    id=${id%%;*}
    [[ $id =~ ^[0-9]+$ ]] || { echo "reproduce.sh: sbatch answered '$id', not a job id" >&2; exit 1; }
    echo "$id"
}
JOBS=()
DEP=()
if [ -n "$RANGES" ]; then
    TASK_ARGS=("${COMMON[@]}" --job-name="dynacl-$DATASET" --array="$RANGES${MAX_RUNNING:+%$MAX_RUNNING}"
               --output="$OUT/logs/task-%a.log")
    [ -z "$TIME" ] || TASK_ARGS+=("--time=$TIME")
    [[ $BACKEND != cuda* ]] || TASK_ARGS+=(--gres=gpu:1)
    ARRAY=$(submit "${TASK_ARGS[@]}" "$OUT/slurm/task.sbatch")
    JOBS+=("$ARRAY")
    DEP=("--dependency=afterany:$ARRAY")
    say "submitted job array $ARRAY: ${#WANT[@]} of $N tasks (--array=$RANGES${MAX_RUNNING:+%$MAX_RUNNING}); the rest are complete"
else
    say "every task is complete; submitting only the tables job"
fi
FIN_ARGS=("${COMMON[@]}" --job-name="dynacl-$DATASET-tables" "${DEP[@]}" --output="$OUT/logs/finish.log")
[ -z "$FINISH_TIME" ] || FIN_ARGS+=("--time=$FINISH_TIME")
FIN=$(submit "${FIN_ARGS[@]}" "$OUT/slurm/finish.sbatch")
JOBS+=("$FIN")
echo "${JOBS[*]}" | put "$OUT/slurm/jobs"
echo "$(date '+%F %T') ${JOBS[*]} array=${RANGES:-none}" >> "$OUT/slurm/submissions"
say "submitted tables job $FIN${DEP:+ (runs when the array has ended: afterany)}"
IDS=$(IFS=,; echo "${JOBS[*]}")
cat <<EOF
follow:  squeue -j $IDS
         sacct -j $IDS --format=JobID%16,JobName%22,State,Elapsed,MaxRSS,ExitCode
logs:    $OUT/logs/task-N.log (N: the task's line in $OUT/tasks.tsv), $OUT/logs/finish.log
result:  $OUT/report.md once job $FIN has ended; if a task failed, finish.log lists the
         incomplete runs, and the same command submits only those again
EOF
