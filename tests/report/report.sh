#!/bin/sh
# tests/report/report.sh -- `moec report` on hand-made run directories
# (tests/report/runs): three seeds of one MoE configuration (moe-s1..s3), a
# dense baseline, a half-written run (its last metrics line cut short, no
# run_summary.json) and a run with no evaluation yet. report.md and
# results.json are compared with goldens written by hand-checked runs
# (MOEC_UPDATE_GOLDEN=1 rewrites them); the 3-seed confidence interval is
# recomputed here from the fixtures' numbers with awk and t = 4.303; bad run
# directories exit 1 naming the run; usage errors exit 2; the PNGs are real
# images (signature and IHDR) and report.html inlines every one of them.
moec="${top_builddir:-.}/moec"
src="${top_srcdir:-.}/tests/report"
runs="$src/runs"
. "${top_srcdir:-.}/tests/tap.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/moec-report-test-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
all="$runs/moe-s1 $runs/moe-s2 $runs/dense $runs/moe-s3 $runs/half $runs/fresh"

# ---- the golden report, without plots ----
# shellcheck disable=SC2086
"$moec" report $all -o "$tmp/out" --results "$tmp/results.json" --no-plots --no-token-types >"$tmp/stdout" 2>"$tmp/stderr"
ok $? "moec report on six run directories exits 0"
if [ "${MOEC_UPDATE_GOLDEN:-}" = 1 ]; then
    cp "$tmp/out/report.md" "$src/golden/report.md"
    cp "$tmp/results.json" "$src/golden/results.json"
fi
diff -u "$src/golden/report.md" "$tmp/out/report.md" >"$tmp/diff.md"; ok $? "report.md matches tests/report/golden/report.md"
sed 's/^/# /' "$tmp/diff.md" | head -40
diff -u "$src/golden/results.json" "$tmp/results.json" >"$tmp/diff.json"; ok $? "results.json matches tests/report/golden/results.json"
sed 's/^/# /' "$tmp/diff.json" | head -40
[ -s "$tmp/out/report.html" ]; ok $? "report.html is written"
grep -q "half: the last line of metrics.jsonl is cut short" "$tmp/stderr"; ok $? "the half-written run is named in a warning"
grep -q "fresh: no evaluation in metrics.jsonl yet" "$tmp/stderr"; ok $? "the run without an evaluation is named in a warning"
grep -q "| half | half | .* | in progress / no summary (metrics.jsonl cut short) |" "$tmp/out/report.md"
ok $? "the half-written run reports what it has and how it stopped"
grep -q "^Baseline: dense (the only run without an MoE layer)" "$tmp/out/report.md"; ok $? "the dense run is the default baseline"

# ---- the 3-seed interval, recomputed: mean ± t(0.975, 2) s / sqrt(3) of the final eval/loss ----
ci=$(for r in moe-s1 moe-s2 moe-s3; do grep '"eval/loss"' "$runs/$r/metrics.jsonl" | tail -n 1; done |
    sed 's/.*"eval\/loss": \([0-9.]*\),.*/\1/' |
    awk '{ x[NR] = $1; s += $1 } END { m = s / NR; for (i = 1; i <= NR; i++) v += (x[i] - m) ^ 2;
          printf "%.4f ± %.4f", m, 4.303 * sqrt(v / (NR - 1)) / sqrt(NR) }')
[ "$ci" = "3.5000 ± 0.6211" ]; ok $? "the fixtures' final eval losses give 3.5000 ± 0.6211 by hand ($ci)"
grep -q "^| \*\*moe (mean ± 95% CI, n=3)\*\* | \*\*$ci\*\* |" "$tmp/out/report.md"
ok $? "report.md's configuration row has that mean ± CI"

# ---- --baseline names another run; a run given twice is one run ----
"$moec" report "$runs/moe-s1" "$runs/moe-s2" -o "$tmp/base" --baseline "$runs/moe-s2" --no-plots --no-token-types \
    >/dev/null 2>&1
ok $? "--baseline RUN among the runs"
grep -q "^| moe-s1 | .* | -7.14 | -3.70 |$" "$tmp/base/report.md"; ok $? "differences against moe-s2: -7.14% final, -3.70% best"

# ---- --baseline another run directory: it is listed first ----
"$moec" report "$runs/moe-s1" -o "$tmp/other" --baseline "$runs/dense" --no-plots --no-token-types >/dev/null 2>&1 &&
    grep -q "^Baseline: dense (--baseline)" "$tmp/other/report.md" &&
    [ "$(grep -n '^| dense | dense |' "$tmp/other/report.md" | cut -d: -f1)" -lt \
      "$(grep -n '^| moe-s1 | moe |' "$tmp/other/report.md" | cut -d: -f1)" ]
ok $? "--baseline RUN not among the runs is loaded and listed first"

# ---- a second configuration whose name is taken gets " #2" ----
mkdir -p "$tmp/moe-s9" && cp "$runs/moe-s1/metrics.jsonl" "$tmp/moe-s9/" &&
    sed 's/"steps=20"/"steps=20", "lr=0.01"/' "$runs/moe-s1/config.json" >"$tmp/moe-s9/config.json"
"$moec" report "$runs/moe-s1" "$runs/moe-s2" "$tmp/moe-s9" -o "$tmp/two" --no-plots --no-token-types >/dev/null 2>&1 &&
    grep -q "^| moe-s9 | moe #2 | " "$tmp/two/report.md" && grep -q "^| \*\*moe (mean ± 95% CI, n=2)\*\* |" "$tmp/two/report.md"
ok $? "runs differing in a --set are two configurations; the second 'moe' is named 'moe #2'"

# ---- bad input: exit 1 and the run's name ----
"$moec" report "$tmp/nowhere" -o "$tmp/bad" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc = 1 ] && grep -q "^moec report: $tmp/nowhere: No such file or directory" "$tmp/err"
ok $? "a missing run directory exits 1 naming it"
mkdir -p "$tmp/noconfig" && cp "$runs/dense/metrics.jsonl" "$tmp/noconfig/"
"$moec" report "$runs/dense" "$tmp/noconfig" -o "$tmp/bad" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc = 1 ] && grep -q "^moec report: $tmp/noconfig: no config.json" "$tmp/err"; ok $? "a directory without config.json exits 1"
mkdir -p "$tmp/nometrics" && cp "$runs/dense/config.json" "$tmp/nometrics/"
"$moec" report "$tmp/nometrics" -o "$tmp/bad" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc = 1 ] && grep -q "^moec report: $tmp/nometrics: metrics.jsonl: cannot open" "$tmp/err"
ok $? "a directory without metrics.jsonl exits 1"
mkdir -p "$tmp/badline" && cp "$runs/dense/config.json" "$tmp/badline/"
{ head -n 1 "$runs/dense/metrics.jsonl"; echo '{"step": 1, "eval/lo'; tail -n 1 "$runs/dense/metrics.jsonl"; } \
    >"$tmp/badline/metrics.jsonl"
"$moec" report "$tmp/badline" -o "$tmp/bad" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc = 1 ] && grep -q "^moec report: $tmp/badline: metrics.jsonl:2: not a JSON object" "$tmp/err"
ok $? "a malformed line before the last exits 1 with its line number"
mkdir -p "$tmp/badconfig" && echo '[1, 2' >"$tmp/badconfig/config.json" && cp "$runs/dense/metrics.jsonl" "$tmp/badconfig/"
"$moec" report "$tmp/badconfig" -o "$tmp/bad" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc = 1 ] && grep -q "^moec report: $tmp/badconfig: config.json is not a JSON object" "$tmp/err"
ok $? "an invalid config.json exits 1"
[ ! -e "$tmp/bad/report.md" ]; ok $? "no report is written when a run is bad"

# ---- usage ----
"$moec" report "$runs/dense" >/dev/null 2>&1; [ $? = 2 ]; ok $? "no -o DIR is a usage error (exit 2)"
"$moec" report -o "$tmp/x" >/dev/null 2>&1; [ $? = 2 ]; ok $? "no run is a usage error (exit 2)"
"$moec" report "$runs/dense" -o "$tmp/x" --frobnicate >/dev/null 2>&1; [ $? = 2 ]; ok $? "an unknown option exits 2"

# ---- no gnuplot: a warning and the report without images ----
MOEC_GNUPLOT="$tmp/no-such-gnuplot" "$moec" report "$runs/moe-s1" -o "$tmp/nogp" --no-token-types >/dev/null 2>"$tmp/err"
ok $? "a missing gnuplot is not a failure"
grep -q "cannot run gnuplot; the report has no images" "$tmp/err"; ok $? "it is a warning"
! grep -q "png" "$tmp/nogp/report.md" && [ -s "$tmp/nogp/plots/loss_curves.gp" ]
ok $? "the report has no images and the gnuplot scripts are written"

# ---- the plots ----
if ! command -v "${MOEC_GNUPLOT:-gnuplot}" >/dev/null 2>&1; then
    echo "# SKIP the PNG checks: gnuplot is not installed (Debian: gnuplot-nox)"
    tap_done
fi
# shellcheck disable=SC2086
"$moec" report $all -o "$tmp/plots" --no-token-types >/dev/null 2>"$tmp/err"; ok $? "moec report with gnuplot exits 0"
images=$(grep -c '^!\[.*\](plots/.*\.png)$' "$tmp/plots/report.md")
[ "$images" -eq 11 ]; ok $? "report.md shows 11 images: loss curves, domain bars, entropy, 4 runs x (heat map, trajectory) ($images)"
bad=0
for f in $(sed -n 's/^!\[.*\](\(plots\/.*\.png\))$/\1/p' "$tmp/plots/report.md"); do
    # 8-byte PNG signature, then the IHDR chunk: length 13, type IHDR, width and height > 0
    head=$(od -An -tx1 -N24 "$tmp/plots/$f" | tr -d ' \n')
    case $head in
    89504e470d0a1a0a0000000d49484452*) ;;
    *) echo "# $f: not a PNG ($head)"; bad=1; continue ;;
    esac
    w=$(printf '%d' "0x$(echo "$head" | cut -c33-40)"); h=$(printf '%d' "0x$(echo "$head" | cut -c41-48)")
    if [ "$w" -le 0 ] || [ "$h" -le 0 ]; then echo "# $f: $w x $h"; bad=1; fi
done
ok $bad "every image is a PNG with an IHDR of positive size"
inline=$(grep -o 'src="data:image/png;base64,iVBORw0KGgo' "$tmp/plots/report.html" | wc -l)
[ "$inline" -eq "$images" ]; ok $? "report.html inlines every image as a base64 PNG ($inline)"
one=$(sed -n 's/^!\[.*\](\(plots\/loss_curves\.png\))$/\1/p' "$tmp/plots/report.md")
b64=$(base64 -w0 "$tmp/plots/$one")
grep -qF "$b64" "$tmp/plots/report.html"; ok $? "the inlined loss curves are the PNG's bytes"
[ -s "$tmp/plots/plots/loss_curves.gp" ] && [ -s "$tmp/plots/plots/loss_curves.dat" ]; ok $? "scripts and data are kept"
(cd "$tmp/plots/plots" && gnuplot -e "out='redrawn.png'" loss_curves.gp) && cmp -s "$tmp/plots/plots/redrawn.png" "$tmp/plots/plots/loss_curves.png"
ok $? "gnuplot loss_curves.gp in plots/ redraws the same image"
tap_done
