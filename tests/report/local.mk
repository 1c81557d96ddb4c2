# tests/report/local.mk -- `moec report` on hand-made run directories:
# golden report.md and results.json, the 3-seed confidence interval
# recomputed, bad runs, usage, and the PNGs (skipped without gnuplot).
TESTS += tests/report/report.sh
dist_check_SCRIPTS += tests/report/report.sh
EXTRA_DIST += tests/report/golden/report.md tests/report/golden/results.json \
	tests/report/runs/moe-s1/config.json tests/report/runs/moe-s1/metrics.jsonl tests/report/runs/moe-s1/run_summary.json \
	tests/report/runs/moe-s2/config.json tests/report/runs/moe-s2/metrics.jsonl tests/report/runs/moe-s2/run_summary.json \
	tests/report/runs/moe-s3/config.json tests/report/runs/moe-s3/metrics.jsonl tests/report/runs/moe-s3/run_summary.json \
	tests/report/runs/dense/config.json tests/report/runs/dense/metrics.jsonl tests/report/runs/dense/run_summary.json \
	tests/report/runs/half/config.json tests/report/runs/half/metrics.jsonl \
	tests/report/runs/fresh/config.json tests/report/runs/fresh/metrics.jsonl
