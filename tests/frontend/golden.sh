#!/bin/sh
# tests/frontend/golden.sh -- golden diagnostics for bad model files.
# Runs `moec check` (the sanitized driver) on every *.moe in tests/frontend/bad/
# and tests/elab/bad/, from $top_srcdir so paths print relative, and compares
# stderr with NAME.expected; NAME.args holds extra arguments (--set ...).
# One TAP case per file: exit status 1, the exact messages, no sanitizer report.
#   tests/frontend/golden.sh --update   rewrites the .expected files (review them!)
. "${top_srcdir:-.}/tests/frontend/sanitize.sh"
update=no
[ "$1" = --update ] && update=yes
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
cd "$top_srcdir" || exit 1
[ -x "$driver" ] || { echo "1..0 # SKIP $driver not built"; exit 0; }

for f in tests/frontend/bad/*.moe tests/elab/bad/*.moe; do
    [ -f "$f" ] || continue
    base=${f%.moe}
    args=
    [ -f "$base.args" ] && args=$(cat "$base.args")
    # shellcheck disable=SC2086  # the .args file is split into words on purpose
    timeout 20 "$driver" check $args "$f" > "$tmp/out" 2> "$tmp/err"
    status=$?
    if [ $update = yes ]; then
        cp "$tmp/err" "$base.expected"
        echo "# updated $base.expected (status $status)"
    fi
    why=
    [ $status = 1 ] || why="exit status $status, not 1"
    sanitizer_clean "$tmp/err" || why="sanitizer report"
    if [ -z "$why" ] && ! cmp -s "$tmp/err" "$base.expected"; then
        why="diagnostics differ from $base.expected"
        diff -u "$base.expected" "$tmp/err" 2>&1 | sed 's/^/# /' | head -40
    fi
    [ -z "$why" ]; ok $? "$f${why:+ ($why)}"
done
echo "1..$n"
[ $failed = 0 ]
