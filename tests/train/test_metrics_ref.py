#!/usr/bin/env python3
"""tests/train/test_metrics_ref.py -- an independent reference for
runtime/train/metrics.c (doc/names-and-metrics.md, "Metrics"), used by
tests/train/test_metrics.c.

Usage: test_metrics_ref.py SPEC.json OUT.json
SPEC (written by the C test from the model it elaborated): batch, seq,
domains, batches, seed and the MoE layers' router settings. This script
draws random batches of the values a step keeps with keep_stats (losses,
token_loss, SCOPE.probs, SCOPE.assign, SCOPE.keep) plus each position's
domain and validity, and computes from them, by the definitions, the metric
lines of kinds "train" and "eval" and every layer's use. It derives the
layout (router rows, C) itself from the router settings. Standard library
only."""
import json
import math
import random
import re
import sys


def layer_index(scope):
    for part in scope.split("."):
        if re.fullmatch(r"[0-9]+", part):
            return int(part)
    return None


def geometry(layer, b, t):
    kind, e = layer["kind"], layer["experts"]
    per_seq = layer["unit"] == "sequence" or kind == "label"
    n = b if per_seq else b * t
    g = {"kind": kind, "E": e, "n": n, "per_seq": per_seq,
         "probs": kind not in ("hash", "label"),
         "choice": kind == "expert_choice"}
    if g["choice"]:
        g["C"] = min(max(int(math.floor(n * layer["capacity_factor"] / e)), 1), n)
    else:
        g["k"] = layer["k"]
        g["capped"] = layer["capacity_factor"] > 0
    return g


def draw_probs(rng, n, e):
    rows = []
    for _ in range(n):
        z = [rng.gauss(0, 2) for _ in range(e)]
        if rng.random() < 0.2:                       # exact zeros: 0 log 0 = 0
            z[rng.randrange(e)] = -math.inf
        m = max(z)
        w = [math.exp(x - m) if x != -math.inf else 0.0 for x in z]
        s = sum(w)
        rows.append([x / s for x in w])
    return rows


def draw_batch(rng, spec, geos):
    b, t, nd = spec["batch"], spec["seq"], len(spec["domains"])
    npos = b * t
    out = {"scalars": {k: rng.uniform(0, 5) for k in ("loss", "lm_loss", "lb_loss", "z_loss")},
           "values": {}}
    out["values"]["token_loss"] = [rng.uniform(0, 10) for _ in range(npos)]
    # whole sequences of one domain sometimes, mixed otherwise
    out["token_domain"] = [rng.randrange(nd) for _ in range(npos)] if nd else None
    all_valid = rng.random() < 0.3
    valid = [1 if all_valid or rng.random() < 0.7 else 0 for _ in range(npos)]
    valid[rng.randrange(npos)] = 1
    out["token_valid"] = valid
    for layer, g in zip(spec["layers"], geos):
        s, n, e = layer["scope"], g["n"], g["E"]
        if g["probs"]:
            out["values"][s + ".probs"] = [x for row in draw_probs(rng, n, e) for x in row]
        if g["choice"]:
            out["values"][s + ".assign"] = [r for _ in range(e) for r in rng.sample(range(n), g["C"])]
        else:
            out["values"][s + ".assign"] = [x for _ in range(n) for x in rng.sample(range(e), g["k"])]
            if g["capped"]:
                out["values"][s + ".keep"] = [1.0 if rng.random() < 0.7 else 0.0 for _ in range(n * g["k"])]
    return out


def row_domains(g, batch, b, t):
    """The domain of each router row, None for 'no domains', or 'skip'."""
    valid, dom = batch["token_valid"], batch["token_domain"]
    out = []
    for r in range(g["n"]):
        positions = range(r * t, (r + 1) * t) if g["per_seq"] else [r]
        first = next((p for p in positions if valid[p]), None)
        out.append("skip" if first is None else (dom[first] if dom is not None else None))
    return out


def layer_use(g, batches, spec, domain):
    """rows, assignments, per-expert counts, dropped, unrouted, entropy sum, prob sums."""
    b, t, e = spec["batch"], spec["seq"], g["E"]
    acc = {"rows": 0, "assign": 0, "count": [0] * e, "dropped": 0, "unrouted": 0, "h": 0.0, "psum": [0.0] * e}
    for batch, scope in batches:
        doms = row_domains(g, batch, b, t)
        take = [d != "skip" and (domain is None or d == domain) for d in doms]
        vals = batch["values"]
        assign = vals[scope + ".assign"]
        hits = [0] * g["n"]
        if g["choice"]:
            for x in range(e):
                for c in range(g["C"]):
                    r = assign[x * g["C"] + c]
                    if take[r]:
                        acc["count"][x] += 1
                        acc["assign"] += 1
                        hits[r] += 1
        else:
            k = g["k"]
            keep = vals.get(scope + ".keep")
            for r in range(g["n"]):
                if not take[r]:
                    continue
                for s in range(k):
                    acc["count"][assign[r * k + s]] += 1
                    acc["assign"] += 1
                    kept = keep is None or keep[r * k + s] != 0
                    acc["dropped"] += 0 if kept else 1
                    hits[r] += 1 if kept else 0
        for r in range(g["n"]):
            if not take[r]:
                continue
            acc["rows"] += 1
            acc["unrouted"] += 1 if hits[r] == 0 else 0
            if g["probs"]:
                p = vals[scope + ".probs"][r * e:(r + 1) * e]
                acc["h"] += -sum(x * math.log(x) for x in p if x > 0)
                for x in range(e):
                    acc["psum"][x] += p[x]
    if acc["rows"] == 0 or acc["assign"] == 0:
        return None
    f = [c / acc["assign"] for c in acc["count"]]
    mean_f = sum(f) / e
    pbar = [s / acc["rows"] for s in acc["psum"]]
    dist = -sum(x * math.log(x) for x in pbar if x > 0)
    use_h = -sum(x * math.log(x) for x in f if x > 0)
    out = {"rows": acc["rows"], "assignments": acc["assign"], "frac": f, "max_frac": max(f),
           "max_expert": f.index(max(f)), "imbalance": max(f) / mean_f,
           "use_entropy_norm": use_h / math.log(e) if e > 1 else 1.0,
           "dropped": acc["dropped"] / acc["assign"], "unrouted": acc["unrouted"] / acc["rows"]}
    if g["probs"]:
        out["routing_entropy"] = acc["h"] / acc["rows"]
        out["dist_entropy"] = dist
        out["dist_entropy_norm"] = dist / math.log(e) if e > 1 else 1.0
    return out


def main():
    spec = json.load(open(sys.argv[1]))
    rng = random.Random(spec["seed"])
    b, t, domains = spec["batch"], spec["seq"], spec["domains"]
    geos = [geometry(layer, b, t) for layer in spec["layers"]]
    batches = [draw_batch(rng, spec, geos) for _ in range(spec["batches"])]
    nb = len(batches)
    tl_all, tl_dom = [], [[] for _ in domains]
    for batch in batches:
        for p, x in enumerate(batch["values"]["token_loss"]):
            if batch["token_valid"][p]:
                tl_all.append(x)
                if batch["token_domain"] is not None:
                    tl_dom[batch["token_domain"][p]].append(x)
    lm = sum(tl_all) / len(tl_all)
    lines = {}
    for kind in ("train", "eval"):
        line = {kind + "/loss": sum(x["scalars"]["loss"] for x in batches) / nb,
                kind + "/lm_loss": lm,
                kind + "/lb_loss": sum(x["scalars"]["lb_loss"] for x in batches) / nb,
                kind + "/z_loss": sum(x["scalars"]["z_loss"] for x in batches) / nb}
        for d, name in enumerate(domains):
            if tl_dom[d]:
                line[kind + "/loss_" + name] = sum(tl_dom[d]) / len(tl_dom[d])
        lines[kind] = line
    lines["eval"]["eval/perplexity"] = math.exp(lm)
    indices = [layer_index(layer["scope"]) for layer in spec["layers"]]
    if None in indices or len(set(indices)) != len(indices):
        indices = list(range(len(spec["layers"])))
    uses = []
    for i, (layer, g) in enumerate(zip(spec["layers"], geos)):
        for d in [None] + list(range(len(domains))):
            u = layer_use(g, [(x, layer["scope"]) for x in batches], spec, d)
            if u is None:
                continue
            u["index"], u["domain"], u["layer"] = i, -1 if d is None else d, indices[i]
            uses.append(u)
            suffix = "" if d is None else "_" + domains[d]
            pre = "router/layer_%d_" % indices[i]
            for x, f in enumerate(u["frac"]):
                lines["eval"][pre + "expert_%d_frac%s" % (x, suffix)] = f
            if g["probs"]:
                lines["eval"][pre + "entropy" + suffix] = u["routing_entropy"]
                lines["eval"][pre + "dist_entropy" + suffix] = u["dist_entropy_norm"]
            lines["eval"][pre + "imbalance" + suffix] = u["imbalance"]
            lines["eval"][pre + "dropped" + suffix] = u["dropped"]
            lines["eval"][pre + "unrouted" + suffix] = u["unrouted"]
    json.dump({"batches": batches, "train": lines["train"], "eval": lines["eval"], "use": uses},
              open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
