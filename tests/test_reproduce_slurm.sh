#!/usr/bin/env bash
# test_reproduce_slurm.sh: `tools/reproduce.sh --slurm` against a real Slurm (Debian's slurmctld,
# slurmd, slurm-client, munge) brought up on localhost: a --quick sweep of two methods and two
# seeds on the embedded synthetic dataset gives the same Tables 2 and 3 as the local run, after
# one task is cancelled mid-run and the sweep re-submitted, with no step run twice. Skips (77)
# without the packages or root, unless DC_REQUIRE_SLURM=1. Env: DC_SOURCE_DIR, DC_DYNACL_BIN.
set -euo pipefail
export PATH=$PATH:/usr/sbin:/sbin
SRC=${DC_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
REAL_BIN=${DC_DYNACL_BIN:-$SRC/build/dynacl}

skip() {
    if [ "${DC_REQUIRE_SLURM:-0}" = 1 ]; then echo "FAIL: $* (DC_REQUIRE_SLURM=1 requires the Slurm test)"; exit 1; fi
    echo "SKIP: $*"
    exit 77
}
fail() { echo "FAIL: $*"; exit 1; }
for c in munged slurmctld slurmd sbatch squeue scancel sinfo flock; do
    command -v "$c" > /dev/null || skip "$c not found (apt-get install slurmctld slurmd slurm-client munge)"
done
[ "$(id -u)" = 0 ] || skip "not root: slurmd must be root to start jobs"
[ -x "$REAL_BIN" ] || fail "$REAL_BIN not built"

T=$(mktemp -d /tmp/dc_slurm_test.XXXXXX)
chmod 755 "$T"   # munged wants every folder above its socket reachable by all
# shellcheck source=support/slurm_cluster.sh
. "$SRC/tests/support/slurm_cluster.sh"
cleanup() {
    local rc=$?
    slurm_down
    if [ $rc -ne 0 ]; then
        echo "--- test folder $T kept; Slurm logs:"
        tail -n 15 "$T"/slurm/log/slurmctld.log "$T"/slurm/log/slurmd.log 2> /dev/null || true
        for f in "$T"/sweep/logs/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 8 "$f"; }; done
    else
        rm -rf "$T"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- the dynacl the sweep calls: the real one, plus a record of every call; the first
# pretraining of dynacl seed 53 is stopped (SIGSTOP) at its first checkpoint so that the test
# can cancel that task while it runs, after a checkpoint and before the end
mkdir -p "$T/bin"
TARGET=$T/sweep/runs/authors/dynacl-s53
cat > "$T/bin/dynacl" << EOF
#!/bin/bash
echo "\$*" >> "$T/calls.log"
if [ "\$1" = pretrain ] && [[ " \$* " == *" --out $TARGET --force "* ]] && [ ! -e "$T/paused" ]; then
    "$REAL_BIN" "\$@" &
    pid=\$!
    while kill -0 \$pid 2> /dev/null; do
        if [ -f "$TARGET/checkpoints/latest" ]; then kill -STOP \$pid; echo \$pid > "$T/paused"; break; fi
        sleep 0.02
    done
    wait \$pid
    exit \$?
fi
exec "$REAL_BIN" "\$@"
EOF
chmod +x "$T/bin/dynacl"

wait_jobs() {   # wait_jobs IDS SECONDS: until squeue lists none of the jobs
    local i
    for i in $(seq $(($2 * 2))); do
        [ -z "$(squeue -h -j "$1" 2> /dev/null)" ] && return 0
        sleep 0.5
    done
    squeue -j "$1"
    fail "jobs $1 still queued or running after $2 s"
}

COMMON=(synthetic --quick --methods dynacl,cpc --seeds 42,53)
echo "== local run"
timeout 600 "$SRC/tools/reproduce.sh" "${COMMON[@]}" --out "$T/local" > "$T/local.out" 2>&1 || { tail -n 30 "$T/local.out"; fail "local run"; }

echo "== Slurm cluster"
slurm_up "$T/slurm" || fail "could not start the local Slurm cluster"

echo "== sweep: submit, cancel task 2 (dynacl seed 53) at its first checkpoint"
SWEEP=("${COMMON[@]}" --out "$T/sweep" --bin "$T/bin/dynacl" --slurm --cpus-per-task 1 --mem 1G --time 20:00 --max-running 2)
"$SRC/tools/reproduce.sh" "${SWEEP[@]}" > "$T/submit1.out" 2>&1 || { cat "$T/submit1.out"; fail "first submission"; }
cat "$T/submit1.out"
read -r ARRAY FIN < "$T/sweep/slurm/jobs"
grep -q "squeue -j $ARRAY,$FIN" "$T/submit1.out" && grep -q "sacct -j $ARRAY,$FIN" "$T/submit1.out" \
    || fail "the submission does not print the squeue/sacct commands for jobs $ARRAY,$FIN"
grep -q "job array $ARRAY: 6 of 6 tasks (--array=1-6%2)" "$T/submit1.out" || fail "array of 6 tasks, 2 at a time"
for _ in $(seq 1500); do [ -f "$T/paused" ] && break; sleep 0.2; done
[ -f "$T/paused" ] || fail "task 2 never reached its first checkpoint"
[ -f "$TARGET/model.safetensors" ] && fail "task 2 finished before it could be cancelled"
scancel "${ARRAY}_2"
wait_jobs "$ARRAY,$FIN" 600
grep -q "task 2: protocol authors, dynacl, seed 53" "$T/sweep/logs/finish.log" \
    && grep -q "1 of 6 runs are incomplete; no tables written" "$T/sweep/logs/finish.log" \
    || { cat "$T/sweep/logs/finish.log"; fail "the tables job does not report the cancelled run"; }
[ ! -e "$T/sweep/report.md" ] || fail "a report was written with a run missing"

echo "== re-submit: only task 2, resumed from its checkpoint"
"$SRC/tools/reproduce.sh" "${SWEEP[@]}" > "$T/submit2.out" 2>&1 || { cat "$T/submit2.out"; fail "second submission"; }
cat "$T/submit2.out"
read -r ARRAY2 FIN2 < "$T/sweep/slurm/jobs"
grep -q "job array $ARRAY2: 1 of 6 tasks (--array=2%2)" "$T/submit2.out" || fail "the re-submission is not task 2 alone"
wait_jobs "$ARRAY2,$FIN2" 600
[ -f "$T/sweep/report.md" ] || { cat "$T/sweep/logs/finish.log"; fail "no report after the re-submission"; }

echo "== nothing ran twice"
count() { grep -c -- "$1" "$T/calls.log" || true; }
for M in dynacl cpc; do
    for S in 42 53; do
        R=$T/sweep/runs/authors/$M-s$S
        [ "$(count "^pretrain --model $M --data synthetic --seed $S .* --out $R --force$")" = 1 ] || fail "$M seed $S: pretraining not started exactly once"
        [ "$(count "^embed --checkpoint $R/")" = 1 ] || fail "$M seed $S: embedded more than once"
        [ "$(count "^linear-eval --checkpoint $R/")" = 1 ] || fail "$M seed $S: linear evaluation not run exactly once"
    done
    [ "$(count "^tsne --checkpoint $T/sweep/runs/authors/$M-s42/")" = 1 ] || fail "$M: t-SNE not run exactly once"
done
for S in 42 53; do
    [ "$(count "^linear-eval --checkpoint random --seed $S ")" = 1 ] || fail "Random Init. seed $S: linear evaluation not run exactly once"
done
[ "$(count "^pretrain --resume")" = 1 ] && [ "$(count "^pretrain --resume $TARGET$")" = 1 ] || fail "expected one resume, of task 2"
grep -q "pretrain: resumed from checkpoints/step_00000100" "$T/sweep/logs/task-2.log" || fail "task 2 did not resume from step 100"
for n in 1 2 3 4 5 6; do
    want=$([ $n = 2 ] && echo 2 || echo 1)
    [ "$(grep -c "task $n: protocol" "$T/sweep/logs/task-$n.log")" = "$want" ] || fail "task $n: not $want attempt(s) in its log"
done
# the resumed run's log holds each training step once (the trainer trims what it redoes)
steps=$(sed -n 's/^{"step": \([0-9]*\), .*/\1/p' "$TARGET/metrics.jsonl")
[ "$(wc -l <<< "$steps")" = 20 ] && [ -z "$(sort -n <<< "$steps" | uniq -d)" ] || fail "metrics.jsonl of task 2: $(tr '\n' ' ' <<< "$steps")"

echo "== the sweep's tables equal the local run's"
for f in table2.csv table3.csv; do
    cmp "$T/local/report-authors/$f" "$T/sweep/report-authors/$f" || fail "$f differs"
done
# Table 5 is wall time, different on every run; Tables 2 and 3 come before it
diff <(sed '/^### Table 5/,$d' "$T/local/report.md") <(sed '/^### Table 5/,$d' "$T/sweep/report.md") || fail "report.md differs"
grep -q "| DynaCL | " "$T/sweep/report.md" && grep -q "| CPC | " "$T/sweep/report.md" && grep -q "| Random Init. | " "$T/sweep/report.md" \
    || fail "report.md lacks a method"
echo "PASS: Slurm sweep (6 tasks, one cancelled and resumed) matches the local run"
