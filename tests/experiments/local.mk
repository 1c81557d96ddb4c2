# tests/experiments/local.mk -- one study end to end at its --quick size.
TESTS += tests/experiments/quick.sh
dist_check_SCRIPTS += tests/experiments/quick.sh
EXTRA_DIST += tests/experiments/results_ref.py
