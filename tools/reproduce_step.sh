#!/usr/bin/env bash
# reproduce_step.sh: one step of a tools/reproduce.sh sweep, the same on one machine and on a
# Slurm cluster: `task N` (line N of OUT/tasks.tsv: pretrain that run, resuming or skipping as
# its folder says, then its embedding, linear evaluation, clustering and t-SNE), `finish` (the
# Figure 3 grid and the tables, once every run is complete), `status N` (exit 0 if task N is
# complete). Not meant to be called by hand: tools/reproduce.sh writes OUT/sweep.env for it.
set -euo pipefail

usage() { echo "usage: tools/reproduce_step.sh OUT task N | finish | status N   (called by tools/reproduce.sh)" >&2; exit 2; }
[ $# -ge 2 ] || usage
OUT=$1
STEP=$2
[ -f "$OUT/sweep.env" ] && [ -f "$OUT/tasks.tsv" ] || {
    echo "reproduce_step.sh: $OUT has no sweep.env or tasks.tsv (written by tools/reproduce.sh)" >&2; exit 2; }
# shellcheck source=/dev/null
. "$OUT/sweep.env"   # DATASET DATA BIN BACKEND EPOCHS PROBE_EPOCHS TSNE_POINTS SAVE_EVERY CLUSTER_FLAGS SEEDS PROTOCOLS

say() { echo "[$(date '+%F %T')] $*"; }

# The fields of task line N ("N<TAB>protocol<TAB>method<TAB>seed") in P M S, the run folder in R.
task_fields() {
    local line
    line=$(awk -F'\t' -v n="$1" '$1 == n' "$OUT/tasks.tsv")
    [ -n "$line" ] || { echo "reproduce_step.sh: no task $1 in $OUT/tasks.tsv" >&2; exit 2; }
    IFS=$'\t' read -r _ P M S <<< "$line"
    R=$OUT/runs/$P/$M-s$S
}

# Run one dynacl command, with its wall time and peak memory when GNU time is there.
run() {
    echo "+ dynacl $*"
    local rc=0
    if [ -x /usr/bin/time ] && /usr/bin/time -f '' true 2>/dev/null; then
        /usr/bin/time -f "[cost] $1: %e s wall, %U s user, %M KB max RSS" "$BIN" "$@" || rc=$?
    else
        "$BIN" "$@" || rc=$?
    fi
    [ $rc -eq 0 ] || { echo "reproduce_step.sh: failed (exit $rc): dynacl $*" >&2; return $rc; }
}

# A value of the run's config.json as cJSON prints it ("key":<TAB>value), quotes removed.
config_value() { sed -n "s/^[[:space:]]*\"$2\":[[:space:]]*\"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}$/\1/p" "$1/config.json" | head -n 1; }

# What a run folder holds, as the trainer's run-folder API sees it: `dynacl run-status` prints
# one line "STAGE: ..." with STAGE none, started (no checkpoint yet), resumable or complete.
run_status() { "$BIN" run-status "$1"; }
pretrain_complete() { local s; s=$(run_status "$1") && [ "${s%%:*}" = complete ]; }

# An output is done when it exists and, for a pretrained run, is not older than the model.
done_after() { [ -s "$1" ] && { [ "$M" = random ] || [ ! "$R/model.safetensors" -nt "$1" ]; }; }

FIRST=${SEEDS%% *}
task_outputs() {   # the files task P M S leaves when it is complete
    echo "$R/linear_eval.json"
    if [ "$M" = random ]; then echo "$R/cluster.json"; else echo "$R/z_test.npy"; fi
    if [ "$S" = "$FIRST" ]; then echo "$OUT/tsne/$P/$M.csv"; fi
}

task_complete() {
    if [ "$M" != random ]; then pretrain_complete "$R" || return 1; fi
    local f
    for f in $(task_outputs); do done_after "$f" || return 1; done
    if [ "$M" != random ] && ! grep -q '"best_j"' "$R/metrics.jsonl" 2>/dev/null; then done_after "$R/cluster.json" || return 1; fi
    return 0
}

# Settings the sweep fixes, against the run's config.json: a folder from other settings is
# never continued or overwritten silently.
check_config() {
    local want got k
    for k in "model=$M" "protocol=$P" "seed=$S" "epochs=$EPOCHS" "backend=$BACKEND" "data=$DATA"; do
        want=${k#*=}
        got=$(config_value "$R" "${k%%=*}")
        if [ "$got" != "$want" ]; then
            echo "reproduce_step.sh: $R holds a run with ${k%%=*} $got, this sweep wants $want;" \
                 "move the folder away (or use another --out) to run it again" >&2
            return 1
        fi
    done
}

pretrain() {
    local status latest
    status=$(run_status "$R") || return 1
    if [ "${status%%:*}" != none ]; then check_config || return 1; fi
    case ${status%%:*} in
        complete) say "pretrain: complete, skipped" ;;
        resumable)   # "... latest RUN/checkpoints/step_N.safetensors; ..."
            latest=${status##* latest }
            say "pretrain: resumed from checkpoints/$(basename "${latest%%;*}" .safetensors)"
            run pretrain --resume "$R" ;;
        started)   # stopped before its first checkpoint: --resume starts it from the beginning
            say "pretrain: started again, no checkpoint yet"
            run pretrain --resume "$R" ;;
        *)
            say "pretrain: started"
            run pretrain --model "$M" --data "$DATA" --seed "$S" --epochs "$EPOCHS" --protocol "$P" \
                --backend "$BACKEND" --save-every "$SAVE_EVERY" --out "$R" --force ;;
    esac
}

evaluate() {   # embedding, linear evaluation, clustering, t-SNE of one run (or of Random Init.)
    local ck=$R/model.safetensors tsne=$OUT/tsne/$P
    local -a pick=(--checkpoint "$ck") method=(--method "$M")
    # shellcheck disable=SC2206
    local -a cflags=($CLUSTER_FLAGS)
    if [ "$M" = random ]; then pick=(--checkpoint random --seed "$S"); method=(); fi
    if [ "$M" != random ]; then
        if done_after "$R/z_test.npy"; then say "embed: done, skipped"; else
            say "embed"
            run embed --checkpoint "$ck" --data "$DATA" --split test --out "$R/z_test.npy" --backend "$BACKEND"
        fi
    fi
    if done_after "$R/linear_eval.json"; then say "linear-eval: done, skipped"; else
        say "linear-eval"
        run linear-eval "${pick[@]}" --data "$DATA" --seeds "$S" --epochs "$PROBE_EPOCHS" --protocol "$P" \
            --backend "$BACKEND" "${method[@]}" --out "$R/linear_eval.json" --quiet
    fi
    if [ "$M" = random ]; then
        if done_after "$R/cluster.json"; then say "cluster: done, skipped"; else
            say "cluster"
            run cluster --checkpoint random --data "$DATA" --seed "$S" --protocol "$P" --backend "$BACKEND" \
                "${cflags[@]}" --out "$R/cluster.json"
        fi
    elif grep -q '"best_j"' "$R/metrics.jsonl" 2>/dev/null; then
        say "cluster: the run logged its clustering scores (best J) while training"
    elif done_after "$R/cluster.json"; then say "cluster: done, skipped"; else
        say "cluster"
        run cluster --run "$R" --data "$DATA" --seed "$S" --protocol "$P" --backend "$BACKEND" --method "$M" \
            "${cflags[@]}" --out "$R/cluster.json"
    fi
    if [ "$S" = "$FIRST" ]; then
        if done_after "$tsne/$M.csv" && done_after "$tsne/$M.png"; then say "tsne: done, skipped"; else
            say "tsne"
            local -a who=(--checkpoint "$ck" "${method[@]}")
            if [ "$M" = random ]; then who=(--checkpoint random); fi
            run tsne "${who[@]}" --data "$DATA" --subset-seed "$S" --protocol "$P" --max-points "$TSNE_POINTS" \
                --backend "$BACKEND" --out "$tsne/$M.png"
        fi
    fi
}

task() {
    task_fields "$1"
    say "task $1: protocol $P, ${M/#random/Random Init.}, seed $S (${SLURM_JOB_ID:+Slurm job ${SLURM_ARRAY_JOB_ID:-$SLURM_JOB_ID}_${SLURM_ARRAY_TASK_ID:-}, }host $(hostname), pid $$)"
    if [ -n "${SLURM_CPUS_PER_TASK:-}" ] && [ -z "${OMP_NUM_THREADS:-}" ]; then export OMP_NUM_THREADS=$SLURM_CPUS_PER_TASK; fi
    mkdir -p "$R" "$OUT/tsne/$P"
    # one task per run folder at a time: a task sent twice fails here and touches nothing
    exec 9> "$R/.task.lock"
    if ! flock -n 9; then
        echo "reproduce_step.sh: another task is working in $R (lock $R/.task.lock); not touching it" >&2
        exit 1
    fi
    if [ "$M" != random ]; then pretrain; fi
    evaluate
    task_complete || { echo "reproduce_step.sh: task $1 ended without all its outputs" >&2; exit 1; }
    say "task $1: complete"
}

finish() {
    local missing=0 n p P M S R runs maps
    while IFS=$'\t' read -r n P M S; do
        R=$OUT/runs/$P/$M-s$S
        if ! task_complete; then
            [ $missing -gt 0 ] || say "finish: incomplete runs (re-run the same tools/reproduce.sh command to run only these):"
            echo "  task $n: protocol $P, $M, seed $S: $R (log: $OUT/logs/task-$n.log)"
            missing=$((missing + 1))
        fi
    done < "$OUT/tasks.tsv"
    if [ $missing -gt 0 ]; then
        echo "reproduce_step.sh: $missing of $(wc -l < "$OUT/tasks.tsv") runs are incomplete; no tables written" >&2
        exit 1
    fi
    for P in $PROTOCOLS; do   # this sweep's runs only, whatever else the folder holds
        runs=() maps=()
        while IFS=$'\t' read -r n p M S; do
            [ "$p" = "$P" ] || continue
            runs+=("$OUT/runs/$P/$M-s$S")
            [ "$S" != "$FIRST" ] || maps+=("$OUT/tsne/$P/$M.csv")
        done < "$OUT/tasks.tsv"
        say "[$P] figure and report"
        run figure --out "$OUT/figure3-$P.png" --title "t-SNE of the balanced test subset ($DATASET, protocol $P)" "${maps[@]}"
        "$BIN" report "${runs[@]}" --protocol "$P" --out "$OUT/report-$P" > "$OUT/report-$P.md.tmp"
        mv "$OUT/report-$P.md.tmp" "$OUT/report-$P.md"
    done
    local parts=()
    for P in $PROTOCOLS; do parts+=("$OUT/report-$P.md"); done
    cat "${parts[@]}" > "$OUT/report.md.tmp"
    mv "$OUT/report.md.tmp" "$OUT/report.md"
    say "finish: $OUT/report.md, $OUT/figure3-*.png"
}

case "$STEP" in
    task) [ $# -eq 3 ] || usage; task "$3" ;;
    status) [ $# -eq 3 ] || usage; task_fields "$3"; task_complete ;;
    finish) [ $# -eq 2 ] || usage; finish ;;
    *) usage ;;
esac
