#!/bin/sh
# tests/report/token_use.sh -- expert use by Python token type of a trained
# run (rp_token_use_compute, runtime/report/token_types.h), end to end: a
# tiny MoE model trains a few steps on the first texts of the demo corpus's
# code and some prose (blocks of 128 tokens, sequences of 64, so each block
# is two sequences); token_use_main then computes the analysis with its
# per-token record and checks that each layer's counts sum to the tokens
# analysed and that the top-1 experts of the first sequences are the
# interpreter's; token_use_ref.py checks the tokens' categories against
# Python's tokenize and recounts the table from the record. Also: whole
# blocks up to max_tokens, and nothing to analyse (rc 1) for a dense model,
# an expert-choice router and data without a code domain; errors name the
# run.
. "${top_srcdir:-.}/tests/tap.sh"
moec="${top_builddir:-.}/moec"
models="${top_srcdir:-.}/models"
src="${top_srcdir:-.}"
prog="${top_builddir:-.}/tests/report/token_use_main"
data="${MOEC_DATA:-${top_builddir:-.}/data}"
if ! "$moec" --version | grep -q "^cpu backend: *LLVM"; then
    echo "1..0 # SKIP the CPU backend is not built (no LLVM)"; exit 0
fi
if [ ! -f "$data/gpt2/encoder.json" ] || [ ! -f "$data/demo/text/code.txt" ] || ! command -v python3 > /dev/null; then
    echo "1..0 # SKIP no GPT-2 vocabulary or demo corpus in $data (scripts/setup-data), or no python3"; exit 0
fi
export MOEC_VOCAB="$data/gpt2"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/moec-token-use-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

awk '{ print } $0 == "%" && ++n == 40 { exit }' "$data/demo/text/code.txt" > "$tmp/code.txt"
awk 'BEGIN { srand(3); split("the cat sat on the mat|a dog ran in the park|birds fly over the sea", w, "|")
    for (i = 0; i < 200; i++) { s = ""; for (j = 0; j < 8; j++) s = s w[1 + int(rand() * 3)] " "; print s "."; print "%" } }' \
    > "$tmp/prose.txt"
"$moec" data code="$tmp/code.txt" prose="$tmp/prose.txt" -o "$tmp/data" --separator % --seq 128 --quiet &&
    "$moec" data prose="$tmp/prose.txt" -o "$tmp/nocode" --separator % --seq 128 --quiet
ok $? "data with a code domain (blocks of 128 tokens), and data without"
small="--set d=32 --set layers=2 --set moe_from=0 --batch 4 --seq 64 --threads 2"
# $small is a list of words
# shellcheck disable=SC2086
"$moec" train "$models/gpt2-moe-tiny.moe" --data "$tmp/data" $small --steps 3 --set eval_every=3 --set eval_steps=1 \
    --out "$tmp/run" --quiet > "$tmp/out" 2>&1
ok $? "a tiny MoE model with two MoE layers trains 3 steps"

"$prog" "$tmp/run" 2048 "$tmp/dump" 4 > "$tmp/counts" 2> "$tmp/err"
ok $? "the analysis: counts sum to the tokens per layer; top-1 experts of 4 sequences as the interpreter's"
sed 's/^/# /' "$tmp/counts" "$tmp/err" | grep -v '^# [0-9]'
[ "$(head -n 1 "$tmp/counts")" = "tokens 2048" ]; ok $? "2048 tokens: 16 whole blocks"
grep -q '^0 keyword ' "$tmp/counts" && grep -q '^1 comment ' "$tmp/counts"
ok $? "layers named 0 and 1 as in the metrics, seven categories each"
python3 "$src/tests/report/token_use_ref.py" "$tmp/dump" "$tmp/counts" "$data/gpt2" 0.99 > "$tmp/ref" 2>&1
ok $? "categories as tokenize gives them (>= 99% of compared tokens), the table recounted from the record"
sed 's/^/# /' "$tmp/ref"
"$prog" "$tmp/run" 300 "$tmp/dump2" > "$tmp/counts2" 2> "$tmp/err"
[ "$(head -n 1 "$tmp/counts2")" = "tokens 256" ]; ok $? "max_tokens 300: two whole blocks of 128"
"$prog" "$tmp/run" 255 "$tmp/dump2" > "$tmp/counts2" 2> "$tmp/err"
[ "$(head -n 1 "$tmp/counts2")" = "tokens 128" ]; ok $? "max_tokens 255: one whole block"
"$prog" "$tmp/run" 1 "$tmp/dump2" > "$tmp/counts2" 2> "$tmp/err"
[ "$(head -n 1 "$tmp/counts2")" = "tokens 128" ]; ok $? "max_tokens 1: at least one whole block"

# Nothing to analyse: config.json rewritten to another model or other data.
edit() {   # edit NAME PYTHON-STATEMENT: a copy of the run whose config c is changed
    mkdir -p "$tmp/$1" && cp "$tmp/run/config.json" "$tmp/run/final-model.safetensors" "$tmp/$1/" &&
        python3 -c "import json,sys; c=json.load(open(sys.argv[1])); $2; json.dump(c, open(sys.argv[1],'w'))" \
            "$tmp/$1/config.json" "$models" "$tmp"
}
edit dense "c['sets'].append('moe_from=9')"
"$prog" "$tmp/dense" 2048 "$tmp/d" > "$tmp/out" 2>&1; [ $? = 3 ]; ok $? "a dense model: nothing to analyse"
edit choice "c['model_source']=open(sys.argv[2]+'/small-moe-tiny.moe').read(); c['sets']=['router_kind=\"expert_choice\"']"
"$prog" "$tmp/choice" 2048 "$tmp/d" > "$tmp/out" 2>&1; [ $? = 3 ]; ok $? "an expert-choice router: nothing to analyse"
edit nocode "c['data']=sys.argv[3]+'/nocode'"
"$prog" "$tmp/nocode" 2048 "$tmp/d" > "$tmp/out" 2>&1; [ $? = 3 ]; ok $? "data without a code domain: nothing to analyse"
mkdir -p "$tmp/empty"
"$prog" "$tmp/empty" 2048 "$tmp/d" > "$tmp/out" 2>&1; [ $? = 1 ] && grep -q "$tmp/empty: cannot read its config.json" "$tmp/out"
ok $? "no config.json: an error naming the run"
edit noweights "pass"
rm -f "$tmp/noweights/final-model.safetensors"
"$prog" "$tmp/noweights" 2048 "$tmp/d" > "$tmp/out" 2>&1; [ $? = 1 ] && grep -q "$tmp/noweights: no final-model" "$tmp/out"
ok $? "no weights: an error naming the run"
tap_done
