# tests/report/local.mk -- expert use by Python token type
# (runtime/report/token_types.h): the lexer against Python's tokenize
# (classify.sh, with the driver classify_main).
check_PROGRAMS += tests/report/classify_main
tests_report_classify_main_SOURCES = tests/report/classify_main.c
tests_report_classify_main_LDADD = $(moec_LDADD)
TESTS += tests/report/classify.sh
dist_check_SCRIPTS += tests/report/classify.sh
EXTRA_DIST += tests/report/classify_ref.py tests/report/python_edge.txt
