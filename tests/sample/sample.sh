#!/bin/sh
# tests/sample/sample.sh -- `moec sample` end to end on tiny MoE models.
# A run of `moec train` on a repeated pattern: greedy sampling from the run
# directory reproduces the pattern; the same model file + weights give the
# same text; a seed fixes the text and another seed changes it; --weights
# overrides the run's. Weights trained by tests/sample/train_repeat (the
# compiled training step in a loop, a 96-token vocabulary, quick): the pattern
# goes on past the trained length (the window slides) and after a prompt
# longer than it; top-k 1 is greedy; each MoE layer's expert use adds up to
# 100%; a dense model prints none. Bad input exits 1, usage errors exit 2,
# each with a message.
moec="${top_builddir:-.}/moec"
train="${top_builddir:-.}/tests/sample/train_repeat"
model="${top_srcdir:-.}/models/gpt2-moe-tiny.moe"
dense="${top_srcdir:-.}/models/gpt2-dense-tiny.moe"
. "${top_srcdir:-.}/tests/tap.sh"
if ! "$moec" --version | grep -q "^cpu backend: *LLVM"; then
    echo "1..0 # SKIP the CPU backend is not built (no LLVM)"; exit 0
fi
if [ -z "${MOEC_VOCAB:-}" ]; then MOEC_VOCAB="${MOEC_DATA:-${top_builddir:-.}/data}/gpt2"; fi
export MOEC_VOCAB
if [ ! -f "$MOEC_VOCAB/encoder.json" ]; then
    echo "not ok 1 - no GPT-2 vocabulary in $MOEC_VOCAB (run scripts/setup-data or set MOEC_VOCAB)"; echo "1..1"; exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/moec-sample-test-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# The pattern: one letter or sign a token (GPT-2 ids below 96), so a model
# with a 96-token vocabulary can read it.
pattern='a+b=c;x*y/z.'
# The text part of an output: everything before the expert use or speed lines.
text() { sed -n '/^$/q;p' "$1"; }
# The pattern repeated, cut to N characters.
repeated() { r=""; while [ ${#r} -lt "$1" ]; do r="$r$pattern"; done; printf '%s\n' "$r" | cut -c "1-$1"; }

# ---- a run of moec train: 60 texts of the pattern 30 times, 32-token sequences ----
awk -v p="$pattern" 'BEGIN { for (i = 0; i < 60; i++) { s = ""; for (j = 0; j < 30; j++) s = s p; print s; print "%" } }' \
    >"$tmp/rep.txt"
"$moec" data rep="$tmp/rep.txt" -o "$tmp/data" --separator % --seq 32 --quiet >"$tmp/data.out" 2>&1
ok $? "moec data builds the pattern's shards"
"$moec" train "$model" --data "$tmp/data" --set d=32 --set layers=1 --set moe_from=0 --batch 4 --seq 32 --threads 2 \
    --steps 100 --set lr=1e-2 --set eval_every=100 --set eval_steps=2 --out "$tmp/trained" --quiet >"$tmp/train.out" 2>&1
ok $? "moec train learns the pattern into a run directory"
# Greedy within the trained length: 3 prompt tokens + 28.
"$moec" sample "$tmp/trained" --prompt "a+b" --greedy --max-tokens 28 >"$tmp/trained.out" 2>"$tmp/err"
ok $? "sample RUN --greedy runs"
[ "$(text "$tmp/trained.out")" = "$(repeated 31)" ]
ok $? "greedy sampling of the trained run reproduces the pattern: $(text "$tmp/trained.out")"
grep -q "(window 32, " "$tmp/trained.out"; ok $? "the window is the run's trained length (config.json seq 32)"
"$moec" sample "$model" --set d=32 --set layers=1 --set moe_from=0 --set seq=32 \
    --weights "$tmp/trained/final-model.safetensors" --prompt "a+b" --greedy --max-tokens 28 >"$tmp/file.out" 2>>"$tmp/err"
[ "$(sed '$d' "$tmp/file.out")" = "$(sed '$d' "$tmp/trained.out")" ]
ok $? "the model file + --weights give the run's text and expert use"
seeded() {   # seeded SEED OUT [ARGS]: the output without its speed line
    s=$1; out=$2; shift 2
    "$moec" sample "$tmp/trained" --prompt "x*y" --seed "$s" --temperature 3 --max-tokens 30 "$@" >"$tmp/seeded" 2>>"$tmp/err" ||
        echo "failed" >>"$tmp/seeded"
    sed '$d' "$tmp/seeded" >"$out"
}
seeded 7 "$tmp/seed.7.a"; seeded 7 "$tmp/seed.7.b"; seeded 8 "$tmp/seed.8.a"
[ -s "$tmp/seed.7.a" ] && ! grep -q failed "$tmp/seed.7.a" && cmp -s "$tmp/seed.7.a" "$tmp/seed.7.b"
ok $? "the same seed gives the same text and expert use"
! cmp -s "$tmp/seed.7.a" "$tmp/seed.8.a"; ok $? "another seed gives another text"
"$moec" init "$model" --set d=32 --set layers=1 --set moe_from=0 --seed 3 -o "$tmp/fresh.safetensors" >/dev/null 2>&1
"$moec" sample "$tmp/trained" --weights "$tmp/fresh.safetensors" --prompt "a+b" --greedy --max-tokens 28 >"$tmp/runw.out" 2>>"$tmp/err"
[ $? = 0 ] && [ "$(text "$tmp/runw.out")" != "$(text "$tmp/trained.out")" ]; ok $? "RUN --weights W samples with W"

# ---- weights from train_repeat: a 96-token vocabulary, 32-token sequences ----
ids=$("$moec" tokenize --ids --text "$pattern" | tr ' ' ',')
sets="vocab=96 layers=2 moe_from=1 experts=4 d=32 seq=32"
cli_sets="--set vocab=96 --set layers=2 --set moe_from=1 --set experts=4 --set d=32 --set seq=32"
# shellcheck disable=SC2086 -- $sets is a list of words
"$train" "$model" "$tmp/rep.safetensors" 200 "$ids" $sets >"$tmp/train.out" 2>&1; ok $? "train_repeat learns the pattern ($(cat "$tmp/train.out"))"

# Greedy continues the pattern: 3 prompt characters + 40 tokens of one character,
# past the trained length 32 (the window slides).
# shellcheck disable=SC2086
"$moec" sample "$model" --weights "$tmp/rep.safetensors" $cli_sets --prompt "a+b" --greedy --max-tokens 40 \
    >"$tmp/greedy" 2>"$tmp/err"; ok $? "sample --greedy runs"
[ "$(text "$tmp/greedy")" = "$(repeated 43)" ]; ok $? "greedy sampling reproduces the trained pattern: $(text "$tmp/greedy")"
# Longer: 103 tokens through a window of 32.
# shellcheck disable=SC2086
"$moec" sample "$model" --weights "$tmp/rep.safetensors" $cli_sets --prompt "a+b" --greedy --max-tokens 100 \
    >"$tmp/long" 2>>"$tmp/err"
[ "$(text "$tmp/long")" = "$(repeated 103)" ]; ok $? "103 tokens through a window of 32: the pattern goes on"
# A prompt longer than the trained length: a note, and the model sees its last 32 tokens.
longp=$(repeated 84)
# shellcheck disable=SC2086
"$moec" sample "$model" --weights "$tmp/rep.safetensors" $cli_sets --prompt "$longp" --greedy --max-tokens 12 \
    >"$tmp/longp" 2>"$tmp/longp.err"
[ "$(text "$tmp/longp")" = "$(repeated 96)" ] && grep -q "prompt is 84 tokens, longer than the 32 the model was trained on" "$tmp/longp.err"
ok $? "a prompt longer than the trained length: a note, and the continuation from its last 32 tokens"
# top-k 1 keeps only the most likely token: the greedy text, whatever the seed.
# shellcheck disable=SC2086
"$moec" sample "$model" --weights "$tmp/rep.safetensors" $cli_sets --prompt "a+b" --top-k 1 --seed 9 --max-tokens 40 \
    >"$tmp/k1" 2>>"$tmp/err"
[ "$(text "$tmp/k1")" = "$(text "$tmp/greedy")" ]; ok $? "--top-k 1 gives the greedy text"

# Expert use: one line for the MoE layer, fractions adding up to 100%, then the speed.
grep -q "^expert use over 43 tokens (3 prompt, 40 generated):" "$tmp/greedy"; ok $? "expert use is counted over prompt and generation"
line=$(grep "^  h\.1\.mlp  E0=" "$tmp/greedy")
sum=$(printf '%s\n' "$line" | tr ' ' '\n' | sed -n 's/^E[0-9]*=\([0-9.]*\)%$/\1/p' | awk '{ s += $1; n++ } END { if (n == 4) printf "%.1f", s }')
[ -n "$sum" ] && awk -v s="$sum" 'BEGIN { exit !(s > 99.7 && s < 100.3) }' && printf '%s\n' "$line" | grep -q "entropy/lnE [01]\.[0-9]*"
ok $? "the MoE layer's line: 4 experts adding up to 100% ($sum), entropy / ln E"
# Top-1: each share is a whole number of the 43 tokens' assignments (to the printed 0.1%).
printf '%s\n' "$line" | tr ' ' '\n' | sed -n 's/^E[0-9]*=\([0-9.]*\)%$/\1/p' |
    awk '{ c = $1 * 43 / 100; if (c - int(c + 0.5) > 0.03 || int(c + 0.5) - c > 0.03) bad = 1 } END { exit bad }'
ok $? "each expert's share is a whole count of the 43 tokens (top-1)"
tail -n 1 "$tmp/greedy" | grep -q "^40 tokens in [0-9.]* s: [0-9.]* tokens/s (window 32, "; ok $? "the last line: the generation speed"

# A run directory made by hand: config.json (the text and sets; the model file gone).
run="$tmp/run"
mkdir "$run"
python3 - "$model" "$run/config.json" $sets <<'EOF'
import json, sys
src = open(sys.argv[1]).read()
json.dump({"moec_version": "test", "model_file": "/nonexistent/moved.moe", "model_source": src,
           "sets": sys.argv[3:], "steps": 200, "batch": 4, "seq": 32, "seed": 1337}, open(sys.argv[2], "w"))
EOF
cp "$tmp/rep.safetensors" "$run/final-model.safetensors"
"$moec" sample "$run" --prompt "a+b" --greedy --max-tokens 40 >"$tmp/run.out" 2>>"$tmp/err"; ok $? "sample RUN runs (the model file moved away)"
[ "$(text "$tmp/run.out")" = "$(text "$tmp/greedy")" ]; ok $? "RUN rebuilds the model from config.json and loads final-model.safetensors"

# A dense model: the text and the speed, no expert use.
"$moec" init "$dense" --set vocab=96 --set d=32 --seed 1 -o "$tmp/dense.safetensors" >/dev/null 2>&1
"$moec" sample "$dense" --set vocab=96 --set d=32 --weights "$tmp/dense.safetensors" --prompt "a+b" --max-tokens 5 \
    >"$tmp/dense.out" 2>>"$tmp/err"
[ $? = 0 ] && ! grep -q "expert use" "$tmp/dense.out" && tail -n 1 "$tmp/dense.out" | grep -q "^5 tokens in .* tokens/s"
ok $? "a dense model: text and speed, no expert use"

# Bad input: exit 1 and a message.
fails() {   # fails STATUS NAME PATTERN ARGS...: that exit status and a message matching PATTERN
    want=$1; name=$2; pat=$3; shift 3
    "$moec" sample "$@" >/dev/null 2>"$tmp/msg"; rc=$?
    [ "$rc" = "$want" ] && grep -q -- "$pat" "$tmp/msg"; ok $? "$name exits $want with a message (got $rc: $(head -n 1 "$tmp/msg"))"
}
mkdir "$tmp/empty" "$tmp/nosrc" "$tmp/noweights"
echo '{"model_file": "x.moe"}' >"$tmp/nosrc/config.json"
cp "$run/config.json" "$tmp/noweights/config.json"
fails 1 "a directory without config.json" "no config.json" "$tmp/empty" --prompt "a"
fails 1 "a config.json without model_source" "model_source" "$tmp/nosrc" --prompt "a"
fails 1 "a run without final-model.safetensors" "final-model.safetensors" "$tmp/noweights" --prompt "a"
fails 1 "a path that does not exist" "no-such-run" "$tmp/no-such-run" --prompt "a"
# shellcheck disable=SC2086
fails 1 "weights of the wrong shapes" "\[96, 64\]" "$model" $cli_sets --set d=64 --weights "$tmp/rep.safetensors" --prompt "a"
# shellcheck disable=SC2086
fails 1 "a prompt token outside the model's vocabulary" "outside the model's vocabulary of 96" "$model" $cli_sets \
    --weights "$tmp/rep.safetensors" --prompt "hello world"
# Usage: exit 2 and a message.
fails 2 "an empty prompt" "empty" "$run" --prompt ""
fails 2 "no --prompt" "needs --prompt" "$run"
fails 2 "no run or model" "run directory" --prompt "a"
fails 2 "a model file without --weights" "needs --weights" "$model" --prompt "a"
fails 2 "--set with a run" "config.json" "$run" --set d=64 --prompt "a"
fails 2 "--greedy with --temperature" "greedy" "$run" --prompt "a" --greedy --temperature 0.5
fails 2 "--temperature 0" "temperature" "$run" --prompt "a" --temperature 0
fails 2 "--top-p 1.5" "top-p" "$run" --prompt "a" --top-p 1.5
fails 2 "--top-k -1" "top-k" "$run" --prompt "a" --top-k -1
fails 2 "--max-tokens 0" "max-tokens" "$run" --prompt "a" --max-tokens 0
fails 2 "--seed abc" "seed" "$run" --prompt "a" --seed abc
fails 2 "an unknown option" "usage" "$run" --prompt "a" --beam 4

# Run from another directory with no $MOEC_VOCAB, moec finds the vocabulary
# in data/gpt2 beside its executable (a build tree with scripts/setup-data's data).
exe_dir=$(cd "$(dirname "$moec")" && pwd)
if [ -f "$exe_dir/data/gpt2/encoder.json" ]; then
    ids=$(cd "$tmp" && env -u MOEC_VOCAB "$exe_dir/moec" tokenize --ids --text "Hello world")
    [ "$ids" = "15496 995" ]; ok $? "the vocabulary beside the executable: 'Hello world' is 15496 995 (got '$ids')"
else
    ok 0 "# SKIP no data/gpt2 beside the moec executable"
fi
tap_done
