#!/usr/bin/env python3
"""bench_vs_torch.py: the DynaCL training step in PyTorch, timed next to `dynacl bench`.

The step is dynacl's (models/encoder, models/dynacl, backends/cpu/cpu_mpxent.c;
docs/TRAINING.md): the encoder 3 x [1x1 conv -> BatchNorm (batch statistics) -> ReLU],
D -> 128 -> 64 -> 32, on a batch (B, T, D) flattened to N = B*T rows; MP-Xent (tau 0.5,
every flattened neighbour a positive); AdamW (lr 1e-3, betas 0.9/0.999, eps 1e-8, weight
decay 0.01); fp32 with TF32 off. PyTorch runs it eagerly and, on CUDA, captured whole in a
CUDA graph (replays). `dynacl bench` runs the same shapes in the same run (eager and, on
backends that capture, --graph), and one table gives ms/step and dynacl's ratio to each
PyTorch mode. --check-loss first feeds PyTorch dynacl's own initial weights and input
(`dynacl bench --dump`) and compares the first losses (same step, float32 tolerance).

    tools/bench_vs_torch.py --device cpu --threads 2            # CPU, both frameworks
    tools/bench_vs_torch.py --device cuda --check-loss --json t.json
Not a training script: the input is random, the losses are only compared, not reported.
"""
import argparse
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time

SHAPES = {"harth": (8, 119, 156), "sleepeeg": (8, 300, 178), "ecg": (8, 119, 252)}
HIDDEN = (128, 64, 32)
TAU = 0.5


def die(msg):
    print("bench_vs_torch.py: " + msg, file=sys.stderr)
    sys.exit(1)


try:
    import numpy as np
    import torch
    import torch.nn as nn
except ImportError as e:  # pragma: no cover
    # a python3 first on PATH (pyenv, a venv) may lack Debian's python3-torch: use the system's
    SYSTEM = "/usr/bin/python3"
    if os.path.realpath(sys.executable) != os.path.realpath(SYSTEM) and os.path.exists(SYSTEM) \
            and not os.environ.get("DC_BENCH_REEXEC") \
            and subprocess.run([SYSTEM, "-c", "import torch, numpy"], capture_output=True).returncode == 0:
        os.environ["DC_BENCH_REEXEC"] = "1"
        os.execv(SYSTEM, [SYSTEM] + sys.argv)
    die("needs PyTorch and NumPy (Debian: apt-get install python3-torch): %s" % e)


class Encoder(nn.Module):
    """models/encoder: per layer conv (k = 1) -> BatchNorm1d -> ReLU; PyTorch's state_dict names."""

    def __init__(self, d):
        super().__init__()
        dims = (d,) + HIDDEN
        for i in range(3):
            setattr(self, "conv%d" % (i + 1), nn.Conv1d(dims[i], dims[i + 1], 1))
            setattr(self, "bn%d" % (i + 1), nn.BatchNorm1d(dims[i + 1], eps=1e-5, momentum=0.1))

    def forward(self, x):  # (B, T, D) -> (B*T, 32), rows b*T + t
        h = x.transpose(1, 2)
        for i in range(3):
            h = torch.relu(getattr(self, "bn%d" % (i + 1))(getattr(self, "conv%d" % (i + 1))(h)))
        return h.transpose(1, 2).reshape(-1, HIDDEN[-1])


def mpxent(z, tau=TAU):
    """MP-Xent (docs/METHOD.md §3) as dynacl computes it: E = exp((S - 1) / tau), the factor
    exp(-1/tau) of exp(S / tau) cancels; anchors 1..N-2, positives the two neighbours."""
    n = z.shape[0]
    zh = z / z.norm(dim=1, keepdim=True).clamp_min(1e-12)
    e = torch.exp((zh @ zh.t() - 1.0) / tau)
    e = e.masked_fill(torch.eye(n, dtype=torch.bool, device=z.device), 0.0)
    col = e.sum(0)  # C_c
    l = torch.diagonal(e, -1)  # l_j = E_{j+1, j}
    lm, lp = l[:-1], l[1:]  # l_{a-1}, l_a for a = 1..N-2
    num = lm + lp
    den = (col[:-2] - lm) + (col[1:-1] - lm - lp)
    return (torch.log(den) - torch.log(num)).mean()


def make(d, device, capturable=False, state=None):
    enc = Encoder(d).to(device)
    if state is not None:
        enc.load_state_dict(state)
    opt = torch.optim.AdamW(enc.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01,
                            capturable=capturable)
    return enc, opt


def step(enc, opt, x):
    opt.zero_grad(set_to_none=True)
    loss = mpxent(enc(x))
    loss.backward()
    opt.step()
    return loss


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def time_eager(d, x, device, steps, warmup):
    enc, opt = make(d, device)
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        step(enc, opt, x)
        sync(device)
        if i >= warmup:
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def time_graph(d, x, steps, warmup):
    """The whole step (forward, backward, AdamW) captured once, then replayed."""
    enc, opt = make(d, "cuda", capturable=True)
    static_x = x.clone()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # warm-up: lazy state, cuBLAS workspaces
        for _ in range(max(3, warmup)):
            step(enc, opt, static_x)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        static_loss = mpxent(enc(static_x))
        static_loss.backward()
        opt.step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        graph.replay()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) * 1e3)
    if not torch.isfinite(static_loss).item():
        die("the graph's loss is not finite")
    return statistics.median(times)


# ---------------------------------------------------------------- dynacl's own numbers


def run_dynacl(args, shape, extra, env):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "bench.json")
        cmd = [args.dynacl, "bench", "--backend", args.backend, "--shape", shape, "--steps", str(args.steps),
               "--warmup", str(args.warmup), "--json", out] + extra
        r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            die("%s failed:\n%s" % (" ".join(cmd), r.stdout))
        with open(out) as f:
            return json.load(f)["results"][0]


def read_safetensors(path):
    """The safetensors format: u64 header size, JSON header, raw little-endian data."""
    with open(path, "rb") as f:
        blob = f.read()
    (hlen,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + hlen])
    dtypes = {"F32": np.float32, "F64": np.float64, "I64": np.int64}
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        arr = np.frombuffer(blob[8 + hlen + a:8 + hlen + b], dtype=dtypes[t["dtype"]]).reshape(t["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


def check_loss(args, shape, device, env):
    """dynacl's first steps from its own weights and input, then the same in PyTorch."""
    b, t, d = SHAPES[shape]
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [args.dynacl, "bench", "--backend", args.backend, "--shape", shape, "--steps", "3", "--warmup", "0",
               "--dump", tmp]
        r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            die("%s failed:\n%s" % (" ".join(cmd), r.stdout))
        state = read_safetensors(os.path.join(tmp, shape + ".safetensors"))
        x = torch.from_numpy(np.load(os.path.join(tmp, shape + ".x.npy"))).to(device)
        with open(os.path.join(tmp, shape + ".losses.json")) as f:
            theirs = json.load(f)["losses"]
    enc, opt = make(d, device, state=state)
    ours = [step(enc, opt, x).item() for _ in range(len(theirs))]
    # step 0: the same forward pass from identical weights, rounding only; later steps also
    # go through backward and AdamW
    tol = [2e-5] + [1e-4] * (len(theirs) - 1)
    ok = all(abs(o - d_) <= tl * abs(d_) for o, d_, tl in zip(ours, theirs, tol))
    print("loss check %-8s dynacl %s  pytorch %s  %s" % (shape, " ".join("%.6f" % v for v in theirs),
                                                          " ".join("%.6f" % v for v in ours),
                                                          "ok" if ok else "MISMATCH"))
    return ok


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                epilog="The step is described in the file's docstring (--help shows this line).")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for PyTorch and dynacl (OMP_NUM_THREADS)")
    p.add_argument("--shapes", default="harth,sleepeeg,ecg", help="comma-separated: harth, sleepeeg, ecg")
    p.add_argument("--steps", type=int, default=100, help="timed steps per case (median)")
    p.add_argument("--warmup", type=int, default=10, help="untimed steps first")
    p.add_argument("--dynacl", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "dynacl"),
                   help="the dynacl program (default build/dynacl)")
    p.add_argument("--backend", default=None, help="dynacl backend (default: the device's, cuda or cpu)")
    p.add_argument("--no-dynacl", action="store_true", help="time PyTorch only")
    p.add_argument("--no-graph", action="store_true", help="no CUDA-graph modes")
    p.add_argument("--check-loss", action="store_true",
                   help="first compare the first losses from dynacl's weights and input (dynacl bench --dump)")
    p.add_argument("--json", help="write the results as JSON to this file")
    args = p.parse_args()
    shapes = [s for s in args.shapes.split(",") if s]
    bad = [s for s in shapes if s not in SHAPES]
    if bad or not shapes:
        die("unknown shape(s) %s; choose from %s" % (",".join(bad) or "(none)", ",".join(SHAPES)))
    if args.steps < 1 or args.warmup < 0 or args.threads < 0:
        die("--steps must be >= 1, --warmup and --threads >= 0")
    device = args.device
    if device == "cuda" and not torch.cuda.is_available():
        die("--device cuda, but PyTorch sees no CUDA device")
    args.backend = args.backend or device
    graph = device == "cuda" and not args.no_graph  # PyTorch's CUDA graph
    dyn_graph = args.backend.split(":")[0] == "cuda" and not args.no_graph  # dynacl bench --graph
    env = dict(os.environ)
    if args.threads:
        torch.set_num_threads(args.threads)
        env["OMP_NUM_THREADS"] = str(args.threads)
    if device == "cuda":  # fp32 everywhere, as dynacl (TF32 is off there unless DYNACL_CUDA_TF32=1)
        torch.set_float32_matmul_precision("highest")
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        env.pop("DYNACL_CUDA_TF32", None)
    if not args.no_dynacl and not os.access(args.dynacl, os.X_OK):
        die("%s is not an executable dynacl (build it, or pass --dynacl PATH, or --no-dynacl)" % args.dynacl)
    name = torch.cuda.get_device_name(0) if device == "cuda" else "CPU, %d threads" % torch.get_num_threads()
    print("PyTorch %s on %s; %d timed steps after %d warm-up, median ms/step" % (torch.__version__, name,
                                                                                 args.steps, args.warmup))
    ok = True
    if args.check_loss and not args.no_dynacl:
        for s in shapes:
            ok = check_loss(args, s, device, env) and ok
    rows = []
    torch.manual_seed(0)
    for s in shapes:
        b, t, d = SHAPES[s]
        x = torch.randn(b, t, d, device=device)
        row = {"shape": s, "B": b, "T": t, "D": d, "torch_eager": time_eager(d, x, device, args.steps, args.warmup)}
        if graph:
            row["torch_graph"] = time_graph(d, x, args.steps, args.warmup)
        if not args.no_dynacl:
            row["dynacl"] = run_dynacl(args, s, [], env)["ms_per_step_median"]
            if dyn_graph:
                r = run_dynacl(args, s, ["--graph"], env)
                row["dynacl_graph"] = r["ms_per_step_median"]
                row["dynacl_graph_b2b"] = r["ms_per_step_pipelined"]  # replays back to back, one sync
        rows.append(row)
    print_table(rows, graph, dyn_graph and not args.no_dynacl, not args.no_dynacl)
    if args.json:
        with open(args.json + ".tmp", "w") as f:
            json.dump({"tool": "bench_vs_torch.py", "torch": torch.__version__, "device": name,
                       "steps": args.steps, "warmup": args.warmup, "loss_check_ok": ok, "results": rows}, f, indent=1)
        os.replace(args.json + ".tmp", args.json)
    return 0 if ok else 1


def print_table(rows, graph, dyn_graph, with_dynacl):
    cols = [("torch_eager", "torch", True), ("torch_graph", "torch+graph", graph), ("dynacl", "dynacl", with_dynacl),
            ("dynacl_graph", "dynacl+graph", dyn_graph)]
    cols = [c for c in cols if c[2]]
    head = "%-9s %-12s" % ("shape", "B x T x D") + "".join("%13s" % c[1] for c in cols)
    ratios = []  # (dynacl column, torch column, label): torch's time / dynacl's
    if with_dynacl:
        ratios.append(("dynacl", "torch_eager", "torch/dyn"))
        if dyn_graph and graph:
            ratios += [("dynacl_graph", "torch_graph", "torchg/dyng"), ("dynacl_graph", "torch_eager", "torch/dyng")]
    print(head + "".join("%13s" % r[2] for r in ratios))
    for r in rows:
        line = "%-9s %-12s" % (r["shape"], "%dx%dx%d" % (r["B"], r["T"], r["D"]))
        line += "".join("%13.3f" % r[c[0]] for c in cols)
        line += "".join("%12.2fx" % (r[b] / r[a]) for a, b, _ in ratios)
        print(line)
    print("ms/step (median); ratios are PyTorch's time over dynacl's: above 1x, dynacl is faster")


if __name__ == "__main__":
    sys.exit(main())
