#!/bin/sh
# tests/frontend/robust.sh -- the front end on nasty inputs: no crash, hang or leak.
# Generates each input in a temporary folder (nothing big is committed), runs
# the sanitized driver under `timeout 60` and checks its exit status (1 for a
# wrong file, 0 for a valid one) and that no sanitizer reported anything.
. "${top_srcdir:-.}/tests/frontend/sanitize.sh"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
[ -x "$driver" ] || { echo "1..0 # SKIP $driver not built"; exit 0; }
LC_ALL=C
export LC_ALL

# expect STATUS NAME COMMAND...: runs the driver with COMMAND, one TAP case.
expect() {
    want=$1; name=$2; shift 2
    timeout 60 "$driver" "$@" > "$tmp/out" 2> "$tmp/err"
    status=$?
    why=
    [ $status = "$want" ] || why="exit status $status, not $want"
    [ $status = 124 ] && why="timed out after 20 s"
    sanitizer_clean "$tmp/err" || { why="sanitizer report"; head -30 "$tmp/err" | sed 's/^/# /'; }
    [ -z "$why" ]; ok $? "$name${why:+ ($why)}"
}

# repeat N TEXT: TEXT N times, no newline.
repeat() { awk -v n="$1" -v s="$2" 'BEGIN { for (i = 0; i < n; i++) printf "%s", s }'; }

f=$tmp/in.moe
: > "$f";                                   expect 1 "empty file" check "$f"
: > "$f";                                   expect 0 "empty file parses (ir --stage ast)" ir "$f" --stage ast
printf '# only a comment' > "$f";           expect 1 "a file of one comment" check "$f"
expect 1 "missing file" check "$tmp/no-such-file.moe"
expect 1 "a directory" check "$tmp"

# Binary garbage from a fixed generator, so every run sees the same bytes.
awk 'BEGIN { x = 12345; for (i = 0; i < 200000; i++) { x = (x * 1103515245 + 12345) % 2147483648; printf "%c", int(x / 65536) % 256 } }' > "$f"
expect 1 "200 kB of binary garbage" check "$f"
printf 'param a = 1\0\0\0 + 2\nparam \0b = 3\n\0' > "$f"; expect 1 "NUL bytes" check "$f"
printf 'param a = \303\050 \342\202 \377\376 "\355\240\200"\nmodel \300\257\n' > "$f"; expect 1 "invalid UTF-8" check "$f"
printf 'model m\r\nparam d = 4\r\n' > "$f";  expect 0 "CRLF line ends parse" ir "$f" --stage ast

# A 10 MB line: an expression 5 million terms deep is refused, once.
{ printf 'param a = 1'; repeat 5000000 '+1'; echo; } > "$f"
expect 1 "10 MB line of 1+1+1..." check "$f"
grep -c 'FE_MAX_EXPR_DEPTH' "$tmp/err" | grep -qx 1; ok $? "and it is one nesting error"
{ printf 'param '; repeat 10000000 'a'; echo ' = 1'; } > "$f"
expect 1 "a 10 MB name" check "$f"
{ printf 'param a = "'; repeat 10000000 'x'; } > "$f"
expect 1 "a 10 MB unterminated string" check "$f"
{ printf 'param a = '; repeat 100000 '9'; echo; } > "$f"
expect 1 "a 100,000-digit integer" check "$f"
{ printf 'param a = 1'; repeat 100000 '0'; echo '.5e99999999999999999999'; } > "$f"
expect 1 "a huge float" check "$f"
repeat 100000 '"abc\q' > "$f";             expect 1 "100,000 unterminated strings" check "$f"
grep -q 'too many errors' "$tmp/err"; ok $? "and the errors stop at the limit"

# Nesting 10,000 deep, in every way the grammar nests.
{ printf 'param a = '; repeat 10000 '('; printf 1; repeat 10000 ')'; echo; } > "$f"
expect 1 "10,000 nested parentheses" check "$f"
{ printf 'param a = '; repeat 10000 '- '; echo 1; } > "$f"
expect 1 "10,000 unary minus" check "$f"
{ printf 'param a = '; repeat 10000 'not '; echo true; } > "$f"
expect 1 "10,000 not" check "$f"
{ printf 'param a = '; repeat 10000 'f('; printf 1; repeat 10000 ')'; echo; } > "$f"
expect 1 "10,000 nested calls" check "$f"
{ printf 'param a = '; repeat 10000 'if true then 1 else '; echo 1; } > "$f"
expect 1 "10,000 nested if-expressions" check "$f"
{ printf 'block f(x) { '; repeat 10000 'if true { '; printf 'x = 1 '; repeat 10000 '} '; echo 'return x }'; } > "$f"
expect 1 "10,000 nested if statements" check "$f"
{ printf 'block f(x) { '; repeat 10000 'for i in 0 .. 1 { '; printf 'x = 1 '; repeat 10000 '} '; echo 'return x }'; } > "$f"
expect 1 "10,000 nested for loops" check "$f"
{ printf 'block f(x) { if false { x = 1 } '; repeat 10000 'else if false { x = 1 } '; echo 'return x }'; } > "$f"
expect 1 "an else-if chain 10,000 long" check "$f"
{ printf 'param a = '; repeat 10000 '(1 + '; printf 1; repeat 10000 ')'; echo; } > "$f"
expect 1 "10,000 nested (1 + ...)" check "$f"
{ printf 'param a = f(1) as '; repeat 10000 'h[f(1) as '; printf 'x'; repeat 10000 ']'; echo; } > "$f"
expect 1 "10,000 nested as-paths" check "$f"

# Just inside the limit parses; just outside does not.
{ printf 'param a = '; repeat 255 '-'; echo 1; } > "$f"
expect 0 "255 nested minus parse" ir "$f" --stage ast
{ printf 'param a = '; repeat 256 '-'; echo 1; } > "$f"
expect 1 "256 nested minus exceed the limit" ir "$f" --stage ast
{ printf 'block f(x) { '; repeat 255 'if true { '; printf 'x = 1 '; repeat 255 '} '; echo 'return x }'; } > "$f"
expect 0 "255 nested if statements parse" ir "$f" --stage ast

# Many items and many statements: lists are not recursion.
{ i=0; while [ $i -lt 100 ]; do echo "param p$i = $i"; i=$((i+1)); done; repeat 200000 'param q = 1 '; } > "$f"
expect 0 "200,000 items parse" ir "$f" --stage ast
{ printf 'block f(x) { '; repeat 200000 'x = x + 1 '; echo 'return x }'; } > "$f"
expect 0 "200,000 statements parse" ir "$f" --stage ast

# Every model in models/ parses cleanly under the sanitizers.
for m in "$top_srcdir"/models/*.moe; do
    [ -f "$m" ] && expect 0 "parse $(basename "$m")" ir "$m" --stage ast
done

tap_done
