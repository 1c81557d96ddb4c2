# tests/weights/local.mk -- safetensors, initialisation, upcycling, moec init.
# The C tests build the weights sources themselves with ASan+UBSan (when
# configure found them; SANITIZE_CFLAGS is empty otherwise), since they feed
# the reader malformed files. cli.sh runs `moec init` end to end and checks its
# files with an independent Python reader (check_safetensors.py).
WEIGHTS_TEST_SOURCES = $(WEIGHTS_SOURCES) $(SUPPORT_SOURCES) ir/philox.c ir/philox.h tests/weights/helpers.h
WEIGHTS_TESTS = tests/weights/test_safetensors tests/weights/test_weights
check_PROGRAMS += $(WEIGHTS_TESTS)
TESTS += $(WEIGHTS_TESTS) tests/weights/cli.sh
dist_check_SCRIPTS += tests/weights/cli.sh
EXTRA_DIST += tests/weights/check_safetensors.py

tests_weights_test_safetensors_SOURCES = tests/weights/test_safetensors.c $(WEIGHTS_TEST_SOURCES)
tests_weights_test_safetensors_CFLAGS = $(AM_CFLAGS) -g $(SANITIZE_CFLAGS)
tests_weights_test_safetensors_LDFLAGS = $(SANITIZE_CFLAGS)
tests_weights_test_safetensors_LDADD = $(JANSSON_LIBS) -lm $(LIBS)

tests_weights_test_weights_SOURCES = tests/weights/test_weights.c $(WEIGHTS_TEST_SOURCES)
tests_weights_test_weights_CFLAGS = $(AM_CFLAGS) -g $(SANITIZE_CFLAGS)
tests_weights_test_weights_LDFLAGS = $(SANITIZE_CFLAGS)
tests_weights_test_weights_LDADD = $(JANSSON_LIBS) -lm $(LIBS)
