#!/bin/sh
# tests/cli/emit.sh -- `moec emit --target cpu`: on a one-layer MoE model,
# kernels.c and plan.txt name the model-file lines; one .ll per distinct
# loop kernel, whose header names every launch of the plan that runs it with
# its lines, accepted by llvm-as-14 when it is installed; no temporary file
# left; bad usage exits 2 (--target cuda: tests/cuda/).
moec="${top_builddir:-.}/moec"
model="${top_srcdir:-.}/models/gpt2-moe-tiny.moe"
. "${top_srcdir:-.}/tests/tap.sh"
if ! "$moec" --version | grep -q "^cpu backend: *LLVM"; then
    echo "1..0 # SKIP the CPU backend is not built (no LLVM)"; exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/moec-emit-test-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
out="$tmp/out"
"$moec" emit "$model" --target cpu -o "$out" --set layers=1 --set moe_from=0 --set experts=2 --set vocab=256 \
    --batch 2 --seq 8 >"$tmp/log" 2>&1; ok $? "emit --target cpu runs"
[ -s "$out/kernels.c" ] && [ -s "$out/plan.txt" ]; ok $? "it writes kernels.c and plan.txt"
grep -q "from .*gpt2-moe-tiny.moe:[0-9]" "$out/kernels.c"; ok $? "kernels.c names model-file lines"
grep -q "^# memory plan" "$out/plan.txt" && grep -q "^arena [0-9]* bytes" "$out/plan.txt"; ok $? "plan.txt has the memory plan"
# One .ll per distinct kernel: every loop launch of the plan is named in the
# header of exactly one of them.
grep "^k[0-9]* [^ ]*  loop " "$out/plan.txt" | cut -d' ' -f1 | sort >"$tmp/plan_loops"
cat "$out"/*.ll | sed -n 's/^;   \(k[0-9]*\) .*/\1/p' | sort >"$tmp/ll_loops"
lls=$(find "$out" -name '*.ll' | wc -l)
[ -s "$tmp/plan_loops" ] && cmp -s "$tmp/plan_loops" "$tmp/ll_loops" && [ "$lls" -lt "$(wc -l <"$tmp/plan_loops")" ]
ok $? "each loop launch of the plan heads exactly one of the $lls .ll files (one per distinct kernel)"
# Each launch line names its model-file lines, or is the step's own code
# (scope grad: clipping, the learning rate) and says so; the function's
# !moec.source repeats its first launch's lines.
missing=0 unlined=0
for f in "$out"/*.ll; do
    head -n 1 "$f" | grep -q '^; moec emit --target cpu: kernel [^ ]*, run by [0-9]* loop launch' ||
        { missing=$((missing + 1)); echo "# $f: no header"; }
    first=$(sed -n '2s/.*moe:\([0-9,]*\)$/\1/p' "$f")
    grep -q "^!.* = !{!\"[^\"]*gpt2-moe-tiny.moe:$first\"}" "$f" && grep -q "moec.source" "$f" ||
        { missing=$((missing + 1)); echo "# $f: !moec.source is not '$first'"; }
done
unlined=$(cat "$out"/*.ll | grep -c '^;   k[0-9]* .*(scope grad) from no model-file line')
lined=$(cat "$out"/*.ll | grep -c '^;   k[0-9]* .* from .*gpt2-moe-tiny.moe:[0-9]')
[ $missing = 0 ] && [ $((lined + unlined)) = "$(wc -l <"$tmp/plan_loops")" ] && [ "$unlined" -lt $((lined / 4)) ]
ok $? "each launch names its model-file lines ($unlined of the step's own code have none), as !moec.source does"
grep -q "<8 x float>" "$out"/add_*.ll; ok $? "the optimised IR is vectorised"
[ -z "$(find "$out" -name '*tmp*')" ]; ok $? "no temporary file left behind"
if command -v llvm-as-14 >/dev/null 2>&1; then
    bad=0
    for f in "$out"/*.ll; do llvm-as-14 -o /dev/null "$f" || bad=$((bad + 1)); done
    [ $bad = 0 ]; ok $? "llvm-as-14 accepts each .ll ($bad refused)"
else
    echo "ok $((n + 1)) - llvm-as-14 accepts each .ll # SKIP llvm-as-14 not installed"; n=$((n + 1))
fi

usage() {   # usage NAME ARGS...: exit status 2 and a message
    name=$1; shift
    "$moec" emit "$@" >/dev/null 2>"$tmp/usage"; rc=$?
    [ $rc = 2 ] && [ -s "$tmp/usage" ]; ok $? "$name exits 2 with a message (got $rc)"
}
usage "--target cuda --arch 90" "$model" --target cuda --arch 90 -o "$tmp/cuda"
grep -q "sm_80, sm_90" "$tmp/usage"; ok $? "a bad --arch says what is expected"
[ ! -e "$tmp/cuda" ]; ok $? "and writes nothing"
usage "--arch with --target cpu" "$model" --target cpu --arch sm_90 -o "$tmp/x"
usage "no -o" "$model" --target cpu
usage "no --target" "$model" -o "$tmp/x"
usage "an unknown target" "$model" --target gpu -o "$tmp/x"
usage "no model" --target cpu -o "$tmp/x"
tap_done
