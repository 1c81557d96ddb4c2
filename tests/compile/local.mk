# tests/compile/local.mk -- the compiler: graph passes, fusion, the memory
# plan, checked against the reference interpreter on whole tiny models.
COMPILE_TEST_LIBS = libmoec_runtime.a libmoec_ir.a libmoec_frontend.a libmoec_support.a \
	$(UTF8PROC_LIBS) $(JANSSON_LIBS) $(BLAS_LIBS) $(LIBS) -lm
EXTRA_DIST += tests/compile/step_case.h

check_PROGRAMS += tests/compile/test_simplify
TESTS += tests/compile/test_simplify
tests_compile_test_simplify_SOURCES = tests/compile/test_simplify.c
tests_compile_test_simplify_LDADD = $(COMPILE_TEST_LIBS)

# The CPU backend against the float32 interpreter on whole training steps.
check_PROGRAMS += tests/compile/test_backend
TESTS += tests/compile/test_backend
tests_compile_test_backend_SOURCES = tests/compile/test_backend.c
tests_compile_test_backend_LDADD = libmoec_runtime.a $(CODEGEN_LIBS) libmoec_cpu.a $(COMPILE_TEST_LIBS) \
	$(LLVM_LIBS) $(CRYPTO_LIBS) -lpthread

# Random graphs fused, planned, compiled and run against the interpreter.
if HAVE_LLVM
check_PROGRAMS += tests/compile/test_random_fusion
TESTS += tests/compile/test_random_fusion
tests_compile_test_random_fusion_SOURCES = tests/compile/test_random_fusion.c
tests_compile_test_random_fusion_LDADD = $(CODEGEN_LIBS) libmoec_cpu.a $(CPU_LIBS) $(LLVM_LIBS) $(CRYPTO_LIBS) -lpthread
endif
