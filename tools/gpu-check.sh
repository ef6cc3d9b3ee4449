#!/usr/bin/env bash
# tools/gpu-check.sh: the CUDA backend's check on a GPU machine in one run (~3 min on a
# 16-core H100, budget 5): build for sm_90 (Release), parity suite on cuda, test_cuda (200
# steps against cpu, graph replay, MP-Xent sizes, OOM), compute-sanitizer memcheck on a
# parity subset covering every kernel family, `dynacl bench` eager and --graph. Logs and
# JSON go to build-gpu/gpu-check (a selection to $OUT when set); a summary table is last.

#   tools/gpu-check.sh             on the GPU machine, from the repository root
#   tools/gpu-check.sh --prepare   here (Debian, apt): fetch the build dependencies the GPU
#                                  image may lack (cJSON, libcurl, zlib, Check, pkgconf) as
#                                  .debs into .gpu-deps/, to carry along (figures, which need
#                                  cairo, are built off: DC_FIGURES=OFF)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
DEPS_DIR=.gpu-deps
DEB_PKGS="libcjson1 libcjson-dev zlib1g zlib1g-dev check libsubunit0 libsubunit-dev
  libcurl4 libcurl4-openssl-dev libbrotli1 libgssapi-krb5-2 libidn2-0 libldap-2.5-0 libnghttp2-14 libpsl5
  librtmp1 libssh2-1 libssl3 libzstd1 libcom-err2 libk5crypto3 libkeyutils1 libkrb5-3 libkrb5support0
  libsasl2-2 libsasl2-modules-db libdb5.3 libgnutls30 libgmp10 libhogweed6 libnettle8 libp11-kit0
  libtasn1-6 libunistring2 libffi8 pkgconf pkgconf-bin libpkgconf3"

if [ "${1:-}" = "--prepare" ]; then
  mkdir -p "$DEPS_DIR"
  grep -qx "/$DEPS_DIR/" .git/info/exclude 2>/dev/null || echo "/$DEPS_DIR/" >>.git/info/exclude
  # shellcheck disable=SC2086
  (cd "$DEPS_DIR" && apt-get download $DEB_PKGS)
  echo "gpu-check: $(find "$DEPS_DIR" -name "*.deb" | wc -l) packages, $(du -sh "$DEPS_DIR" | cut -f1) in $DEPS_DIR/"
  echo "gpu-check: on the GPU machine run tools/gpu-check.sh with $DEPS_DIR carried along"
  exit 0
fi

BUILD=build-gpu
OUTDIR=$ROOT/$BUILD/gpu-check # every log; $OUT (at most 8 files come back) gets a selection
rm -rf "$OUTDIR" && mkdir -p "$OUTDIR"
JOBS=$(nproc 2>/dev/null || echo 16)
T_START=$(date +%s)
DEADLINE=$((T_START + ${GPU_CHECK_BUDGET:-500})) # seconds for the whole run; steps past it are skipped
declare -a S_NAME S_STATUS S_SECS
FAILED=0

# run NAME TIMEOUT CMD...: log to $OUTDIR/NAME.log, record status and seconds, keep going
run() {
  local name=$1 limit=$2 t0 rc
  shift 2
  t0=$(date +%s)
  if [ $((DEADLINE - t0)) -lt 10 ]; then
    S_NAME+=("$name") S_STATUS+=("SKIPPED (time budget)") S_SECS+=(0)
    FAILED=1
    return 0
  fi
  if [ $((DEADLINE - t0)) -lt "$limit" ]; then limit=$((DEADLINE - t0)); fi
  echo "== $name: $*"
  set +e
  timeout "$limit" "$@" >"$OUTDIR/$name.log" 2>&1
  rc=$?
  set -e
  S_NAME+=("$name")
  S_SECS+=($(($(date +%s) - t0)))
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

# ---- machine
{
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>&1 || true
  nvcc --version 2>&1 | tail -n 2 || true
  echo "cpus: $JOBS"
} | tee "$OUTDIR/machine.txt"

# ---- build dependencies: the system's, else the carried .debs unpacked under /tmp
NVCC=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
CUDA_LIB=$(cd "$(dirname "$(readlink -f "$NVCC")")/../lib64" 2>/dev/null && pwd || echo /usr/local/cuda/lib64)
LINK_FLAGS="-Wl,-rpath,$CUDA_LIB" # cuBLAS/cuFFT found at run time even without ld.so.conf entries
CMAKE_EXTRA=(-DCMAKE_CUDA_COMPILER="$NVCC")
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
  LINK_FLAGS="-Wl,--disable-new-dtags -Wl,-rpath,$LIBS:$CUDA_LIB -Wl,-rpath-link,$LIBS"
  echo "deps: carried ($(find "$DEPS_DIR" -name "*.deb" | wc -l) .debs unpacked in $R)"
fi

# ---- configure and build (only what the check runs)
GEN=()
if command -v ninja >/dev/null 2>&1; then GEN=(-G Ninja); fi
run configure 240 cmake -S . -B "$BUILD" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release -DDC_CUDA=ON -DDC_OPENCL=OFF -DDC_FIGURES=OFF \
  -DCMAKE_CUDA_ARCHITECTURES=90 "-DCMAKE_EXE_LINKER_FLAGS=$LINK_FLAGS" "${CMAKE_EXTRA[@]}"
if [ "${S_STATUS[-1]}" = ok ]; then
  run build 360 cmake --build "$BUILD" -j "$JOBS" --target dynacl_cli test_parity test_cuda
fi
if [ "${S_STATUS[-1]}" != ok ]; then
  echo "gpu-check: cannot continue without a build"
  exit 1
fi
BIN=$ROOT/$BUILD/dynacl
"$BIN" backends | tee "$OUTDIR/backends.txt"

# ---- correctness
run parity 240 env DC_PARITY_BACKENDS=cuda "$BUILD/tests/test_parity"
run test_cuda 300 env DC_DYNACL_BIN="$BIN" "$BUILD/tests/test_cuda"

# ---- timing
run bench_eager 240 "$BIN" bench --backend cuda,cpu --steps 200 --json "$OUTDIR/bench_eager.json"
run bench_graph 120 "$BIN" bench --backend cuda --steps 200 --graph --json "$OUTDIR/bench_graph.json"

# ---- memory checking last: the slowest step, the first to go when time runs out
MEMCHECK_CASES="copy_strided add_bcast_mid masked_fill tanh sum_axis0 mean_last matmul_batched matmul_tt
  batchnorm_train_relu batchnorm_eval l2norm log_softmax cross_entropy mse mpxent_authors mpxent_large
  maxpool_k3_overlap gather_batch rfft_odd irfft_even bce_logits atan2 rng_normal adamw"
if command -v compute-sanitizer >/dev/null 2>&1; then
  # shellcheck disable=SC2086
  run memcheck 180 env DC_PARITY_BACKENDS=cuda compute-sanitizer --tool memcheck --error-exitcode 3 \
    "$BUILD/tests/test_parity" $MEMCHECK_CASES
else
  S_NAME+=("memcheck") S_STATUS+=("skipped (no compute-sanitizer)") S_SECS+=(0)
fi

# ---- summary
summary() { # runs in the pipeline's subshell: a grep that finds nothing must not end it
set +e
echo
echo "================ gpu-check summary ($(($(date +%s) - T_START)) s) ================"
head -n 2 "$OUTDIR/machine.txt"
printf "%-12s %-28s %6s\n" step status seconds
for i in "${!S_NAME[@]}"; do printf "%-12s %-28s %6s\n" "${S_NAME[$i]}" "${S_STATUS[$i]}" "${S_SECS[$i]}"; done
if [ -f "$OUTDIR/parity.log" ]; then
  echo "parity on cuda: $(grep -c ' cuda .* ok' "$OUTDIR/parity.log" || true) ok, $(grep -c 'FAIL\|Failure\|failed' \
    "$OUTDIR/parity.log" || true) failing lines, $(grep -c 'not supported' "$OUTDIR/parity.log" || true) not supported"
fi
[ -f "$OUTDIR/test_cuda.log" ] && grep -E "^test_cuda: (200|[0-9]+ steps|mpxent|out-of)|Checks:" "$OUTDIR/test_cuda.log" | cut -c1-150
[ -f "$OUTDIR/memcheck.log" ] && grep -E "ERROR SUMMARY" "$OUTDIR/memcheck.log" | tail -n 1
if command -v python3 >/dev/null 2>&1 && [ -f "$OUTDIR/bench_eager.json" ]; then
  python3 - "$OUTDIR/bench_eager.json" "$OUTDIR/bench_graph.json" <<'EOF'
import json, os, sys
rows = {}
for path in sys.argv[1:]:
    if not os.path.exists(path):
        continue
    try:
        res = json.load(open(path))["results"]
    except (ValueError, KeyError):
        continue
    for r in res:
        kind = r["backend"].split(":")[0] + ("+graph" if r.get("graph") else "")
        rows.setdefault(r["shape"], {})[kind] = r
target = {"harth": 0.10, "ecg": 0.10, "sleepeeg": 0.20}
print("\nms/step, median of 200 (graph: replay + sync; 'b2b' = replays back to back)")
print("%-9s %9s %9s %12s %9s %8s" % ("shape", "cpu", "cuda", "cuda+graph", "b2b", "target"))
for shape in ("harth", "sleepeeg", "ecg"):
    r = rows.get(shape, {})
    f = lambda k, key="ms_per_step_median": ("%9.3f" % r[k][key]) if k in r else "%9s" % "-"
    print("%-9s %s %s %12s %s %8.2f" % (shape, f("cpu"), f("cuda"), f("cuda+graph").strip(),
                                        f("cuda+graph", "ms_per_step_pipelined"), target[shape]))
EOF
fi
}
summary | tee "$OUTDIR/summary.txt"
if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT"
  for f in summary.txt parity.log test_cuda.log bench_eager.json bench_graph.json; do
    if [ -f "$OUTDIR/$f" ]; then cp "$OUTDIR/$f" "$OUT/"; fi
  done
  for f in "$OUTDIR"/*.log "$OUTDIR"/*.txt; do printf '\n===== %s\n' "$(basename "$f")"; cat "$f"; done >"$OUT/all_logs.txt"
fi
echo "logs and JSON: $OUTDIR${OUT:+ (selection in \$OUT)}"
exit $FAILED
