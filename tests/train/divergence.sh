#!/bin/sh
# tests/train/divergence.sh -- router/layer_{L}_weight_divergence in the eval
# lines of `moec train`: a tiny MoE model upcycled from a dense one (experts
# nearly equal, so a mistake in which parameters make up an expert shows as
# a divergence near 1 instead of near 0) trains 2 steps with an evaluation
# after each; the last eval line's values must equal those an independent
# Python reference (divergence_ref.py) computes from final-model.safetensors,
# which holds the weights of that evaluation.
. "${top_srcdir:-.}/tests/train/corpus.sh"
if ! command -v python3 > /dev/null; then
    echo "1..0 # SKIP no python3 for the reference"; exit 0
fi
sets="--set d=32 --set layers=2 --set moe_from=0"
# $sets and $small are lists of words
# shellcheck disable=SC2086
"$moec" init "$models/gpt2-dense-tiny.moe" --set d=32 --set layers=2 --seed 1 -o "$tmp/dense.safetensors" > "$tmp/out" 2>&1 &&
    "$moec" init "$models/gpt2-moe-tiny.moe" $sets --seed 2 --upcycle "$tmp/dense.safetensors" \
        -o "$tmp/moe.safetensors" > "$tmp/out" 2>&1
ok $? "a tiny MoE model upcycled from a dense one"
# shellcheck disable=SC2086
"$moec" train "$models/gpt2-moe-tiny.moe" --data "$tmp/data" $small $sets --init "$tmp/moe.safetensors" --steps 2 \
    --set eval_every=1 --set eval_steps=1 --out "$tmp/run" --quiet > "$tmp/out" 2>&1
ok $? "it trains 2 steps with an evaluation after each"
[ "$(grep -c '"router/layer_[01]_weight_divergence"' "$tmp/run/metrics.jsonl")" = 2 ]
ok $? "both eval lines carry router/layer_L_weight_divergence"
python3 "${top_srcdir:-.}/tests/train/divergence_ref.py" "$tmp/run/final-model.safetensors" > "$tmp/ref" 2> "$tmp/out"
ok $? "the Python reference reads final-model.safetensors"
for l in 0 1; do
    got=$(value "router/layer_${l}_weight_divergence" "$tmp/run/metrics.jsonl")
    want=$(awk -v p="h.$l.mlp" '$1 == p { print $2 }' "$tmp/ref")
    awk -v g="$got" -v w="$want" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(w != "" && d <= 1e-9 * (w < 0 ? -w : w) + 1e-15) }'
    ok $? "layer $l: moec $got, the reference $want"
    awk -v w="$want" 'BEGIN { exit !(w > 0 && w < 0.01) }'
    ok $? "layer $l: upcycled experts are still nearly equal ($want)"
done
tap_done
