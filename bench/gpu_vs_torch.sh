#!/bin/sh
# bench/gpu_vs_torch.sh -- the GPU figures of doc/performance.md ("On a GPU"),
# in one run on the GPU machine: per shape, PyTorch eager (fp32 and bf16
# autocast) and torch.compile (bf16) of bench/torch_step.py, and `moec bench
# --backend cuda` (fp32); tokens/s and MFU against the device's peak; then
# NVRTC's compile time of every kernel of models/gpt2-moe.moe, cold (an empty
# cache) and warm. A row that cannot run says why (no GPU, a PyTorch without
# torch.compile, moec without its GPU executor) and the others go on.
# Usage: bench/gpu_vs_torch.sh [--moec PATH] [--models DIR] [--python PY] [--steps N] [--quick]
#                              [--peak-bf16 TFLOPS] [--peak-fp32 TFLOPS] [--keep FILE]
# --quick: the two shapes the goals name first (dense B 4 x T 1024, MoE top-1)
# and no fp32 eager rows. Peaks default by the device's name (H100/H200 SXM:
# 989 dense bf16, 67 fp32 TFLOP/s; NVIDIA's data sheets); pass them for others.
here=$(cd "$(dirname "$0")" && pwd)
moec=./moec models="$here/../models" py=${PYTHON:-python3} steps=5 quick=0 peak16= peak32= keep=
while [ $# -gt 0 ]; do
    case "$1" in
        --moec) moec=$2 ;;
        --models) models=$2 ;;
        --python) py=$2 ;;
        --steps) steps=$2 ;;
        --peak-bf16) peak16=$2 ;;
        --peak-fp32) peak32=$2 ;;
        --keep) keep=$2 ;;
        --quick) quick=1; shift; continue ;;
        *) echo "usage: $0 [--moec PATH] [--models DIR] [--python PY] [--steps N] [--quick]" \
                "[--peak-bf16 TFLOPS] [--peak-fp32 TFLOPS] [--keep FILE]" >&2; exit 2 ;;
    esac
    shift 2 || { echo "$0: $1 needs a value" >&2; exit 2; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/moec-gpu-bench-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
rows=${keep:-$tmp/rows}   # --keep FILE: written row by row, so a run cut short keeps what it measured
: > "$rows" || exit 1

gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
case "$gpu" in
    *H100*|*H200*) peak16=${peak16:-989} peak32=${peak32:-67} ;;
esac
echo "device: ${gpu:-no GPU (nvidia-smi found none)}; peaks bf16 ${peak16:-?} fp32 ${peak32:-?} TFLOP/s"
"$py" -c 'import torch; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda)' 2>/dev/null || echo "no PyTorch in $py"

# row SHAPE RUN COMMAND...: runs one timing, keeps its JSON line or why it did not run.
row() {
    shape=$1 run=$2; shift 2
    if "$@" >"$tmp/out" 2>"$tmp/err"; then
        line=$(tail -n 1 "$tmp/out")
        echo "{\"shape\":\"$shape\",\"run\":\"$run\",\"result\":$line}" >> "$rows"
    else
        why=$(grep -v '^#' "$tmp/err" | tail -n 1 | tr '"\\' "'/" | cut -c1-150)
        echo "{\"shape\":\"$shape\",\"run\":\"$run\",\"skipped\":\"$why\"}" >> "$rows"
    fi
    tail -n 1 "$rows" | cut -c1-200
}

# shape NAME MODEL B T [--set k=v]...
shape() {
    name=$1 model=$2 b=$3 t=$4; shift 4
    torch="$py $here/torch_step.py --moec $moec $models/$model $* --batch $b --seq $t --steps $steps --device cuda"
    # shellcheck disable=SC2086
    {
    [ "$quick" = 1 ] || row "$name" "torch eager fp32" $torch --dtype fp32 ${peak32:+--peak-tflops $peak32}
    row "$name" "torch eager bf16" $torch --dtype bf16 ${peak16:+--peak-tflops $peak16}
    row "$name" "torch.compile bf16" $torch --dtype bf16 --compile ${peak16:+--peak-tflops $peak16}
    row "$name" "moec fp32" "$moec" bench "$models/$model" "$@" --batch "$b" --seq "$t" --steps "$steps" --backend cuda --json
    }
}

# NVRTC: every kernel of the 12-layer MoE's training step, cold then warm.
arch=sm_90
cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d .)
[ -n "$cc" ] && arch=sm_$cc
for run in cold warm; do
    t0=$(date +%s.%N)
    if XDG_CACHE_HOME="$tmp/cache" "$moec" emit "$models/gpt2-moe.moe" --target cuda --arch "$arch" --ptx \
           --batch 8 --seq 1024 -o "$tmp/emit-$run" >"$tmp/err" 2>&1; then
        s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
        echo "{\"shape\":\"nvrtc\",\"run\":\"$run\",\"result\":{\"seconds\":$s,\"arch\":\"$arch\",\"kernels\":$(find "$tmp/emit-$run" -name '*.cu' | wc -l)}}" >> "$rows"
    else
        echo "{\"shape\":\"nvrtc\",\"run\":\"$run\",\"skipped\":\"$(tail -n 1 "$tmp/err" | tr '"\\' "'/")\"}" >> "$rows"
    fi
    tail -n 1 "$rows"
done

shape d4 gpt2-dense.moe 4 1024
shape e1 gpt2-moe.moe 8 1024
if [ "$quick" = 0 ]; then
    shape d8 gpt2-dense.moe 8 1024
    shape e2 gpt2-moe.moe 8 1024 --set top_k=2
fi


# The table.
"$py" - "$rows" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("\nshape  run                  tokens/s     step s   TFLOP/s    MFU   note")
for r in rows:
    x = r.get("result")
    if r["shape"] == "nvrtc":
        print("nvrtc  %-18s %s" % (r["run"], "%.2f s, %d kernels for %s" % (x["seconds"], x["kernels"], x["arch"])
                                      if x else "not run: " + r["skipped"]))
    elif x:
        mfu = "%5.1f%%" % (100 * x["mfu"]) if "mfu" in x else "   - "
        print("%-6s %-18s %10.0f %10.3f %9.1f %s   %s" % (r["shape"], r["run"], x["tokens_per_s"], x["step_s"],
                                                         x.get("gflops", 0) / 1e3, mfu, x.get("device", "")))
    else:
        print("%-6s %-18s not run: %s" % (r["shape"], r["run"], r["skipped"]))
PY
