# tests/train/local.mk -- `moec train` end to end on tiny models and a corpus
# made in the test: learning, the run directory, resume, interruption,
# kill -9, the non-finite guard, collapse, bad input and gradient
# accumulation (corpus.sh sets up).
TESTS += tests/train/learn.sh tests/train/resume.sh tests/train/failures.sh tests/train/accum.sh \
	tests/train/divergence.sh
dist_check_SCRIPTS += tests/train/learn.sh tests/train/resume.sh tests/train/failures.sh \
	tests/train/accum.sh tests/train/divergence.sh
EXTRA_DIST += tests/train/corpus.sh tests/train/divergence_ref.py

# The batches of a hand-made split: targets inside each block, none for the
# last position of a sequence as long as its block.
check_PROGRAMS += tests/train/test_batches
TESTS += tests/train/test_batches
tests_train_test_batches_SOURCES = tests/train/test_batches.c
tests_train_test_batches_LDADD = libmoec_runtime.a libmoec_support.a $(LIBS) -lm
