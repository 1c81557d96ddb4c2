# tests/sample/local.mk -- `moec sample`: the sampling rule on hand cases and
# against a reference (built with ASan+UBSan when configure found them).
check_PROGRAMS += tests/sample/test_sampler
TESTS += tests/sample/test_sampler
tests_sample_test_sampler_SOURCES = tests/sample/test_sampler.c $(SAMPLE_SOURCES) ir/philox.c ir/philox.h
tests_sample_test_sampler_CFLAGS = $(AM_CFLAGS) -g $(SANITIZE_CFLAGS)
tests_sample_test_sampler_LDFLAGS = $(SANITIZE_CFLAGS)
tests_sample_test_sampler_LDADD = libmoec_support.a -lm

# `moec sample` end to end (sample.sh): weights trained on a repeated pattern
# by train_repeat (the compiled training step in a loop), then the command's
# contract: greedy reproduces the pattern, a seed fixes the text, a run
# directory's config.json, expert use, bad input and usage.
check_PROGRAMS += tests/sample/train_repeat
tests_sample_train_repeat_SOURCES = tests/sample/train_repeat.c
tests_sample_train_repeat_LDADD = $(moec_LDADD)
TESTS += tests/sample/sample.sh
dist_check_SCRIPTS += tests/sample/sample.sh
