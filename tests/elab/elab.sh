#!/bin/sh
# tests/elab/elab.sh -- elaboration end to end through `moec check` and
# `moec ir --stage elab`: the GPT-2 parameter counts, Hugging Face names, the
# init scale, routers, --set of params and train settings, every model in
# models/ (with the --set variants the catalogue names), and a stable printout.
# The golden diagnostics of tests/elab/bad/ run in tests/frontend/golden.sh.
moec="${top_builddir:-.}/moec"
dir="${top_srcdir:-.}/tests/elab/good"
models="${top_srcdir:-.}/models"
. "${top_srcdir:-.}/tests/tap.sh"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# count FILE [ARGS...]: the last line of the elab dump
count() { f=$1; shift; "$moec" ir "$f" --stage elab "$@" 2>/dev/null | tail -n 1; }
has() { grep -q -- "$1" "$tmp/dump"; }

for m in gpt2_dense gpt2_moe features; do
    "$moec" check "$dir/$m.moe" > "$tmp/out" 2> "$tmp/err"
    [ $? = 0 ] && [ ! -s "$tmp/err" ] && [ ! -s "$tmp/out" ]
    ok $? "check $m.moe: exit 0, silent"
done

[ "$(count "$dir/gpt2_dense.moe")" = "parameters: 124,439,808" ]; ok $? "dense GPT-2 small has 124,439,808 parameters"
[ "$(count "$dir/gpt2_moe.moe")" = "parameters: 256,692,480" ]; ok $? "GPT-2 with MoE layers 8-11 has 256,692,480 parameters"
[ "$(count "$dir/gpt2_dense.moe" --set layers=2)" = "parameters: 53,561,088" ]; ok $? "--set layers=2 gives 53,561,088"
[ "$(count "$dir/gpt2_moe.moe" --set experts=2)" = "parameters: 143,335,680" ]; ok $? "--set experts=2 gives 143,335,680"

"$moec" ir "$dir/gpt2_moe.moe" --stage elab > "$tmp/dump" 2>&1
has '^  wte.weight  *\[50257, 768\]  normal(0.02)$'; ok $? "wte.weight [50257, 768] N(0, 0.02)"
has '^  wpe.weight  *\[1024, 768\]'; ok $? "wpe.weight [1024, 768]"
has '^  h.0.attn.c_attn.weight  *\[768, 2304\]'; ok $? "h.0.attn.c_attn.weight [768, 2304]"
has '^  h.0.attn.c_proj.weight  *\[768, 768\]  normal(0.00408248)  residual$'; ok $? "c_proj init 0.02/sqrt(2*12)"
has '^  h.7.mlp.c_fc.weight  *\[768, 3072\]'; ok $? "dense layer 7 keeps h.7.mlp.c_fc.weight"
has '^  h.8.mlp.router.gate.weight  *\[8, 768\]  normal(0.02)  router top1$'; ok $? "router gate [E, d]"
has '^  h.8.mlp.experts.3.c_fc.weight  *\[768, 3072\]  normal(0.02)  upcycle from h.8.mlp.c_fc.weight$'; ok $? "expert names and upcycle source"
has '^  h.11.mlp.experts.7.c_proj.bias  *\[768\]  zeros  upcycle from h.11.mlp.c_proj.bias$'; ok $? "last expert bias"
! has 'h.8.mlp.c_fc.weight  ' && ! has 'experts.0.mlp'; ok $? "no dense MLP in MoE layers, no block name inside experts"
! has 'lm_head.weight'; ok $? "tied head has no weight of its own"
has '^  ln_f.weight  *\[768\]  ones$'; ok $? "ln_f.weight ones"
has 'top1 = topk(k = 1, straight_through = true, renormalize = true, noise_std = 0.1, noise_anneal = 0.25, capacity_factor = 0, unit = "token", frozen = false)  gate init normal(0.02)  used by 4 moe layers'
ok $? "router with every setting, used by 4 layers"
has '^  0.01 \* load_balance(top1)$' && has '^  0.001 \* z_loss(top1)$'; ok $? "aux loss terms with coefficients"
has 'lm_head %[0-9]* weight=wte.weight -> \[B, T, 50257\]'; ok $? "lm_head tied to wte.weight, [B, T, V]"
has '^    ... experts 1..7 of %'; ok $? "experts 1..7 printed compactly"
has '^  seq = 512$' && has '^  warmup = 1000$'; ok $? "train settings"

"$moec" ir "$dir/gpt2_moe.moe" --stage elab > "$tmp/dump2" 2>&1
cmp -s "$tmp/dump" "$tmp/dump2"; ok $? "the elab dump is deterministic"

"$moec" ir "$dir/features.moe" --stage elab > "$tmp/dump" 2>&1
has '^  blocks.1.ffn.linear_2.weight  *\[128, 32\]  normal(0.00707107)  residual$'; ok $? "default names get _1, _2; residual scale from layers"
! has 'linear_2.bias'; ok $? "bias = false creates no bias"
has '^  blocks.0.moe.router.noise.weight  *\[4, 32\]  zeros  router gate$'; ok $? "noisy top-k has a noise weight"
has '^  lm_head.weight  *\[97, 32\]'; ok $? "untied head weight [V, d]"
has 'ec = expert_choice(capacity_factor = 1.5)'; ok $? "expert choice capacity factor"
has '^  0.25 \* importance(gate)$'; ok $? "coefficients multiply and divide"

"$moec" ir "$dir/features.moe" --stage elab --set kind='"topk"' --set frozen=true --set cf=2 > "$tmp/dump" 2>&1
has 'gate = topk(k = 1,.*frozen = false)'; ok $? "--set of a quoted string picks the other router"
"$moec" ir "$dir/features.moe" --stage elab --set frozen=true > "$tmp/dump" 2>&1
has 'router.gate.weight  *\[4, 32\]  normal(0.02)  router gate  (frozen)$'; ok $? "a frozen router's weights are not trainable"
"$moec" ir "$dir/gpt2_dense.moe" --stage elab --set lr=1e-4 --set schedule=constant --set seq=1024 > "$tmp/dump" 2>&1
has '^  lr = 0.0001$' && has '^  schedule = "constant"$' && has '^  seq = 1024$'; ok $? "--set reaches train settings"

"$moec" check "$dir/gpt2_dense.moe" --set layers=abc 2> "$tmp/err"; [ $? = 1 ]
ok $? "--set layers=abc fails"
grep -qx "moec: error: param 'layers' expects an integer, got \"abc\"" "$tmp/err"; ok $? "and says the param expects an integer"
"$moec" check "$dir/gpt2_dense.moe" --set d=7.5 2> "$tmp/err"
grep -qx "moec: error: param 'd' expects an integer, got \"7.5\"" "$tmp/err"; ok $? "an int param refuses a float"
"$moec" check "$dir/gpt2_moe.moe" --set noise_std=1 2> "$tmp/err"; ok $? "a float param accepts an int"
"$moec" check "$dir/features.moe" --set frozen=1 2> "$tmp/err"
grep -qx "moec: error: param 'frozen' expects true or false, got \"1\"" "$tmp/err"; ok $? "a bool param wants true or false"
"$moec" check "$dir/gpt2_dense.moe" --set layer=3 2> "$tmp/err"
grep -qx "moec: error: unknown param 'layer'; did you mean 'layers'?" "$tmp/err"; ok $? "an unknown --set name suggests"
"$moec" check "$dir/gpt2_dense.moe" --set seq=2048 2> "$tmp/err"
grep -q "seq = 2048 is longer than the position embedding's ctx = 1024" "$tmp/err"; ok $? "--set seq beyond ctx is an error"

for f in "$models"/*.moe; do
    [ -f "$f" ] || continue
    "$moec" check "$f" > /dev/null 2> "$tmp/err"; ok $? "models/$(basename "$f") elaborates"
done
if [ -f "$models/gpt2-dense.moe" ]; then
    [ "$(count "$models/gpt2-dense.moe")" = "parameters: 124,439,808" ]; ok $? "models/gpt2-dense.moe: 124,439,808"
fi
if [ -f "$models/gpt2-moe.moe" ]; then
    [ "$(count "$models/gpt2-moe.moe")" = "parameters: 256,692,480" ]; ok $? "models/gpt2-moe.moe: 256,692,480"
    "$moec" check "$models/gpt2-moe.moe" --set top_k=2 2>/dev/null; ok $? "models/gpt2-moe.moe --set top_k=2"
    "$moec" check "$models/gpt2-moe.moe" --set lb_coef=0 --set noise_std=0 2>/dev/null; ok $? "models/gpt2-moe.moe collapse ablation"
fi

tap_done
