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

# The library pieces: t table, interval, names, grouping, damaged metrics,
# escaping (built with ASan+UBSan when configure found them).
check_PROGRAMS += tests/report/test_report
TESTS += tests/report/test_report
tests_report_test_report_SOURCES = tests/report/test_report.c $(REPORT_TEST_SOURCES)
tests_report_test_report_CFLAGS = $(AM_CFLAGS) -g $(SANITIZE_CFLAGS)
tests_report_test_report_LDFLAGS = $(SANITIZE_CFLAGS)
tests_report_test_report_LDADD = libmoec_support.a $(JANSSON_LIBS) -lm

# Expert use by Python token type
# (runtime/report/token_types.h): the lexer against Python's tokenize
# (classify.sh, with the driver classify_main).
check_PROGRAMS += tests/report/classify_main
tests_report_classify_main_SOURCES = tests/report/classify_main.c
tests_report_classify_main_LDADD = $(moec_LDADD)
TESTS += tests/report/classify.sh
dist_check_SCRIPTS += tests/report/classify.sh
EXTRA_DIST += tests/report/classify_ref.py tests/report/python_edge.txt

# The analysis of a trained run (token_use.sh, with the driver token_use_main):
# the counts, the categories of the tokens against tokenize and the top-1
# experts against the interpreter.
check_PROGRAMS += tests/report/token_use_main
tests_report_token_use_main_SOURCES = tests/report/token_use_main.c
tests_report_token_use_main_LDADD = $(moec_LDADD)
TESTS += tests/report/token_use.sh
dist_check_SCRIPTS += tests/report/token_use.sh
EXTRA_DIST += tests/report/token_use_ref.py
