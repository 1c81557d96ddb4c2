#!/bin/sh
# bench/step_vs_torch.sh -- one training step of moec against PyTorch, side by
# side at the same threads in one run: the machine's ceilings (bench/ceilings),
# then per shape (a)(b)(c) `moec bench --json` and bench/torch_step.py; prints
# one table (doc/performance.md explains every column). Run by `make bench`.
# Usage: step_vs_torch.sh [--threads N] [--steps N] [--coretype auto|detect|NAME]
#                         [--moec PATH] [--ceilings PATH] [--models DIR] [--keep FILE]
# --coretype: OpenBLAS's kernels for all three programs: auto (default) is
# OpenBLAS's own choice unless it falls back to Prescott (SSE3) on a CPU with
# AVX-512 or AVX2, then SkylakeX or Haswell; detect: OpenBLAS's own choice.
# --keep FILE: also write the JSON lines the table is made from to FILE.
here=$(cd "$(dirname "$0")" && pwd)
threads=2 steps=3 moec=./moec ceilings=./bench/ceilings models="$here/../models" py=/usr/bin/python3 keep=
coretype=auto
while [ $# -gt 0 ]; do
    case "$1" in
        --threads) threads=$2 ;;
        --steps) steps=$2 ;;
        --moec) moec=$2 ;;
        --ceilings) ceilings=$2 ;;
        --models) models=$2 ;;
        --coretype) coretype=$2 ;;
        --keep) keep=$2 ;;
        *) echo "usage: $0 [--threads N] [--steps N] [--coretype auto|detect|NAME] [--moec PATH]" \
                "[--ceilings PATH] [--models DIR] [--keep FILE]" >&2; exit 2 ;;
    esac
    shift 2 || { echo "$0: $1 needs a value" >&2; exit 2; }
done
# Every program below gets the same threads (OpenMP and OpenBLAS alike).
OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
export OMP_NUM_THREADS OPENBLAS_NUM_THREADS
# OpenBLAS 0.3.21 does not know every CPU: an Intel family 6 model 207 under
# KVM gets Prescott's SSE3 kernels (a fifth of the sgemm rate), an AMD EPYC
# with AVX-512 gets Haswell's AVX2 kernels (half of it). auto takes the
# widest kernels the CPU's flags allow, so the ceilings are the machine's.
has() { grep -q "^flags.* $1\( \|$\)" /proc/cpuinfo 2>/dev/null; }
case "$coretype" in
    auto)
        core=$("$ceilings" --threads 1 --runs 1 --mib 1 --json 8x8x8 2>/dev/null |
               sed -n 's/.*"core":"\([^"]*\)".*/\1/p')
        if { [ "$core" = Prescott ] || [ "$core" = Haswell ] || [ "$core" = Zen ]; } &&
           has avx512f && has avx512bw && has avx512dq && has avx512vl; then
            OPENBLAS_CORETYPE=SkylakeX
        elif [ "$core" = Prescott ] && has avx2 && has fma; then OPENBLAS_CORETYPE=Haswell; fi
        [ -z "${OPENBLAS_CORETYPE:-}" ] ||
            echo "OpenBLAS chose $core on this CPU; every program here runs with OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE" ;;
    detect) unset OPENBLAS_CORETYPE ;;
    *) OPENBLAS_CORETYPE=$coretype ;;
esac
[ -z "${OPENBLAS_CORETYPE:-}" ] || export OPENBLAS_CORETYPE
out=$(mktemp "${TMPDIR:-/tmp}/moec-bench-XXXXXX") || exit 1
trap 'rm -f "$out" "$out.c" "$out.m" "$out.e"' EXIT

# The shapes of issue 9: name, model, sets, batch, seq. gpt2-moe-tiny's context
# is 64, so (a) at T 128 raises it to 128 (one more wpe rows, nothing else).
shapes='a|gpt2-moe-tiny.moe|--set ctx=128|8|128
b|gpt2-moe.moe|--set layers=4 --set moe_from=2|4|256
c|gpt2-dense.moe||4|64'

echo "ceilings at $threads threads (bench/ceilings)..." >&2
if "$ceilings" --threads "$threads" --json >"$out.c"; then echo "ceilings $(cat "$out.c")" >>"$out"
else echo "ceilings: failed" >&2; fi
rm -f "$out.c"

torch_ok=1
"$py" -c "import torch" 2>/dev/null || { torch_ok=0; echo "torch: not available ($py without torch)"; }
echo "$shapes" | while IFS='|' read -r name model sets batch seq; do
    # $sets is a list of words, split on purpose
    # shellcheck disable=SC2086
    set -- $sets
    echo "($name) $model $* B $batch T $seq: moec bench..." >&2
    "$moec" bench "$models/$model" "$@" --batch "$batch" --seq "$seq" --steps "$steps" --threads "$threads" \
        --backend cpu --json >"$out.m" 2>"$out.e"
    rc=$?
    if [ $rc -eq 0 ]; then echo "moec $name $(tail -n 1 "$out.m")" >>"$out"
    elif [ $rc -eq 2 ]; then echo "moec bench: not available ($name: $(tail -n 1 "$out.e"))"
    else echo "moec bench: failed with status $rc ($name): $(tail -n 1 "$out.e")"; fi
    if [ $torch_ok -eq 1 ]; then
        echo "($name) torch_step.py..." >&2
        if "$py" "$here/torch_step.py" --moec "$moec" "$models/$model" "$@" --batch "$batch" --seq "$seq" \
            --steps "$steps" --threads "$threads" >"$out.m" 2>"$out.e"; then
            echo "torch $name $(tail -n 1 "$out.m")" >>"$out"
        else echo "torch_step.py: failed ($name): $(tail -n 1 "$out.e")"; fi
    fi
    echo "shape $name $model $* | $batch | $seq" >>"$out"
done
rm -f "$out.m" "$out.e"
[ -z "$keep" ] || cp "$out" "$keep"
"$py" "$here/bench_table.py" "$threads" <"$out"
