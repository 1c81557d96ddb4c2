#!/bin/sh
# tests/cli/bench.sh -- `moec bench`: on a one-layer MoE model, the --json
# line's fixed keys in order with positive numbers and class rows that add up
# to the program; a cold run compiles and a second one compiles nothing (an
# empty kernel cache of its own); the table's classes; bad usage exits 2.
moec="${top_builddir:-.}/moec"
model="${top_srcdir:-.}/models/gpt2-moe-tiny.moe"
. "${top_srcdir:-.}/tests/tap.sh"
if ! "$moec" --version | grep -q "^cpu backend: *LLVM"; then
    echo "1..0 # SKIP the CPU backend is not built (no LLVM)"; exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/moec-bench-test-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
XDG_CACHE_HOME="$tmp/cache"
export XDG_CACHE_HOME
small="--set layers=1 --set moe_from=0 --set experts=2 --set vocab=256 --batch 2 --seq 8 --threads 2"

# shellcheck disable=SC2086 -- $small is a list of words
"$moec" bench "$model" $small --steps 2 --json >"$tmp/cold" 2>"$tmp/err"; ok $? "bench --json runs (cold cache)"
grep -q "compiled [1-9][0-9]* kernels in" "$tmp/cold"; ok $? "the cold run says what it compiled"
# shellcheck disable=SC2086
"$moec" bench "$model" $small --steps 2 --json >"$tmp/warm" 2>>"$tmp/err"; ok $? "a second run"
grep -q "compiled nothing: [1-9][0-9]* parts from the cache" "$tmp/warm"; ok $? "the second run compiled nothing and says so"

# The last line: the fixed keys first, in order, every number positive; the
# class rows add up to every launch; the cache verdicts of both runs.
check_json() {
    if command -v python3 >/dev/null 2>&1; then
        tail -n 1 "$1" | python3 -c '
import json, sys
j = json.loads(sys.stdin.read())
keys = ["step_s", "tokens_per_s", "compile_s", "kernels", "arena_bytes", "gflops"]
assert list(j)[:6] == keys, list(j)[:6]
assert all(isinstance(j[k], (int, float)) and j[k] > 0 for k in keys)
assert j["steps"] == 2 and j["batch"] == 2 and j["seq"] == 8 and j["threads"] == 2
assert sum(c["launches"] for c in j["classes"].values()) == j["kernels"]
assert j["classes"]["gemm"]["flop"] > 0 and j["classes"]["moe_dispatch"]["launches"] > 0
assert j["cache_hit"] is (sys.argv[1] == "warm")
assert abs(j["tokens_per_s"] * j["step_s"] - 16) < 1e-3 * 16
' "$2"
    else   # no python: the keys in order, by text
        tail -n 1 "$1" | grep -q '^{"step_s":[0-9.e+-]*,"tokens_per_s":[0-9.e+-]*,"compile_s":[0-9.e+-]*,"kernels":[1-9][0-9]*,"arena_bytes":[1-9][0-9]*,"gflops":[0-9.e+-]*,'
    fi
}
check_json "$tmp/cold" cold; ok $? "cold --json: the fixed keys in order, positive, classes add up, cache_hit false"
check_json "$tmp/warm" warm; ok $? "warm --json: the same, cache_hit true"
for c in "GEMM" "fused elementwise" "row reductions" "MoE dispatch" "optimizer" "all launches"; do
    grep -q "^$c  *[0-9]" "$tmp/warm"; ok $? "the table has a row '$c'"
done
grep -q "^compile: .*pipeline .*codegen" "$tmp/warm"; ok $? "the compile time, pipeline and codegen apart"

# Usage errors exit 2 and say why.
usage() {   # usage NAME ARGS...: exit status 2 and a message
    name=$1; shift
    "$moec" bench "$@" >/dev/null 2>"$tmp/usage"; rc=$?
    [ $rc = 2 ] && [ -s "$tmp/usage" ]; ok $? "$name exits 2 with a message (got $rc)"
}
usage "no model" --batch 2
usage "--steps 0" "$model" --steps 0
usage "--backend interp" "$model" --backend interp
usage "--backend cuda" "$model" --backend cuda
usage "an unknown option" "$model" --frobnicate
usage "--threads 100000" "$model" --threads 100000
"$moec" bench "$model" --set nosuch=1 >/dev/null 2>&1; [ $? = 1 ]; ok $? "a model that does not compile exits 1"
tap_done
