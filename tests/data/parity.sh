#!/bin/sh
# tests/data/parity.sh -- moec's tokenizer against an independent one: the npm
# package gpt-3-encoder run under node (tests/data/ref-encode.js) must give the
# same ids, token for token, on adversarial texts (tests/data/adversarial.py)
# and on the demo corpus: a bounded sample of every domain in make check, the
# whole corpus with MOEC_PARITY_FULL=1 (make check-tokenizer-full).
# Needs what scripts/setup-data installs; fails saying so when it is missing.
src="${top_srcdir:-.}"; build="${top_builddir:-.}"
data="${MOEC_DATA:-$build/data}"
moec="$build/moec"; pkg="$data/npm/node_modules/gpt-3-encoder"; vocab="$data/gpt2"
. "${top_srcdir:-.}/tests/tap.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/moec-parity-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# Compares the two encoders on FILE (texts separated by SEP lines); NAME for the report.
compare() {
    node "$src/tests/data/ref-encode.js" "$(cd "$pkg" && pwd)" "$1" "$2" > "$tmp/ref.ids" 2> "$tmp/ref.err"
    ref=$?
    "$moec" tokenize --vocab "$vocab" --ids --separator "$2" "$1" > "$tmp/moec.ids" 2> "$tmp/moec.err"
    mine=$?
    texts=$(wc -l < "$tmp/ref.ids")
    if [ $ref = 0 ] && [ $mine = 0 ] && [ "$texts" -gt 0 ] && cmp -s "$tmp/ref.ids" "$tmp/moec.ids"; then
        ok 0 "$3: identical ids on $texts texts ($(wc -w < "$tmp/ref.ids") tokens)"
    else
        ok 1 "$3: node and moec differ"
        cat "$tmp/ref.err" "$tmp/moec.err" | sed 's/^/# /'
        diff "$tmp/ref.ids" "$tmp/moec.ids" | head -c 2000 | sed 's/^/# /'
    fi
}

if [ ! -f "$pkg/Encoder.js" ] || [ ! -f "$vocab/encoder.json" ] || ! command -v node > /dev/null; then
    ok 1 "the GPT-2 vocabulary and the node reference are installed"
    echo "# missing $pkg, $vocab or node: run scripts/setup (or scripts/setup-data) first"
    tap_done
fi

python3 "$src/tests/data/adversarial.py" "$tmp/adversarial.txt"
compare "$tmp/adversarial.txt" "%%SEP%%" "adversarial texts"

# The sample: the first texts of each domain file up to about 300 KB.
for f in "$data"/demo/text/*.txt "$data"/demo-lang/text/*.txt; do
    [ -f "$f" ] || { ok 1 "demo corpus present ($f): run scripts/setup-data"; continue; }
    name=$(basename "$(dirname "$(dirname "$f")")")/$(basename "$f" .txt)
    if [ "${MOEC_PARITY_FULL:-0}" = 1 ]; then
        compare "$f" "%" "$name (whole)"
    else
        awk 'BEGIN { size = 0 } { print; size += length($0) + 1 } $0 == "%" && size > 300000 { exit }' "$f" > "$tmp/sample.txt"
        compare "$tmp/sample.txt" "%" "$name (sample)"
    fi
done
tap_done
