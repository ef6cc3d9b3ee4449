#!/usr/bin/env bash
# fuzz.sh: run every libFuzzer harness of tests/fuzz for MINUTES minutes each, one after the
# other on one core, starting from the seed corpus; then print one line per harness
# (executions, executions per second, corpus size, crashes) for docs/RELIABILITY.md. Builds the
# harnesses first (clang, -DDC_FUZZ=ON) in build-fuzz/. Not a test: a crash does not stop the
# other harnesses, and the exit status says whether any harness crashed.
#
# Usage: tools/fuzz.sh [--build DIR] [--only NAME[,NAME...]] [--jobs N] MINUTES
#   --build DIR   build folder (default build-fuzz); the working corpus is DIR/fuzz-corpus/<name>
#                 (seeded from tests/fuzz/corpus/<name>, which is never written), crashes and
#                 logs go to DIR/fuzz-out/<name>/
#   --only LIST   run only these harnesses (wfdb, edf, harth, npy, safetensors)
#   --jobs N      run N harnesses at a time (default 1: one core, comparable exec/s)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build-fuzz ONLY="" JOBS=1 MINUTES=""
usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
    --build) BUILD=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift ;;
    --only) ONLY=$2; shift ;;
    --jobs) JOBS=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) [ -z "$MINUTES" ] || { echo "fuzz.sh: one MINUTES only" >&2; exit 2; }; MINUTES=$1 ;;
    esac
    shift
done
[[ "$MINUTES" =~ ^[0-9]+([.][0-9]+)?$ ]] && awk "BEGIN{exit !($MINUTES > 0)}" ||
    { echo "fuzz.sh: MINUTES must be a positive number (got '${MINUTES}'); see --help" >&2; exit 2; }
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: --jobs must be >= 1" >&2; exit 2; }
command -v clang >/dev/null || { echo "fuzz.sh: needs clang with libFuzzer (apt-get install clang)" >&2; exit 1; }
SECONDS_EACH=$(awk "BEGIN{printf \"%d\", $MINUTES * 60 + 0.5}")

echo "fuzz.sh: building the harnesses in $BUILD" >&2
mkdir -p "$BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_C_COMPILER=clang -DDC_FUZZ=ON -DDC_BUILD_TESTS=OFF -DDC_CUDA=OFF \
    -DDC_OPENCL=OFF -DDC_FETCH=OFF >"$BUILD/fuzz-configure.log" 2>&1 ||
    { cat "$BUILD/fuzz-configure.log" >&2; exit 1; }
cmake --build "$BUILD" --target fuzz -j"$(nproc)" >"$BUILD/fuzz-build.log" 2>&1 ||
    { tail -40 "$BUILD/fuzz-build.log" >&2; exit 1; }

names=()
for f in "$ROOT"/tests/fuzz/fuzz_*.c; do
    n=$(basename "$f" .c)
    n=${n#fuzz_}
    if [ -n "$ONLY" ] && [[ ",$ONLY," != *",$n,"* ]]; then continue; fi
    names+=("$n")
done
[ ${#names[@]} -gt 0 ] || { echo "fuzz.sh: no harness matches --only $ONLY" >&2; exit 2; }

run_one() {
    local n=$1 corpus=$BUILD/fuzz-corpus/$1 out=$BUILD/fuzz-out/$1
    mkdir -p "$corpus" "$out"
    [ -d "$ROOT/tests/fuzz/corpus/$n" ] && cp -n "$ROOT/tests/fuzz/corpus/$n"/* "$corpus"/ 2>/dev/null || true
    local timer=()
    [ -x /usr/bin/time ] && timer=(/usr/bin/time -f "%U %S" -o "$out/cpu.txt")
    (cd "$out" && "${timer[@]}" "$BUILD/fuzz/fuzz_$n" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 \
        -timeout=10 -print_final_stats=1 -artifact_prefix="$out/" "$corpus" >"$out/log.txt" 2>&1) || true
}

echo "fuzz.sh: ${#names[@]} harness(es), ${MINUTES} min each, $JOBS at a time: ${names[*]}" >&2
running=0
for n in "${names[@]}"; do
    run_one "$n" &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then wait -n || true; running=$((running - 1)); fi
done
wait

# exec/s is libFuzzer's (wall clock); exec/cpu-s divides by the CPU time the harness got, which
# is what one idle core would give on a loaded machine; 10 M an hour is 2778 per second
crashed=0
printf '%-12s %12s %8s %8s %12s %7s %8s\n' harness executions exec/s cpu-s exec/cpu-s corpus crashes
for n in "${names[@]}"; do
    log=$BUILD/fuzz-out/$n/log.txt
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cpu=? per=?
    if [ -s "$BUILD/fuzz-out/$n/cpu.txt" ] && [ -n "$runs" ]; then
        cpu=$(awk '{printf "%.1f", $1 + $2}' "$BUILD/fuzz-out/$n/cpu.txt")
        per=$(awk -v r="$runs" '{c = $1 + $2; printf "%d", (c > 0 ? r / c : 0)}' "$BUILD/fuzz-out/$n/cpu.txt")
    fi
    files=$(find "$BUILD/fuzz-corpus/$n" -type f | wc -l)
    crashes=$(find "$BUILD/fuzz-out/$n" -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' | wc -l)
    [ "$crashes" -eq 0 ] || crashed=1
    printf '%-12s %12s %8s %8s %12s %7s %8s\n' "$n" "${runs:-?}" "${rate:-?}" "$cpu" "$per" "$files" "$crashes"
done
echo "fuzz.sh: $(date -u +%Y-%m-%d) on $(uname -m), $(nproc) cores, clang $(clang -dumpversion); logs in $BUILD/fuzz-out" >&2
exit $crashed
