#!/bin/sh
# tests/train/accum.sh -- gradient accumulation: accum=2 with batch 2 reads
# the same blocks as batch 4 and, on a dense model without dropout, follows
# the same losses (the host optimizer of runtime/train/adamw.c against the
# compiled step's: relative 1e-5); and a run with accum resumes bit-exactly.
. "${top_srcdir:-.}/tests/train/corpus.sh"
model="$models/gpt2-dense-tiny.moe"
args="--set d=32 --set layers=1 --seq 16 --threads 2 --steps 10 --set eval_every=5 --set eval_steps=1 --quiet"
losses() { grep -o '"step":[0-9]*,"train/loss":[^,]*' "$1/metrics.jsonl"; }

# shellcheck disable=SC2086 -- $args is a list of words
"$moec" train "$model" --data "$tmp/data" $args --batch 4 --out "$tmp/b4" 2>"$tmp/err"; ok $? "batch 4"
# shellcheck disable=SC2086
"$moec" train "$model" --data "$tmp/data" $args --batch 2 --set accum=2 --out "$tmp/acc" 2>"$tmp/err"
ok $? "batch 2, accum 2"
losses "$tmp/b4" | cut -d: -f3 > "$tmp/l4"; losses "$tmp/acc" | cut -d: -f3 > "$tmp/l2"
[ "$(wc -l < "$tmp/l2")" = 10 ] && paste "$tmp/l4" "$tmp/l2" | awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > 1e-5 * $1) bad = 1 } END { exit bad }'
ok $? "the same train/loss at every step (relative 1e-5)"
grep -q '"accum": 2' "$tmp/acc/config.json"; ok $? "config.json records accum"

cp -r "$tmp/acc" "$tmp/cut" && rm -rf "$tmp/cut/checkpoint-step-10" "$tmp/cut"/final-model.*
"$moec" train --resume "$tmp/cut" 2>"$tmp/err"; ok $? "an accum run resumes from step 5"
cmp -s "$tmp/acc/final-model.safetensors" "$tmp/cut/final-model.safetensors"; ok $? "byte-identical final model"
tap_done
