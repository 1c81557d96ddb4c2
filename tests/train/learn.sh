#!/bin/sh
# tests/train/learn.sh -- `moec train` learns: a tiny dense and a tiny MoE
# model trained on a small corpus reach an eval loss well below the corpus's
# unigram entropy; the run directory holds what doc/training.md lists
# (config.json with the model's text, metrics.jsonl with the fixed names,
# best/final model + sidecars, checkpoints, run_summary.json).
. "${top_srcdir:-.}/tests/train/corpus.sh"
H=$(unigram 2>/dev/null)

# shellcheck disable=SC2086 -- $small is a list of words
"$moec" train "$models/gpt2-dense-tiny.moe" --data "$tmp/data" $small --set layers=1 --steps 200 \
    --set lr=1e-2 --set eval_every=100 --set eval_steps=4 --out "$tmp/dense" > "$tmp/out" 2>&1
ok $? "a tiny dense model trains 200 steps"
for f in config.json metrics.jsonl best-model.safetensors best-model.json final-model.safetensors \
         final-model.json checkpoint-step-100/model.safetensors checkpoint-step-200/optimizer.safetensors \
         checkpoint-step-200/state.json run_summary.json; do
    [ -s "$tmp/dense/$f" ]; ok $? "the run directory holds $f"
done
[ "$(ls "$tmp/dense" | grep -c checkpoint-step)" = 2 ]; ok $? "two checkpoints kept (keep_checkpoints 2)"
grep -q '"model_source": "# models/gpt2-dense-tiny.moe' "$tmp/dense/config.json"; ok $? "config.json holds the model's text"
grep -q '"sets": \[' "$tmp/dense/config.json" && grep -q '"checkpoint_every": 100' "$tmp/dense/config.json"
ok $? "config.json holds the --set values and the resolved train settings"
[ "$(grep -c '"train/loss"' "$tmp/dense/metrics.jsonl")" = 200 ]; ok $? "one train line a step"
head -n 1 "$tmp/dense/metrics.jsonl" | grep -q '^{"step":0,"train/loss":.*"train/lm_loss".*"train/lb_loss".*"train/z_loss".*"train/lr".*"perf/tokens_per_sec".*"train/loss_prose".*"train/loss_math"'
ok $? "train lines carry the fixed names, per domain too"
grep '"step":200,"eval/loss"' "$tmp/dense/metrics.jsonl" | grep -q '"eval/perplexity".*"eval/loss_math"'
ok $? "an eval line at step 200 with perplexity and per-domain losses"
grep -q '"stopped_reason": "completed"' "$tmp/dense/run_summary.json" && grep -q '"resident_bytes"' "$tmp/dense/run_summary.json"
ok $? "run_summary.json: completed, with the peak memory"
loss=$(value eval/loss "$tmp/dense/metrics.jsonl")
if [ -n "$H" ]; then
    awk -v l="$loss" -v h="$H" 'BEGIN { exit !(l < 0.75 * h) }'; ok $? "dense eval loss $loss < 0.75 x unigram entropy $H"
else
    echo "ok - # SKIP no python3 for the unigram entropy"
fi

# shellcheck disable=SC2086
"$moec" train "$models/gpt2-moe-tiny.moe" --data "$tmp/data" $small --set layers=1 --set moe_from=0 --steps 200 \
    --set lr=1e-2 --set eval_every=100 --set eval_steps=4 --out "$tmp/moe" --quiet > "$tmp/out" 2>&1
ok $? "a tiny MoE model trains 200 steps"
grep '"step":200,"eval/loss"' "$tmp/moe/metrics.jsonl" | grep -q '"router/layer_0_expert_0_frac".*"router/layer_0_entropy".*_prose'
ok $? "MoE eval lines carry router/* names, per domain too"
loss=$(value eval/loss "$tmp/moe/metrics.jsonl")
if [ -n "$H" ]; then
    awk -v l="$loss" -v h="$H" 'BEGIN { exit !(l < 0.75 * h) }'; ok $? "MoE eval loss $loss < 0.75 x unigram entropy $H"
fi

# A 12-token pattern in 32-token blocks trained at T = 32: every position that
# has a next token in its block is predictable. Were the last position trained
# on the next shuffled block's first token, lm_loss could not fall below about
# ln(12)/32 = 0.078; it must fall well below that.
pattern='a+b=c;x*y/z.'
awk -v p="$pattern" 'BEGIN { for (i = 0; i < 60; i++) { s = ""; for (j = 0; j < 30; j++) s = s p; print s; print "%" } }' \
    > "$tmp/rep.txt"
"$moec" data rep="$tmp/rep.txt" -o "$tmp/rep" --separator % --seq 32 --quiet --vocab "$vocab" > "$tmp/out" 2>&1 &&
    "$moec" train "$models/gpt2-dense-tiny.moe" --data "$tmp/rep" --set d=32 --set layers=1 --batch 4 --seq 32 \
        --threads 2 --steps 100 --set lr=1e-2 --set eval_every=100 --set eval_steps=2 --out "$tmp/rep-run" --quiet \
        > "$tmp/out" 2>&1
ok $? "a tiny dense model trains on sequences as long as their blocks"
loss=$(value eval/lm_loss "$tmp/rep-run/metrics.jsonl")
awk -v l="$loss" 'BEGIN { exit !(l < 0.05) }'; ok $? "the pattern's eval lm_loss $loss < 0.05: no position learns from another block"
tap_done
