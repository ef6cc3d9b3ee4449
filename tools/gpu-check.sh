#!/usr/bin/env bash
# tools/gpu-check.sh: the CUDA backend decided in one run on a GPU machine (H100/H200 image
# with nvcc 13, PyTorch and compute-sanitizer, no network; at most 8 minutes: the budget
# guard skips what no longer fits): build, the full test suite (its conformance.cuda.* ctests
# included), `dynacl conformance --backend cuda` with JSON, a captured step of primitives only
# (DC_NO_FUSED=1: the composites), the DynaCL step timed in dynacl (eager and
# --graph) and in PyTorch (eager and a CUDA graph) at the three shapes in one table with
# ratios (tools/bench_vs_torch.py), then compute-sanitizer memcheck and racecheck on the
# conformance suite's quick op cases of every kernel family (said so, not failed, where
# the sandbox does not support them). Logs go to build-gpu/gpu-check, a selection to $OUT when it is set; the summary comes last.
#
#   tools/gpu-check.sh              on the GPU machine, from the repository root
#   tools/gpu-check.sh --rehearse   here, without a GPU: the same run end to end against the
#                                   CUDA emulation (-DDC_CUDA_EMU=ON), PyTorch on the CPU and
#                                   a stand-in compute-sanitizer (the emulation's racecheck);
#                                   no timings, but nothing trivial can fail on the GPU
#   tools/gpu-check.sh --prepare    here (Debian, apt): the build dependencies the GPU image
#                                   may lack (cJSON, libcurl, zlib, Check, pkgconf) as .debs
#                                   into .gpu-deps/, to carry along (figures, which need
#                                   cairo, are built off: DC_FIGURES=OFF)
# Environment: GPU_CHECK_BUDGET (seconds, default 470; rehearsal 5400), GPU_CHECK_STEPS
# (timed steps per case, default 200; rehearsal 2), PYTHON (an interpreter with torch).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
DEPS_DIR=.gpu-deps
DEB_PKGS="libcjson1 libcjson-dev zlib1g zlib1g-dev check libsubunit0 libsubunit-dev
  libcurl4 libcurl4-openssl-dev libbrotli1 libgssapi-krb5-2 libidn2-0 libldap-2.5-0 libnghttp2-14 libpsl5
  librtmp1 libssh2-1 libssl3 libzstd1 libcom-err2 libk5crypto3 libkeyutils1 libkrb5-3 libkrb5support0
  libsasl2-2 libsasl2-modules-db libdb5.3 libgnutls30 libgmp10 libhogweed6 libnettle8 libp11-kit0
  libtasn1-6 libunistring2 libffi8 pkgconf pkgconf-bin libpkgconf3"

MODE=gpu
case "${1:-}" in
  "") ;;
  --rehearse) MODE=rehearse ;;
  --prepare) MODE=prepare ;;
  -h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "gpu-check: unknown option $1 (see --help)" >&2; exit 2 ;;
esac

if [ "$MODE" = prepare ]; then
  mkdir -p "$DEPS_DIR"
  grep -qx "/$DEPS_DIR/" .git/info/exclude 2>/dev/null || echo "/$DEPS_DIR/" >>.git/info/exclude
  # shellcheck disable=SC2086
  (cd "$DEPS_DIR" && apt-get download $DEB_PKGS)
  echo "gpu-check: $(find "$DEPS_DIR" -name "*.deb" | wc -l) packages, $(du -sh "$DEPS_DIR" | cut -f1) in $DEPS_DIR/"
  echo "gpu-check: on the GPU machine run tools/gpu-check.sh with $DEPS_DIR carried along"
  exit 0
fi

if [ "$MODE" = rehearse ]; then
  BUILD=build-gpu-rehearsal
  BUDGET=${GPU_CHECK_BUDGET:-5400}
  STEPS=${GPU_CHECK_STEPS:-2}
  WARMUP=1
else
  BUILD=build-gpu
  BUDGET=${GPU_CHECK_BUDGET:-470}
  STEPS=${GPU_CHECK_STEPS:-200}
  WARMUP=20
fi
OUTDIR=$ROOT/$BUILD/gpu-check # every log; $OUT gets a selection
rm -rf "$OUTDIR" && mkdir -p "$OUTDIR"
JOBS=$(nproc 2>/dev/null || echo 16)
T_START=$(date +%s)
DEADLINE=$((T_START + BUDGET)) # steps past it are skipped
declare -a S_NAME S_STATUS S_SECS
FAILED=0

# run NAME TIMEOUT CMD...: log to $OUTDIR/NAME.log, record status and seconds, keep going
run() {
  local name=$1 limit=$2 t0 rc
  shift 2
  t0=$(date +%s)
  if [ $((DEADLINE - t0)) -lt 10 ]; then
    note "$name" "SKIPPED (time budget)"
    FAILED=1
    return 0
  fi
  if [ $((DEADLINE - t0)) -lt "$limit" ]; then limit=$((DEADLINE - t0)); fi
  echo "== $name: $*"
  set +e
  timeout "$limit" "$@" >"$OUTDIR/$name.log" 2>&1
  rc=$?
  set -e
  S_NAME+=("$name") S_SECS+=($(($(date +%s) - t0)))
  if [ $rc -eq 0 ]; then
    S_STATUS+=("ok")
  else
    if [ $rc -eq 124 ]; then S_STATUS+=("TIMEOUT (${limit}s)"); else S_STATUS+=("FAILED (exit $rc)"); fi
    FAILED=1
    echo "gpu-check: $name failed (exit $rc); last lines of $OUTDIR/$name.log:"
    tail -n 25 "$OUTDIR/$name.log" | sed 's/^/    /'
  fi
  return 0
}
note() { S_NAME+=("$1") S_STATUS+=("$2") S_SECS+=(0); }
last_ok() { [ "${S_STATUS[-1]}" = ok ]; }

# ---- machine
PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
  for p in python3 /usr/bin/python3; do
    if "$p" -c 'import torch' 2>/dev/null; then PYTHON=$p && break; fi
  done
fi
{
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ); mode: $MODE; budget ${BUDGET}s; cpus: $JOBS"
  if [ "$MODE" = gpu ]; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,compute_cap --format=csv,noheader 2>&1 || true
    nvcc --version 2>&1 | tail -n 2 || true
    compute-sanitizer --version 2>&1 | tail -n 1 || true
  else
    echo "no GPU: rehearsal against the CUDA emulation (no timings)"
  fi
  if [ -n "$PYTHON" ]; then "$PYTHON" -c 'import torch; print("PyTorch", torch.__version__)' 2>&1; else echo "PyTorch: none"; fi
} | tee "$OUTDIR/machine.txt"

# ---- build dependencies: the system's, else the carried .debs unpacked under /tmp
CMAKE_EXTRA=()
LINK_FLAGS=""
if [ "$MODE" = gpu ]; then
  NVCC=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
  CUDA_LIB=$(cd "$(dirname "$(readlink -f "$NVCC")")/../lib64" 2>/dev/null && pwd || echo /usr/local/cuda/lib64)
  LINK_FLAGS="-Wl,-rpath,$CUDA_LIB" # cuBLAS/cuFFT found at run time even without ld.so.conf entries
  CAP=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d ' .')
  CMAKE_EXTRA+=(-DCMAKE_CUDA_COMPILER="$NVCC" -DDC_CUDA=ON "-DCMAKE_CUDA_ARCHITECTURES=${CAP:-90}")
else
  CMAKE_EXTRA+=(-DDC_CUDA_EMU=ON)
fi
if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists libcjson libcurl zlib check 2>/dev/null; then
  echo "deps: from the system"
else
  if ! ls "$DEPS_DIR"/*.deb >/dev/null 2>&1; then
    echo "gpu-check: pkg-config, cJSON, libcurl, zlib or Check is missing here, and there is no $DEPS_DIR/:"
    echo "gpu-check: run 'tools/gpu-check.sh --prepare' on the dev machine and carry $DEPS_DIR"
    exit 2
  fi
  R=/tmp/dc-gpu-deps
  rm -rf "$R" && mkdir -p "$R/bin"
  for d in "$DEPS_DIR"/*.deb; do dpkg-deb -x "$d" "$R"; done
  LIBS="$R/usr/lib/x86_64-linux-gnu:$R/lib/x86_64-linux-gnu"
  cat >"$R/bin/pkg-config" <<EOF
#!/bin/sh
# carried pkgconf: sees only the carried .pc files, prefixes their paths with $R
export PKG_CONFIG_SYSROOT_DIR="$R" PKG_CONFIG_LIBDIR="$R/usr/lib/x86_64-linux-gnu/pkgconfig:$R/usr/share/pkgconfig"
LD_LIBRARY_PATH="$LIBS" exec "$R/usr/bin/pkgconf" "\$@"
EOF
  chmod +x "$R/bin/pkg-config"
  # DT_RPATH (not RUNPATH) so the carried libraries' own dependencies resolve there too
  CMAKE_EXTRA+=(-DPKG_CONFIG_EXECUTABLE="$R/bin/pkg-config")
  LINK_FLAGS="-Wl,--disable-new-dtags -Wl,-rpath,$LIBS${CUDA_LIB:+:$CUDA_LIB} -Wl,-rpath-link,$LIBS"
  echo "deps: carried ($(find "$DEPS_DIR" -name "*.deb" | wc -l) .debs unpacked in $R)"
fi

# ---- configure and build everything (the suite needs every test)
GEN=()
if command -v ninja >/dev/null 2>&1; then GEN=(-G Ninja); fi
BTYPE=Release
if [ "$MODE" = rehearse ]; then BTYPE=RelWithDebInfo; fi
run configure 120 cmake -S . -B "$BUILD" "${GEN[@]}" -DCMAKE_BUILD_TYPE=$BTYPE -DDC_OPENCL=OFF -DDC_FIGURES=OFF \
  ${LINK_FLAGS:+"-DCMAKE_EXE_LINKER_FLAGS=$LINK_FLAGS"} ${LINK_FLAGS:+"-DCMAKE_SHARED_LINKER_FLAGS=$LINK_FLAGS"} \
  "${CMAKE_EXTRA[@]}"
if last_ok; then run build 300 cmake --build "$BUILD" -j "$JOBS"; fi
if ! last_ok; then
  echo "gpu-check: cannot continue without a build"
  exit 1
fi
BIN=$ROOT/$BUILD/dynacl
"$BIN" backends | tee "$OUTDIR/backends.txt"
grep -q "^cuda .*sm_" "$OUTDIR/backends.txt" || { echo "gpu-check: no usable cuda device (see above)"; exit 1; }

# ---- correctness: the whole suite (the CUDA parts run on cuda; cpu and cpu-ref as the references)
run suite 300 ctest --test-dir "$BUILD" -j "$JOBS" --output-on-failure --timeout 300
cp "$BUILD/Testing/Temporary/LastTest.log" "$OUTDIR/suite_output.txt" 2>/dev/null || true # every test's output
# the composites in a graph: a captured step of primitives only (no host transfer inside it)
run composite_graph 120 env DC_NO_FUSED=1 "$BIN" bench --backend cuda --steps "$STEPS" --warmup "$WARMUP" --graph \
  --json "$OUTDIR/bench_composite_graph.json"
run conformance 180 "$BIN" conformance --backend cuda --json "$OUTDIR/conformance.json"

# ---- timing: dynacl and PyTorch, the same step, one table
if [ -z "$PYTHON" ]; then
  note bench "FAILED (no python with torch; set PYTHON)"
  FAILED=1
else
  TORCH_DEVICE=cuda
  if [ "$MODE" = rehearse ]; then TORCH_DEVICE=cpu; fi
  run bench 240 "$PYTHON" tools/bench_vs_torch.py --device $TORCH_DEVICE --backend cuda --dynacl "$BIN" \
    --steps "$STEPS" --warmup "$WARMUP" --check-loss --json "$OUTDIR/bench.json"
fi

# ---- compute-sanitizer last: the slowest steps, the first to go when time runs out
SAN_BIN=$(command -v compute-sanitizer || true)
if [ "$MODE" = rehearse ]; then
  # the stand-in: runs the program (racecheck: the emulation's, forward vs reverse order)
  # and reports as compute-sanitizer does, so that this script's half is exercised
  mkdir -p "$ROOT/$BUILD/rehearsal-bin"
  SAN_BIN=$ROOT/$BUILD/rehearsal-bin/compute-sanitizer
  cat >"$SAN_BIN" <<'EOF'
#!/usr/bin/env bash
# compute-sanitizer stand-in for tools/gpu-check.sh --rehearse (the CUDA emulation)
tool=memcheck code=1
while [ $# -gt 0 ]; do
  case "$1" in
    --tool) tool=$2; shift 2 ;;
    --error-exitcode) code=$2; shift 2 ;;
    --version) echo "compute-sanitizer stand-in (CUDA emulation)"; exit 0 ;;
    --*) shift 2 ;;
    *) break ;;
  esac
done
echo "========= COMPUTE-SANITIZER (stand-in: the CUDA emulation's $tool)"
if [ "$tool" = racecheck ]; then export DC_CUDA_EMU_RACECHECK=1; fi
"$@"
rc=$?
if [ $rc -eq 0 ]; then
  if [ "$tool" = racecheck ]; then echo "========= RACECHECK SUMMARY: 0 hazards displayed (0 errors, 0 warnings)"
  else echo "========= ERROR SUMMARY: 0 errors"; fi
  exit 0
fi
echo "========= ERROR SUMMARY: 1 error"
exit "$code"
EOF
  chmod +x "$SAN_BIN"
fi
MEMCHECK_CASES="copy_strided add_bcast_mid masked_fill tanh sum_axis0 mean_last matmul_batched matmul_tt
  batchnorm_train_relu batchnorm_eval l2norm log_softmax cross_entropy mse mpxent_authors mpxent_large
  mpxent_tiny_tau maxpool_k3_overlap gather_batch rfft_odd irfft_even bce_logits atan2 rng_normal adamw"
RACECHECK_CASES="sum_axis0 sum_axis1_keep mean_last batchnorm_train_relu batchnorm_eval log_softmax cross_entropy
  mse bce_logits mpxent_authors mpxent_large mpxent_single_seq"
if [ -z "$SAN_BIN" ]; then
  note memcheck "skipped (no compute-sanitizer)"
  note racecheck "skipped (no compute-sanitizer)"
else
  # does this machine let the sanitizer attach? (the H200 sandbox does not)
  set +e
  timeout 90 "$SAN_BIN" --tool memcheck --error-exitcode 3 "$BIN" backends >"$OUTDIR/sanitizer_probe.log" 2>&1
  rc=$?
  set -e
  if [ $rc -eq 0 ]; then
    # shellcheck disable=SC2086
    run memcheck 180 "$SAN_BIN" --tool memcheck --error-exitcode 3 \
      "$BIN" conformance --backend cuda --quick --only "$(echo $MEMCHECK_CASES | tr ' ' ,)"
    # shellcheck disable=SC2086
    run racecheck 150 "$SAN_BIN" --tool racecheck --error-exitcode 3 \
      "$BIN" conformance --backend cuda --quick --only "$(echo $RACECHECK_CASES | tr ' ' ,)"
  elif [ $rc -eq 3 ]; then
    note memcheck "FAILED (errors in the probe: dynacl backends)"
    FAILED=1
  else
    why=$(grep -m 1 -i 'error\|not supported\|unable' "$OUTDIR/sanitizer_probe.log" | cut -c1-70)
    note memcheck "unsupported here: ${why:-exit $rc}"
    note racecheck "unsupported here (see memcheck)"
  fi
fi

# ---- summary
summary() { # runs in the pipeline's subshell: a grep that finds nothing must not end it
  set +e
  echo
  echo "================ gpu-check summary ($(($(date +%s) - T_START)) s, $MODE) ================"
  head -n 3 "$OUTDIR/machine.txt"
  printf "%-12s %-60s %6s\n" step status seconds
  for i in "${!S_NAME[@]}"; do printf "%-12s %-60s %6s\n" "${S_NAME[$i]}" "${S_STATUS[$i]}" "${S_SECS[$i]}"; done
  if [ -f "$OUTDIR/suite.log" ]; then
    grep -E "tests passed|tests failed" "$OUTDIR/suite.log" | tail -n 1
    grep -hE "^test_cuda: out-of" "$OUTDIR/suite_output.txt" | cut -c1-150 | head -n 2
    echo "graph capture: $(grep -c "replays of the captured step match" "$OUTDIR/suite_output.txt") method steps replayed as eager"
  fi
  if [ -f "$OUTDIR/conformance.log" ]; then
    grep -E "^conformance: [0-9]+ passed" "$OUTDIR/conformance.log"
    grep -E "^  (FAIL|SKIP) " "$OUTDIR/conformance.log" | cut -c1-200
    grep -E "^  (train|graph|determinism)" "$OUTDIR/conformance.log" | cut -c1-200
  fi
  for t in memcheck racecheck; do
    [ -f "$OUTDIR/$t.log" ] && grep -E "ERROR SUMMARY|RACECHECK SUMMARY" "$OUTDIR/$t.log" | tail -n 1 | sed "s/^/$t: /"
  done
  if [ -f "$OUTDIR/bench.log" ]; then
    echo
    sed -n '/^loss check/p;/^shape /,$p' "$OUTDIR/bench.log"
    if [ "$MODE" = rehearse ]; then
      echo "(rehearsal: the emulation's and the CPU's times say nothing about a GPU)"
    elif [ -f "$OUTDIR/bench.json" ]; then
      "$PYTHON" - "$OUTDIR/bench.json" <<'EOF'
import json, sys
target = {"harth": 0.10, "ecg": 0.10, "sleepeeg": 0.20}  # ms/step with the step in a CUDA graph
for r in json.load(open(sys.argv[1]))["results"]:
    g = r.get("dynacl_graph")
    if g is not None:
        print("target %-9s dynacl+graph %.3f ms (back to back %.3f) vs %.2f: %s" % (
            r["shape"], g, r.get("dynacl_graph_b2b", float("nan")), target[r["shape"]],
            "met" if g <= target[r["shape"]] else "MISSED"))
EOF
    fi
  fi
  if [ -f "$OUTDIR/bench_composite_graph.json" ] && [ -n "$PYTHON" ]; then
    "$PYTHON" - "$OUTDIR/bench_composite_graph.json" <<'EOF'
import json, sys
try:
    res = json.load(open(sys.argv[1]))["results"]
except (ValueError, KeyError):
    res = []
print("cuda+graph with DC_NO_FUSED=1 (composites), ms/step: " +
      ", ".join("%s %.3f" % (r["shape"], r["ms_per_step_median"]) for r in res))
EOF
  fi
}
summary | tee "$OUTDIR/summary.txt"
if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT"
  for f in summary.txt bench.json conformance.json bench_composite_graph.json; do
    if [ -f "$OUTDIR/$f" ]; then cp "$OUTDIR/$f" "$OUT/"; fi
  done
  for f in "$OUTDIR"/*.log "$OUTDIR"/*.txt; do printf '\n===== %s\n' "$(basename "$f")"; cat "$f"; done >"$OUT/all_logs.txt"
fi
echo "logs: $OUTDIR${OUT:+ (a selection in \$OUT)}"
exit $FAILED
