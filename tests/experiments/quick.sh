#!/bin/sh
# tests/experiments/quick.sh -- one study end to end at its --quick size:
# experiments/chimera --quick runs its three configurations with `moec
# train` and writes the report. Checks that the report files exist, that
# results.json holds each run's numbers as an independent reading of its
# metrics.jsonl gives them (python3, tests/experiments/results_ref.py), that
# report.md shows them, and that the PNGs are valid images.
. "${top_srcdir:-.}/tests/tap.sh"
moec="${top_builddir:-.}/moec"
data="${MOEC_DATA:-${top_builddir:-.}/data}"
if ! "$moec" --version | grep -q "^cpu backend: *LLVM"; then
    echo "1..0 # SKIP the CPU backend is not built (no LLVM)"; exit 0
fi
if [ ! -f "$data/demo/shards/domains.json" ] || [ ! -f "$data/gpt2/encoder.json" ]; then
    echo "1..0 # SKIP no demo corpus or GPT-2 vocabulary in $data (scripts/setup-data)"; exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/moec-experiments-test-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
out=$tmp/chimera

MOEC="$moec" MOEC_DATA="$data" "${top_srcdir:-.}/experiments/chimera" --quick --out "$out" --threads 2 > "$tmp/log" 2>&1
status=$?
ok $status "experiments/chimera --quick runs to the end"
[ $status = 0 ] || sed 's/^/# /' "$tmp/log"

for run in dense moe moe-noisy; do
    [ -f "$out/$run/run_summary.json" ] && [ -f "$out/$run/metrics.jsonl" ]
    ok $? "$run is a finished moec train run directory"
done
for f in report.md report.html; do
    [ -s "$out/report/$f" ]; ok $? "report/$f exists"
done
[ -s "$out/results.json" ]; ok $? "results.json exists"

python3 "${top_srcdir:-.}/tests/experiments/results_ref.py" "$out" > "$tmp/ref" 2>&1
status=$?
ok $status "results.json and report.md hold the runs' numbers (independent reading of metrics.jsonl)"
[ $status = 0 ] || sed 's/^/# /' "$tmp/ref"

pngs=0
bad=0
for p in "$out"/report/plots/*.png; do
    [ -f "$p" ] || continue
    pngs=$((pngs + 1))
    # a PNG: the 8-byte signature, then an IHDR chunk of 13 bytes with a nonzero width and height
    head -c 24 "$p" | od -An -tx1 | tr -d ' \n' | grep -q '^89504e470d0a1a0a0000000d49484452' || bad=$((bad + 1))
done
[ "$pngs" -ge 4 ] && [ "$bad" = 0 ]; ok $? "$pngs PNG plots, every one a valid PNG"
grep -q 'src="data:image/png;base64,' "$out/report/report.html"; ok $? "report.html carries its images inline"

# Running the study again keeps every finished run and only reports again.
MOEC="$moec" MOEC_DATA="$data" "${top_srcdir:-.}/experiments/chimera" --quick --out "$out" --threads 2 > "$tmp/log2" 2>&1 &&
    [ "$(grep -c 'done before, kept' "$tmp/log2")" = 3 ]
ok $? "a second run of the study keeps the three finished runs"
MOEC="$moec" MOEC_DATA="$data" "${top_srcdir:-.}/experiments/chimera" --out "$out" > "$tmp/log3" 2>&1
[ $? = 1 ] && grep -q 'holds another size' "$tmp/log3"
ok $? "the full size into the quick study's folder is refused"
tap_done
