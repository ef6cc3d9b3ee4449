#!/usr/bin/env python3
"""compare_cpu_runs.py: do two dynacl builds train the same? Losses and weights after N steps.

Runs `dynacl pretrain` for N steps (default 200) on the embedded synthetic dataset with each of
two programs -- typically the previous `cpu` backend (a build of an earlier commit) and the
current one -- and compares the loss of every step and every tensor of the final model. To say
what "within float32 tolerance" means after N steps of AdamW, it also runs the old program on
`cpu-ref`, the naive reference kernels, and the new one with DC_CPU_ISA=generic (its plain-C
kernels: no FMA, another exp rounding): correct float32 implementations drift apart that much,
and the larger of the two drifts is the "spread". Then it checks that the new program is deterministic: two runs with the same thread count
give the same bits, and one with a single thread too.

    tools/compare_cpu_runs.py --old /tmp/base/build/dynacl --new build/dynacl
    tools/compare_cpu_runs.py --old OLD --new NEW --models dynacl,dynacl-m,ts2vec --steps 200

The new program passes for a method when the mean relative loss difference over the N steps,
new against old, is at most max(tol, 3 x the spread): training amplifies rounding
differences chaotically after about 100 steps, in the reference too, so single steps spike
(the worst step is printed, not judged). Per tensor, the relative L2
difference of the final weights is at most max(tol_w, 3 x the spread), with two exceptions.
The conv biases' gradient is 0 up to rounding under training-mode BatchNorm, so AdamW moves them
on rounding noise, a random walk that any change in summation order redraws: their difference
must only stay below 3 learning-rate steps times sqrt(N). The BatchNorm running means follow the
batch mean of x W^T + b and inherit that walk, so they are compared without it: running_mean
minus the conv bias. The new program must also repeat its own bits on a rerun with the same
thread count. Exit status 1 when a method fails. Not a speed benchmark.
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

ALL = ["dynacl", "dynacl-m", "mpxent-mse", "mpxent-margin", "ts2vec", "infots", "cpc", "tnc", "cost"]


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__" or meta["dtype"] != "F32":
            continue
        a, b = meta["data_offsets"]
        out[name] = struct.unpack("<%df" % ((b - a) // 4), data[a:b])
    return out


def losses(run):
    out = {}
    with open(os.path.join(run, "metrics.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            if "event" not in r and "loss" in r:
                out[r["step"]] = r["loss"]
    return out


def train(prog, backend, model, steps, threads, out, reuse=False, isa=None):
    if reuse and os.path.exists(os.path.join(out, "model.safetensors")):
        return losses(out), read_safetensors(os.path.join(out, "model.safetensors"))
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    if isa:
        env["DC_CPU_ISA"] = isa
    cmd = [prog, "pretrain", "--model", model, "--backend", backend, "--out", out, "--max-steps", str(steps),
           "--log-every", "1", "--valid-every", "0", "--force"]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit("compare_cpu_runs: %s failed (%d):\n%s" % (" ".join(cmd), p.returncode, p.stderr[-2000:]))
    return losses(out), read_safetensors(os.path.join(out, "model.safetensors"))


def rel_l2(a, b):
    num = sum((x - y) ** 2 for x, y in zip(a, b))
    den = sum(y * y for y in b)
    return (num / den) ** 0.5 if den > 0 else num ** 0.5


def max_abs(a, b):
    return max(abs(x - y) for x, y in zip(a, b)) if a else 0.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--old", required=True, help="the previous dynacl program")
    ap.add_argument("--new", required=True, help="the dynacl program under test")
    ap.add_argument("--models", default="dynacl,dynacl-m", help="comma-separated methods, or all")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tol", type=float, default=1e-5, help="loss tolerance, relative (default 1e-5)")
    ap.add_argument("--tol-weights", type=float, default=1e-5, help="weights, relative L2 (default 1e-5)")
    ap.add_argument("--keep", help="keep the run folders under this folder")
    ap.add_argument("--reuse", action="store_true", help="with --keep: take runs already there instead of rerunning")
    args = ap.parse_args()
    models = ALL if args.models == "all" else args.models.split(",")
    for m in models:
        if m not in ALL:
            ap.error("unknown method %s" % m)
    root = args.keep or tempfile.mkdtemp(prefix="dc_compare_")
    os.makedirs(root, exist_ok=True)
    failed = []
    print("%d steps on the synthetic dataset, %d threads: old %s, new %s; reference = old on cpu-ref"
          % (args.steps, args.threads, args.old, args.new), flush=True)
    for m in models:
        d = lambda tag: os.path.join(root, "%s-%s" % (m, tag))
        ru = args.reuse and bool(args.keep)
        lo, wo = train(args.old, "cpu", m, args.steps, args.threads, d("old"), ru)
        ln, wn = train(args.new, "cpu", m, args.steps, args.threads, d("new"), ru)
        lr, wr = train(args.old, "cpu-ref", m, args.steps, args.threads, d("ref"), ru)
        ln2, wn2 = train(args.new, "cpu", m, args.steps, args.threads, d("new2"), ru)
        ln1, wn1 = train(args.new, "cpu", m, args.steps, 1, d("new1"), ru)
        # a second yardstick: the new program's plain-C kernels (no FMA, other exp rounding)
        lg, wg = train(args.new, "cpu", m, args.steps, args.threads, d("generic"), ru, "generic")
        ok = True
        # losses: the new program within the reference's spread (or the tolerance) at every step
        rel = lambda a, s: abs(a[s] - lo[s]) / max(abs(lo[s]), 1e-12)
        worst_new, worst_ref = max(rel(ln, s) for s in lo), max(rel(lr, s) for s in lo)
        mean_new, mean_ref = sum(rel(ln, s) for s in lo) / len(lo), sum(rel(lr, s) for s in lo) / len(lo)
        mean_gen = sum(abs(lg[s] - ln[s]) / max(abs(ln[s]), 1e-12) for s in lo) / len(lo)
        differ = lambda a: next((s for s in sorted(lo) if a[s] != lo[s]), None)
        ok = mean_new <= max(args.tol, 3 * max(mean_ref, mean_gen))
        # weights per tensor
        lines = []
        for name in sorted(wo):
            a, b, r = wn[name], wo[name], wr[name]
            dn, dr = rel_l2(a, b), max(rel_l2(r, b), rel_l2(wg[name], a))
            note = ""
            layer = [l for l in "123" if name.endswith("conv%s.bias" % l) or name.endswith("bn%s.running_mean" % l)]
            if layer and name.endswith("bias"):
                lim = 3 * 1e-3 * args.steps ** 0.5  # 3 sigma of a walk of N AdamW steps of at most lr (1e-3)
                good = max_abs(a, b) <= lim
                note = "  (max abs %.1e, limit %.1e)" % (max_abs(a, b), lim)
            elif layer:
                bias = name[: -len("bn1.running_mean")] + "conv%s.bias" % layer[0]
                if bias in wo:
                    sub = lambda rm, w: [x - y for x, y in zip(rm, w[bias])]
                    dn2 = rel_l2(sub(a, wn), sub(b, wo))
                    dr2 = max(rel_l2(sub(r, wr), sub(b, wo)), rel_l2(sub(wg[name], wg), sub(a, wn)))
                    good = dn2 <= max(args.tol_weights, 3 * dr2)
                    note = "  (minus the conv bias: new-old %.2e, ref-old %.2e)" % (dn2, dr2)
                else:
                    good = dn <= max(args.tol_weights, 3 * dr)
            else:
                good = dn <= max(args.tol_weights, 3 * dr)
            ok = ok and good
            lines.append("    %-28s new-old %.2e  spread %.2e%s%s" % (name, dn, dr, note, "" if good else "  FAIL"))
        det = ln2 == ln and wn2 == wn
        det1 = ln1 == ln and wn1 == wn
        ok = ok and det
        print("%-14s %s: loss at step %d old %.7f new %.7f ref %.7f; first step whose logged loss differs: new %s, "
              "ref %s; relative loss difference, mean over the run new-old %.2e (ref-old %.2e, generic-new %.2e), "
              "worst step %.2e (%.2e); same bits on a rerun: %s; with 1 thread: %s"
              % (m, "ok" if ok else "FAIL", max(lo), lo[max(lo)], ln[max(ln)], lr[max(lr)], differ(ln), differ(lr),
                 mean_new, mean_ref, mean_gen, worst_new, worst_ref, "yes" if det else "NO", "yes" if det1 else "no"),
              flush=True)
        for line in lines:
            print(line)
        if not ok:
            failed.append(m)
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    if failed:
        print("FAILED: %s" % ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
