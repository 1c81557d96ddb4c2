#!/bin/sh
# tests/weights/cli.sh -- `moec init` end to end: the tiny models' files checked
# by an independent Python reader (check_safetensors.py), determinism of the
# bytes, upcycling a dense file into the tiny MoE model, usage and input errors,
# and GPT-2 small's 124,439,808 floats (skipped, saying so, when disk is short).
src="$(cd "${top_srcdir:-.}" && pwd)"; build="$(cd "${top_builddir:-.}" && pwd)"; moec="$build/moec"
py=/usr/bin/python3; check="$src/tests/weights/check_safetensors.py"
. "${top_srcdir:-.}/tests/tap.sh"
skip() { n=$((n+1)); echo "ok $n - $1 # SKIP $2"; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/moec-weights-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# The catalogue's tiny models, checked against their elab dumps.
for m in gpt2-moe-tiny gpt2-dense-tiny; do
    "$moec" init "$src/models/$m.moe" --seed 42 -o "$tmp/$m.safetensors" > "$tmp/out" 2>&1; ok $? "init $m exits 0"
    grep -q "^moec: wrote .* parameters in .* tensors to " "$tmp/out"; ok $? "init $m says what it wrote"
    "$moec" ir "$src/models/$m.moe" --stage elab > "$tmp/$m.elab"
    if [ -x "$py" ]; then
        "$py" "$check" "$tmp/$m.safetensors" "$tmp/$m.elab" 42 > "$tmp/out" 2>&1; r=$?
        sed 's/^/# /' "$tmp/out"
        ok $r "$m: Python reader agrees on names, shapes, dtypes, layout, init values (Philox key)"
    else
        skip "$m: Python reader" "no $py"
    fi
done

# Determinism: the bytes depend on the seed and nothing else.
"$moec" init "$src/models/gpt2-moe-tiny.moe" --seed 42 -o "$tmp/again.safetensors" > /dev/null 2>&1
cmp -s "$tmp/gpt2-moe-tiny.safetensors" "$tmp/again.safetensors"; ok $? "same seed: identical bytes"
"$moec" init "$src/models/gpt2-moe-tiny.moe" --seed=43 -o "$tmp/again.safetensors" > /dev/null 2>&1
! cmp -s "$tmp/gpt2-moe-tiny.safetensors" "$tmp/again.safetensors"; ok $? "other seed: other bytes"
"$moec" init "$src/models/gpt2-moe-tiny.moe" --set experts=2 --seed 1 -o "$tmp/e2.safetensors" > /dev/null 2>&1
[ $? = 0 ] && ! grep -q "experts.3" "$tmp/e2.safetensors"; ok $? "--set experts=2 changes the tensors"

# Upcycling: a 4-layer dense file into the tiny MoE model (layers 2 and 3 MoE).
"$moec" init "$src/models/gpt2-dense-tiny.moe" --set layers=4 --seed 5 -o "$tmp/dense4.safetensors" > /dev/null 2>&1
"$moec" init "$src/models/gpt2-moe-tiny.moe" --seed 6 -o "$tmp/up.safetensors" --upcycle "$tmp/dense4.safetensors" \
    > /dev/null 2> "$tmp/err"; ok $? "init --upcycle DENSE exits 0"
if [ -x "$py" ]; then
    "$py" - "$tmp/dense4.safetensors" "$tmp/up.safetensors" "$tmp/gpt2-moe-tiny.safetensors" > "$tmp/out" 2>&1 <<'EOF'
import json, math, struct, sys
def load(p):
    f = open(p, 'rb'); n = struct.unpack('<Q', f.read(8))[0]; h = json.loads(f.read(n)); h.pop('__metadata__')
    out = {}
    for k, e in h.items():
        f.seek(8 + n + e['data_offsets'][0]); b = f.read(e['data_offsets'][1] - e['data_offsets'][0])
        out[k] = struct.unpack('<%df' % (len(b) // 4), b)
    return out
dense, up, fresh6 = load(sys.argv[1]), load(sys.argv[2]), load(sys.argv[3])
def std(x):
    m = sum(x) / len(x); return math.sqrt(sum((v - m) ** 2 for v in x) / (len(x) - 1))
bad = []
for k in up:
    if '.experts.' in k:
        l, rest = k.split('.mlp.experts.')[0], k.split('.mlp.experts.')[1].split('.', 1)[1]
        d = dense[l + '.mlp.' + rest]
        diff = [a - b for a, b in zip(up[k], d)]
        want = 1e-3 * std(d)
        got = std(diff) if want else max(abs(v) for v in diff)
        # noise std of 16384 values (a [64, 256] weight): 0.55% standard
        # error, so 0.15 only catches a wrong scale; constant tensors copy exactly
        if (want and abs(got / want - 1) > 0.15) or (not want and got):
            bad.append('%s: noise %g, want %g' % (k, got, want))
    elif '.router.' in k:
        pass
    elif up[k] != dense[k]:
        bad.append(k + ' differs from the dense file')
assert 'h.2.mlp.c_fc.weight' not in up
print('\n'.join(bad) or 'upcycle ok')
sys.exit(1 if bad else 0)
EOF
    r=$?; sed 's/^/# /' "$tmp/out"; ok $r "upcycled experts = dense + perturb*std noise; other tensors copied"
else
    skip "upcycled values" "no $py"
fi
"$moec" init "$src/models/gpt2-moe-tiny.moe" --seed 6 -o "$tmp/up0.safetensors" --upcycle "$tmp/dense4.safetensors" \
    --perturb 0 > /dev/null 2>&1; ok $? "--perturb 0 accepted"

# Errors: usage (2) and input (1), each saying what is wrong.
"$moec" init "$src/models/gpt2-moe-tiny.moe" -o "$tmp/x" > /dev/null 2> "$tmp/err"; [ $? = 2 ]; ok $? "no --seed: usage error"
grep -q "needs --seed" "$tmp/err"; ok $? "and says so"
"$moec" init "$src/models/gpt2-moe-tiny.moe" --seed 1 > /dev/null 2>&1; [ $? = 2 ]; ok $? "no -o: usage error"
"$moec" init "$src/models/gpt2-moe-tiny.moe" --seed -3 -o "$tmp/x" > /dev/null 2>&1; [ $? = 2 ]; ok $? "negative seed: usage error"
"$moec" init "$src/models/gpt2-moe-tiny.moe" --seed 1x -o "$tmp/x" > /dev/null 2>&1; [ $? = 2 ]; ok $? "seed 1x: usage error"
"$moec" init "$src/models/gpt2-moe-tiny.moe" --seed 1 --perturb 1 -o "$tmp/x" > /dev/null 2>&1; [ $? = 2 ]; ok $? "--perturb without --upcycle: usage error"
"$moec" init "$src/models/gpt2-moe-tiny.moe" --set nope=1 --seed 1 -o "$tmp/x" > /dev/null 2>&1; [ $? = 1 ]; ok $? "unknown --set name: exit 1"
"$moec" init "$tmp/none.moe" --seed 1 -o "$tmp/x" > /dev/null 2>&1; [ $? = 1 ]; ok $? "missing model file: exit 1"
"$moec" init "$src/models/gpt2-moe-tiny.moe" --seed 1 -o "$tmp/no/such/dir/x.safetensors" > /dev/null 2> "$tmp/err"; [ $? = 1 ]; ok $? "unwritable output: exit 1"
grep -q "no/such/dir" "$tmp/err"; ok $? "naming the path"
"$moec" init "$src/models/gpt2-dense-tiny.moe" --seed 1 -o "$tmp/dense2.safetensors" > /dev/null 2>&1
"$moec" init "$src/models/gpt2-moe-tiny.moe" --seed 1 -o "$tmp/x" --upcycle "$tmp/dense2.safetensors" --max-errors 3 \
    > /dev/null 2> "$tmp/err"; [ $? = 1 ]; ok $? "upcycling a 2-layer file into 4 layers: exit 1"
grep -q "missing tensor 'h.2.ln_1.weight' \[64\]" "$tmp/err" && grep -q "more errors" "$tmp/err" && [ "$(wc -l < "$tmp/err")" = 4 ]
ok $? "names the missing tensors, 3 lines then a count"
[ ! -e "$tmp/x" ] && ! ls "$tmp"/x.tmp-* > /dev/null 2>&1; ok $? "no output file, no temporary left"
head -c 100 "$tmp/dense2.safetensors" > "$tmp/trunc.safetensors"
"$moec" init "$src/models/gpt2-dense-tiny.moe" --seed 1 -o "$tmp/x" --upcycle "$tmp/trunc.safetensors" > /dev/null 2> "$tmp/err"
[ $? = 1 ] && grep -q "header length .* runs past the end" "$tmp/err"; ok $? "truncated file: exit 1, says so"

# GPT-2 small: 124,439,808 floats (a 498 MB file).
avail=$(df -Pk "$tmp" | awk 'NR == 2 { print $4 }')
if [ "${avail:-0}" -gt 1200000 ]; then
    "$moec" init "$src/models/gpt2-dense.moe" --seed 1 -o "$tmp/gpt2.safetensors" > "$tmp/out" 2>&1; ok $? "init gpt2-dense exits 0"
    grep -q "wrote 124439808 parameters in 148 tensors" "$tmp/out"; ok $? "gpt2-dense: 124439808 parameters"
    if [ -x "$py" ]; then
        "$moec" ir "$src/models/gpt2-dense.moe" --stage elab > "$tmp/gpt2.elab"
        "$py" "$check" "$tmp/gpt2.safetensors" "$tmp/gpt2.elab" 1 --total 124439808 --no-values > "$tmp/out" 2>&1; r=$?
        sed 's/^/# /' "$tmp/out"; ok $r "gpt2-dense: the Python reader counts 124439808 floats"
    fi
    rm -f "$tmp/gpt2.safetensors"
else
    skip "init gpt2-dense (124439808 floats)" "only ${avail} KiB free in $tmp; it needs ~500 MB"
fi

tap_done
