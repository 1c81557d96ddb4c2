#!/bin/sh
# tests/report/classify.sh -- the Python lexer of the token-type analysis
# (rp_classify_python, runtime/report/token_types.h) against Python's own
# `tokenize` (classify_ref.py): byte by byte on the first 200 texts of the
# demo corpus's code (at least 99.9% must agree; 100% measured on all 624
# texts) and on hand-made edge cases (number forms, string prefixes,
# f-strings, triple quotes, continuations, operators, non-ASCII names),
# which must agree on every byte.
. "${top_srcdir:-.}/tests/tap.sh"
src="${top_srcdir:-.}"
prog="${top_builddir:-.}/tests/report/classify_main"
code="${MOEC_DATA:-${top_builddir:-.}/data}/demo/text/code.txt"
if ! command -v python3 > /dev/null; then
    echo "1..0 # SKIP no python3 for tokenize"; exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/moec-classify-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

python3 "$src/tests/report/classify_ref.py" "$prog" "$src/tests/report/python_edge.txt" % 1000 1.0 > "$tmp/out" 2>&1
ok $? "edge cases: every byte as tokenize classifies it"
sed 's/^/# /' "$tmp/out"
if [ -f "$code" ]; then
    python3 "$src/tests/report/classify_ref.py" "$prog" "$code" % 200 0.999 > "$tmp/out" 2>&1
    ok $? "the demo corpus's code: >= 99.9% of the bytes as tokenize classifies them"
    sed 's/^/# /' "$tmp/out"
else
    ok 1 "demo corpus present ($code): run scripts/setup-data"
fi
tap_done
