# tests/elab/local.mk -- tests of elaboration (frontend/elab*.c, model_print.c).
# elab.sh runs moec on the models in tests/elab/good and models/; the golden
# diagnostics in tests/elab/bad run through tests/frontend/golden.sh.
TESTS += tests/elab/elab.sh
dist_check_SCRIPTS += tests/elab/elab.sh
EXTRA_DIST += tests/elab/good tests/elab/bad

# elab_test: the library API (fe_parse + fe_elaborate) on models held in memory.
check_PROGRAMS += tests/elab/elab_test
tests_elab_elab_test_SOURCES = tests/elab/elab_test.c
tests_elab_elab_test_LDADD = libmoec_frontend.a libmoec_support.a -lm
TESTS += tests/elab/elab_test
