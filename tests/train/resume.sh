#!/bin/sh
# tests/train/resume.sh -- resume is bit-exact: a run continued from a
# checkpoint, a run stopped by SIGINT (exit 130, a checkpoint, a resume hint)
# and a run killed with kill -9 again and again (checkpoints every step, so
# kills land in checkpoint writes) all end with the same train/loss lines and
# a final-model.safetensors byte-identical to the uninterrupted run's; so does
# a run directory left as a kill in the middle of a checkpoint write leaves it.
. "${top_srcdir:-.}/tests/train/corpus.sh"
model="$models/gpt2-moe-tiny.moe"
args="$small --set layers=1 --set moe_from=0 --steps 40 --set eval_every=10 --set eval_steps=2 --quiet"
losses() { grep -o '"step":[0-9]*,"train/loss":[^,]*' "$1/metrics.jsonl"; }

# shellcheck disable=SC2086 -- $args is a list of words
"$moec" train "$model" --data "$tmp/data" $args --out "$tmp/ref" 2>"$tmp/err"; ok $? "the uninterrupted run"

# From its step-30 checkpoint, everything after it removed.
cp -r "$tmp/ref" "$tmp/cut" && rm -rf "$tmp/cut/checkpoint-step-40" "$tmp/cut"/final-model.* "$tmp/cut/run_summary.json"
"$moec" train --resume "$tmp/cut" 2>"$tmp/err"; ok $? "--resume RUN alone continues it"
cmp -s "$tmp/ref/final-model.safetensors" "$tmp/cut/final-model.safetensors"; ok $? "final-model is byte-identical"
losses "$tmp/ref" > "$tmp/a"; losses "$tmp/cut" > "$tmp/b"
cmp -s "$tmp/a" "$tmp/b"; ok $? "the same train/loss lines, each once"
grep -q '"resumed_from": 30' "$tmp/cut/run_summary.json"; ok $? "run_summary.json says where it resumed"
# shellcheck disable=SC2086
"$moec" train "$model" --data "$tmp/data" $args --resume "$tmp/cut" --steps 50 2>"$tmp/err"; [ $? = 1 ]
ok $? "flags that differ from config.json's are refused"
grep -q "differ from" "$tmp/err"; ok $? "and it says so"

# What a kill -9 in the middle of writing checkpoint 40 leaves: its temporary
# directory with a cut file, and no checkpoint-step-40. The run resumes from 30.
cp -r "$tmp/ref" "$tmp/half" && rm -rf "$tmp/half/checkpoint-step-40" "$tmp/half"/final-model.*
cp -r "$tmp/half/checkpoint-step-30" "$tmp/half/.checkpoint-step-40.tmp"
head -c 1000 "$tmp/ref/checkpoint-step-40/optimizer.safetensors" > "$tmp/half/.checkpoint-step-40.tmp/optimizer.safetensors"
rm -f "$tmp/half/.checkpoint-step-40.tmp/state.json"
"$moec" train --resume "$tmp/half" 2>"$tmp/err"; ok $? "a checkpoint write cut short: the run resumes from the previous one"
cmp -s "$tmp/ref/final-model.safetensors" "$tmp/half/final-model.safetensors"; ok $? "and ends byte-identical"
[ ! -e "$tmp/half/.checkpoint-step-40.tmp" ]; ok $? "the cut temporary directory is gone"

# SIGINT mid-run.
# shellcheck disable=SC2086
"$moec" train "$model" --data "$tmp/data" $args --out "$tmp/int" 2>"$tmp/interr" &
pid=$!
i=0
while [ "$i" -lt 600 ] && [ "$(cat "$tmp/int/metrics.jsonl" 2>/dev/null | wc -l)" -lt 13 ]; do sleep 0.05; i=$((i + 1)); done
kill -INT "$pid"
wait "$pid"; [ $? = 130 ]; ok $? "SIGINT: exit 130"
grep -q "moec train --resume $tmp/int" "$tmp/interr"; ok $? "with a line saying how to resume"
grep -q '"stopped_reason": "interrupted"' "$tmp/int/run_summary.json"; ok $? "stopped_reason interrupted"
"$moec" train --resume "$tmp/int" 2>"$tmp/err"; ok $? "the interrupted run resumes"
cmp -s "$tmp/ref/final-model.safetensors" "$tmp/int/final-model.safetensors"; ok $? "and ends byte-identical"
losses "$tmp/int" > "$tmp/b"; cmp -s "$tmp/a" "$tmp/b"; ok $? "with the same train/loss lines"

# kill -9, three times, with a checkpoint every step.
# shellcheck disable=SC2086
"$moec" train "$model" --data "$tmp/data" $args --set checkpoint_every=1 --out "$tmp/kill" 2>/dev/null &
pid=$!
for delay in 0.3 0.7 0.9; do
    i=0   # a first checkpoint, then the delay
    while [ "$i" -lt 600 ] && ! ls -d "$tmp/kill"/checkpoint-step-* >/dev/null 2>&1; do sleep 0.05; i=$((i + 1)); done
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    bad=0
    for d in "$tmp/kill"/checkpoint-step-*; do
        [ -d "$d" ] || continue
        for f in model.safetensors optimizer.safetensors state.json; do [ -s "$d/$f" ] || bad=1; done
    done
    ok "$bad" "after kill -9 every checkpoint directory is complete"
    "$moec" train --resume "$tmp/kill" 2>/dev/null &
    pid=$!
done
wait "$pid"; ok $? "the run killed three times completes"
[ -z "$(ls -A "$tmp/kill" | grep '^\.checkpoint-step-.*\.tmp$')" ]; ok $? "no temporary checkpoint directory is left"
cmp -s "$tmp/ref/final-model.safetensors" "$tmp/kill/final-model.safetensors"; ok $? "byte-identical to the uninterrupted run"
losses "$tmp/kill" > "$tmp/b"; cmp -s "$tmp/a" "$tmp/b"; ok $? "with the same train/loss lines"
tap_done
