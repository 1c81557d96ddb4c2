#!/bin/sh
# tests/cuda/compile.sh -- every kernel of every model of the catalogue
# (models/*.moe: tiny ones at their size, full-size ones at --batch 2 --seq 16)
# printed by `moec emit --target cuda` compiles with NVRTC for sm_80 and
# sm_90. Fast: all the .cu files are one translation unit together (the
# helpers have include guards; each kernel's name is prefixed by its model's;
# a function the same as another but for its name is left out), compiled once
# per architecture; the PTX must hold one kernel per function kept. Skipped where configure found no CUDA toolkit.
moec="${top_builddir:-.}/moec"
compile="${top_builddir:-.}/tests/cuda/nvrtc_compile"
. "${top_srcdir:-.}/tests/tap.sh"
if [ ! -x "$compile" ]; then
    echo "1..0 # SKIP no CUDA toolkit at configure time (NVRTC not built in)"; exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/moec-cuda-test-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
total=0
for model in "${top_srcdir:-.}"/models/*.moe; do
    name=$(basename "$model" .moe)
    case $name in *-tiny) size="" ;; *) size="--batch 2 --seq 16" ;; esac
    # shellcheck disable=SC2086
    "$moec" emit "$model" --target cuda $size -o "$tmp/$name" >"$tmp/log" 2>&1
    rc=$?
    ok $rc "$name: emit --target cuda $size"
    [ $rc = 0 ] || { sed 's/^/# /' "$tmp/log"; continue; }
    total=$((total + $(find "$tmp/$name" -name '*.cu' ! -name templates.cu | wc -l)))
done
# One translation unit: each kernel once (a function the same as another
# model's but for its name compiles the same), its name prefixed by its
# model's so that the models' kernels live side by side.
awk 'function flush() { if (file != "" && !(body in seen)) { seen[body] = 1; n++; printf "%s", text } }
     FNR == 1 { flush(); file = FILENAME; text = ""; body = ""; in_fn = 0
                m = FILENAME; sub(/\/[^\/]*$/, "", m); sub(/.*\//, "", m); gsub(/[^A-Za-z0-9_]/, "_", m) }
     /^MOEC_KERNEL / { in_fn = 1; line = $0; sub(/^MOEC_KERNEL [A-Za-z0-9_]*/, "MOEC_KERNEL f", line); body = line "\n"
                       sub(/^MOEC_KERNEL /, "MOEC_KERNEL " m "__"); text = text $0 "\n"; next }
     { text = text $0 "\n"; if (in_fn) body = body $0 "\n" }
     END { flush(); print n > "/dev/stderr" }' $(ls "$tmp"/*/*.cu | grep -v '/templates\.cu$') >"$tmp/all.cu" 2>"$tmp/unique"
unique=$(cat "$tmp/unique")
# Both architectures at once (two processes), each over every model's kernels.
for arch in sm_80 sm_90; do "$compile" $arch "$tmp/all.cu" >"$tmp/$arch.out" 2>&1 & done
wait
for arch in sm_80 sm_90; do
    grep -q "^$unique kernels" "$tmp/$arch.out"
    rc=$?
    ok $rc "the $total kernels of the catalogue ($unique different functions) compile with NVRTC for $arch"
    [ $rc = 0 ] || sed 's/^/# /' "$tmp/$arch.out" | head -40
done
# One kernel alone, as a file of DIR: a complete translation unit, also
# through `moec emit --ptx`; a bad architecture is refused.
one=$(find "$tmp/gpt2-moe-tiny" -name 'tanh_*.cu' | head -n 1)
[ -n "$one" ] && "$compile" sm_90 "$one" >"$tmp/out" 2>&1 && grep -q "^1 kernels" "$tmp/out"
ok $? "one .cu file compiles alone (${one##*/})"
# The templates (templates.cu, the same in every folder whose program has
# template launches: left out above) compile alone: ten kernels.
"$compile" sm_80 "$tmp/gpt2-moe-tiny/templates.cu" >"$tmp/out" 2>&1 && grep -q "^10 kernels" "$tmp/out"
ok $? "templates.cu compiles alone: its ten kernels"
XDG_CACHE_HOME="$tmp/cache" "$moec" emit "${top_srcdir:-.}/models/gpt2-dense-tiny.moe" --target cuda --arch sm_80 --ptx \
    -o "$tmp/ptx" >"$tmp/log" 2>&1 &&
    [ "$(find "$tmp/ptx" -name '*.ptx' | wc -l)" = "$(find "$tmp/ptx" -name '*.cu' | wc -l)" ] &&
    grep -q "^.target sm_80" "$tmp"/ptx/*.ptx
ok $? "emit --ptx --arch sm_80 writes one .ptx per .cu"
# The PTX went through the disk cache: one entry per kernel, and a second
# emit reads them back (the same files) without rewriting any.
n_ptx=$(find "$tmp/ptx" -name '*.ptx' | wc -l)
[ "$(find "$tmp/cache/moec" -name 'cuda-*.ptx' | wc -l)" = "$n_ptx" ]
ok $? "emit --ptx stored one cache entry per kernel ($n_ptx)"
touch -d '2000-01-01' "$tmp"/cache/moec/cuda-*.ptx
XDG_CACHE_HOME="$tmp/cache" "$moec" emit "${top_srcdir:-.}/models/gpt2-dense-tiny.moe" --target cuda --arch sm_80 --ptx \
    -o "$tmp/ptx2" >"$tmp/log" 2>&1 && diff -r "$tmp/ptx" "$tmp/ptx2" >/dev/null &&
    [ -z "$(find "$tmp/cache/moec" -name 'cuda-*.ptx' -newer "$tmp/ptx2/plan.txt")" ] &&
    [ -z "$(find "$tmp/cache/moec" -name 'cuda-*.ptx' -newermt '2000-01-02')" ]
ok $? "a second emit --ptx hits the cache: the same files, no entry rewritten"
printf 'extern "C" __global__ void broken(float *x) { x[0] = undefined_thing; }\n' >"$tmp/bad.cu"
"$compile" sm_90 "$tmp/bad.cu" >"$tmp/out" 2>&1
[ $? = 1 ] && grep -q "bad.cu does not compile for sm_90" "$tmp/out" && grep -q "undefined_thing" "$tmp/out"
ok $? "an NVRTC failure names the kernel, the architecture and NVRTC's log"
tap_done
