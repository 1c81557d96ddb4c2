#!/bin/sh
# tests/frontend/fuzz.sh -- a short libFuzzer run of the front end (FUZZ_SECONDS, default 20).
# Seeds are models/*.moe and the bad files of the front-end tests; the case
# passes when libFuzzer finds no crash, leak, timeout or sanitizer report.
# A crashing input is kept in tests/frontend/crashes/ (in the build tree).
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
fuzzer="$top_builddir/tests/frontend/fuzz_frontend"
[ -x "$fuzzer" ] || { echo "1..0 # SKIP the libFuzzer target is not built"; exit 0; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/corpus" "$top_builddir/tests/frontend/crashes"
for f in "$top_srcdir"/models/*.moe "$top_srcdir"/tests/frontend/bad/*.moe "$top_srcdir"/tests/elab/bad/*.moe; do
    [ -f "$f" ] && cp "$f" "$tmp/corpus/"
done
# -timeout is per input and generous: a seed such as tests/elab/bad/step_limit.moe
# runs the elaborator's 10,000,000-step limit, ~10 s under the sanitizers.
ASAN_OPTIONS=detect_leaks=1 timeout 300 "$fuzzer" -max_total_time="${FUZZ_SECONDS:-20}" \
    -timeout=60 -report_slow_units=60 -rss_limit_mb=2048 \
    -max_len=65536 -dict="$top_srcdir/tests/frontend/fuzz.dict" -print_final_stats=1 \
    -artifact_prefix="$top_builddir/tests/frontend/crashes/" "$tmp/corpus" > "$tmp/log" 2>&1
status=$?
grep -E 'stat::number_of_executed_units|Done [0-9]+ runs' "$tmp/log" | sed 's/^/# /'
[ $status = 0 ] || tail -40 "$tmp/log" | sed 's/^/# /'
if [ $status = 0 ]; then echo "ok 1 - libFuzzer found nothing in ${FUZZ_SECONDS:-20} s"
else echo "not ok 1 - libFuzzer found a failure (exit $status); input in tests/frontend/crashes/"; fi
echo "1..1"
[ $status = 0 ]
