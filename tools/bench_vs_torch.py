#!/usr/bin/env python3
"""bench_vs_torch.py: dynacl's DynaCL training step against the same step in PyTorch, in one run.

For each shape (B x T x D) it runs `dynacl bench --json -` for the shape and then times the
identical step in PyTorch on the same machine and thread count: the shared encoder
3 x [Conv1d(kernel 1) -> BatchNorm1d -> ReLU], D -> 128 -> 64 -> 32 (docs/METHOD.md §2), MP-Xent
on the flattened (N, 32) batch with tau 0.5 (docs/METHOD.md §3), AdamW (lr 1e-3, weight decay
0.01), B = 8, float32. It prints both medians and dynacl's speed-up per shape, and the same for the minimum step times
(steadier on a machine that other jobs load).

    tools/bench_vs_torch.py                         # CPU, all three shapes, threads = CPUs
    tools/bench_vs_torch.py --device cuda --graph   # GPU: dynacl's cuda backend vs torch on cuda

Not a correctness check (the parity and method tests are); it measures time only. Needs
PyTorch (Debian: apt-get install python3-torch); if the `python3` on PATH lacks it, the
script re-runs itself with /usr/bin/python3 when that one has it.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time

SHAPES = {"harth": (8, 119, 156), "sleepeeg": (8, 300, 178), "ecg": (8, 119, 252)}


def import_torch():
    try:
        import torch  # noqa: F401
        return torch
    except ImportError:
        system = "/usr/bin/python3"
        if os.path.realpath(sys.executable) != os.path.realpath(system) and os.path.exists(system) \
                and not os.environ.get("DC_BENCH_REEXEC"):
            probe = subprocess.run([system, "-c", "import torch"], capture_output=True)
            if probe.returncode == 0:
                os.environ["DC_BENCH_REEXEC"] = "1"
                os.execv(system, [system] + sys.argv)
        sys.exit("bench_vs_torch: PyTorch is not installed for %s (Debian: apt-get install python3-torch)"
                 % sys.executable)


def mpxent(torch, z, tau=0.5):
    """MP-Xent on the flattened batch, anchors 1..N-2 (docs/METHOD.md §3.2)."""
    zh = torch.nn.functional.normalize(z, dim=1, eps=1e-12)
    e = torch.exp(zh @ zh.t() / tau)
    e = e - torch.diag_embed(torch.diagonal(e))          # E' = E with a zero diagonal
    c = e.sum(dim=0)                                      # column sums C_c
    l = torch.diagonal(e, offset=-1)                      # l_j = E'_{j+1, j}
    num = l[:-1] + l[1:]
    den = (c[:-2] - l[:-1]) + (c[1:-1] - l[:-1] - l[1:])
    return (torch.log(den) - torch.log(num)).mean()


def torch_step_times(torch, shape, steps, warmup, device):
    B, T, D = shape
    torch.manual_seed(1)
    layers = []
    for i, o in zip((D, 128, 64), (128, 64, 32)):
        layers += [torch.nn.Conv1d(i, o, 1), torch.nn.BatchNorm1d(o), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    x = torch.randn(B, T, D, device=device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        z = model(x.transpose(1, 2)).transpose(1, 2).reshape(-1, 32)
        loss = mpxent(torch, z)
        loss.backward()
        opt.step()
        sync()
        if i >= warmup:
            times.append((time.perf_counter() - t0) * 1e3)
    return times


def dynacl_step(args, shape_name, env):
    cmd = [args.dynacl, "bench", "--backend", args.backend, "--shape", shape_name, "--steps", str(args.steps),
           "--warmup", str(args.warmup), "--json", "-"]
    if args.graph:
        cmd.append("--graph")
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit("bench_vs_torch: %s failed (%d):\n%s" % (" ".join(cmd), p.returncode, p.stderr))
    res = json.loads(p.stdout)["results"]
    if not res:
        sys.exit("bench_vs_torch: %s gave no result:\n%s" % (" ".join(cmd), p.stderr))
    return res[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dynacl", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build",
                                                      "dynacl"), help="the dynacl program (default build/dynacl)")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where both run (default cpu)")
    ap.add_argument("--backend", help="dynacl backend (default: cpu for --device cpu, cuda for --device cuda)")
    ap.add_argument("--graph", action="store_true", help="dynacl replays each step as a CUDA graph (cuda only)")
    ap.add_argument("--shape", default="all", help="harth, sleepeeg, ecg, a comma-separated list, or all")
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                    help="CPU threads for both (OMP_NUM_THREADS, torch.set_num_threads; default: CPUs available)")
    ap.add_argument("--steps", type=int, default=50, help="timed steps per measurement (default 50)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed steps first (default 5)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="alternate dynacl and PyTorch this many times per shape; medians of all (default 1)")
    ap.add_argument("--json", help="also write the results as JSON to this file")
    args = ap.parse_args()
    if args.steps < 1 or args.warmup < 0 or args.rounds < 1 or args.threads < 1:
        ap.error("--steps, --rounds and --threads must be >= 1 and --warmup >= 0")
    shapes = list(SHAPES) if args.shape == "all" else args.shape.split(",")
    for s in shapes:
        if s not in SHAPES:
            ap.error("unknown shape '%s' (harth, sleepeeg, ecg, all)" % s)
    args.backend = args.backend or args.device
    if not os.access(args.dynacl, os.X_OK):
        ap.error("no dynacl program at %s (build it, or pass --dynacl)" % args.dynacl)
    torch = import_torch()
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("bench_vs_torch: --device cuda, but torch.cuda.is_available() is False")
    torch.set_num_threads(args.threads)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))

    load0 = os.getloadavg()
    started = datetime.datetime.now(datetime.timezone.utc)
    print("dynacl %s (backend %s%s) vs PyTorch %s (%s), %d thread%s, %d steps after %d warm-up, load average %.2f"
          % (args.dynacl, args.backend, "+graph" if args.graph else "", torch.__version__, args.device, args.threads,
             "" if args.threads == 1 else "s", args.steps, args.warmup, load0[0]), flush=True)
    print("%-9s %-12s %12s %12s %8s   %s" % ("shape", "B x T x D", "dynacl ms", "torch ms", "ratio",
                                         "minimums: dynacl, torch, ratio"), flush=True)
    rows = []
    for name in shapes:
        B, T, D = SHAPES[name]
        dc_meds, dc_mins, th = [], [], []
        for _ in range(args.rounds):
            r = dynacl_step(args, name, env)
            dc_meds.append(r["ms_per_step_median"])
            dc_mins.append(r["ms_per_step_min"])
            th += torch_step_times(torch, (B, T, D), args.steps, args.warmup, args.device)
        dc_ms, th_ms = statistics.median(dc_meds), statistics.median(th)
        row = {"shape": name, "B": B, "T": T, "D": D, "dynacl_ms_median": dc_ms, "dynacl_ms_min": min(dc_mins),
               "torch_ms_median": th_ms, "torch_ms_min": min(th), "ratio": th_ms / dc_ms,
               "ratio_of_minimums": min(th) / min(dc_mins)}
        rows.append(row)
        print("%-9s %-12s %12.3f %12.3f %7.2fx   %.3f, %.3f, %.2fx"
              % (name, "%dx%dx%d" % (B, T, D), dc_ms, th_ms, row["ratio"], min(dc_mins), min(th),
                 row["ratio_of_minimums"]), flush=True)
    load1 = os.getloadavg()
    print("load average at the end %.2f. Ratios are of medians (of minimums on the right) from one run; on a "
          "loaded machine the medians are noisy and the minimums closer to what an idle one gives." % load1[0])
    if args.json:
        out = {"tool": "bench_vs_torch.py", "date_utc": started.isoformat(timespec="seconds"),
               "machine": platform.processor() or platform.machine(), "device": args.device,
               "backend": args.backend, "graph": args.graph, "threads": args.threads, "steps": args.steps,
               "warmup": args.warmup, "rounds": args.rounds, "torch_version": torch.__version__,
               "load_average_start": load0[0], "load_average_end": load1[0], "results": rows}
        tmp = args.json + ".tmp"
        with open(tmp, "w") as f:
            json.dump(out, f, indent=1)
        os.replace(tmp, args.json)


if __name__ == "__main__":
    main()
