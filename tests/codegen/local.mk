# tests/codegen/local.mk -- the CPU backend (built with LLVM): hand-built
# kernels and random kernels against the reference evaluator, the disk cache.
if HAVE_LLVM
CODEGEN_TESTS = tests/codegen/test_cpu_kernels tests/codegen/test_cpu_random tests/codegen/test_cache
check_PROGRAMS += $(CODEGEN_TESTS)
TESTS += $(CODEGEN_TESTS)
tests_codegen_test_cpu_kernels_SOURCES = tests/codegen/test_cpu_kernels.c tests/codegen/harness.h tests/codegen/kernels.h
tests_codegen_test_cpu_kernels_LDADD = $(CODEGEN_LIBS)
tests_codegen_test_cpu_random_SOURCES = tests/codegen/test_cpu_random.c tests/codegen/harness.h tests/codegen/gen_kernels.h
tests_codegen_test_cpu_random_LDADD = $(CODEGEN_LIBS)
tests_codegen_test_cache_SOURCES = tests/codegen/test_cache.c tests/codegen/harness.h tests/codegen/kernels.h
tests_codegen_test_cache_LDADD = $(CODEGEN_LIBS)
endif
