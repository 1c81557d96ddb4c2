#!/bin/sh
# tests/cuda/golden.sh -- `moec emit --target cuda` is stable: its output for
# a small dense model (gpt2-dense-tiny, one layer, vocab 256, B 1, T 4)
# against tests/cuda/golden/. So that the golden stays readable, the files
# are stored as plan.txt, kernels.txt (each .cu without its helper blocks,
# which are the same in every file) and helpers.cu (each helper block once);
# every .cu also has to hold exactly the helper blocks it calls. Needs no
# CUDA toolkit. MOEC_UPDATE_GOLDEN=1 rewrites the golden after a deliberate change.
moec="$(cd "${top_builddir:-.}" && pwd)/moec"
golden="$(cd "${top_srcdir:-.}" && pwd)/tests/cuda/golden"
. "${top_srcdir:-.}/tests/tap.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/moec-cuda-golden-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
# Relative model path: the files name it.
(cd "${top_srcdir:-.}" && "$moec" emit models/gpt2-dense-tiny.moe --target cuda --set layers=1 --set vocab=256 \
    --batch 1 --seq 4 -o "$tmp/out") >"$tmp/log" 2>&1
ok $? "emit --target cuda runs"
mkdir -p "$tmp/got"
cp "$tmp/out/plan.txt" "$tmp/got/plan.txt"
: >"$tmp/got/kernels.txt"
: >"$tmp/blocks"
for f in $(cd "$tmp/out" && ls *.cu | LC_ALL=C sort); do
    echo "==> $f <==" >>"$tmp/got/kernels.txt"
    awk '/^#ifndef MOEC_CUDA_/ { skip = 1; print "[helpers " $2 "]" } !skip { print } /^#endif \/\* MOEC_CUDA_/ { skip = 0 }' \
        "$tmp/out/$f" >>"$tmp/got/kernels.txt"
    awk -v dir="$tmp/blk" 'BEGIN { system("mkdir -p " dir) } /^#ifndef MOEC_CUDA_/ { name = $2 }
        name { print > (dir "/" name) } /^#endif \/\* MOEC_CUDA_/ { if (name) close(dir "/" name); name = "" }' "$tmp/out/$f"
done
for b in $(ls "$tmp/blk" | LC_ALL=C sort); do cat "$tmp/blk/$b"; done >"$tmp/got/helpers.cu"
# Each helper block is the same in every file that holds it.
bad=0
for f in "$tmp"/out/*.cu; do
    for b in $(grep '^#ifndef MOEC_CUDA_' "$f" | cut -d' ' -f2); do
        awk -v n="$b" '$0 == "#ifndef " n { p = 1 } p { print } p && /^#endif \/\* MOEC_CUDA_/ { exit }' "$f" |
            cmp -s - "$tmp/blk/$b" || bad=$((bad + 1))
    done
done
[ $bad = 0 ]; ok $? "every helper block is the same in every file ($bad differ)"
# A file calls moec_exp, moec_tanh or Philox only with their blocks.
bad=0
for f in "$tmp"/out/*.cu; do
    for pair in "moec_exp(:MOEC_CUDA_EXP" "moec_tanh(:MOEC_CUDA_TANH" "moec_philox_:MOEC_CUDA_PHILOX"; do
        if sed -n '/^MOEC_KERNEL/,$p' "$f" | grep -q "${pair%%:*}"; then grep -q "^#define ${pair#*:}" "$f" || bad=$((bad + 1)); fi
    done
done
[ $bad = 0 ]; ok $? "each file holds the helpers its kernel calls"
if [ -n "$MOEC_UPDATE_GOLDEN" ]; then
    mkdir -p "$golden" && cp "$tmp"/got/* "$golden"/ && echo "# golden rewritten in $golden"
fi
for g in plan.txt kernels.txt helpers.cu; do
    diff -u "$golden/$g" "$tmp/got/$g" >"$tmp/diff" 2>&1
    rc=$?
    ok $rc "$g matches the golden"
    [ $rc = 0 ] || head -40 "$tmp/diff" | sed 's/^/# /'
done
tap_done
