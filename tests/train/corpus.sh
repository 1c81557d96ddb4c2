# tests/train/corpus.sh -- sourced by the tests of `moec train`: sets moec,
# models, tmp (removed on exit) and builds "$tmp/data", a tiny two-domain
# corpus (prose sentences and sums, 300 texts each, 32-token sequences) made
# with `moec data`; skips the test without the CPU backend or the GPT-2
# vocabulary. Also: unigram H (the train tokens' unigram entropy in nats,
# with python3) and small="..." (the tiny model sizes the tests use).
moec="${top_builddir:-.}/moec"
models="${top_srcdir:-.}/models"
. "${top_srcdir:-.}/tests/tap.sh"
if ! "$moec" --version | grep -q "^cpu backend: *LLVM"; then
    echo "1..0 # SKIP the CPU backend is not built (no LLVM)"; exit 0
fi
vocab="${MOEC_DATA:-${top_builddir:-.}/data}/gpt2"
if [ ! -f "$vocab/encoder.json" ]; then
    echo "1..0 # SKIP no GPT-2 vocabulary in $vocab (scripts/setup-data)"; exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/moec-train-test-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
awk 'BEGIN {
    srand(7); split("the cat sat on the mat|a dog ran in the park|birds fly over the sea|fish swim under the boat", w, "|")
    for (i = 0; i < 300; i++) {
        s = ""; for (j = 0; j < 6; j++) s = s w[1 + int(rand() * 4)] " "
        print s "." > "'"$tmp"'/prose.txt"; print "%" > "'"$tmp"'/prose.txt"
        a = int(rand() * 10); b = int(rand() * 10); s = ""
        for (j = 0; j < 5; j++) s = s a " plus " b " is " a + b " "
        print s > "'"$tmp"'/math.txt"; print "%" > "'"$tmp"'/math.txt"
    } }'
"$moec" data prose="$tmp/prose.txt" math="$tmp/math.txt" -o "$tmp/data" --separator % --seq 32 --quiet \
    --vocab "$vocab" || { echo "Bail out! moec data failed"; exit 1; }
# Every test model: width 32, batch 4 x 16 tokens, 2 threads (resume is bit-exact at a fixed thread count).
small="--set d=32 --batch 4 --seq 16 --threads 2"
# unigram entropy of the train split's tokens, nats
unigram() {
    python3 - "$tmp/data/train_000000.bin" <<'PY'
import collections, math, struct, sys
d = open(sys.argv[1], 'rb').read()
n = struct.unpack('<3i', d[:12])[2]
c = collections.Counter(struct.unpack('<%dH' % n, d[1024:1024 + 2 * n]))
print(-sum(v / n * math.log(v / n) for v in c.values()))
PY
}
# value KEY FILE: the last value of KEY in a JSON-lines file (numbers only)
value() { grep -o "\"$1\":[-0-9.eE+naif]*" "$2" | tail -n 1 | cut -d: -f2; }
