# tests/support/local.mk -- tests of the layer below every stage: the error
# sink's messages and limits, checked file reading (support/).
check_PROGRAMS += tests/support/test_support
TESTS += tests/support/test_support
tests_support_test_support_SOURCES = tests/support/test_support.c
tests_support_test_support_LDADD = libmoec_support.a
