# tests/cpu/local.mk -- the CPU runtime (runtime/cpu): the thread pool, the
# templates against the interpreter, products against a double triple loop,
# and the executor on a hand-built program. Like the weights tests they
# build the runtime sources themselves with ASan+UBSan when configure found
# them (SANITIZE_CFLAGS is empty otherwise).
CPU_TESTS = tests/cpu/test_pool tests/cpu/test_templates tests/cpu/test_gemm tests/cpu/test_exec
check_PROGRAMS += $(CPU_TESTS)
TESTS += $(CPU_TESTS)
CPU_TEST_CPPFLAGS = $(AM_CPPFLAGS) $(BLAS_CFLAGS)
CPU_TEST_CFLAGS = $(AM_CFLAGS) -g $(SANITIZE_CFLAGS)
CPU_TEST_LDADD = libmoec_ir.a libmoec_frontend.a libmoec_support.a $(BLAS_LIBS) -lpthread -lm

tests_cpu_test_pool_SOURCES = tests/cpu/test_pool.c runtime/cpu/pool.c runtime/cpu/pool.h
tests_cpu_test_pool_CPPFLAGS = $(CPU_TEST_CPPFLAGS)
tests_cpu_test_pool_CFLAGS = $(CPU_TEST_CFLAGS)
tests_cpu_test_pool_LDFLAGS = $(SANITIZE_CFLAGS)
tests_cpu_test_pool_LDADD = $(CPU_TEST_LDADD)

tests_cpu_test_templates_SOURCES = tests/cpu/test_templates.c tests/cpu/helpers.h $(CPU_SOURCES)
tests_cpu_test_templates_CPPFLAGS = $(CPU_TEST_CPPFLAGS)
tests_cpu_test_templates_CFLAGS = $(CPU_TEST_CFLAGS)
tests_cpu_test_templates_LDFLAGS = $(SANITIZE_CFLAGS)
tests_cpu_test_templates_LDADD = $(CPU_TEST_LDADD)

tests_cpu_test_gemm_SOURCES = tests/cpu/test_gemm.c tests/cpu/helpers.h $(CPU_SOURCES)
tests_cpu_test_gemm_CPPFLAGS = $(CPU_TEST_CPPFLAGS)
tests_cpu_test_gemm_CFLAGS = $(CPU_TEST_CFLAGS)
tests_cpu_test_gemm_LDFLAGS = $(SANITIZE_CFLAGS)
tests_cpu_test_gemm_LDADD = $(CPU_TEST_LDADD)

tests_cpu_test_exec_SOURCES = tests/cpu/test_exec.c tests/cpu/helpers.h $(CPU_SOURCES)
tests_cpu_test_exec_CPPFLAGS = $(CPU_TEST_CPPFLAGS)
tests_cpu_test_exec_CFLAGS = $(CPU_TEST_CFLAGS)
tests_cpu_test_exec_LDFLAGS = $(SANITIZE_CFLAGS)
tests_cpu_test_exec_LDADD = $(CPU_TEST_LDADD)
