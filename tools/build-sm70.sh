#!/usr/bin/env bash
# tools/build-sm70.sh BUILD_DIR: builds libdynacl with its CUDA backend for the V100 (sm_70),
# which CUDA 13 no longer targets, using Debian bookworm's CUDA 11.8 (nvidia-cuda-toolkit,
# from the non-free component) with GCC 11, the newest host compiler CUDA 11.8 accepts (the
# C files too: Ubuntu 22.04's CUDA images compile with GCC 11). Installs them when missing
# (apt; root or sudo). Fails on any compiler warning, and unless cuobjdump lists sm_70 code
# for every kernel of the backend. No GPU needed; CI runs it (.ci/run).
#
# Another CUDA's headers in /usr/local/include (CUDA 13 on the dev machines) would shadow
# 11.8's in /usr/include, so both compilers get GCC 11's include path without
# /usr/local/include, and PATH leaves out /usr/local/cuda/bin (its ptxas is CUDA 13's).
set -euo pipefail

usage() { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  "" | -*) usage >&2; echo "build-sm70.sh: give the build folder" >&2; exit 2 ;;
esac
BUILD=$1
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T0=$(date +%s)
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
TK=/usr/lib/nvidia-cuda-toolkit # Debian's CUDA 11.8
NVCC=$TK/bin/nvcc
PKGS="nvidia-cuda-toolkit gcc-11 g++-11"

# ---- CUDA 11.8 and GCC 11, from bookworm (contrib and non-free for the toolkit)
if [ ! -x "$NVCC" ] || ! command -v g++-11 >/dev/null || ! command -v cuobjdump >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-cache policy nvidia-cuda-toolkit 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    echo "build-sm70.sh: adding bookworm's contrib and non-free components (for nvidia-cuda-toolkit)"
    printf '%s\n' "Types: deb" "URIs: http://deb.debian.org/debian" "Suites: bookworm bookworm-updates" \
      "Components: contrib non-free" "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" |
      $SUDO tee /etc/apt/sources.list.d/dynacl-cuda118.sources >/dev/null
  fi
  before=$(df -Pk / | awk 'NR == 2 { print $3 }')
  t=$(date +%s)
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -qq --no-install-recommends $PKGS >/dev/null
  after=$(df -Pk / | awk 'NR == 2 { print $3 }')
  echo "build-sm70.sh: installed $PKGS: $(((after - before) / 1024)) MiB in $(($(date +%s) - t)) s"
fi
[ -x "$NVCC" ] || { echo "build-sm70.sh: $NVCC is missing after the install" >&2; exit 1; }
echo "build-sm70.sh: $("$NVCC" --version | tail -n 1); $(g++-11 --version | head -n 1)"

# ---- the include path: GCC 11's own directories, in its order, without /usr/local/include
search_dirs() { # $1 = c | c++
  g++-11 -x "$1" -E -v /dev/null 2>&1 >/dev/null |
    sed -n '/#include <...> search starts here:/,/End of search list./p' | sed '1d;$d' | sed 's/^ *//' |
    grep -v '^/usr/local/include$'
}
c_inc="-nostdinc" cxx_inc="-nostdinc"
for d in $(search_dirs c); do c_inc="$c_inc -isystem $d"; done
for d in $(search_dirs c++); do cxx_inc="$cxx_inc,-isystem,$d"; done
export PATH="$TK/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# ---- configure and build: the library (all layers, GCC 11) and the backend's kernels for sm_70
rm -rf "$BUILD"
mkdir -p "$BUILD"
LOG=$BUILD/build-sm70.log
{
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DDC_CUDA=ON -DDC_OPENCL=OFF -DDC_BUILD_TESTS=OFF \
    -DDC_FETCH=OFF -DCMAKE_C_COMPILER=gcc-11 "-DCMAKE_C_FLAGS=$c_inc" -DCMAKE_CUDA_COMPILER="$NVCC" \
    -DCMAKE_CUDA_HOST_COMPILER=g++-11 -DCMAKE_CUDA_ARCHITECTURES=70 "-DCMAKE_CUDA_FLAGS=-Xcompiler=$cxx_inc" \
    -DCUDAToolkit_INCLUDE_DIR=/usr/include # Debian: the headers are not under the toolkit folder
  cmake --build "$BUILD" -j "$(nproc)" --target dynacl
} >"$LOG" 2>&1 || {
  tail -n 40 "$LOG"
  echo "build-sm70.sh: the build failed (log: $LOG)" >&2
  exit 1
}
if grep -i 'warning' "$LOG" | grep -v 'CMake Warning (dev)' >/dev/null; then
  grep -i -B2 -A4 'warning' "$LOG" | head -n 60
  echo "build-sm70.sh: the build has warnings (log: $LOG)" >&2
  exit 1
fi

# ---- every kernel (a host launch stub in the objects) has sm_70 code in the fat binary
objs=$(find "$BUILD" -path '*dynacl_cuda.dir*' -name '*.cu.o' | sort)
[ -n "$objs" ] || { echo "build-sm70.sh: no CUDA objects under $BUILD" >&2; exit 1; }
missing=0 total=0
for o in $objs; do
  sass=$(cuobjdump -sass -arch sm_70 "$o" 2>/dev/null | sed -n 's/^[[:space:]]*Function : //p' | sort -u)
  # a kernel K (mangled _Z...) has the host stub __device_stub__Z..., itself mangled _Z<length><name>
  stubs=$(nm "$o" | perl -ne 'print "_", substr(substr($2, 0, $1), 15), "\n" if / T _Z(\d+)(__device_stub__\w+)/')
  for k in $(sort -u <<<"$stubs"); do
    total=$((total + 1))
    if ! grep -qx -- "$k" <<<"$sass"; then
      echo "build-sm70.sh: no sm_70 code for $(c++filt "$k") in $(basename "$o")" >&2
      missing=$((missing + 1))
    fi
  done
done
if [ "$total" -eq 0 ] || [ "$missing" -ne 0 ]; then
  echo "build-sm70.sh: $missing of $total kernels lack sm_70 code" >&2
  exit 1
fi
echo "build-sm70.sh: ok: $total kernels with sm_70 code (cuobjdump), no warnings, $(($(date +%s) - T0)) s; log $LOG"
