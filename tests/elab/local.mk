# tests/elab/local.mk -- tests of elaboration (frontend/elab*.c, model_print.c).
# elab.sh runs moec on the models in tests/elab/good and models/; the golden
# diagnostics in tests/elab/bad run through tests/frontend/golden.sh.
TESTS += tests/elab/elab.sh
dist_check_SCRIPTS += tests/elab/elab.sh
EXTRA_DIST += tests/elab/good tests/elab/bad
