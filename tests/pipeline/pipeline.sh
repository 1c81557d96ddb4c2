#!/bin/sh
# tests/pipeline/pipeline.sh -- `moec ir`'s pass-pipeline options: --list-stages
# (and the copies of its table in doc/ir.md and doc/architecture.md, which must
# not drift from it), --dump-after, --verify, the stages in --help, and the
# usage errors for names the table does not have or has not written yet.
moec="${top_builddir:-.}/moec"
src=${top_srcdir:-.}
. "$src/tests/tap.sh"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
m="$src/tests/frontend/dumps/tiny_moe.moe"

# doc_table FILE: the first fenced block of FILE's "## The pass pipeline" section.
doc_table() {
    awk '/^## / { in_sec = ($0 == "## The pass pipeline") }
         in_sec && /^```/ { if (fence++) exit; next }
         in_sec && fence == 1' "$1"
}

"$moec" ir --list-stages > "$tmp/list"; ok $? "ir --list-stages exits 0 without a model"
[ "$(wc -l < "$tmp/list")" -gt 4 ]; ok $? "it prints a header and a line a pass"
for doc in doc/ir.md doc/architecture.md; do
    doc_table "$src/$doc" > "$tmp/doc"
    cmp -s "$tmp/list" "$tmp/doc"; ok $? "$doc shows the table --list-stages prints"
    diff -u "$tmp/doc" "$tmp/list" | sed 's/^/# /' | head -20
done

# Stages that run (what --list-stages marks "(later)" does not).
stages=$(awk 'NR > 1 && $2 != "-" && !/\(later\)/ { print $2 }' "$tmp/list")
"$moec" --help > "$tmp/help"
for s in $stages; do
    grep -q "^STAGE of 'moec ir':.* $s\b" "$tmp/help"; ok $? "--help lists stage '$s'"
    "$moec" ir "$m" --stage "$s" > /dev/null 2> "$tmp/err"; ok $? "--stage $s runs"
done

"$moec" ir "$m" --stage graph > "$tmp/graph"
"$moec" ir "$m" --dump-after lower > "$tmp/dump"
{ echo "# after lower"; cat "$tmp/graph"; } | cmp -s - "$tmp/dump"; ok $? "--dump-after lower is the graph stage under a header"
"$moec" ir "$m" --stage grad --dump-after autodiff --dump-after lower > "$tmp/both"
[ "$(grep '^#' "$tmp/both" | tr '\n' ' ')" = "# after lower # after autodiff " ]
ok $? "several --dump-after print in pipeline order, then the stage"
"$moec" ir "$m" --stage grad > "$tmp/grad"
tail -n "$(wc -l < "$tmp/grad")" "$tmp/both" | cmp -s - "$tmp/grad"; ok $? "and the stage ends the output, bare"
MOEC_VERIFY=0 "$moec" ir "$m" --stage grad > "$tmp/grad0"
"$moec" ir "$m" --stage grad --verify > "$tmp/grad1"
cmp -s "$tmp/grad0" "$tmp/grad1" && cmp -s "$tmp/grad0" "$tmp/grad"; ok $? "--verify and MOEC_VERIFY change no output"

# expect STATUS TEXT NAME ARGS...: `moec ARGS` exits STATUS and says TEXT on stderr.
expect() {
    want=$1 text=$2 name=$3
    shift 3
    "$moec" "$@" > /dev/null 2> "$tmp/err"
    status=$?
    [ "$status" = "$want" ] && grep -q -- "$text" "$tmp/err"; ok $? "$name (status $status: $(head -c 150 "$tmp/err"))"
}
expect 2 "unknown stage 'nope'; stages: ast elab graph grad" "an unknown stage is a usage error" ir "$m" --stage nope
expect 2 "unknown pass 'nope' for --dump-after; passes: parse" "an unknown pass too" ir "$m" --dump-after nope
# The compiler's stages: the kernel program and its memory plan, verified after every pass
# (of the dense MoE form: the fuser does not map the sparse form's grouped products yet).
out=$("$moec" ir "$m" --stage kernels --batch 1 --seq 3 --verify 2>&1); status=$?
printf '%s\n' "$out" | grep -q 'grouped_gemm'; ok $? "the sparse MoE's expert products are grouped products"
[ "$status" = 0 ] && printf '%s\n' "$out" | head -1 | grep -q '^# [0-9]* buffers, [0-9]* launches$'
ok $? "--stage kernels prints the kernel program (status $status: $(printf '%s' "$out" | head -c 80))"
out=$("$moec" ir "$m" --stage memory --batch 1 --seq 3 --verify 2>&1); status=$?
[ "$status" = 0 ] && printf '%s\n' "$out" | head -1 | grep -q '^arena [0-9]* bytes for [0-9]* buffers; peak live'
ok $? "--stage memory prints the arena (status $status: $(printf '%s' "$out" | head -c 80))"
expect 2 "ir needs --stage ast|elab|graph|grad" "ir without a stage says which there are" ir "$m"
expect 2 "unknown or incomplete option '--verify'" "check takes no pipeline options" check "$m" --verify
tap_done
