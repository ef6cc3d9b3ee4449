#!/usr/bin/env bash
# test_reproduce_sweep.sh: tools/reproduce.sh's sweep without a cluster: what --slurm hands to
# sbatch (stand-ins for sbatch/squeue record their arguments: options passed through,
# --gres=gpu:1 only with cuda, the array throttle, only incomplete tasks, no second submission
# while jobs are queued, nonsense rejected) and how a task restarts (complete: skipped;
# checkpoint: resumed; killed before one: started again; other settings or a busy folder: refused).
# The sweep on a real Slurm is test_reproduce_slurm.sh.
set -euo pipefail
SRC=${DC_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${DC_DYNACL_BIN:-$SRC/build/dynacl}
fail() { echo "FAIL: $*"; exit 1; }
[ -x "$BIN" ] || fail "$BIN not built"
T=$(mktemp -d /tmp/dc_submit_test.XXXXXX)
trap 'rc=$?; [ $rc -ne 0 ] && echo "test folder kept: $T" || rm -rf "$T"' EXIT

mkdir -p "$T/fake"
cat > "$T/fake/sbatch" << EOF
#!/bin/bash
echo "\$*" >> "$T/sbatch.calls"
echo "\$((1000 + \$(wc -l < "$T/sbatch.calls")));fake"
EOF
cat > "$T/fake/squeue" << EOF
#!/bin/bash
echo "\$*" >> "$T/squeue.calls"
cat "$T/queued" 2> /dev/null || true
EOF
chmod +x "$T/fake/sbatch" "$T/fake/squeue"
export PATH=$T/fake:$PATH
R="$SRC/tools/reproduce.sh"
BASE=(synthetic --quick --methods cpc --seeds 42 --epochs 1 --bin "$BIN")

echo "== rejected"
expect_2() {   # expect_2 MESSAGE OPTIONS...: exit status 2 and the message
    local rc=0 msg=$1
    shift
    "$R" "${BASE[@]}" --out "$T/x" "$@" > "$T/err" 2>&1 || rc=$?
    [ $rc = 2 ] && grep -q -- "$msg" "$T/err" || { cat "$T/err"; fail "$* should exit 2 saying '$msg' (got $rc)"; }
}
expect_2 "need --slurm" --time 10:00
expect_2 "--max-running must be a positive integer" --slurm --max-running 0
expect_2 "--cpus-per-task must be a positive integer" --slurm --cpus-per-task two
expect_2 "use --backend cuda" --slurm --backend cuda:1
expect_2 "--partition needs a value" --slurm --partition
expect_2 "unknown method 'nonesuch'" --methods nonesuch
[ ! -e "$T/sbatch.calls" ] || fail "sbatch called for a rejected command"

echo "== cpu: options passed through, two jobs"
"$R" "${BASE[@]}" --out "$T/a" --slurm --partition short --account lab --time 1:00:00 --finish-time 0:30:00 \
    --mem 3G --cpus-per-task 4 --max-running 3 --sbatch --qos=low > "$T/out1" 2>&1 || { cat "$T/out1"; fail "submission"; }
[ "$(wc -l < "$T/sbatch.calls")" = 2 ] || fail "expected 2 sbatch calls"
ARR=$(sed -n 1p "$T/sbatch.calls") FIN=$(sed -n 2p "$T/sbatch.calls")
for want in --parsable --requeue --open-mode=append --partition=short --account=lab --mem=3G --cpus-per-task=4 --qos=low \
    --time=1:00:00 "--array=1-2%3" "--output=$T/a/logs/task-%a.log" "$T/a/slurm/task.sbatch"; do
    [[ " $ARR " == *" $want "* ]] || fail "array job lacks $want: $ARR"
done
[[ $ARR != *gres* ]] || fail "cpu tasks asked for a GPU: $ARR"
for want in --partition=short --account=lab --mem=3G --cpus-per-task=4 --qos=low --time=0:30:00 \
    --dependency=afterany:1001 "--output=$T/a/logs/finish.log" "$T/a/slurm/finish.sbatch"; do
    [[ " $FIN " == *" $want "* ]] || fail "tables job lacks $want: $FIN"
done
[[ $FIN != *--array* && $FIN != *gres* ]] || fail "tables job: $FIN"
[ "$(cat "$T/a/slurm/jobs")" = "1001 1002" ] || fail "slurm/jobs: $(cat "$T/a/slurm/jobs")"
grep -q "squeue -j 1001,1002" "$T/out1" && grep -q "sacct -j 1001,1002" "$T/out1" || fail "no squeue/sacct commands printed"
printf '1\tauthors\tcpc\t42\n2\tauthors\trandom\t42\n' | cmp - "$T/a/tasks.tsv" || fail "tasks.tsv: $(cat "$T/a/tasks.tsv")"
grep -q 'exec bash .*reproduce_step.sh .* task "$SLURM_ARRAY_TASK_ID"' "$T/a/slurm/task.sbatch" || fail "task.sbatch: $(cat "$T/a/slurm/task.sbatch")"

echo "== no second submission while the first one's jobs are queued"
echo "1001_2 PENDING" > "$T/queued"
rc=0
"$R" "${BASE[@]}" --out "$T/a" --slurm > "$T/out2" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q "still queued or running" "$T/out2" && grep -q "scancel 1001 1002" "$T/out2" || { cat "$T/out2"; fail "re-submission while queued"; }
grep -q -- "-j 1001,1002" "$T/squeue.calls" || fail "squeue not asked about jobs 1001,1002"
[ "$(wc -l < "$T/sbatch.calls")" = 2 ] || fail "sbatch called while jobs were queued"
rm "$T/queued"

echo "== cuda: one GPU per task, none for the tables"
"$R" "${BASE[@]}" --out "$T/b" --slurm --backend cuda > "$T/out3" 2>&1 || { cat "$T/out3"; fail "cuda submission"; }
ARR=$(sed -n 3p "$T/sbatch.calls") FIN=$(sed -n 4p "$T/sbatch.calls")
[[ " $ARR " == *" --gres=gpu:1 "* && " $ARR " == *" --array=1-2 "* ]] || fail "cuda array job: $ARR"
[[ $FIN != *gres* ]] || fail "the tables job asked for a GPU: $FIN"
grep -q "^BACKEND=cuda$" "$T/b/sweep.env" || fail "sweep.env: $(cat "$T/b/sweep.env")"

echo "== after a local run everything is complete: only the tables job is submitted"
"$R" "${BASE[@]}" --out "$T/c" > "$T/out4" 2>&1 || { tail -n 20 "$T/out4"; fail "local run"; }
[ -f "$T/c/report.md" ] && [ -f "$T/c/logs/task-1.log" ] && [ -f "$T/c/logs/task-2.log" ] || fail "local run outputs"
rm "$T/c/runs/authors/random-s42/linear_eval.json"   # one missing output: task 2 again, only it
"$R" "${BASE[@]}" --out "$T/c" --slurm > "$T/out5" 2>&1 || { cat "$T/out5"; fail "submission after the local run"; }
ARR=$(sed -n 5p "$T/sbatch.calls")
[[ " $ARR " == *" --array=2 "* ]] || fail "expected --array=2 only: $ARR"
grep -q "1 of 2 tasks" "$T/out5" || fail "$(cat "$T/out5")"
# the task itself, run here as Slurm would run it: it redoes only the missing output
SLURM_ARRAY_TASK_ID=2 bash "$T/c/slurm/task.sbatch" >> "$T/c/logs/task-2.log" 2>&1 || fail "task 2 by its sbatch script"
awk '/task 2: protocol/ { last = "" } { last = last $0 "\n" } END { printf "%s", last }' "$T/c/logs/task-2.log" > "$T/last"
grep -q "\] linear-eval$" "$T/last" && grep -q "cluster: done, skipped" "$T/last" && grep -q "tsne: done, skipped" "$T/last" \
    && [ "$(grep -c '^+ dynacl' "$T/last")" = 1 ] || { cat "$T/last"; fail "task 2 did not redo just the linear evaluation"; }
bash "$SRC/tools/reproduce_step.sh" "$T/c" status 2 || fail "task 2 is not complete after its re-run"
"$R" "${BASE[@]}" --out "$T/c" --slurm > "$T/out6" 2>&1 || { cat "$T/out6"; fail "submission with all complete"; }
[ "$(wc -l < "$T/sbatch.calls")" = 7 ] || fail "expected only the tables job"
FIN=$(sed -n 7p "$T/sbatch.calls")
[[ $FIN != *--array* && $FIN != *--dependency* && $FIN == *finish.sbatch* ]] || fail "lone tables job: $FIN"
grep -q "every task is complete" "$T/out6" || fail "$(cat "$T/out6")"
echo "== restarts of a task, here"
step() { bash "$SRC/tools/reproduce_step.sh" "$T/c" task 1 > "$T/step.log" 2>&1; }
C=$T/c/runs/authors/cpc-s42
rm "$C/model.safetensors" "$C/state.safetensors"   # stopped after its last checkpoint
step || { cat "$T/step.log"; fail "resume"; }
grep -q "pretrain: resumed from checkpoints/$(cat "$C/checkpoints/latest")" "$T/step.log" && grep -q "^+ dynacl pretrain --resume $C$" "$T/step.log" \
    || { cat "$T/step.log"; fail "not resumed from the checkpoint"; }
grep -q "^+ dynacl embed" "$T/step.log" || fail "the resumed run's new model was not embedded again"
find "$C" -mindepth 1 ! -name config.json ! -name .task.lock -exec rm -rf {} +   # stopped before a checkpoint
step || { cat "$T/step.log"; fail "restart"; }
grep -q "pretrain: started again, no checkpoint yet" "$T/step.log" && grep -q "^+ dynacl pretrain --resume $C$" "$T/step.log" \
    && [ -f "$C/state.safetensors" ] \
    || { cat "$T/step.log"; fail "not started again"; }
step && grep -q "pretrain: complete, skipped" "$T/step.log" && [ "$(grep -c '^+ dynacl' "$T/step.log")" = 0 ] \
    || { cat "$T/step.log"; fail "a complete task ran something"; }
sed -i 's/"epochs":\t1,/"epochs":\t2,/' "$C/config.json"   # a folder from other settings
rm "$C/state.safetensors"
rc=0; step || rc=$?
[ $rc = 1 ] && grep -q "holds a run with epochs 2, this sweep wants 1" "$T/step.log" && [ -f "$C/model.safetensors" ] \
    || { cat "$T/step.log"; fail "a run of other settings was not refused"; }
sed -i 's/"epochs":\t2,/"epochs":\t1,/' "$C/config.json"
exec 8> "$C/.task.lock"
flock 8   # another task holds the folder
rc=0; step || rc=$?
[ $rc = 1 ] && grep -q "another task is working in $C" "$T/step.log" && [ ! -f "$C/state.safetensors" ] \
    || { cat "$T/step.log"; fail "a busy folder was touched"; }
exec 8>&-
echo "PASS"
