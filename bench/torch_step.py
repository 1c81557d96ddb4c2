#!/usr/bin/python3
# bench/torch_step.py -- one whole training step of a GPT-2 dense or top-k MoE
# model in PyTorch (forward, loss with the load-balance and z-loss terms,
# backward, global-norm clip, AdamW with the model's schedule), written
# independently as a researcher would, for timing against `moec bench`:
# float32 on the CPU (bench/step_vs_torch.sh); on a GPU (bench/gpu_vs_torch.sh)
# also bf16 autocast, torch.compile, fused AdamW and scaled_dot_product_attention
# where the PyTorch has them, as a researcher's GPU script would use them.
# Reads the model from `moec ir MODEL --stage elab`; prints one JSON line.
# Usage: torch_step.py [--moec MOEC] MODEL.moe [--set k=v]... --batch B --seq T
#                      [--steps N] [--threads N] [--seed S]
#                      [--device cpu|cuda] [--dtype fp32|bf16] [--compile] [--peak-tflops X]
import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time


def parse_args():
    ap = argparse.ArgumentParser(description="time PyTorch training steps of a moec model")
    ap.add_argument("model")
    ap.add_argument("--moec", default="./moec")
    ap.add_argument("--set", action="append", default=[], metavar="K=V")
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--seq", type=int, required=True)
    ap.add_argument("--steps", type=int, default=5, help="timed steps (one more warm-up step runs first)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    ap.add_argument("--dtype", choices=("fp32", "bf16"), default="fp32",
                    help="bf16: the forward under torch.autocast, float32 weights and optimizer")
    ap.add_argument("--compile", action="store_true", help="the loss through torch.compile (PyTorch 2)")
    ap.add_argument("--peak-tflops", type=float, default=0,
                    help="the device's peak for --dtype, to report the model FLOPs utilisation (mfu)")
    args = ap.parse_args()
    if args.steps < 1 or args.threads < 1 or args.batch < 1 or args.seq < 1:
        ap.error("--steps, --threads, --batch and --seq must be at least 1")
    return args


ARGS = parse_args()
# Before torch starts its pools: OpenMP (torch's own ops) and OpenBLAS (its
# GEMMs, Debian's torch links libblas.so.3 = OpenBLAS) both get N threads.
os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)
os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.threads)
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

# ---- the model, from `moec ir --stage elab` ----

def value(text):
    text = text.strip()
    if text in ("true", "false"):
        return text == "true"
    if text.startswith('"'):
        return text.strip('"')
    try:
        return int(text)
    except ValueError:
        return float(text)


def elab(moec, model, sets):
    cmd = [moec, "ir", model, "--stage", "elab"] + sum((["--set", s] for s in sets), [])
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("torch_step.py: %s: %s" % (" ".join(cmd), r.stderr.strip()))
    m = {"params": [], "routers": {}, "moe": {}, "loss": [], "train": {}, "dropout": set(), "heads": None}
    section = None
    for line in r.stdout.splitlines():
        if line and not line.startswith(" "):
            section = line.split(" (")[0].rstrip(":")
            continue
        s = line.strip()
        if section == "parameters" and s:
            name, shape, init = re.match(r"(\S+)\s+\[([\d, ]*)\]\s+(\S+)", s).groups()
            m["params"].append((name, [int(x) for x in shape.split(",") if x.strip()], init))
        elif section == "routers" and s:
            name, kind, opts = re.match(r"(\w+) = (\w+)\((.*?)\)", s).groups()
            m["routers"][name] = dict(kind=kind, **{k: value(v) for k, v in
                                                      (o.split(" = ") for o in opts.split(", ") if o)})
        elif section == "nodes":
            node(m, s)
        elif section == "loss" and s:
            coef, term, arg = re.match(r"(\S+) \* (\w+)\((.*)\)", s).groups()
            m["loss"].append((float(coef), term, arg))
        elif section == "train" and s:
            k, v = s.split(" = ", 1)
            m["train"][k] = value(v)
    if len(m["dropout"]) > 1:
        sys.exit("torch_step.py: the model mixes dropout rates %s" % sorted(m["dropout"]))
    m["dropout"] = m["dropout"].pop() if m["dropout"] else 0.0
    return m


def node(m, s):
    """Reads what the parameters do not say: heads, dropout, eps, routers."""
    op = re.match(r"%\d+ = (\w+)", s)
    if not op:
        return
    attrs = dict(re.findall(r"\b(\w+)=(\S+)", s))
    if op.group(1) == "causal_self_attention":
        m["heads"] = int(attrs["heads"])
        m["dropout"].add(float(attrs["dropout"]))
    elif op.group(1) == "dropout":
        m["dropout"].add(float(attrs["p"]))
    elif op.group(1) == "layernorm" and float(attrs["eps"]) != 1e-5:
        sys.exit("torch_step.py: layernorm eps %s (only 1e-5 is written here)" % attrs["eps"])
    elif op.group(1) == "lm_head" and attrs.get("weight") != "wte.weight":
        sys.exit("torch_step.py: only a tied LM head is written here")
    elif op.group(1) == "moe":
        m["moe"][s.split("  ")[1].split()[0]] = attrs["router"]
    elif op.group(1) not in ("tokens", "embedding", "position_embedding", "add", "layernorm",
                             "linear", "gelu", "expert_input", "lm_head"):
        sys.exit("torch_step.py: op %s is not written here (GPT-2 dense and top-k MoE only)" % op.group(1))


def init_weights(params, gen, device):
    w = {}
    for name, shape, init in params:
        if init == "ones":
            t = torch.ones(shape)
        elif init == "zeros":
            t = torch.zeros(shape)
        else:
            std = float(re.match(r"normal\(([^)]*)\)", init).group(1))
            t = torch.randn(shape, generator=gen) * std
        w[name] = t.to(device).requires_grad_(True)
    return w

# ---- forward ----

class Step:
    """The model's loss, as nanoGPT-style functional PyTorch over a weight dict."""

    def __init__(self, m, B, T, device, sdpa):
        self.m, self.B, self.T = m, B, T
        self.p = m["dropout"]
        self.layers = 1 + max(int(n.split(".")[1]) for n, _, _ in m["params"] if n.startswith("h."))
        self.mask = torch.ones(T, T, dtype=torch.bool, device=device).triu(1)
        self.sdpa = sdpa
        for r in m["routers"].values():
            if r["kind"] != "topk" or r.get("capacity_factor", 0) or r.get("unit") != "token" or r.get("frozen"):
                sys.exit("torch_step.py: router %s is not written here (dropless token top-k only)" % r)

    def drop(self, x):
        return F.dropout(x, self.p) if self.p > 0 else x

    def attention(self, x, w, pre):
        B, T, d = x.shape
        H = self.m["heads"]
        q, k, v = torch.addmm(w[pre + "c_attn.bias"], x.view(B * T, d), w[pre + "c_attn.weight"]) \
            .view(B, T, 3, H, d // H).permute(2, 0, 3, 1, 4)
        if self.sdpa:   # PyTorch 2's fused attention, as a GPU script would call it
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.p, is_causal=True)
        else:
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // H))
            att = self.drop(F.softmax(att.masked_fill(self.mask, float("-inf")), dim=-1))
            y = att @ v
        y = y.transpose(1, 2).reshape(B * T, d)
        return self.drop(torch.addmm(w[pre + "c_proj.bias"], y, w[pre + "c_proj.weight"])).view(B, T, d)

    def mlp(self, x, w, pre):
        h = F.gelu(torch.addmm(w[pre + "c_fc.bias"], x, w[pre + "c_fc.weight"]), approximate="tanh")
        return self.drop(torch.addmm(w[pre + "c_proj.bias"], h, w[pre + "c_proj.weight"]))

    def moe(self, x, w, pre, r, step):
        """Sparse dispatch: each expert runs only on the rows routed to it."""
        n, d = x.shape
        gate = w[pre + "router.gate.weight"]
        E, k = gate.shape[0], r["k"]
        z = F.linear(x, gate)
        sigma = r.get("noise_std", 0.0)
        if r.get("noise_anneal", 0.0) > 0:
            sigma *= max(0.0, 1.0 - step / (r["noise_anneal"] * self.m["train"]["steps"]))
        p = F.softmax(z + sigma * torch.randn_like(z) if sigma > 0 else z, dim=-1)
        vals, idx = p.topk(k, dim=-1)
        if k == 1 and r.get("straight_through"):
            wsel = vals - vals.detach() + 1.0
        elif k >= 2 and r.get("renormalize", True):
            wsel = vals / vals.sum(-1, keepdim=True)
        else:
            wsel = vals
        flat = idx.view(-1)
        order = flat.argsort()
        counts = torch.bincount(flat, minlength=E)
        rows = order.div(k, rounding_mode="floor")
        xs = x.index_select(0, rows).split(counts.tolist())
        out = torch.cat([self.mlp(xe, w, pre + "experts.%d." % e) for e, xe in enumerate(xs)])
        y = torch.zeros_like(x).index_add_(0, rows, (out * wsel.view(-1)[order].unsqueeze(1)).to(x.dtype))
        f = counts.to(x.dtype) / (n * k)
        stats = {"load_balance": E * (f * p.mean(0)).sum(),
                 "z_loss": torch.logsumexp(z, dim=-1).square().mean(),
                 "importance": (lambda s: s.var(unbiased=False) / s.mean() ** 2)(p.sum(0))}
        return y, stats

    def loss(self, w, tokens, targets, step):
        B, T = tokens.shape
        x = F.embedding(tokens, w["wte.weight"]) + w["wpe.weight"][:T]
        x = self.drop(x)
        stats = {}
        for i in range(self.layers):
            pre = "h.%d." % i
            x = x + self.attention(F.layer_norm(x, x.shape[-1:], w[pre + "ln_1.weight"], w[pre + "ln_1.bias"]), w,
                                   pre + "attn.")
            h = F.layer_norm(x, x.shape[-1:], w[pre + "ln_2.weight"], w[pre + "ln_2.bias"]).view(B * T, -1)
            r = self.m["moe"].get(pre + "mlp")
            if r:
                y, s = self.moe(h, w, pre + "mlp.", self.m["routers"][r], step)
                stats.setdefault(r, []).append(s)
            else:
                y = self.mlp(h, w, pre + "mlp.")
            x = x + y.view(B, T, -1)
        x = F.layer_norm(x, x.shape[-1:], w["ln_f.weight"], w["ln_f.bias"])
        logits = x.view(B * T, -1) @ w["wte.weight"].t()
        total = 0.0
        for coef, term, arg in self.m["loss"]:
            if term == "cross_entropy":
                total = total + coef * F.cross_entropy(logits.float(), targets.reshape(-1))
            elif coef != 0:
                total = total + coef * sum(s[term] for s in stats[arg]) / len(stats[arg])
        return total

# ---- the step ----

def schedule(t):
    """lr multiplier at 0-based step s (doc/model-semantics.md's training step)."""
    def at(s):
        if s < t["warmup"]:
            return (s + 1) / t["warmup"]
        q = min(1.0, max(0.0, (s - t["warmup"]) / max(1, t["steps"] - t["warmup"])))
        mn = t["min_lr"] / t["lr"]
        return {"cosine": mn + (1 - mn) * 0.5 * (1 + math.cos(math.pi * q)),
                "linear": 1 + (mn - 1) * q, "constant": 1.0}[t["schedule"]]
    return at


def step_flops(m, B, T):
    """Matmul FLOPs of one step: 3x the forward's (backward: dX and dW)."""
    shapes = {n: s for n, s, _ in m["params"]}
    V, d = shapes["wte.weight"]
    N, fwd = B * T, 2 * B * T * d * V
    for n, s, _ in m["params"]:
        if n.endswith(".weight") and len(s) == 2 and n not in ("wte.weight", "wpe.weight"):
            rows = N
            if ".experts." in n:            # N k rows among E experts, however they fall
                layer = n.split(".experts.")[0]
                rows = N * m["routers"][m["moe"][layer]]["k"] / shapes[layer + ".router.gate.weight"][0]
            fwd += 2 * rows * s[0] * s[1]
        if n.endswith("attn.c_attn.weight"):
            fwd += 4 * B * T * T * d     # q k^T and att v, the full T x T square
    return 3 * fwd


def cpu_jiffies():
    """(busy, total) jiffies of the whole machine from /proc/stat, or None."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return None
    return sum(v) - v[3] - v[4], sum(v)


def others_share(before, after, self_s):
    """The share of the machine's CPU time that other processes took meanwhile."""
    if not before or not after or after[1] == before[1]:
        return None
    hz = os.sysconf("SC_CLK_TCK")
    return max(0.0, (after[0] - before[0] - self_s * hz) / (after[1] - before[1]))


def sync():
    if ARGS.device == "cuda":
        torch.cuda.synchronize()


def main():
    torch.set_num_threads(ARGS.threads)
    if ARGS.device == "cuda" and not torch.cuda.is_available():
        sys.exit("torch_step.py: --device cuda, but this PyTorch sees no GPU")
    if ARGS.compile and not hasattr(torch, "compile"):
        sys.exit("torch_step.py: --compile needs PyTorch 2 (this is %s)" % torch.__version__)
    dev = torch.device(ARGS.device)
    m = elab(ARGS.moec, ARGS.model, ARGS.set)
    B, T, t = ARGS.batch, ARGS.seq, m["train"]
    gen = torch.Generator().manual_seed(ARGS.seed)
    torch.manual_seed(ARGS.seed)
    w = init_weights(m["params"], gen, dev)
    V = dict((n, s) for n, s, _ in m["params"])["wte.weight"][0]
    # On the CPU the attention stays written out, as the CPU figures were measured.
    sdpa = ARGS.device == "cuda" and hasattr(F, "scaled_dot_product_attention")
    model = Step(m, B, T, dev, sdpa)
    loss_fn = torch.compile(model.loss) if ARGS.compile else model.loss
    params = list(w.values())
    fused = {}
    if ARGS.device == "cuda" and "fused" in torch.optim.AdamW.__init__.__code__.co_varnames:
        fused = {"fused": True}
    opt = torch.optim.AdamW(params, lr=t["lr"], betas=(t["beta1"], t["beta2"]), eps=t["eps"],
                            weight_decay=t["weight_decay"], **fused)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule(t))
    amp = torch.autocast(ARGS.device, dtype=torch.bfloat16) if ARGS.dtype == "bf16" else None
    times = []
    for s in range(ARGS.steps + 1):
        if s == 1:
            busy0, self0 = cpu_jiffies(), time.process_time()
        data = torch.randint(0, V, (B, T + 1), generator=gen).to(dev)
        sync()
        t0 = time.perf_counter()
        if amp:
            with amp:
                loss = loss_fn(w, data[:, :-1], data[:, 1:], s)
        else:
            loss = loss_fn(w, data[:, :-1], data[:, 1:], s)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if t["clip"] > 0:
            torch.nn.utils.clip_grad_norm_(params, t["clip"])
        opt.step()
        sched.step()
        sync()
        times.append(time.perf_counter() - t0)
        print("# step %d: %.3f s, loss %.4f" % (s, times[-1], float(loss)), file=sys.stderr)
    others = others_share(busy0, cpu_jiffies(), time.process_time() - self0)
    step_s = statistics.median(times[1:])
    flops = step_flops(m, B, T)
    out = {"step_s": step_s, "tokens_per_s": B * T / step_s, "flops": flops,
           "gflops": flops / step_s / 1e9, "steps": ARGS.steps, "threads": ARGS.threads,
           "batch": B, "seq": T, "params": sum(p.numel() for p in params),
           "torch": torch.__version__, "times_s": [round(x, 4) for x in times],
           "others_cpu": others if others is None else round(others, 3)}
    if ARGS.device == "cuda":
        out.update({"device": torch.cuda.get_device_name(), "dtype": ARGS.dtype, "compile": ARGS.compile,
                    "attention": "sdpa" if sdpa else "manual", "fused_adamw": bool(fused),
                    "compile_s": round(times[0] - step_s, 3)})
        if ARGS.peak_tflops > 0:
            out["mfu"] = round(flops / step_s / 1e12 / ARGS.peak_tflops, 4)
    print(json.dumps(out))


main()
