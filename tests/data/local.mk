# tests/data/local.mk -- tests of the data pipeline (runtime/data/).
# C unit tests (toy vocabulary, shards, corpus and build) need nothing but the
# tree; test_bpe and parity.sh need the GPT-2 vocabulary and the node reference
# that scripts/setup-data installs, and fail saying so when they are missing.
DATA_TESTS = tests/data/test_vocab tests/data/test_shard tests/data/test_corpus tests/data/test_bpe
check_PROGRAMS += $(DATA_TESTS)
TESTS += $(DATA_TESTS) tests/data/cli.sh tests/data/parity.sh
dist_check_SCRIPTS += tests/data/cli.sh tests/data/parity.sh
EXTRA_DIST += tests/data/helpers.h tests/data/ref-encode.js tests/data/adversarial.py
tests_data_test_vocab_LDADD = $(DATA_LIBS)
tests_data_test_shard_LDADD = $(DATA_LIBS)
tests_data_test_corpus_LDADD = $(DATA_LIBS)
tests_data_test_bpe_LDADD = $(DATA_LIBS)

# The whole demo corpus against the node reference (a minute or two; make check
# runs a bounded sample of it).
check-tokenizer-full: moec
	MOEC_PARITY_FULL=1 MOEC_DATA='$(MOEC_DATA_DIR)' top_srcdir=$(top_srcdir) top_builddir=$(top_builddir) $(SHELL) $(top_srcdir)/tests/data/parity.sh
.PHONY: check-tokenizer-full
