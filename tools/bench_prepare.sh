#!/bin/sh
# bench_prepare.sh: time `dynacl prepare harth` on a synthetic full-size HARTH: 22 subject
# CSVs in the public layout (header, timestamps, 6 accelerometer channels, label codes),
# about 6.5 M rows in total. Usage: tools/bench_prepare.sh [build-dir] [work-dir] [runs]
# Prints the wall time of each run; the target is < 10 s on a 2-core machine.
set -e
build=${1:-build}
work=${2:-${TMPDIR:-/tmp}/dc_bench_prepare}
runs=${3:-3}
bin="$build/dynacl"
[ -x "$bin" ] || { echo "bench_prepare: $bin not found (build first)" >&2; exit 1; }
mkdir -p "$work/harth"
if [ ! -f "$work/harth/.complete" ]; then
  echo "generating 22 HARTH-format CSVs (~6.5 M rows) in $work/harth"
  cat > "$work/gen.c" <<'EOF'
/* 22 subjects, 230k-360k rows each (~6.5 M in all), 50 Hz timestamps, labels in runs of
 * 2-60 s drawn from the 12 HARTH codes, values with 6 decimals as in the public files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
static unsigned long long s = 88172645463325252ULL;
static double u(void) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return (double)(s >> 11) / 9007199254740992.0; }
int main(int argc, char **argv) {
    static const int codes[12] = {1, 2, 3, 4, 5, 6, 7, 8, 13, 14, 130, 140};
    long total = 0;
    for (int f = 0; f < 22; f++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/S%03d.csv", argv[1], f + 6 + (f >= 5) + (f >= 10));
        FILE *o = fopen(path, "w");
        if (!o) return 1;
        long rows = 230000 + (long)(u() * 130000);
        fprintf(o, "timestamp,back_x,back_y,back_z,thigh_x,thigh_y,thigh_z,label\n");
        int label = codes[(int)(u() * 12)];
        long left = 0;
        for (long i = 0; i < rows; i++) {
            if (left-- <= 0) { label = codes[(int)(u() * 12)]; left = 100 + (long)(u() * 3000); }
            long ms = i * 20, sec = ms / 1000;
            fprintf(o, "2019-01-%02ld %02ld:%02ld:%02ld.%03ld", 12 + sec / 86400, sec / 3600 % 24, sec / 60 % 60,
                    sec % 60, ms % 1000);
            for (int c = 0; c < 6; c++) fprintf(o, ",%.6f", sin(0.01 * i * (c + 1) + f) * 0.9 + 0.1 * (u() - 0.5));
            fprintf(o, ",%d\n", label);
        }
        fclose(o);
        total += rows;
    }
    printf("%ld rows\n", total);
    return 0;
}
EOF
  cc -O2 -o "$work/gen" "$work/gen.c" -lm
  "$work/gen" "$work/harth"
  touch "$work/harth/.complete"
fi
du -sh "$work/harth"
i=0
while [ "$i" -lt "$runs" ]; do
  i=$((i + 1))
  rm -rf "$work/prepared"
  start=$(date +%s.%N)
  "$bin" prepare harth --input "$work/harth" --out "$work/prepared" --quiet > "$work/summary.txt"
  end=$(date +%s.%N)
  echo "run $i: $(echo "$end - $start" | bc) s ($(grep '^time:' "$work/summary.txt"))"
done
grep -E "instances .* sequences" "$work/summary.txt"
