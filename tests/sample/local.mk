# tests/sample/local.mk -- `moec sample`: the sampling rule on hand cases and
# against a reference (built with ASan+UBSan when configure found them).
check_PROGRAMS += tests/sample/test_sampler
TESTS += tests/sample/test_sampler
tests_sample_test_sampler_SOURCES = tests/sample/test_sampler.c $(SAMPLE_SOURCES) ir/philox.c ir/philox.h
tests_sample_test_sampler_CFLAGS = $(AM_CFLAGS) -g $(SANITIZE_CFLAGS)
tests_sample_test_sampler_LDFLAGS = $(SANITIZE_CFLAGS)
tests_sample_test_sampler_LDADD = libmoec_support.a -lm
