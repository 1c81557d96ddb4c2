#!/bin/sh
# tests/model/tiny_models.sh -- `moec eval` and `moec grad` on every tiny model
# of models/catalogue.txt (with --set vocab=50 and a generated shard), and
# the commands' contract: the JSON line, the gradient file, exit statuses
# 0 (done), 1 (bad input: short shard, bad weights, token >= vocab, T > ctx),
# 2 (usage); the capacity drops on eval's and grad's plain loss line (and
# never in --json); a model whose loss has load(R); the MoE layers' sparse
# form (the default) and --moe dense give the same losses and gradients.
src="$(cd "${top_srcdir:-.}" && pwd)"; build="$(cd "${top_builddir:-.}" && pwd)"; moec="$build/moec"
. "${top_srcdir:-.}/tests/tap.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/moec-tiny-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# An llm.c shard: 256 int32 header (magic, version, count), then uint16 tokens.
shard() { # FILE COUNT VOCAB
    python3 - "$1" "$2" "$3" <<'PY'
import struct, sys
path, count, vocab = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
toks = [(i * 7919 + 13) % vocab for i in range(count)]
hdr = [20240520, 1, count] + [0] * 253
open(path, "wb").write(struct.pack("<256i", *hdr) + struct.pack("<%dH" % count, *toks))
PY
}
shard "$tmp/tok.bin" 65 50
shard "$tmp/short.bin" 64 50
shard "$tmp/big.bin" 65 60000
shard "$tmp/long.bin" 200 50

json='^{"loss":[-0-9.e+]*,"lm_loss":[-0-9.e+]*,"lb_loss":[-0-9.e+]*,"z_loss":[-0-9.e+]*}$'
# agree LOSS_TOL GRAD_TOL A.json B.json [GA GB]: the losses of two --json lines
# agree to LOSS_TOL relative, and two gradient files tensor by tensor to
# GRAD_TOL of the tensor's largest entry. Prints the names that differ.
agree() {
    python3 - "$@" <<'PY'
import json, struct, sys
tl, tg = float(sys.argv[1]), float(sys.argv[2])
a, b = (json.loads(open(p).read()) for p in sys.argv[3:5])
bad = [k for k in b if not abs(a[k] - b[k]) <= tl * max(abs(b[k]), 1e-300)]
def tensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n])
    out = {}
    for name, t in head.items():
        if name == "__metadata__":
            continue
        lo, hi = t["data_offsets"]
        out[name] = struct.unpack("<%df" % ((hi - lo) // 4), raw[8 + n + lo:8 + n + hi])
    return out
if len(sys.argv) > 5:
    ga, gb = tensors(sys.argv[5]), tensors(sys.argv[6])
    bad += [k for k in gb if k not in ga or max(abs(x - y) for x, y in zip(ga[k], gb[k])) >
            tg * max(max(abs(y) for y in gb[k]), 1e-30)]
print(" ".join(bad))
sys.exit(1 if bad else 0)
PY
}
# The sparse and dense MoE forms compute the same values in float64: losses
# to 1e-12 relative, gradient files to float32's rounding (2 ulps, 2.4e-7, of
# the tensor's largest entry).
same_as_dense() { agree 1e-12 2.4e-7 "$@"; }
# The CPU backend (float32) against the interpreter (float64): 1e-5; sums in
# another order differ by a few float32 ulps per term (measured worst 6e-6).
close_to() { agree 1e-5 1e-5 "$@"; }
grep -- '-tiny\.moe' "$src/models/catalogue.txt" | while read -r file sets; do
    label="$file${sets:+ $sets}"
    # shellcheck disable=SC2086
    eval "set -- $sets"
    "$moec" init "$src/models/$file" --set vocab=50 "$@" --seed 3 -o "$tmp/w.safetensors" > /dev/null 2>&1
    ok $? "$label: init"
    "$moec" eval "$src/models/$file" --set vocab=50 "$@" --weights "$tmp/w.safetensors" --data "$tmp/tok.bin" \
        --batch 2 --seq 32 --json > "$tmp/eval" 2> "$tmp/err"
    r=$?; grep -q "$json" "$tmp/eval"; ok $((r + $?)) "$label: eval --json: $(cat "$tmp/eval" "$tmp/err")"
    rm -f "$tmp/g.safetensors"
    "$moec" grad "$src/models/$file" --set vocab=50 "$@" --weights "$tmp/w.safetensors" --data "$tmp/tok.bin" \
        --batch 2 --seq 32 -o "$tmp/g.safetensors" > "$tmp/grad" 2> "$tmp/err"
    r=$?; [ -s "$tmp/g.safetensors" ] && grep -q "^loss " "$tmp/grad"
    ok $((r + $?)) "$label: grad writes the gradients: $(cat "$tmp/grad" "$tmp/err")"
    # the sparse and dense forms on the float64 interpreter (the CPU backend is float32)
    common="--set vocab=50 --weights $tmp/w.safetensors --data $tmp/tok.bin --batch 2 --seq 32 --json --backend interp"
    "$moec" eval "$src/models/$file" "$@" $common > "$tmp/eval" 2>&1
    "$moec" eval "$src/models/$file" "$@" $common --moe dense > "$tmp/evald" 2>&1
    "$moec" grad "$src/models/$file" "$@" $common -o "$tmp/gs.safetensors" > "$tmp/grads" 2>&1
    "$moec" grad "$src/models/$file" "$@" $common --moe dense -o "$tmp/gd.safetensors" > "$tmp/gradd" 2>&1
    why=$(same_as_dense "$tmp/eval" "$tmp/evald" 2>&1 && same_as_dense "$tmp/grads" "$tmp/gradd" \
          "$tmp/gs.safetensors" "$tmp/gd.safetensors" 2>&1)
    ok $? "$label: eval and grad give the dense form's losses and gradients${why:+ (differ: $why)}"
    # the compiled CPU backend (the default) against the interpreter: float32, 1e-5
    "$moec" grad "$src/models/$file" "$@" --set vocab=50 --weights "$tmp/w.safetensors" --data "$tmp/tok.bin" \
        --batch 2 --seq 32 --json -o "$tmp/gc.safetensors" > "$tmp/gradc" 2>&1
    why=$(close_to "$tmp/gradc" "$tmp/grads" "$tmp/gc.safetensors" "$tmp/gs.safetensors" 2>&1)
    ok $? "$label: the CPU backend's grad agrees with the interpreter's${why:+ (differ: $why)}"
done > "$tmp/tap"
cat "$tmp/tap"
# the loop ran in a subshell: take its counts from its lines (tap_done's verdict)
n=$(grep -c '^\(not \)\{0,1\}ok' "$tmp/tap"); failed=$(grep -c '^not ok' "$tmp/tap")

m="$src/models/gpt2-dense-tiny.moe"
"$moec" init "$m" --set vocab=50 --seed 3 -o "$tmp/d.safetensors" > /dev/null 2>&1
args="--weights $tmp/d.safetensors --batch 2 --seq 32"
"$moec" eval "$m" --set vocab=50 $args --data "$tmp/short.bin" > /dev/null 2> "$tmp/err"
[ $? = 1 ] && grep -q "needs 65 (B\*T+1)" "$tmp/err"; ok $? "64 tokens for B*T+1 = 65: exit 1, says so"
"$moec" eval "$m" --set vocab=50 $args --data "$tmp/big.bin" > /dev/null 2> "$tmp/err"
[ $? = 1 ]; ok $? "a token >= vocab: exit 1 ($(head -c 120 "$tmp/err"))"
"$moec" eval "$m" --set vocab=50 --weights "$tmp/w.safetensors" --data "$tmp/tok.bin" --batch 2 --seq 32 \
    > /dev/null 2> "$tmp/err"
[ $? = 1 ]; ok $? "weights of another model: exit 1"
"$moec" eval "$m" --set vocab=50 --weights "$tmp/d.safetensors" --data "$tmp/long.bin" --batch 1 --seq 65 \
    > /dev/null 2> "$tmp/err"
[ $? = 1 ] && grep -q "seq = 65 is longer than the position embedding's ctx = 64" "$tmp/err"; ok $? "--seq beyond ctx: exit 1, says so"
"$moec" eval "$m" --set vocab=50 --data "$tmp/tok.bin" > /dev/null 2>&1
[ $? = 2 ]; ok $? "no --weights: exit 2"
"$moec" grad "$m" --set vocab=50 $args --data "$tmp/tok.bin" > /dev/null 2>&1
[ $? = 2 ]; ok $? "grad without -o: exit 2"
"$moec" eval "$m" --set vocab=50 $args --data "$tmp/tok.bin" --backend cuda > /dev/null 2>&1
[ $? = 2 ]; ok $? "--backend cuda: exit 2 (not available yet)"
"$moec" eval "$m" --set vocab=50 $args --data "$tmp/tok.bin" --json > "$tmp/a" 2>&1
"$moec" grad "$m" --set vocab=50 $args --data "$tmp/tok.bin" --json -o "$tmp/g.safetensors" > "$tmp/b" 2>&1
cmp -s "$tmp/a" "$tmp/b"; ok $? "dropout 0: eval and grad print the same losses"
# Label routing reads domain ids from a domains.json beside the shard.
mkdir -p "$tmp/dom"
cp "$tmp/tok.bin" "$tmp/dom/train_000000.bin"
printf '{"format": "moec-domains", "version": 1, "domains": ["a", "b", "c"], "splits": {"train": {"shards": [{"path": "train_000000.bin", "tokens": 65}], "ranges": [[0, 32, 1], [32, 65, 2]]}}}\n' > "$tmp/dom/domains.json"
f="$src/models/fan-routing-tiny.moe"
"$moec" init "$f" --set vocab=50 --set router_mode=label --seed 3 -o "$tmp/l.safetensors" > /dev/null 2>&1
for d in "$tmp/tok.bin" "$tmp/dom/train_000000.bin"; do
    "$moec" eval "$f" --set vocab=50 --set router_mode=label --weights "$tmp/l.safetensors" --data "$d" \
        --batch 2 --seq 32 --json
done > "$tmp/l" 2>&1
[ "$(sort -u "$tmp/l" | wc -l)" = 2 ]; ok $? "label routing: domains.json beside the shard changes the routes"
# Capacity drops: chimera-tiny (top-1, capacity 1.0, 2 layers of B*T = 64
# assignments) reports them on the plain line, grad the same count
# (no dropout, no noise); --json and a dropless model never do.
c="$src/models/chimera-tiny.moe"
"$moec" init "$c" --set vocab=50 --seed 3 -o "$tmp/c.safetensors" > /dev/null 2>&1
cargs="--weights $tmp/c.safetensors --data $tmp/tok.bin --batch 2 --seq 32"
"$moec" eval "$c" --set vocab=50 $cargs > "$tmp/ce" 2>&1
grep -q '^loss .* z_loss [0-9.]*  dropped [0-9][0-9]* of 128 assignments$' "$tmp/ce"
ok $? "capacity 1.0: eval reports the drops ($(cat "$tmp/ce"))"
"$moec" grad "$c" --set vocab=50 $cargs -o "$tmp/cg.safetensors" > "$tmp/cgr" 2>&1
cmp -s "$tmp/ce" "$tmp/cgr"; ok $? "capacity 1.0: grad reports the same line ($(cat "$tmp/cgr"))"
"$moec" eval "$c" --set vocab=50 $cargs --json > "$tmp/cj" 2>&1
grep -q "$json" "$tmp/cj"; ok $? "capacity 1.0: --json stays the four losses ($(cat "$tmp/cj"))"
"$moec" eval "$c" --set vocab=50 --set capacity=0 $cargs > "$tmp/c0" 2>&1
[ $? = 0 ] && grep -q '^loss ' "$tmp/c0" && ! grep -q dropped "$tmp/c0"
ok $? "capacity 0 (dropless): no drop count ($(cat "$tmp/c0"))"
"$moec" eval "$m" --set vocab=50 $args --data "$tmp/tok.bin" > "$tmp/d0" 2>&1
[ $? = 0 ] && ! grep -q dropped "$tmp/d0"; ok $? "dense model: no drop count"
# load(R): Shazeer's load loss of a noisy top-k router lowers and counts.
s="$src/models/small-moe-tiny.moe"
sed 's/^\(loss = .*\)$/\1 + load_coef * load(r)/; s/^param aux_coef = .*/&\nparam load_coef = 1.0/' "$s" > "$tmp/load.moe"
largs="--set vocab=50 --set router_kind=\"noisy_topk\" --set top_k=2"
"$moec" init "$tmp/load.moe" $largs --seed 3 -o "$tmp/lw.safetensors" > /dev/null 2>&1
for coef in 1.0 0.0; do
    "$moec" eval "$tmp/load.moe" $largs --set load_coef=$coef --weights "$tmp/lw.safetensors" --data "$tmp/tok.bin" \
        --batch 2 --seq 32 --json
done > "$tmp/ll" 2>&1
[ "$(grep -c "$json" "$tmp/ll")" = 2 ] && [ "$(sort -u "$tmp/ll" | wc -l)" = 2 ]
ok $? "load(R) on noisy top-2: eval runs, the term changes the loss ($(tr '\n' ' ' < "$tmp/ll"))"
"$moec" grad "$tmp/load.moe" $largs --weights "$tmp/lw.safetensors" --data "$tmp/tok.bin" --batch 2 --seq 32 \
    -o "$tmp/lg.safetensors" > "$tmp/lgr" 2>&1
ok $? "load(R) on noisy top-2: grad runs ($(cat "$tmp/lgr"))"
"$moec" ir "$m" --stage grad --set vocab=50 --batch 2 --seq 4 > "$tmp/ir" 2>&1
[ $? = 0 ] && grep -q "adam.m.wte.weight" "$tmp/ir"; ok $? "ir --stage grad prints the step"
# --moe: a usage error for anything but dense|sparse; a layer past the sparse
# plan's 2^24 tokens takes the dense form and warns (graph built, not run).
"$moec" eval "$c" --set vocab=50 $cargs --moe blocky > /dev/null 2> "$tmp/err"
[ $? = 2 ] && grep -q "expects dense or sparse" "$tmp/err"; ok $? "--moe blocky: exit 2, says what it takes"
"$moec" ir "$src/tests/model/sparse_moe.moe" --stage graph --set ctx=64 --batch 300000 --seq 64 > /dev/null 2> "$tmp/fb"
[ $? = 0 ] && [ "$(grep -c "warning: MoE layer 'h\.[01]\.mlp' .*dense form.*2^24" "$tmp/fb")" = 2 ]
ok $? "19.2M tokens: both layers warn and take the dense form ($(head -1 "$tmp/fb"))"
tap_done
