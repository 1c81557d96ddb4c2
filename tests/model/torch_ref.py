#!/usr/bin/python3
# tests/model/torch_ref.py -- an independent PyTorch reference for `moec eval`
# and `moec grad`: GPT-2 and the MoE routers written from doc/names-and-metrics.md
# and doc/model-semantics.md (not from moec's graph), with a sparse dispatch
# (each expert runs only on its routed rows), in float64. For each tiny model
# it writes a token shard and random weights (names and shapes from
# `moec init`), runs moec, and compares the losses and every gradient.
# noisy_topk draws its noise in training, which torch cannot reproduce, so
# its case (with Shazeer's load loss) compares `moec eval` only.
# Prints TAP. Usage: torch_ref.py MOEC MODELS_DIR WORKDIR
import json
import math
import os
import struct
import subprocess
import sys

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print("1..0 # SKIP python3-torch is not installed")
    sys.exit(0)

torch.set_default_dtype(torch.float64)
FAILED = []   # the "not ok" lines printed; any makes the exit status 1 (doc/architecture.md#tests)


def tap(line):
    """Prints one TAP line and remembers a failed case."""
    print(line)
    if line.startswith("not ok"):
        FAILED.append(line)

# ---- safetensors, by hand (8-byte header length, JSON header, raw data) ----

def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", name
        a, b = info["data_offsets"]
        count = (b - a) // 4
        vals = struct.unpack("<%df" % count, raw[8 + n + a:8 + n + b])
        out[name] = torch.tensor(vals, dtype=torch.float64).reshape(info["shape"])
    return out


def write_safetensors(path, tensors):
    header, blobs, at = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name]
        data = struct.pack("<%df" % t.numel(), *t.flatten().tolist())
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [at, at + len(data)]}
        blobs.append(data)
        at += len(data)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def write_shard(path, tokens):
    hdr = [0] * 256
    hdr[0], hdr[1], hdr[2] = 20240520, 1, len(tokens)
    with open(path, "wb") as f:
        f.write(struct.pack("<256i", *hdr) + struct.pack("<%dH" % len(tokens), *tokens))

# ---- the model, from doc/model-semantics.md ----

def gelu(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def attention(x, w, pre, heads):
    B, T, d = x.shape
    qkv = x @ w[pre + "c_attn.weight"] + w[pre + "c_attn.bias"]
    q, k, v = qkv.split(d, dim=2)
    q, k, v = (t.view(B, T, heads, d // heads).transpose(1, 2) for t in (q, k, v))
    att = (q @ k.transpose(-2, -1)) / math.sqrt(d // heads)
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    att = F.softmax(att.masked_fill(~mask, float("-inf")), dim=-1)
    y = (att @ v).transpose(1, 2).reshape(B, T, d)
    return y @ w[pre + "c_proj.weight"] + w[pre + "c_proj.bias"]


def mlp(x, w, pre):
    h = gelu(x @ w[pre + "c_fc.weight"] + w[pre + "c_fc.bias"])
    return h @ w[pre + "c_proj.weight"] + w[pre + "c_proj.bias"]


def route(rows, gate, cfg):
    """rows [n,d] -> combine weights W [n,E] and the layer's statistics."""
    n, E = rows.shape[0], gate.shape[0]
    z = rows @ gate.T
    p = F.softmax(z, dim=-1)
    W = torch.zeros(n, E)
    assigned = torch.zeros(E)
    if cfg["kind"] == "expert_choice":
        C = max(1, min(n, int(math.floor(n * cfg["cf"] / E))))
        cols = []
        for e in range(E):
            vals, idx = p[:, e].topk(C)
            cols.append(torch.zeros(n).index_add(0, idx, vals))
            assigned[e] = C
        W = torch.stack(cols, dim=1)
        k_total = E * C
        dropped = 0
    else:
        k = cfg["k"]
        vals, idx = p.topk(k, dim=-1)
        if k == 1 and cfg.get("st"):
            wsel = vals - vals.detach() + 1.0
        elif k >= 2 and cfg.get("renorm", True):
            wsel = vals / vals.sum(-1, keepdim=True)
        else:
            wsel = vals
        keep = torch.ones(n, k)
        if cfg.get("cf", 0) > 0:
            cap = math.ceil(cfg["cf"] * n * k / E)
            count = [0] * E
            for s in range(k):               # slot-major: every token's slot 0 first
                for i in range(n):
                    e = int(idx[i, s])
                    count[e] += 1
                    if count[e] > cap:
                        keep[i, s] = 0.0
        for i in range(n):
            for s in range(k):
                assigned[int(idx[i, s])] += 1
        W = W.scatter_add(1, idx, wsel * keep)
        k_total = n * k
        dropped = int((keep == 0).sum())
    f = assigned / k_total
    lb = E * (f * p.mean(0)).sum()
    zl = (torch.logsumexp(z, dim=-1) ** 2).mean()
    imp = p.sum(0)
    cv2 = imp.var(unbiased=False) / imp.mean() ** 2
    assigns = k_total if cfg["kind"] != "expert_choice" and cfg.get("cf", 0) > 0 else 0
    return W, {"lb": lb, "z": zl, "imp": cv2, "f": f, "dropped": dropped, "assigns": assigns}


def cv2(v):
    return v.var(unbiased=False) / v.mean() ** 2


def kth_excluding(h, k):
    """[n,E] -> [n,E]: for each e, the k-th largest of the row with e left out."""
    n, E = h.shape
    out = torch.empty(n, E)
    for e in range(E):
        others = torch.cat([h[:, :e], h[:, e + 1:]], dim=1)
        out[:, e] = others.topk(k, dim=-1).values[:, k - 1]
    return out


def route_noisy_eval(rows, gate, noise, cfg):
    """noisy_topk in evaluation semantics (Shazeer 2017 without the draw: h = z):
    top k of z, softmax over the kept; the load loss from the noise scale
    s = softplus(rows noise^T) with the threshold a constant."""
    n, E, k = rows.shape[0], gate.shape[0], cfg["k"]
    z = rows @ gate.T
    s = F.softplus(rows @ noise.T, threshold=1000.0)
    vals, idx = z.topk(k, dim=-1)
    W = torch.zeros(n, E).scatter(1, idx, F.softmax(vals, dim=-1))
    assigned = torch.zeros(E).index_add(0, idx.flatten(), torch.ones(n * k))
    p = F.softmax(z, dim=-1)
    thr = kth_excluding(z, k).detach()
    P = 0.5 * (1 + torch.erf((z - thr) / (s * math.sqrt(2.0))))
    stats = {"lb": E * (assigned / (n * k) * p.mean(0)).sum(), "z": (torch.logsumexp(z, dim=-1) ** 2).mean(),
             "imp": cv2(p.sum(0)), "load": cv2(P.sum(0)), "dropped": 0, "assigns": 0}
    return W, stats


def moe(x, w, pre, cfg):
    B, T, d = x.shape
    E = w[pre + "router.gate.weight"].shape[0]
    rows = x.mean(1) if cfg.get("unit") == "sequence" else x.reshape(B * T, d)
    if cfg["kind"] == "noisy_topk":
        W, stats = route_noisy_eval(rows, w[pre + "router.gate.weight"], w[pre + "router.noise.weight"], cfg)
    else:
        W, stats = route(rows, w[pre + "router.gate.weight"], cfg)
    if cfg.get("unit") == "sequence":
        W = W[:, None, :].expand(B, T, E).reshape(B * T, E)
    xf = x.reshape(B * T, d)
    y = torch.zeros(B * T, d)
    for e in range(E):                       # sparse dispatch: routed rows only
        chosen = (W[:, e] != 0).nonzero().flatten()
        if len(chosen):
            out = mlp(xf[chosen], w, pre + "experts.%d." % e)
            y = y.index_add(0, chosen, W[chosen, e:e + 1] * out)
    return y.reshape(B, T, d), stats


def sinusoidal(T, d):
    pos = torch.arange(T, dtype=torch.float64)[:, None]
    freq = torch.exp(torch.arange(0, d, 2, dtype=torch.float64) * (-math.log(10000.0) / d))
    pe = torch.zeros(T, d)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)
    return pe


def forward(w, tokens, targets, cfg):
    B, T = tokens.shape
    x = w["wte.weight"][tokens]
    x = x + (sinusoidal(T, x.shape[2]) if cfg.get("sinusoidal") else w["wpe.weight"][:T])
    layers = 1 + max(int(k.split(".")[1]) for k in w if k.startswith("h."))
    stats = []
    for i in range(layers):
        pre = "h.%d." % i
        x = x + attention(F.layer_norm(x, x.shape[-1:], w[pre + "ln_1.weight"], w[pre + "ln_1.bias"], 1e-5),
                          w, pre + "attn.", cfg["heads"])
        h = F.layer_norm(x, x.shape[-1:], w[pre + "ln_2.weight"], w[pre + "ln_2.bias"], 1e-5)
        if pre + "mlp.router.gate.weight" in w:
            y, s = moe(h, w, pre + "mlp.", cfg["router"])
            stats.append(s)
        else:
            y = mlp(h, w, pre + "mlp.")
        x = x + y
    x = F.layer_norm(x, x.shape[-1:], w["ln_f.weight"], w["ln_f.bias"], 1e-5)
    logits = x @ w["wte.weight"].T
    lm = F.cross_entropy(logits.reshape(B * T, -1), targets.reshape(B * T), ignore_index=-1)
    mean = lambda key: sum(s[key] for s in stats) / len(stats) if stats else torch.tensor(0.0)
    lb, zl, imp = mean("lb"), mean("z"), mean("imp")
    loss = lm + cfg.get("lb", 0) * lb + cfg.get("zc", 0) * zl + cfg.get("ic", 0) * imp
    if cfg.get("loadc"):
        loss = loss + cfg["loadc"] * mean("load")
    return {"loss": loss, "lm_loss": lm, "lb_loss": lb, "z_loss": zl}, sum(s["dropped"] for s in stats), \
        sum(s["assigns"] for s in stats)

# ---- the cases ----

TINY = ["vocab=50", "d=16", "heads=2", "ctx=16", "seq=16", "dropout=0.0"]
CASES = [
    ("dense", "gpt2-dense-tiny.moe", TINY + ["layers=2"], {}),
    ("top-1 straight-through", "gpt2-moe-tiny.moe",
     TINY + ["layers=2", "moe_from=1", "experts=4", "noise_std=0"],
     {"router": {"kind": "topk", "k": 1, "st": True}, "lb": 0.01, "zc": 0.001}),
    ("top-2 renormalised", "gpt2-moe-tiny.moe",
     TINY + ["layers=3", "moe_from=1", "experts=4", "noise_std=0", "top_k=2"],
     {"router": {"kind": "topk", "k": 2}, "lb": 0.01, "zc": 0.001}),
    ("expert choice", "small-moe-tiny.moe", TINY + ["layers=2", "experts=4", "router_kind=expert_choice"],
     {"router": {"kind": "expert_choice", "cf": 2.0}, "lb": 0.01}),
    ("capacity 1.0 top-1 with dropping, sinusoidal", "chimera-tiny.moe", TINY + ["layers=2", "experts=4", "lb_coef=0.01"],
     {"router": {"kind": "topk", "k": 1, "cf": 1.0}, "lb": 0.01, "sinusoidal": True}),
    ("capacity 0.5 top-2 with dropping", "chimera-tiny.moe",
     TINY + ["layers=1", "experts=4", "top_k=2", "capacity=0.5", "lb_coef=0.1"],
     {"router": {"kind": "topk", "k": 2, "cf": 0.5}, "lb": 0.1, "sinusoidal": True}),
    ("sequence unit top-1", "fan-routing-tiny.moe", TINY + ["layers=2", "experts=4", "unit=sequence"],
     {"router": {"kind": "topk", "k": 1, "unit": "sequence"}, "lb": 0.01}),
    ("sequence unit top-2", "fan-routing-tiny.moe", TINY + ["layers=2", "experts=4", "unit=sequence", "top_k=2"],
     {"router": {"kind": "topk", "k": 2, "unit": "sequence"}, "lb": 0.01}),
    ("noisy top-2 with load(R), evaluation", "@noisy-load", TINY + ["layers=4"],
     {"router": {"kind": "noisy_topk", "k": 2}, "lb": 0.01, "loadc": 1.0, "eval_only": True}),
    ("noisy top-1 with load(R), evaluation", "@noisy-load", TINY + ["layers=2", "top_k=1"],
     {"router": {"kind": "noisy_topk", "k": 1}, "lb": 0.01, "loadc": 1.0, "eval_only": True}),
]

# A model of the test's own (no catalogue model uses load(R)): noisy top-k
# MoE at the odd layers, loss CE + lb_coef LB + load_coef load.
NOISY_LOAD = """model noisy_load
param vocab = 50
param ctx = 16
param d = 16
param heads = 2
param layers = 2
param dropout = 0.0
param experts = 4
param top_k = 2
param lb_coef = 0.01
param load_coef = 1.0
router r = noisy_topk(k = top_k)
block mlp(x) {
    h = gelu(linear(x, 4 * d) as c_fc)
    return dropout(linear(h, d, residual = true) as c_proj, dropout)
}
block layer(x, i) {
    x = x + causal_self_attention(layernorm(x) as ln_1, heads = heads, dropout = dropout) as attn
    if i % 2 == 1 {
        x = x + moe(layernorm(x) as ln_2, experts = experts, expert = mlp, router = r) as mlp
    } else {
        x = x + mlp(layernorm(x) as ln_2)
    }
    return x
}
forward(tokens) {
    x = dropout(embedding(tokens, vocab, d) + position_embedding(ctx, d), dropout)
    for i in 0 .. layers {
        x = layer(x, i) as h[i]
    }
    return lm_head(layernorm(x) as ln_f, tied = true)
}
loss = cross_entropy(logits, targets) + lb_coef * load_balance(r) + load_coef * load(r)
train {
    steps = 10  batch = 2  seq = 16
}
"""
B, T = 2, 16


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd[:2]), r.returncode, r.stderr.strip()))
    return r.stdout


def random_weights(names_file, seed):
    g = torch.Generator().manual_seed(seed)
    w = {}
    for name, t in read_safetensors(names_file).items():
        r = torch.randn(t.shape, generator=g)
        if ".ln_" in name or name.startswith("ln_f"):
            w[name] = (1.0 if name.endswith("weight") else 0.0) + 0.1 * r
        else:
            w[name] = 0.3 * r if name.endswith("weight") else 0.1 * r
    return w


def f32(w):
    """The values moec reads: the float32 file's."""
    return {k: torch.tensor(v.to(torch.float32).tolist(), dtype=torch.float64) for k, v in w.items()}


def capped(cfg):
    """1 when the case's router has a capacity on its slots (eval reports drops)."""
    r = cfg.get("router", {})
    return 1 if r.get("kind") != "expert_choice" and r.get("cf", 0) > 0 else 0


def check_cpu(n, name, moec, common, gfile, ref, params):
    """The compiled CPU backend (float32) against torch (float64): the grad
    step's loss and every gradient. float32 rounds each of the step's ~1e2
    sequential operations by up to 6e-8, so 1e-5 relative (loss) and 1e-4
    per-tensor L2 (gradients; measured below 1e-5) leave a wide margin."""
    cpu = [a if a != "interp" else "cpu" for a in common]
    try:
        gr = json.loads(run([moec, "grad"] + cpu + ["-o", gfile]))
        grads = read_safetensors(gfile)
    except Exception as e:  # noqa: BLE001 -- any failure is this check's failure
        n += 1
        tap("not ok %d - %s: the CPU backend's grad runs (%s)" % (n, name, e))
        return n
    dl = abs(gr["loss"] - float(ref["loss"])) / abs(float(ref["loss"]))
    worst, where = 0.0, ""
    for k, p in params.items():
        want = p.grad if p.grad is not None else torch.zeros_like(p)
        diff = float((grads[k] - want).norm())
        r = diff / float(want.norm()) if float(want.norm()) > 0 else diff
        if r > worst:
            worst, where = r, k
    n += 1
    tap("%sok %d - %s: the CPU backend's loss and %d gradients match torch (loss rel %.1e, gradients %.1e at %s)" %
        ("" if dl <= 1e-5 and worst <= 1e-4 else "not ", n, name, len(params), dl, worst, where))
    return n


def check_drops(n, name, moec, common, dropped, assigns):
    """moec eval's plain line reports the drops torch counts."""
    try:
        line = run([moec, "eval"] + [a for a in common if a != "--json"]).strip()
        got = line.split("  dropped ")[1].split(" assignments")[0]
    except Exception as e:  # noqa: BLE001 -- any failure is this check's failure
        line, got = str(e), "?"
    want = "%d of %d" % (dropped, assigns)
    tap("%sok %d - %s: eval reports %s dropped assignments, as torch counts (%s)" %
        ("" if got == want else "not ", n, name, want, line))


def main():
    moec, models, work = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(work, exist_ok=True)
    print("1..%d" % sum((1 if c[3].get("eval_only") else 4) + capped(c[3]) for c in CASES))
    noisy_file = os.path.join(work, "noisy-load.moe")
    with open(noisy_file, "w") as f:
        f.write(NOISY_LOAD)
    n = 0
    worst = {"loss": 0.0, "abs": 0.0, "rel": 0.0}
    g = torch.Generator().manual_seed(7)
    tokens = torch.randint(0, 50, (B * T + 1,), generator=g)
    shard = os.path.join(work, "tokens.bin")
    write_shard(shard, tokens.tolist())
    inp, tgt = tokens[:-1].reshape(B, T), tokens[1:].reshape(B, T)
    for ci, (name, model, sets, cfg) in enumerate(CASES):
        cfg = dict(cfg, heads=2)
        setargs = sum((["--set", s] for s in sets), [])
        model = noisy_file if model == "@noisy-load" else os.path.join(models, model)
        whats = ("eval",) if cfg.get("eval_only") else ("eval", "grad loss", "gradients")
        wfile, gfile = os.path.join(work, "w%d.safetensors" % ci), os.path.join(work, "g%d.safetensors" % ci)
        try:
            run([moec, "init", model] + setargs + ["--seed", "1", "-o", wfile])
            w = f32(random_weights(wfile, 100 + ci))
            write_safetensors(wfile, w)
            common = [model] + setargs + ["--weights", wfile, "--data", shard,
                                          "--batch", str(B), "--seq", str(T), "--json", "--backend", "interp"]
            ev = json.loads(run([moec, "eval"] + common))
            if not cfg.get("eval_only"):
                gr = json.loads(run([moec, "grad"] + common + ["-o", gfile]))
                grads = read_safetensors(gfile)
        except Exception as e:  # noqa: BLE001 -- any failure is this case's failure
            for what in whats + (("drops",) if capped(cfg) else ()):
                n += 1
                tap("not ok %d - %s: %s (%s)" % (n, name, what, e))
            continue
        params = {k: v.clone().requires_grad_(True) for k, v in w.items()}
        ref, dropped, assigns = forward(params, inp, tgt, cfg)
        # both sides are float64 on the same float32 weights: only summation
        # order differs (measured 3.8e-16); 1e-9 (below) leaves a wide margin
        # and is still far below any modelling error; 1e-12 guards a zero term
        dl = max(abs(ev[k] - float(ref[k])) / max(1e-12, abs(float(ref[k]))) for k in ev)
        worst["loss"] = max(worst["loss"], dl)
        n += 1
        load = ""
        if cfg.get("loadc"):   # what the loss holds beyond CE and LB: the load term, moec's and torch's
            aux = lambda r: float(r["loss"]) - float(r["lm_loss"]) - cfg["lb"] * float(r["lb_loss"])
            lm, lt = aux(ev) / cfg["loadc"], aux(ref) / cfg["loadc"]
            load = ", load %.12g, torch %.12g, rel %.1e" % (lm, lt, abs(lm - lt) / abs(lt))
        tap("%sok %d - %s: eval loss, lm, lb, z match torch (max rel %.1e; loss %.9f, lb %.6f, z %.4f, "
            "%d dropped%s)" % ("" if dl <= 1e-9 else "not ", n, name, dl, ev["loss"], ev["lb_loss"], ev["z_loss"],
                               dropped, load))
        if capped(cfg):
            n += 1
            check_drops(n, name, moec, common, dropped, assigns)
        if cfg.get("eval_only"):
            continue
        ref["loss"].backward()
        dg = abs(gr["loss"] - float(ref["loss"])) / abs(float(ref["loss"]))
        n += 1
        tap("%sok %d - %s: grad's loss matches torch (rel %.1e)" % ("" if dg <= 1e-9 else "not ", n, name, dg))
        max_abs, max_rel, where = 0.0, 0.0, ""
        for k, p in params.items():
            want = p.grad if p.grad is not None else torch.zeros_like(p)
            got = grads[k]
            a = float((got - want).abs().max())
            # per-tensor L2 relative error; the gradient file is float32 (6e-8
            # rounding per element, measured 4.1e-8), so 1e-5 (below) is ~250x
            r = float((got - want).norm() / max(float(want.norm()), 1e-12)) if float(want.norm()) > 0 else a
            max_abs = max(max_abs, a)
            if r > max_rel:
                max_rel, where = r, k
        worst["abs"] = max(worst["abs"], max_abs)
        worst["rel"] = max(worst["rel"], max_rel)
        n += 1
        tap("%sok %d - %s: %d gradients match torch (max abs %.1e, max rel %.1e at %s)" %
            ("" if max_rel <= 1e-5 else "not ", n, name, len(params), max_abs, max_rel, where))
        n = check_cpu(n, name, moec, common, gfile, ref, params)
    print("# worst: loss rel %.2e, gradient abs %.2e, gradient rel (per tensor, L2) %.2e" %
          (worst["loss"], worst["abs"], worst["rel"]))
    return 1 if FAILED else 0


sys.exit(main())
