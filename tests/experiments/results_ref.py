#!/usr/bin/env python3
"""tests/experiments/results_ref.py STUDY_DIR -- reads every run's metrics.jsonl
and run_summary.json on its own (no moec code) and checks that
STUDY_DIR/results.json and STUDY_DIR/report/report.md carry the same numbers:
final and best eval loss (eval/lm_loss of the last eval line, and of the
first eval line with the lowest eval/loss: the weights best-model keeps), the final eval loss per domain, the largest expert fraction
per MoE layer at the final eval, and how the run stopped. Exit 0 when all
agree, 1 with the differences listed."""
import json
import math
import os
import re
import sys


def read_run(run_dir):
    evals = []
    with open(os.path.join(run_dir, "metrics.jsonl"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                rec = json.loads(line)
                if "eval/lm_loss" in rec:
                    evals.append(rec)
    final = evals[-1]
    domains = {k[len("eval/loss_"):]: v for k, v in final.items() if k.startswith("eval/loss_")}
    layers = {}
    for k, v in final.items():
        m = re.fullmatch(r"router/layer_(\d+)_expert_(\d+)_frac", k)
        if m:
            layers[m.group(1)] = max(layers.get(m.group(1), 0.0), v)
    with open(os.path.join(run_dir, "run_summary.json"), encoding="utf-8") as f:
        stopped = json.load(f).get("stopped_reason")
    return {
        "final_eval_loss": final["eval/lm_loss"],
        "best_eval_loss": min(evals, key=lambda e: e["eval/loss"])["eval/lm_loss"],
        "eval_loss_by_domain": domains,
        "max_expert_fraction": layers,
        "stopped_reason": stopped,
    }


def close(a, b):
    return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def main():
    study = sys.argv[1]
    with open(os.path.join(study, "results.json"), encoding="utf-8") as f:
        results = json.load(f)
    runs = results["runs"] if isinstance(results, dict) else results
    with open(os.path.join(study, "report", "report.md"), encoding="utf-8") as f:
        report = f.read()
    errors = []
    names = set()
    for r in runs:
        name = r["name"]
        names.add(name)
        ref = read_run(os.path.join(study, name))
        for key in ("final_eval_loss", "best_eval_loss"):
            if not close(r.get(key), ref[key]):
                errors.append(f"{name}: {key} {r.get(key)} != {ref[key]}")
        got = r.get("eval_loss_by_domain") or {}
        if set(got) != set(ref["eval_loss_by_domain"]):
            errors.append(f"{name}: domains {sorted(got)} != {sorted(ref['eval_loss_by_domain'])}")
        for d, v in ref["eval_loss_by_domain"].items():
            if not close(got.get(d), v):
                errors.append(f"{name}: eval_loss_by_domain[{d}] {got.get(d)} != {v}")
        got = {str(k): v for k, v in (r.get("max_expert_fraction") or {}).items()}
        if set(got) != set(ref["max_expert_fraction"]):
            errors.append(f"{name}: MoE layers {sorted(got)} != {sorted(ref['max_expert_fraction'])}")
        for layer, v in ref["max_expert_fraction"].items():
            if not close(got.get(layer), v):
                errors.append(f"{name}: max_expert_fraction[{layer}] {got.get(layer)} != {v}")
        if r.get("stopped_reason") != ref["stopped_reason"]:
            errors.append(f"{name}: stopped_reason {r.get('stopped_reason')} != {ref['stopped_reason']}")
        for key in ("model_file", "sets"):
            if key not in r:
                errors.append(f"{name}: no {key}")
        if name not in report:
            errors.append(f"report.md does not name {name}")
        shown = f"{ref['final_eval_loss']:.4f}"
        if shown not in report:
            errors.append(f"report.md does not show {name}'s final eval loss {shown}")
    on_disk = {d for d in os.listdir(study)
               if os.path.isfile(os.path.join(study, d, "metrics.jsonl")) and d != "pretrain"}
    if names != on_disk:
        errors.append(f"results.json runs {sorted(names)} != run directories {sorted(on_disk)}")
    for e in errors:
        print(e)
    print(f"{len(runs)} runs checked, {len(errors)} differences")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
