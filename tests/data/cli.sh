#!/bin/sh
# tests/data/cli.sh -- `moec tokenize` and `moec data` from the command line:
# output format, the vocabulary search (--vocab, $MOEC_VOCAB, ./data/gpt2),
# usage errors, and a small build's files. Needs data/gpt2 (scripts/setup-data).
build="$(cd "${top_builddir:-.}" && pwd)"; moec="$build/moec"
vocab="${MOEC_DATA:-$build/data}/gpt2"
. "${top_srcdir:-.}/tests/tap.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/moec-cli-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

if [ ! -f "$vocab/encoder.json" ]; then
    ok 1 "the GPT-2 vocabulary is installed in $vocab"
    echo "# run scripts/setup (or scripts/setup-data) first"
    tap_done
fi

"$moec" tokenize --vocab "$vocab" --text "Hello world" > "$tmp/out" 2>&1; ok $? "tokenize --text exits 0"
printf '15496\t"Hello"\n995\t" world"\n' | cmp -s - "$tmp/out"; ok $? "prints id TAB quoted text, a token a line"
"$moec" tokenize --vocab "$vocab" --text "$(printf 'a\tb\n\377')" > "$tmp/out" 2>&1
grep -q '"\\t' "$tmp/out" && grep -q '"\\n' "$tmp/out" && grep -q '"\\xff"' "$tmp/out"; ok $? "escapes tabs, newlines and stray bytes"
printf 'one two\n%%\nthree\n' > "$tmp/t.txt"
"$moec" tokenize --vocab "$vocab" --ids --separator % "$tmp/t.txt" > "$tmp/out"
[ "$(cat "$tmp/out")" = "$(printf '505 734 198\n15542 198')" ]; ok $? "--ids --separator: one line of ids per text"
(cd "$tmp" && MOEC_VOCAB="$vocab" "$moec" tokenize --text hi > /dev/null 2>&1); ok $? "finds the vocabulary through \$MOEC_VOCAB"
# a copy of moec with no data/gpt2 beside it (the build tree's has one)
mkdir -p "$tmp/bin" && cp "$moec" "$tmp/bin/moec"
mkdir -p "$tmp/cwd/data" && ln -s "$vocab" "$tmp/cwd/data/gpt2"
(cd "$tmp/cwd" && env -u MOEC_VOCAB "$tmp/bin/moec" tokenize --text hi > /dev/null 2>&1); ok $? "finds ./data/gpt2"
(cd "$tmp" && env -u MOEC_VOCAB "$tmp/bin/moec" tokenize --text hi > /dev/null 2> "$tmp/err"); [ $? = 1 ]; ok $? "no vocabulary anywhere exits 1"
grep -q "scripts/setup-data" "$tmp/err"; ok $? "and says how to get it"
"$moec" tokenize --vocab "$tmp/none" --text hi > /dev/null 2> "$tmp/err"; [ $? = 1 ]; ok $? "a missing --vocab exits 1"
"$moec" tokenize > /dev/null 2>&1; [ $? = 2 ]; ok $? "tokenize without input is a usage error"
"$moec" data a=x > /dev/null 2>&1; [ $? = 2 ]; ok $? "data without -o is a usage error"
"$moec" data -o "$tmp/o" > /dev/null 2>&1; [ $? = 2 ]; ok $? "data without domains is a usage error"
"$moec" data --vocab "$vocab" a="$tmp/missing" -o "$tmp/o" > /dev/null 2> "$tmp/err"; [ $? = 1 ]; ok $? "a missing input exits 1"
grep -q "missing" "$tmp/err"; ok $? "naming it"

# A small build from directories (one text per file).
for d in code prose; do
    mkdir -p "$tmp/$d"
    i=0; while [ $i -lt 30 ]; do
        if [ $d = code ]; then echo "def f$i(x):\n    return x * $i\n" > "$tmp/$d/$i.py"; else echo "The number $i is a fine number, and so on." > "$tmp/$d/$i.txt"; fi
        i=$((i+1))
    done
done
"$moec" data --vocab "$vocab" code="$tmp/code" prose="$tmp/prose" -o "$tmp/shards" --seq 16 --balance --seed 3 > "$tmp/out" 2>&1
ok $? "moec data builds shards from directories"
[ -f "$tmp/shards/train_000000.bin" ] && [ -f "$tmp/shards/eval_000000.bin" ] && [ -f "$tmp/shards/domains.json" ] && [ -f "$tmp/shards/manifest.json" ]
ok $? "train and eval shards, domains.json and manifest.json"
grep -q "balanced" "$tmp/out"; ok $? "prints a summary"
[ -z "$(find "$tmp/shards" -name '*.tmp-*')" ]; ok $? "no temporary files left"
cp "$tmp/shards/manifest.json" "$tmp/m1"
"$moec" data --vocab "$vocab" code="$tmp/code" prose="$tmp/prose" -o "$tmp/shards" --seq 16 --balance --seed 3 --quiet
cmp -s "$tmp/shards/train_000000.bin" "$tmp/shards/train_000000.bin" && grep -q '"sha256"' "$tmp/m1"
ok $? "the manifest records sha256"
sha=$(sed -n 's/.*"sha256": "\([0-9a-f]*\)".*/\1/p' "$tmp/m1" | tail -1)
grep -q "$sha" "$tmp/shards/manifest.json"; ok $? "the same inputs and seed give the same outputs"
tap_done
