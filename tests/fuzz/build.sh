#!/bin/sh
# Build the libFuzzer harnesses for the file parsers: dataset readers, .npy and
# safetensors (not part of the CMake build).
# Usage: tests/fuzz/build.sh [outdir]   (run from the repository root; needs clang)
# Then e.g.: mkdir -p corpus && ./fuzz_wfdb -max_total_time=60 -rss_limit_mb=2048 corpus
set -e
out=${1:-build-fuzz}
mkdir -p "$out"
src="core/src/error.c models/data/data_file.c models/data/wfdb.c models/data/wfdb_dat.c models/data/wfdb_annot.c \
     models/data/edf.c models/data/edf_annotations.c models/data/edf_sleep.c models/data/harth_csv.c core/io/npy.c \
     core/io/atomic.c core/io/safetensors.c"
for f in wfdb edf harth npy safetensors; do
  clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -Icore/include -Imodels/data/include -o "$out/fuzz_$f" "tests/fuzz/fuzz_$f.c" $src -lcjson -lm
done
echo "built $out/fuzz_wfdb $out/fuzz_edf $out/fuzz_harth $out/fuzz_npy $out/fuzz_safetensors"
