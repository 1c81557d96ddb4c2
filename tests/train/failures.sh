#!/bin/sh
# tests/train/failures.sh -- how `moec train` fails: a huge learning rate
# stops at a non-finite value (exit 1, the step named, stopped_reason
# "non-finite", no final model); a run built to collapse stops with
# stopped_reason "collapse"; every bad input is refused before any work
# (exit 1, no run directory), bad usage exits 2.
. "${top_srcdir:-.}/tests/train/corpus.sh"
model="$models/gpt2-moe-tiny.moe"
args="$small --set layers=1 --set moe_from=0 --quiet"

# shellcheck disable=SC2086 -- $args is a list of words
"$moec" train "$model" --data "$tmp/data" $args --steps 20 --set lr=1e30 --set warmup=0 --set clip=0 \
    --out "$tmp/nan" 2>"$tmp/err"; [ $? = 1 ]; ok $? "a huge learning rate: exit 1"
grep -q "non-finite value at step [0-9]*: " "$tmp/err"; ok $? "the message names the step and the value"
grep -q '"stopped_reason": "non-finite"' "$tmp/nan/run_summary.json"; ok $? "stopped_reason non-finite"
[ ! -e "$tmp/nan/final-model.safetensors" ]; ok $? "no final model is written"

# shellcheck disable=SC2086
"$moec" train "$model" --data "$tmp/data" $args --steps 60 --set lb_coef=0 --set noise_std=0 --set experts=4 \
    --set eval_every=5 --set eval_steps=2 --set collapse_stop=true --set collapse_threshold=0.3 \
    --set collapse_patience=2 --out "$tmp/collapse" 2>"$tmp/err"; [ $? = 1 ]; ok $? "a collapsing run stops (exit 1)"
grep -q "routing collapse at step" "$tmp/err" && grep -q "routing collapsed" "$tmp/err"; ok $? "warned, then stopped"
grep -q '"stopped_reason": "collapse"' "$tmp/collapse/run_summary.json"; ok $? "stopped_reason collapse"
[ "$(value step "$tmp/collapse/metrics.jsonl")" -lt 60 ]; ok $? "before the last step"
# One expert takes every assignment by construction: a dense baseline, not a collapse.
# shellcheck disable=SC2086
"$moec" train "$model" --data "$tmp/data" $args --steps 10 --set lb_coef=0 --set noise_std=0 --set experts=1 \
    --set eval_every=5 --set eval_steps=2 --set collapse_stop=true --set collapse_threshold=0.3 \
    --set collapse_patience=1 --out "$tmp/one" 2>"$tmp/err" && ! grep -q "routing collapse" "$tmp/err"
ok $? "a layer of one expert is no collapse"

# Bad input: exit 1 and nothing created.
refused() {   # NAME EXPECTED-MESSAGE ARGS...
    name=$1 msg=$2; shift 2
    rm -rf "$tmp/bad"
    "$moec" train "$@" --out "$tmp/bad" > /dev/null 2>"$tmp/err"; rc=$?
    [ "$rc" = 1 ] && [ ! -e "$tmp/bad" ] && grep -q "$msg" "$tmp/err"; ok $? "$name: exit 1, '$msg', no run directory"
}
# shellcheck disable=SC2086
refused "a missing data directory" "does not exist" "$model" --data "$tmp/nowhere" $args
mkdir -p "$tmp/noeval" && cp "$tmp/data"/* "$tmp/noeval"/ && sed 's/"eval":{"shards"/"other":{"shards"/' \
    "$tmp/data/domains.json" > "$tmp/noeval/domains.json"
# shellcheck disable=SC2086
refused "no eval split" "no usable eval split" "$model" --data "$tmp/noeval" $args
# shellcheck disable=SC2086
refused "a vocabulary too big for the model" "vocabulary of 50257" "$model" --data "$tmp/data" $args --set vocab=1000
# shellcheck disable=SC2086
refused "sequences shorter than seq" "shorter than seq 48" "$model" --data "$tmp/data" $args --seq 48
"$moec" init "$model" --set d=16 --set layers=1 --set moe_from=0 --seed 1 -o "$tmp/w16.safetensors" > /dev/null
# shellcheck disable=SC2086
refused "weights of the wrong shapes" "wte.weight" "$model" --data "$tmp/data" $args --init "$tmp/w16.safetensors"
mkdir -p "$tmp/exists"
# shellcheck disable=SC2086
"$moec" train "$model" --data "$tmp/data" $args --out "$tmp/exists" 2>"$tmp/err"; [ $? = 1 ]
ok $? "an existing run directory without --resume: exit 1"
grep -q "exists" "$tmp/err" && [ -z "$(ls "$tmp/exists")" ]; ok $? "it says so and writes nothing there"
"$moec" train --resume "$tmp/exists" 2>"$tmp/err"; [ $? = 1 ]; ok $? "--resume of a directory that is no run: exit 1"
# shellcheck disable=SC2086
"$moec" train "$model" --data "$tmp/data" $args --backend cuda --out "$tmp/cuda" 2>"$tmp/err"; [ $? = 2 ]
ok $? "--backend cuda: exit 2"
grep -q "cuda" "$tmp/err" && [ ! -e "$tmp/cuda" ]; ok $? "with a clear message, before any work"
"$moec" train "$model" > /dev/null 2>&1; [ $? = 2 ]; ok $? "no --data: usage, exit 2"
"$moec" train "$model" --data "$tmp/data" --steps 0 > /dev/null 2>&1; [ $? = 2 ]; ok $? "--steps 0: usage, exit 2"

# --init from a dense run's weights upcycles into the MoE model; accum and the interpreter run.
"$moec" init "$models/gpt2-dense-tiny.moe" --set d=32 --set layers=1 --seed 3 -o "$tmp/dense.safetensors" > /dev/null
# shellcheck disable=SC2086
"$moec" train "$model" --data "$tmp/data" $args --steps 4 --set eval_every=4 --set eval_steps=1 --set accum=2 \
    --init "$tmp/dense.safetensors" --out "$tmp/up" 2>"$tmp/err"; ok $? "--init upcycles a dense file, accum=2"
[ "$(grep -c '"train/loss"' "$tmp/up/metrics.jsonl")" = 4 ]; ok $? "four steps of two micro-batches logged"
"$moec" train "$model" --data "$tmp/data" --set d=16 --set layers=1 --set moe_from=0 --batch 1 --seq 8 \
    --steps 2 --set eval_every=2 --set eval_steps=1 --backend interp --quiet --out "$tmp/interp" 2>"$tmp/err"
ok $? "--backend interp trains"
grep -q '"step":2,"eval/loss"' "$tmp/interp/metrics.jsonl"; ok $? "and evaluates"
tap_done
