#!/bin/sh
# bench/dist.sh -- data-parallel training on this machine (doc/distributed.md,
# "Benchmark"): per shape, `moec train` with the same global batch as
#   1 process x 1 thread, accum 2      (what one rank does alone)
#   1 process x N threads, accum 2     (the machine's cores in one process)
#   N ranks x 1 thread, accum 1        (mpirun -np N)
# in one run, and prints tokens/s (run_summary.json: tokens / seconds in
# steps), and for the ranks the median all-reduce time per step
# (perf/allreduce_sec: the gradient and loss sums, waiting for the slower
# rank included) and the gradient bytes it moved.
# Usage: bench/dist.sh [--moec PATH] [--models DIR] [--data DIR] [--steps N] [--ranks N]
here=$(cd "$(dirname "$0")" && pwd)
moec=./moec models="$here/../models" data="${MOEC_DATA:-./data}/demo/shards" steps=20 ranks=2
while [ $# -gt 0 ]; do
    case "$1" in
        --moec) moec=$2 ;;
        --models) models=$2 ;;
        --data) data=$2 ;;
        --steps) steps=$2 ;;
        --ranks) ranks=$2 ;;
        *) echo "usage: $0 [--moec PATH] [--models DIR] [--data DIR] [--steps N] [--ranks N]" >&2; exit 2 ;;
    esac
    shift 2 || { echo "$0: $1 needs a value" >&2; exit 2; }
done
[ -f "$data/domains.json" ] || { echo "$0: no $data/domains.json (scripts/setup-data builds the demo corpus)" >&2; exit 1; }
"$moec" --version | grep -q '^distributed: *MPI' || { echo "$0: $moec was built without MPI" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
tmp=$(mktemp -d "${TMPDIR:-/tmp}/moec-dist-bench-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
common="--steps $steps --set eval_every=100000 --set eval_steps=0 --set collapse_stop=false --quiet"

# run NAME LAUNCHER... : one training run into $tmp/NAME
run() {
    name=$1; shift
    "$@" >"$tmp/$name.err" 2>&1 || { echo "$0: $name failed:" >&2; cat "$tmp/$name.err" >&2; exit 1; }
}

# report SHAPE NAME: one table row
report() {
    python3 - "$1" "$2" "$tmp/$2" <<'PY'
import json, statistics, sys
shape, name, run = sys.argv[1:4]
s = json.load(open(run + '/run_summary.json'))
c = json.load(open(run + '/config.json'))
lines = [json.loads(l) for l in open(run + '/metrics.jsonl')]
ar = [l['perf/allreduce_sec'] for l in lines if 'perf/allreduce_sec' in l][1:]   # the first step warms up
grad_mb = 4 * c['parameters'] / 1e6
cell = '%8.2f ms  %7.1f MB  %6.2f GB/s' % (1e3 * statistics.median(ar), grad_mb, grad_mb / 1e3 / statistics.median(ar)) if ar else '%-33s' % '-'
print('%-6s %-24s %6d %10.0f   %s' % (shape, name, c['global_batch'] * c['seq'], s['tokens_per_sec'], cell))
PY
}

echo "moec data parallel on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $steps steps"
echo "shape  run                      tokens   tokens/s   all-reduce/step   gradients    rate"
bench_shape() {
    shape=$1 model=$2; shift 2
    # shellcheck disable=SC2086
    run "$shape-1x1" "$moec" train "$models/$model" --data "$data" "$@" $common --threads 1 --set accum=$ranks --out "$tmp/$shape-1x1"
    report "$shape" "$shape-1x1"
    # shellcheck disable=SC2086
    run "$shape-1x$ranks" "$moec" train "$models/$model" --data "$data" "$@" $common --threads $ranks --set accum=$ranks \
        --out "$tmp/$shape-1x$ranks"
    report "$shape" "$shape-1x$ranks"
    # shellcheck disable=SC2086
    run "$shape-${ranks}x1" mpirun -np "$ranks" "$moec" train "$models/$model" --data "$data" "$@" $common --threads 1 \
        --out "$tmp/$shape-${ranks}x1"
    report "$shape" "$shape-${ranks}x1"
}
# (a) the tiny MoE of the experiments (d 64, 4 layers, 4 experts, vocab 50257): 3.3M parameters
bench_shape a gpt2-moe-tiny.moe --batch 8 --seq 64
# (b) a wider MoE: d 256, 4 layers, 8 experts top-1 from layer 2
bench_shape b gpt2-moe.moe --set d=256 --set heads=4 --set layers=4 --set moe_from=2 --set ctx=128 --batch 4 --seq 128
