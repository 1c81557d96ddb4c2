# tests/report/local.mk -- expert use by Python token type
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
